"""Internal links of a built site (or of single HTML and Markdown files), checked on disk:
no network, so a broken page or anchor is found before the site is published."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

from atlas.linkcheck.model import Result, Source, Verdict
from atlas.linkcheck.pages import parse_page, read_text, shown_path
from atlas.linkcheck.urls import fragment_found, has_scheme

# Where external links found in a page go (a LinkSet's ``add``), or None to skip them.
AddExternal = Callable[[str, Source], None]


@dataclass
class SiteCheck:
    """The verdicts on internal links, one per target, with every place it was written."""

    results: dict[str, Result] = field(default_factory=dict)
    anchors: dict[Path, set[str] | None] = field(default_factory=dict)

    def page_anchors(self, page: Path) -> set[str] | None:
        if page not in self.anchors:
            self.anchors[page] = (parse_page(read_text(page), want_links=False).anchors
                                  if page.suffix in (".html", ".htm") else None)
        return self.anchors[page]

    def check(self, root: Path, page: Path, target: str, source: Source,
              base_path: str = "/") -> None:
        """Record the verdict on ``target`` (a link as written in ``page``).

        The link is resolved as a browser would, against the page's URL on the published
        site (``base_path`` + its path under ``root``), then mapped back onto the disk.
        """
        page_url = "http://site" + base_path + page.relative_to(root).as_posix()
        parts = urlsplit(urljoin(page_url, target))
        fragment = parts.fragment if "#" in target else None
        path = unquote(parts.path)
        if not (path + "/").startswith(base_path):
            self.add(target, source, f"{path} is outside the site's base path {base_path}")
            return
        file = root / path[len(base_path):]
        if file.is_dir() or path.endswith("/"):
            file = file / "index.html"
        name = shown_path(file)
        if not file.is_file():
            self.add(name + (f"#{fragment}" if fragment else ""), source,
                     f"no such file: {name}")
            return
        key = name + (f"#{fragment}" if fragment is not None else "")
        anchors = self.page_anchors(file) if fragment not in (None, "", "top") else None
        if anchors is not None and not fragment_found(fragment or "", anchors, ""):
            self.add(key, source, f"no anchor #{fragment} in {name}")
        else:
            self.add(key, source, None)

    def add(self, key: str, source: Source, error: str | None) -> None:
        result = self.results.setdefault(key, Result(
            key, Verdict.BROKEN if error else Verdict.OK, error=error, failing=bool(error),
            failed_runs=int(bool(error))))
        result.sources.append(source)


def site_base(site_url: str | None) -> tuple[str | None, str]:
    """(scheme-less prefix that marks an absolute URL as internal, base path)."""
    if not site_url:
        return None, "/"
    parts = urlsplit(site_url)
    base_path = parts.path if parts.path.endswith("/") else parts.path + "/"
    return f"//{parts.netloc.lower()}{base_path}", base_path


def check_html_pages(root: Path, pages: Iterable[Path], site_url: str | None,
                     external: AddExternal | None, site: SiteCheck) -> None:
    """Internal links of ``pages`` into ``site``; external ones to ``external`` if given."""
    prefix, base_path = site_base(site_url)
    for page in pages:
        shown = shown_path(page)
        parsed = parse_page(read_text(page))
        site.anchors.setdefault(page, parsed.anchors)
        for value, line, attribute in parsed.links:
            if not value:
                continue
            source = Source(shown, line, attribute)
            if value.startswith("//") or has_scheme(value):
                scheme = urlsplit(value).scheme.lower()
                rest = value[len(scheme) + 1:] if scheme else value
                if prefix and scheme in ("http", "https", "") and (
                        rest.lower().startswith(prefix) or rest.lower() + "/" == prefix):
                    site.check(root, page, base_path + rest[len(prefix):], source, base_path)
                elif external is not None:
                    external(value if scheme else "https:" + value, source)
                continue
            site.check(root, page, value, source, base_path)


def check_markdown_local(path: Path, target: str, source: Source, site: SiteCheck) -> None:
    """A relative link in a Markdown file: the file must exist (headings are not parsed)."""
    relative = unquote(urlsplit(target).path)
    if not relative:
        return
    file = (path.parent / relative).resolve()
    name = shown_path(file)
    exists = file.exists()
    result = site.results.setdefault(name, Result(
        name, Verdict.OK if exists else Verdict.BROKEN,
        error=None if exists else f"no such file: {name}"))
    result.failed_runs = int(result.verdict is Verdict.BROKEN)
    result.failing = result.verdict is Verdict.BROKEN
    result.sources.append(source)


def mkdocs_site_url(config: Path = Path("mkdocs.yml"),
                    environ: Mapping[str, str] | None = None) -> str | None:
    """site_url from mkdocs.yml, read without executing its !!python tags.

    MkDocs' ``!ENV`` tag is resolved as MkDocs does: ``!ENV NAME`` or ``!ENV [NAME, ...,
    default]``, the first variable set wins, else the last item (the site was built with the
    same environment, so its links are under the same base path)."""
    try:
        text = config.read_text(encoding="utf-8")
    except OSError:
        return None
    match = re.search(r"^site_url:[ \t]*(.*?)[ \t]*(?:#.*)?$", text, re.MULTILINE)
    if not match or not match.group(1):
        return None
    value = match.group(1)
    tagged = re.fullmatch(r"!ENV\s+(\[.*\]|\S+)", value)
    if not tagged:
        return value.strip("'\"") or None
    items = [item.strip().strip("'\"") for item in tagged.group(1).strip("[]").split(",")]
    environ = os.environ if environ is None else environ
    for name in items[:-1] if len(items) > 1 else items:
        if environ.get(name):
            return environ[name]
    return items[-1] if len(items) > 1 else None
