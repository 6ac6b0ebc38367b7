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
    DEFAULT_CATALOG,
    ID_PATTERN,
    Catalog,
    isbn_is_valid,
    load_catalog,
    normalize_url,
    schema_message,
    text_problem,
    url_problem,
)
from atlas.rules import Rules, SchemaError

SCHEMA_LINE = "# yaml-language-server: $schema=../schema.json"
MAX_ID_WORDS = 6
LATIN = re.compile(r"[A-Za-z]")
# Asked first and in their own words, whatever the kind; the kind's other fields follow in
# the schema's order.
OWN_QUESTIONS = frozenset({"kind", "title", "url", "translated_title", "description", "topics",
                           "tags", "languages", "level", "access", "added"})


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


def id_is_taken(catalog_dir: Path, entry_id: str, kinds: tuple[str, ...]) -> bool:
    """Ids are unique across kinds: any catalog/<kind>/<id>.yaml counts."""
    return any((catalog_dir / kind / f"{entry_id}.yaml").exists() for kind in kinds)


def ordered(data: dict[str, Any], rules: Rules) -> dict[str, Any]:
    return {key: data[key] for key in rules.field_order if key in data}


class _EntryDumper(yaml.SafeDumper):
    """Mappings as blocks, lists on one line ([a, b]), as the catalog's files are written."""


_EntryDumper.add_representer(list, lambda dumper, value: dumper.represent_sequence(
    "tag:yaml.org,2002:seq", value, flow_style=True))


def entry_yaml(data: dict[str, Any], rules: Rules) -> str:
    """The entry file's text: the schema line, then the fields in the house order."""
    body = yaml.dump(ordered(data, rules), Dumper=_EntryDumper, allow_unicode=True, sort_keys=False,
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


def flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def dest(name: str) -> str:
    return "field_" + name


class Fields:
    """How ``atlas new`` asks for, converts and checks a field, all read from the schema.

    What the schema cannot say is checked by hand here: URLs (url_problem and duplicates),
    ISBN checksums, plain text, plausible years.
    """

    def __init__(self, rules: Rules, catalog: Catalog) -> None:
        self.rules, self.catalog = rules, catalog

    def shape(self, name: str) -> dict[str, Any]:
        return self.rules.resolve(self.rules.raw_field_schema(name))

    def separator(self, name: str) -> str:
        """People are listed with ';' (a name can hold a comma), everything else with ','."""
        items = self.shape(name).get("items", {})
        return ";" if items.get("$ref") == "#/$defs/line" else ","

    def label(self, name: str) -> str:
        shape = self.shape(name)
        if shape.get("type") == "array":
            return f"{name} (separated by '{self.separator(name)}')"
        if shape.get("type") == "boolean":
            return f"{name} (yes/no)"
        return name

    def convert(self, name: str, text: str) -> Any:
        shape = self.shape(name)
        if shape.get("type") == "integer":
            return int(text) if re.fullmatch(r"-?\d+", text) else text
        if shape.get("type") == "boolean":
            return {"yes": True, "y": True, "true": True, "no": False, "n": False,
                    "false": False}.get(text.lower(), text)
        if shape.get("type") == "array":
            return split_list(text, self.separator(name))
        return text

    def problem(self, name: str, text: str) -> str | None:
        """Why an answer for ``name`` would not validate, in the validator's words."""
        value = self.convert(name, text)
        if name in self.rules.url_fields:  # url_problem says precisely what is wrong
            return url_problem(text) or (find_duplicate(self.catalog, url=text) if name == "url"
                                         else None)
        if name == "year" and isinstance(value, int):
            return check_year(text)
        for error in self.rules.field_validator(name).iter_errors(value):
            return schema_message(error)
        if name == "isbn" and not isbn_is_valid(text):
            return "not a valid ISBN (checksum or length)"
        if name in self.rules.text_fields:
            return next(filter(None, (text_problem(item) for item in
                                      (value if isinstance(value, list) else [text]))), None)
        return None


def _required(rules: Rules, kind: str, name: str, data: dict[str, Any]) -> bool:
    if name in rules.required(kind):
        return True
    return any(name in names and all(data.get(field) == spec.get("const")
                                     for field, spec in condition.items())
               for condition, names in rules.conditions(kind))


def _conditional(rules: Rules, kind: str) -> set[str]:
    return {name for _, names in rules.conditions(kind) for name in names
            if name not in rules.required(kind)}


def collect(args: argparse.Namespace, catalog: Catalog, catalog_dir: Path, rules: Rules
            ) -> dict[str, Any]:
    """Every field of the new entry, from flags and answers; refuses duplicates early."""
    asker = Asker(interactive=not args.no_input)
    topics = catalog.topics
    fields = Fields(rules, catalog)
    given = vars(args)

    kind = asker.choose("kind", args.kind, rules.kinds)

    def check_title(text: str) -> str | None:
        return fields.problem("title", text) or find_duplicate(catalog, title=text)

    title = asker.ask("title (exactly as published)", given[dest("title")], check=check_title)
    url = asker.ask("url (the resource's own home page)", given[dest("url")],
                    check=lambda text: fields.problem("url", text))
    assert title is not None and url is not None
    data: dict[str, Any] = {"kind": kind, "title": title}

    other = "zh" if LATIN.search(title) else "en"
    translated = asker.ask(f"title in {'Chinese' if other == 'zh' else 'English'}",
                           given[dest("translated_title")], required=False,
                           check=lambda text: fields.problem("title", text))
    if translated:
        data["translated_title"] = {other: translated}

    def ask_field(name: str) -> None:
        if name == "commercial_note" or fields.shape(name).get("type") == "object":
            if not _required(rules, kind, name, data) and args.no_input and \
                    given.get(dest(name) + "_en") is None:
                return
            note = {lang: asker.ask(f"{name} in {language} (one line)",
                                    given.get(dest(name) + "_" + lang),
                                    required=_required(rules, kind, name, data),
                                    check=lambda text: fields.problem("title", text))
                    for lang, language in (("en", "English"), ("zh", "Chinese"))}
            if all(note.values()):
                data[name] = note
            return
        shape = fields.shape(name)
        hint = rules.description(name)
        if "enum" in shape:
            if _required(rules, kind, name, data):
                data[name] = asker.choose(name, given.get(dest(name)), tuple(shape["enum"]))
                return
            options = "/".join(shape["enum"])
            answer = asker.ask(f"{name} ({options})", given.get(dest(name)), required=False,
                               check=lambda text: fields.problem(name, text))
        else:
            answer = asker.ask(fields.label(name), given.get(dest(name)),
                               required=_required(rules, kind, name, data),
                               check=lambda text: fields.problem(name, text), hint=hint)
        if answer:
            data[name] = fields.convert(name, answer)

    conditional = _conditional(rules, kind)
    own = [name for name in rules.fields(kind) if name not in OWN_QUESTIONS]
    for name in own:
        if name not in conditional:
            ask_field(name)
    data["url"] = url
    data["access"] = asker.choose("access", given[dest("access")], rules.vocabulary("access"))
    for name in own:
        if name in conditional:
            ask_field(name)

    data["description"] = {
        "en": asker.ask("description in English (plain text, 30-600 characters)",
                        given[dest("description") + "_en"], check=plain_text(30, 600)),
        "zh": asker.ask("description in Chinese (plain text, 10-400 characters)",
                        given[dest("description") + "_zh"], check=plain_text(10, 400)),
    }

    def check_topics(text: str) -> str | None:
        unknown = [t for t in split_list(text) if t not in topics]
        renamed = catalog.renamed()
        notes = [f"{t} (now {renamed[t]})" if t in renamed else t for t in unknown]
        return f"unknown topic(s): {', '.join(notes)}" if unknown else None

    topic_hint = "topics: " + ", ".join(sorted(topics))
    data["topics"] = split_list(asker.ask("topics (ids separated by ',', main topic first)",
                                          given[dest("topics")], check=check_topics,
                                          hint=topic_hint) or "")
    tags = asker.ask("tags (lower-case-hyphenated, separated by ',')", given[dest("tags")],
                     required=False)
    if tags:
        data["tags"] = split_list(tags)
    data["languages"] = split_list(asker.ask(
        "languages the resource is in (ISO 639-1 codes, ',')", given[dest("languages")],
        default="zh" if other == "en" else "en",
        check=lambda text: fields.problem("languages", text)) or "")
    data["level"] = asker.choose("level", given[dest("level")], rules.vocabulary("level"))
    data["added"] = given[dest("added")] or dt.date.today().isoformat()

    def check_id(text: str) -> str | None:
        if not ID_PATTERN.fullmatch(text) or len(text) > 80:
            return "lower-case letters, digits and single hyphens, at most 80 characters"
        if id_is_taken(catalog_dir, text, rules.kinds):
            existing = next(catalog_dir / k / f"{text}.yaml" for k in rules.kinds
                            if (catalog_dir / k / f"{text}.yaml").exists())
            return f"{existing} already exists; choose another id"
        return None

    people = data.get("authors") or ([data["developer"]] if "developer" in data else None)
    proposed = propose_id(title, url, data.get("translated_title"),
                          lambda c: id_is_taken(catalog_dir, c, rules.kinds), people,
                          data.get("year"))
    data["id"] = asker.ask("id (the file name)", args.id, default=proposed, check=check_id)
    return data


def plain_text(shortest: int, longest: int) -> Callable[[str], str | None]:
    """The validator's rules for a description, checked while the contributor is typing."""

    def check(text: str) -> str | None:
        if not shortest <= len(text) <= longest:
            return f"{len(text)} characters; write {shortest} to {longest}"
        return text_problem(text)

    return check


def check_year(text: str) -> str | None:
    if not re.fullmatch(r"\d{4}", text):
        return "a four-digit year"
    if not 1900 <= int(text) <= dt.date.today().year + 1:
        return f"{text} is not a plausible year"
    return None


def _project_rules() -> Rules | None:
    """The rules of the catalog in the working directory, which the flags are made from."""
    try:
        return Rules.of_catalog(DEFAULT_CATALOG)
    except SchemaError:
        return None


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "new",
        help="scaffold a catalog entry (asks, or takes flags)",
        description="Create catalog/<kind>/<id>.yaml: asks for each field not given as a "
                    "flag, refuses a title or URL the catalog already has, never overwrites "
                    "a file, and validates the result (exit 1 with the problems if it is not "
                    "valid; the file is kept so you can fix it). The kinds, fields and their "
                    "flags come from the catalog's schema.json.",
    )
    parser.add_argument("--catalog", type=Path, default=DEFAULT_CATALOG, metavar="DIR",
                        help="catalog folder (default: catalog)")
    parser.add_argument("--no-input", action="store_true",
                        help="never ask: fail if a required field is not given as a flag")
    parser.add_argument("--id", help="the entry's id and file name (default: from the title)")
    rules = _project_rules()
    parser.add_argument("--kind", choices=rules.kinds if rules else None)
    parser.add_argument(flag("translated_title"), dest=dest("translated_title"), metavar="TEXT",
                        help="the title in the other language (Chinese for a Latin-script "
                             "title, English otherwise)")
    for bilingual in ("description", "commercial_note"):
        for lang in ("en", "zh"):
            parser.add_argument(f"{flag(bilingual)}-{lang}", dest=f"{dest(bilingual)}_{lang}",
                                metavar="TEXT")
    for name in sorted(rules.all_fields if rules else ()):
        if name in ("kind", "translated_title", "description", "commercial_note", "added"):
            continue
        shape = rules.resolve(rules.raw_field_schema(name)) if rules else {}
        parser.add_argument(flag(name), dest=dest(name),
                            metavar=None if "enum" in shape else name.upper(),
                            choices=shape.get("enum"),
                            help=rules.description(name) if rules else None)
    parser.add_argument("--added", dest=dest("added"), metavar="YYYY-MM-DD",
                        help="default: today")
    parser.set_defaults(handler=run_new)


def run_new(args: argparse.Namespace) -> int:
    catalog_dir: Path = args.catalog
    if not (catalog_dir / "topics.yaml").is_file():
        print(f"atlas new: {catalog_dir} is not a catalog folder (no topics.yaml)",
              file=sys.stderr)
        return 2
    catalog = load_catalog(catalog_dir)
    if catalog.rules is None:
        print(f"atlas new: {catalog.problems[-1]}", file=sys.stderr)
        return 2
    for name in vars(args):  # flags from the working directory's schema, unknown here
        field_name = name.removeprefix("field_")
        if name.startswith("field_") and getattr(args, name) is not None and \
                field_name.rsplit("_", 1)[0] not in catalog.rules.all_fields and \
                field_name not in catalog.rules.all_fields:
            print(f"atlas new: {flag(field_name)} is not a field of {catalog_dir}'s schema",
                  file=sys.stderr)
            return 2
    try:
        data = collect(args, catalog, catalog_dir, catalog.rules)
    except Refused as refusal:
        print(f"atlas new: {refusal}", file=sys.stderr)
        return 1
    entry_id = data.pop("id")
    path = catalog_dir / data["kind"] / f"{entry_id}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with path.open("x", encoding="utf-8") as file:  # "x": fails if the file exists
            file.write(entry_yaml(data, catalog.rules))
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
