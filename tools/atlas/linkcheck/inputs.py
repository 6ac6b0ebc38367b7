"""The links to check, read from what the command line names: catalog folders, YAML,
Markdown, HTML and text files, built sites and URLs. Each web address is kept once, with
every file and line it was written on."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from atlas.catalog import Catalog, iter_urls, load_catalog, read_yaml_file
from atlas.linkcheck.model import Link, Result, Source, Verdict
from atlas.linkcheck.options import UsageError
from atlas.linkcheck.pages import read_text, shown_path
from atlas.linkcheck.site_check import SiteCheck, check_html_pages, check_markdown_local
from atlas.linkcheck.urls import has_scheme, split_url
from atlas.rules import SCHEMA_NAME


class LinkSet:
    """Unique external links in first-seen order, each with all its sources."""

    def __init__(self) -> None:
        self.links: dict[str, Link] = {}
        self.unsupported: dict[str, Result] = {}

    def add(self, url: str, source: Source) -> None:
        url = url.strip()
        scheme = urlsplit(url).scheme.lower() if has_scheme(url) else ""
        if scheme not in ("http", "https"):
            shown = url if len(url) <= 80 else url[:77] + "..."
            result = self.unsupported.setdefault(shown, Result(
                shown, Verdict.UNSUPPORTED, error=f"{scheme or 'no'} scheme: not checked"))
            result.sources.append(source)
            return
        fetch_url, fragment = split_url(url)
        link = Link(url, fetch_url, fragment)
        self.links.setdefault(link.key, link).sources.append(source)


URL_IN_TEXT = re.compile(r"""https?://[^\s<>"'`\])]+(?:\([^\s<>"'`)]*\)[^\s<>"'`\])]*)*""")
MD_INLINE_LINK = re.compile(r"!?\[(?:[^\]\\]|\\.)*\]\(\s*<?([^)\s>]+)>?(?:\s+[\"'(][^)]*)?\s*\)")
MD_REFERENCE = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)")
MD_CODE_SPAN = re.compile(r"(`+)(?:(?!\1).)+?\1")
MD_FENCE = re.compile(r"^\s{0,3}(`{3,}|~{3,})")


def markdown_links(text: str) -> Iterator[tuple[str, int]]:
    """(target, line) for each link in Markdown, skipping code blocks and code spans."""
    fence: str | None = None
    for number, line in enumerate(text.splitlines(), 1):
        if match := MD_FENCE.match(line):
            marker = match.group(1)
            if fence is None:
                fence = marker
            elif marker[0] == fence[0] and len(marker) >= len(fence):
                fence = None
            continue
        if fence is not None or line.startswith(("    ", "\t")):
            continue
        line = MD_CODE_SPAN.sub("", line)
        found: list[str] = []
        for pattern in (MD_INLINE_LINK, MD_REFERENCE):
            found += [m.group(1) for m in pattern.finditer(line)]
        for match in URL_IN_TEXT.finditer(line):
            url = match.group(0).rstrip(".,;:!?*_~")
            if not any(f.startswith(url) or url.startswith(f) for f in found):
                found.append(url)
        for target in dict.fromkeys(found):
            yield target, number


def yaml_urls(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], str]]:
    """(key path, URL) for every string value of a YAML document that is a web address."""
    if isinstance(value, str) and re.match(r"^\s*https?://", value, re.IGNORECASE):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from yaml_urls(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from yaml_urls(item, (*path, index))


def is_catalog(path: Path) -> bool:
    """A catalog folder holds its schema and its taxonomy."""
    return (path / SCHEMA_NAME).is_file() or (path / "topics.yaml").is_file()


def catalog_folder(path: Path) -> Path | None:
    """The catalog ``path`` is, or whose kind folder it is; None for anything else."""
    if path.is_dir() and is_catalog(path):
        return path
    if path.is_dir() and is_catalog(path.parent):
        return path.parent
    return None


@dataclass
class Collected:
    """What the inputs hold: external links to fetch, internal links already checked, the
    catalogs read (``--fix`` edits their files) and notes for stderr."""

    links: LinkSet = field(default_factory=LinkSet)
    site: SiteCheck = field(default_factory=SiteCheck)
    catalogs: dict[Path, Catalog] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def collect(inputs: list[str], site_url: str | None, external: bool) -> Collected:
    """Read every input."""
    found = Collected()
    links, site, notes = found.links, found.site, found.notes
    if not inputs:
        if Path("catalog").is_dir():
            inputs.append("catalog")
        if Path("site").is_dir():
            inputs.append("site")
        else:
            notes.append("no built site in site/ (run `make build`); checking the catalog only")
        if not inputs:
            raise UsageError("nothing to check: no catalog/ or site/ folder here; "
                             "name files, folders or URLs")
    for item in inputs:
        path = Path(item)
        if has_scheme(item) and not path.exists():
            links.add(item, Source("command line", 0))
        elif not path.exists():
            raise UsageError(f"{item}: no such file or folder")
        elif (catalog_dir := catalog_folder(path)) is not None:
            catalog = found.catalogs.get(catalog_dir) or load_catalog(catalog_dir)
            found.catalogs[catalog_dir] = catalog
            if catalog.problems:
                notes.append(f"{item}: {len(catalog.problems)} catalog problem(s); entries with "
                             "problems are skipped (run `atlas validate`)")
            inside = path.resolve()
            for url, file, line, key in iter_urls(catalog):
                if inside in Path(file).resolve().parents:
                    links.add(url, Source(file, line, key))
        elif path.is_dir():
            pages = sorted(p for p in path.rglob("*") if p.suffix in (".html", ".htm"))
            if not pages:
                raise UsageError(f"{item}: neither a catalog nor a built site (no HTML pages)")
            check_html_pages(path, pages, site_url, links.add if external else None, site)
        elif path.suffix in (".yaml", ".yml"):
            located, problems = read_yaml_file(path, shown_path(path))
            if located is None:
                raise UsageError(str(problems[0]))
            for key_path, url in yaml_urls(located.data):
                links.add(url, Source(shown_path(path), located.line(key_path),
                                      ".".join(map(str, key_path))))
        elif path.suffix in (".md", ".markdown"):
            for target, line_number in markdown_links(read_text(path)):
                source = Source(shown_path(path), line_number)
                if has_scheme(target):
                    links.add(target, source)
                elif not target.startswith("#"):
                    check_markdown_local(path, target, source, site)
        elif path.suffix in (".html", ".htm"):
            check_html_pages(path.parent, [path], site_url, links.add, site)
        else:
            for number, text in enumerate(read_text(path).splitlines(), 1):
                if text.strip() and not text.lstrip().startswith("#"):
                    links.add(text.strip(), Source(shown_path(path), number))
    return found
