"""`atlas new`: scaffold one catalog entry, by questions or by flags.

It proposes an id from the title (or, for a title with no Latin letters, from the English
title or the URL's host), refuses a URL or title the catalog already has (naming the entry
that has it), writes ``catalog/<kind>/<id>.yaml`` with the schema comment line and checks
it with the same validator as ``atlas validate``. It never overwrites a file: the file is
created exclusively, so not even a race with another process can clobber one.

If the written file does not validate, the command prints the validator's messages and
exits 1, but keeps the file: it holds everything the contributor typed, and fixing a line
in an editor beats answering every question again. ``atlas validate`` re-checks it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import re
import sys
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from atlas.catalog import (
    HTML_PATTERN,
    ID_PATTERN,
    KINDS,
    MARKDOWN_LINK_PATTERN,
    SCRIPT_SCHEME_PATTERN,
    Catalog,
    isbn_is_valid,
    load_catalog,
    normalize_url,
    url_problem,
)

SCHEMA_LINE = "# yaml-language-server: $schema=../schema.json"
LEVELS = ("beginner", "intermediate", "advanced")
ACCESS = ("free", "paid", "freemium", "open-source")
MAX_ID_WORDS = 6
FIELD_ORDER = ("kind", "title", "translated_title", "authors", "year", "publisher", "edition",
               "isbn", "provider", "url", "repository", "license", "arxiv", "doi", "description",
               "topics", "tags", "languages", "level", "access", "added")
LATIN = re.compile(r"[A-Za-z]")


class Refused(Exception):
    """A reason not to write the entry, shown to the user as one line."""


# ---------------------------------------------------------------------------------------
# Pure helpers


def slugify(text: str, max_words: int = MAX_ID_WORDS) -> str:
    """An id from Latin-script text: accents dropped, lower case, hyphens ('' if none)."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    words = re.findall(r"[a-z0-9]+", ascii_text.lower().replace("'", ""))
    stop = {"a", "an", "the", "of", "and", "for", "to", "in", "on", "with"}
    kept = [w for w in words if w not in stop] or words
    return "-".join(kept[:max_words])[:80].strip("-")


def host_slug(url: str) -> str:
    """An id from a URL's host and first path segment: d2l.ai/zh -> d2l-zh."""
    parts = urlsplit(url)
    host = (parts.hostname or "").removeprefix("www.")
    labels = host.split(".")
    name = "-".join(labels[:-1]) if len(labels) > 1 else host
    first = next((segment for segment in parts.path.split("/") if segment), "")
    return slugify(f"{name} {first}")


def propose_id(title: str, url: str, translated: dict[str, str] | None = None,
               taken: Callable[[str], bool] = lambda _: False,
               authors: list[str] | None = None, year: int | None = None) -> str:
    """A free id: from the title if it has Latin letters, else an English title or the URL."""
    base = slugify(title) if LATIN.search(title) else ""
    if not base and translated and translated.get("en"):
        base = slugify(translated["en"])
    base = base or host_slug(url) or "entry"
    candidates = [base]
    if authors:
        surname = slugify(authors[0].split()[-1], 1)
        if surname:
            candidates.append(f"{base}-{surname}")
    if year:
        candidates.append(f"{base}-{year}")
    candidates += [f"{base}-{n}" for n in range(2, 100)]
    return next(c for c in candidates if not taken(c))


def find_duplicate(catalog: Catalog, title: str | None = None, url: str | None = None
                   ) -> str | None:
    """Why this title or URL is already in the catalog, naming the entry, or None."""
    for entry in catalog.entries:
        if url and normalize_url(entry.url) == normalize_url(url):
            return f"{url} is already in the catalog: {entry.path} ({entry.title})"
        titles = {entry.title, *entry.data.get("translated_title", {}).values()}
        if title and title.strip().casefold() in {t.strip().casefold() for t in titles}:
            return f"the catalog already has {title!r}: {entry.path}"
    return None


def id_is_taken(catalog_dir: Path, entry_id: str) -> bool:
    """Ids are unique across kinds: any catalog/<kind>/<id>.yaml counts."""
    return any((catalog_dir / kind / f"{entry_id}.yaml").exists() for kind in KINDS)


def ordered(data: dict[str, Any]) -> dict[str, Any]:
    return {key: data[key] for key in FIELD_ORDER if key in data}


class _EntryDumper(yaml.SafeDumper):
    """Mappings as blocks, lists on one line ([a, b]), as the catalog's files are written."""


_EntryDumper.add_representer(list, lambda dumper, value: dumper.represent_sequence(
    "tag:yaml.org,2002:seq", value, flow_style=True))


def entry_yaml(data: dict[str, Any]) -> str:
    """The entry file's text: the schema line, then the fields in the house order."""
    body = yaml.dump(ordered(data), Dumper=_EntryDumper, allow_unicode=True, sort_keys=False,
                     width=96, default_flow_style=False)
    # safe_dump quotes a date-like string; the loader reads both forms the same.
    body = re.sub(r"^added: '(\d{4}-\d{2}-\d{2})'$", r"added: \1", body, flags=re.M)
    return f"{SCHEMA_LINE}\n{body}"


def split_list(text: str, separator: str = ",") -> list[str]:
    return [item.strip() for item in text.split(separator) if item.strip()]


# ---------------------------------------------------------------------------------------
# Asking


class Asker:
    """Takes each answer from a flag if given, else asks (unless prompting is off)."""

    def __init__(self, interactive: bool) -> None:
        self.interactive = interactive

    def ask(self, label: str, given: Any, *, default: str | None = None, required: bool = True,
            check: Callable[[str], str | None] | None = None, hint: str = "") -> str | None:
        if given is not None:
            text = str(given).strip()
            if check and text and (problem := check(text)):
                raise Refused(f"{label}: {problem}")
            if not text and required:
                raise Refused(f"{label} must not be empty")
            return text or None
        if not self.interactive:
            if default is not None:
                return default
            if required:
                raise Refused(f"{label} is required (give it as a flag, or run without "
                              "--no-input to be asked)")
            return None
        suffix = f" [{default}]" if default else ("" if required else " (optional, Enter skips)")
        while True:
            if hint:
                print(f"  {hint}", file=sys.stderr)
            try:
                answer = input(f"{label}{suffix}: ").strip()
            except EOFError:
                raise Refused(f"input ended before {label} was given") from None
            answer = answer or (default or "")
            if not answer:
                if not required:
                    return None
                print("  this one is required", file=sys.stderr)
                continue
            problem = check(answer) if check else None
            if not problem:
                return answer
            print(f"  {problem}", file=sys.stderr)

    def choose(self, label: str, given: str | None, options: tuple[str, ...],
               default: str | None = None) -> str:
        def check(answer: str) -> str | None:
            return None if answer in options else f"choose one of: {', '.join(options)}"

        result = self.ask(f"{label} ({'/'.join(options)})", given, default=default, check=check)
        assert result is not None
        return result


# ---------------------------------------------------------------------------------------
# The command


def collect(args: argparse.Namespace, catalog: Catalog, catalog_dir: Path) -> dict[str, Any]:
    """Every field of the new entry, from flags and answers; refuses duplicates early."""
    asker = Asker(interactive=not args.no_input)
    topics = catalog.topics

    kind = asker.choose("kind", args.kind, KINDS)

    def check_title(text: str) -> str | None:
        if "\n" in text or len(text) > 200:
            return "one line of at most 200 characters"
        return find_duplicate(catalog, title=text)

    title = asker.ask("title (exactly as published)", args.title, check=check_title)

    def check_url(text: str) -> str | None:
        return url_problem(text) or find_duplicate(catalog, url=text)

    url = asker.ask("url (the resource's own home page)", args.url, check=check_url)
    assert title is not None and url is not None
    data: dict[str, Any] = {"kind": kind, "title": title}

    other = "zh" if LATIN.search(title) else "en"
    translated = asker.ask(f"title in {'Chinese' if other == 'zh' else 'English'}",
                           args.translated_title, required=False)
    if translated:
        data["translated_title"] = {other: translated}

    if kind in ("book", "paper"):
        authors = asker.ask("authors (separated by ';')", args.authors)
        data["authors"] = split_list(authors or "", ";")
        year = asker.ask("year", args.year, check=check_year)
        data["year"] = int(year or 0)
    else:
        authors = asker.ask("authors or makers (separated by ';')", args.authors,
                            required=False)
        if authors:
            data["authors"] = split_list(authors, ";")
        year = asker.ask("year of first release", args.year, required=False, check=check_year)
        if year:
            data["year"] = int(year)
    if kind == "book":
        for key, label in (("publisher", "publisher"), ("edition", "edition")):
            value = asker.ask(label, getattr(args, key), required=False)
            if value:
                data[key] = value
        isbn = asker.ask("ISBN (only if you are sure of it)", args.isbn, required=False,
                         check=lambda s: None if isbn_is_valid(s) else "not a valid ISBN")
        if isbn:
            data["isbn"] = isbn
    if kind == "course":
        provider = asker.ask("provider (university, company, platform)", args.provider,
                             required=False)
        if provider:
            data["provider"] = provider
    data["url"] = url

    data["access"] = asker.choose("access", args.access, ACCESS)
    if kind == "tool":
        open_source = data["access"] == "open-source"
        repository = asker.ask("source repository URL", args.repository, required=open_source,
                               check=url_problem)
        if repository:
            data["repository"] = repository
        license_id = asker.ask("licence (SPDX id, e.g. MIT, Apache-2.0)", args.license,
                               required=open_source,
                               check=lambda s: None if re.fullmatch(r"[A-Za-z0-9.+-]{2,40}", s)
                               else "an SPDX identifier such as MIT or Apache-2.0")
        if license_id:
            data["license"] = license_id
    if kind == "paper":
        arxiv = asker.ask("arXiv id (e.g. 1706.03762)", args.arxiv, required=False,
                          check=lambda s: None if re.fullmatch(r"\d{4}\.\d{4,5}(v\d+)?", s)
                          else "an id like 1706.03762")
        if arxiv:
            data["arxiv"] = arxiv
        doi = asker.ask("DOI", args.doi, required=not arxiv,
                        check=lambda s: None if re.fullmatch(r"10\.\d{4,9}/\S+", s)
                        else "a DOI like 10.1000/xyz123")
        if doi:
            data["doi"] = doi

    data["description"] = {
        "en": asker.ask("description in English (plain text, 30-600 characters)",
                        args.description_en, check=plain_text(30, 600)),
        "zh": asker.ask("description in Chinese (plain text, 10-400 characters)",
                        args.description_zh, check=plain_text(10, 400)),
    }

    def check_topics(text: str) -> str | None:
        unknown = [t for t in split_list(text) if t not in topics]
        return f"unknown topic(s): {', '.join(unknown)}" if unknown else None

    topic_hint = "topics: " + ", ".join(sorted(topics))
    data["topics"] = split_list(asker.ask("topics (ids separated by ',', main topic first)",
                                          args.topics, check=check_topics, hint=topic_hint)
                                or "")
    tags = asker.ask("tags (lower-case-hyphenated, separated by ',')", args.tags,
                     required=False)
    if tags:
        data["tags"] = split_list(tags)
    data["languages"] = split_list(asker.ask(
        "languages the resource is in (ISO 639-1 codes, ',')", args.languages,
        default="zh" if other == "en" else "en",
        check=lambda s: None if all(re.fullmatch(r"[a-z]{2}", c) for c in split_list(s))
        else "two-letter codes such as en, zh") or "")
    data["level"] = asker.choose("level", args.level, LEVELS)
    data["added"] = args.added or dt.date.today().isoformat()

    def check_id(text: str) -> str | None:
        if not ID_PATTERN.fullmatch(text) or len(text) > 80:
            return "lower-case letters, digits and single hyphens, at most 80 characters"
        if id_is_taken(catalog_dir, text):
            existing = next(catalog_dir / k / f"{text}.yaml" for k in KINDS
                            if (catalog_dir / k / f"{text}.yaml").exists())
            return f"{existing} already exists; choose another id"
        return None

    proposed = propose_id(title, url, data.get("translated_title"),
                          lambda c: id_is_taken(catalog_dir, c), data.get("authors"),
                          data.get("year"))
    data["id"] = asker.ask("id (the file name)", args.id, default=proposed, check=check_id)
    return data


def plain_text(shortest: int, longest: int) -> Callable[[str], str | None]:
    """The validator's rules for a description, checked while the contributor is typing."""

    def check(text: str) -> str | None:
        if not shortest <= len(text) <= longest:
            return f"{len(text)} characters; write {shortest} to {longest}"
        if HTML_PATTERN.search(text) or SCRIPT_SCHEME_PATTERN.search(text):
            return "plain text only: no HTML, no script or data URLs"
        if MARKDOWN_LINK_PATTERN.search(text):
            return "no Markdown links: the entry's url is its link"
        return None

    return check


def check_year(text: str) -> str | None:
    if not re.fullmatch(r"\d{4}", text):
        return "a four-digit year"
    if not 1900 <= int(text) <= dt.date.today().year + 1:
        return f"{text} is not a plausible year"
    return None


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "new",
        help="scaffold a catalog entry (asks, or takes flags)",
        description="Create catalog/<kind>/<id>.yaml: asks for each field not given as a "
                    "flag, refuses a title or URL the catalog already has, never overwrites "
                    "a file, and validates the result (exit 1 with the problems if it is not "
                    "valid; the file is kept so you can fix it).",
    )
    parser.add_argument("--catalog", type=Path, default=Path("catalog"), metavar="DIR",
                        help="catalog folder (default: catalog)")
    parser.add_argument("--no-input", action="store_true",
                        help="never ask: fail if a required field is not given as a flag")
    parser.add_argument("--kind", choices=KINDS)
    parser.add_argument("--title", help="the title exactly as published")
    parser.add_argument("--translated-title", metavar="TEXT",
                        help="the title in the other language (Chinese for a Latin-script "
                             "title, English otherwise)")
    parser.add_argument("--url", help="the resource's own home page")
    parser.add_argument("--id", help="the entry's id and file name (default: from the title)")
    parser.add_argument("--authors", metavar="A; B", help="authors, separated by ';'")
    parser.add_argument("--year")
    parser.add_argument("--publisher")
    parser.add_argument("--edition")
    parser.add_argument("--isbn")
    parser.add_argument("--provider", help="who offers a course")
    parser.add_argument("--repository", help="source repository of a tool")
    parser.add_argument("--license", help="SPDX licence id of an open-source tool")
    parser.add_argument("--arxiv")
    parser.add_argument("--doi")
    parser.add_argument("--description-en", metavar="TEXT")
    parser.add_argument("--description-zh", metavar="TEXT")
    parser.add_argument("--topics", metavar="A,B", help="topic ids, main topic first")
    parser.add_argument("--tags", metavar="A,B")
    parser.add_argument("--languages", metavar="en,zh")
    parser.add_argument("--level", choices=LEVELS)
    parser.add_argument("--access", choices=ACCESS)
    parser.add_argument("--added", metavar="YYYY-MM-DD", help="default: today")
    parser.set_defaults(handler=run_new)


def run_new(args: argparse.Namespace) -> int:
    catalog_dir: Path = args.catalog
    if not (catalog_dir / "topics.yaml").is_file():
        print(f"atlas new: {catalog_dir} is not a catalog folder (no topics.yaml)",
              file=sys.stderr)
        return 2
    catalog = load_catalog(catalog_dir)
    try:
        data = collect(args, catalog, catalog_dir)
    except Refused as refusal:
        print(f"atlas new: {refusal}", file=sys.stderr)
        return 1
    entry_id = data.pop("id")
    path = catalog_dir / data["kind"] / f"{entry_id}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with path.open("x", encoding="utf-8") as file:  # "x": fails if the file exists
            file.write(entry_yaml(data))
    except FileExistsError:
        print(f"atlas new: {path} already exists; nothing was written", file=sys.stderr)
        return 1
    except OSError as error:
        print(f"atlas new: cannot write {path}: {error.strerror}", file=sys.stderr)
        return 1
    after = load_catalog(catalog_dir)
    resolved = path.resolve()
    problems = [p for p in after.problems if Path(p.path).resolve() == resolved]
    if problems:
        for problem in problems:
            print(problem)
        print(f"atlas new: wrote {path}, but it has {len(problems)} problem(s) (above); "
              "the file is kept: fix it and run `atlas validate`", file=sys.stderr)
        return 1
    print(f"atlas new: wrote {path}; it is valid. Review it, then open a pull request "
          "(see CONTRIBUTING.md).")
    return 0
