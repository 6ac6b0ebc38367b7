"""Load and validate the catalog: one YAML file per entry, a topic taxonomy, a JSON Schema.

Contributors write these files by hand, so the loader assumes nothing about them: any
file (empty, binary, a list, an alias bomb, 50 MB) yields ``Problem`` records of the form
``path:line: field: message``, never an exception, and every problem of a run is reported
together. The site generator and the link checker read the same ``Catalog`` object.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import yaml

if TYPE_CHECKING:  # imported where used: 45 ms that `atlas linkcheck URL` need not pay
    from jsonschema import Draft202012Validator

KINDS = ("book", "website", "tool", "paper", "course")
PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_CATALOG = PROJECT_ROOT / "catalog"
SCHEMA_NAME = "schema.json"
TOPICS_NAME = "topics.yaml"
MAX_FILE_BYTES = 64 * 1024
MAX_NODES = 5_000  # an entry has a few dozen YAML nodes; more means something is wrong
ID_PATTERN = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
EARLIEST_YEAR = 1900

# Text a contributor writes must stay text: no tags, no entities, no Markdown links.
HTML_PATTERN = re.compile(r"<\s*/?\s*[A-Za-z!?][^>]*>|&(#\d+|#x[0-9a-fA-F]+|[A-Za-z]+);")
MARKDOWN_LINK_PATTERN = re.compile(r"!?\[[^\]]*\]\([^)]*\)|<https?://[^>]*>")
SCRIPT_SCHEME_PATTERN = re.compile(r"\b(javascript|vbscript|data)\s*:", re.IGNORECASE)
URL_FIELDS = ("url", "repository")
TEXT_FIELDS = ("title", "translated_title", "description", "authors", "publisher", "edition",
               "provider")

# Query parameters that identify a campaign, not a resource.
TRACKING_PARAMS = re.compile(r"^(utm_\w+|fbclid|gclid|dclid|msclkid|mc_cid|mc_eid|ref|ref_src|"
                             r"spm|igshid|_ga|yclid|si)$", re.IGNORECASE)


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with one file, located for the contributor who has to fix it."""

    path: str
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.field}: {self.message}"


@dataclass
class Located:
    """Parsed YAML with the line each value starts on, keyed by its path of keys/indices."""

    data: Any
    lines: dict[tuple[Any, ...], int]

    def line(self, path: tuple[Any, ...]) -> int:
        """Line of the value at ``path``, or of its nearest located ancestor."""
        while path not in self.lines and path:
            path = path[:-1]
        return self.lines.get(path, 1)


@dataclass
class Entry:
    id: str
    kind: str
    path: Path  # relative to the project root when inside it, for messages and edit links
    data: dict[str, Any]
    lines: dict[tuple[Any, ...], int] = field(default_factory=dict)

    def __getattr__(self, name: str) -> Any:  # entry.title, entry.url, ...
        try:
            return self.__dict__["data"][name]
        except KeyError:
            raise AttributeError(name) from None

    def line(self, *path: Any) -> int:
        return Located(self.data, self.lines).line(tuple(path))

    def text(self, key: str, lang: str) -> str:
        """A bilingual field in ``lang``; falls back to English."""
        value = self.data.get(key, {})
        return value.get(lang) or value.get("en", "")

    def display_title(self, lang: str) -> str:
        return self.data["title"]

    def translated_title(self, lang: str) -> str | None:
        """The title in ``lang`` when the published title is in another language."""
        translated = self.data.get("translated_title", {}).get(lang)
        return translated if translated and translated != self.data["title"] else None


@dataclass
class Topic:
    id: str
    name: dict[str, str]
    description: dict[str, str]
    parent: str | None
    example: str | None
    line: int


@dataclass
class Catalog:
    root: Path
    entries: list[Entry]
    topics: dict[str, Topic]
    problems: list[Problem]

    def by_id(self) -> dict[str, Entry]:
        return {entry.id: entry for entry in self.entries}

    def children(self, topic_id: str | None) -> list[Topic]:
        return [topic for topic in self.topics.values() if topic.parent == topic_id]


# ---------------------------------------------------------------------------------------
# YAML with line numbers, safely


class _Reject(Exception):
    def __init__(self, line: int, field: str, message: str) -> None:
        super().__init__(message)
        self.line, self.field, self.message = line, field, message


_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
SAFE_TAGS = {f"tag:yaml.org,2002:{name}" for name in
             ("map", "seq", "str", "int", "float", "bool", "null", "timestamp")}


def parse_yaml(text: str) -> Located:
    """Parse one YAML document into plain Python values, recording each value's line.

    Aliases are refused outright (entries never need them, and they are how a "billion
    laughs" file explodes), as are tags beyond plain data, several documents, and duplicate
    keys (YAML keeps the last one silently). Dates become ISO strings, as the author wrote
    them. libyaml's parser is used when PyYAML has it: it is ten times faster.
    """
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
    except yaml.composer.ComposerError as error:
        mark = error.problem_mark or error.context_mark
        what = "YAML anchors and aliases are not allowed" if "anchor" in str(error.problem) \
            else "one YAML document per file"
        raise _Reject(mark.line + 1 if mark else 1, "-", what) from None
    finally:
        loader.dispose()
    constructor = yaml.constructor.SafeConstructor()
    lines: dict[tuple[Any, ...], int] = {}
    seen: set[int] = set()

    def build(node: yaml.Node, path: tuple[Any, ...]) -> Any:
        # The composer turns each alias into a second reference to its anchor's node.
        if id(node) in seen:
            raise _Reject(node.start_mark.line + 1, "-",
                          "YAML anchors and aliases are not allowed")
        seen.add(id(node))
        if len(seen) > MAX_NODES:
            raise _Reject(node.start_mark.line + 1, "-", f"more than {MAX_NODES} YAML values")
        lines[path] = node.start_mark.line + 1
        if node.tag not in SAFE_TAGS:
            raise _Reject(node.start_mark.line + 1, _dotted(path),
                          f"unsupported YAML tag {node.tag!r}")
        if isinstance(node, yaml.MappingNode):
            result: dict[Any, Any] = {}
            for key_node, value_node in node.value:
                key = build_scalar(key_node)
                if not isinstance(key, str):
                    raise _Reject(key_node.start_mark.line + 1, str(key), "keys must be text")
                if key in result:
                    raise _Reject(key_node.start_mark.line + 1, ".".join(map(str, (*path, key))),
                                  "duplicate key")
                result[key] = build(value_node, (*path, key))
                lines[(*path, key)] = key_node.start_mark.line + 1
            return result
        if isinstance(node, yaml.SequenceNode):
            return [build(item, (*path, index)) for index, item in enumerate(node.value)]
        return build_scalar(node)

    def build_scalar(node: yaml.Node) -> Any:
        if not isinstance(node, yaml.ScalarNode):
            raise _Reject(node.start_mark.line + 1, "-", "keys must be text")
        try:
            value = constructor.construct_object(node)
        except yaml.constructor.ConstructorError as error:
            raise _Reject(node.start_mark.line + 1, "-", str(error.problem)) from None
        except ValueError:  # looks like a date but is not one (2026-02-30): keep the text
            value = node.value
        if isinstance(value, (dt.date, dt.datetime)):
            return value.isoformat()
        return value

    data = build(node, ()) if node is not None else None
    return Located(data, lines)


def read_yaml_file(path: Path, shown: str) -> tuple[Located | None, list[Problem]]:
    """Read and parse one file; every failure becomes a Problem."""
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            return None, [Problem(shown, 1, "-", f"file is {size:,} bytes; the limit is "
                                                  f"{MAX_FILE_BYTES:,}")]
        raw = path.read_bytes()
    except OSError as error:
        return None, [Problem(shown, 1, "-", f"cannot read file: {error.strerror}")]
    if b"\x00" in raw:
        return None, [Problem(shown, 1, "-", "binary file, not YAML text")]
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        return None, [Problem(shown, line, "-", "not valid UTF-8 text")]
    if not text.strip() or all(
        not line.strip() or line.lstrip().startswith("#") for line in text.splitlines()
    ):
        return None, [Problem(shown, 1, "-", "file is empty")]
    try:
        return parse_yaml(text), []
    except _Reject as error:
        return None, [Problem(shown, error.line, error.field, error.message)]
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        what = " ".join(filter(None, [error.context, error.problem]))
        if "\\t" in what or "tab" in what.lower():
            what = "tabs are not allowed for indentation; use spaces"
        return None, [Problem(shown, mark.line + 1 if mark else 1, "-", f"invalid YAML: {what}")]
    except (yaml.YAMLError, RecursionError) as error:
        return None, [Problem(shown, 1, "-", f"invalid YAML: {type(error).__name__}")]


# ---------------------------------------------------------------------------------------
# URLs


def url_problem(url: str) -> str | None:
    """Why ``url`` is not a safe, real web address, or None when it is."""
    if any(ch.isspace() for ch in url) or any(ord(ch) < 32 for ch in url):
        return "URL contains whitespace or control characters"
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        return f"malformed URL ({error})"
    if parts.scheme not in ("http", "https"):
        return f"URL scheme must be http or https, not {parts.scheme or 'none'!r}"
    if parts.username or parts.password:
        return "URL must not carry a user name or password"
    host = (parts.hostname or "").rstrip(".")
    if not host:
        return "URL has no host"
    if host == "localhost" or host.endswith((".localhost", ".local", ".internal", ".test",
                                             ".example", ".invalid")):
        return f"URL host {host!r} is not a public host"
    if re.fullmatch(r"[\d.]+", host) or ":" in host:
        return "URL host must be a domain name, not an IP address"
    labels = host.split(".")
    if len(labels) < 2 or not all(re.fullmatch(r"(?!-)[a-z0-9-]{1,63}(?<!-)", label, re.I)
                                  for label in labels if not label.startswith("xn--")):
        return f"URL host {host!r} is not a valid domain name"
    if not re.fullmatch(r"[a-z]{2,63}|xn--[a-z0-9-]+", labels[-1], re.I):
        return f"URL host {host!r} has no valid top-level domain"
    if port is not None and port == 0:
        return "URL port 0 is not valid"
    return None


def normalize_url(url: str) -> str:
    """The form two URLs share when they name the same resource, for duplicate detection.

    http and https, ``www.``, host case, default ports, a trailing slash, the fragment and
    tracking parameters (utm_*, fbclid, ...) do not make a different resource.
    """
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").lower().rstrip(".")
    host = host.removeprefix("www.")
    port = parts.port
    netloc = host if port in (None, 80, 443) else f"{host}:{port}"
    path = re.sub(r"/{2,}", "/", parts.path).rstrip("/")
    query = urlencode(sorted((k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
                             if not TRACKING_PARAMS.match(k)))
    return urlunsplit(("https", netloc, path, query, ""))


# ---------------------------------------------------------------------------------------
# Checks


def isbn_is_valid(isbn: str) -> bool:
    digits = isbn.replace("-", "").upper()
    if len(digits) == 10 and re.fullmatch(r"\d{9}[\dX]", digits):
        total = sum((10 - i) * (10 if c == "X" else int(c)) for i, c in enumerate(digits))
        return total % 11 == 0
    if len(digits) == 13 and digits.isdigit() and digits.startswith(("978", "979")):
        total = sum((1 if i % 2 == 0 else 3) * int(c) for i, c in enumerate(digits))
        return total % 10 == 0
    return False


def _text_values(value: Any, path: tuple[Any, ...]) -> Iterator[tuple[tuple[Any, ...], str]]:
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _text_values(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _text_values(item, (*path, index))


def _dotted(path: tuple[Any, ...] | Any) -> str:
    parts = [f"[{p}]" if isinstance(p, int) else str(p) for p in path]
    return ".".join(parts).replace(".[", "[") or "-"


def _schema_problems(validator: Draft202012Validator, located: Located, shown: str
                     ) -> Iterator[Problem]:
    data = located.data
    seen: set[tuple[Any, ...]] = set()
    for error in sorted(validator.iter_errors(data), key=lambda e: list(map(str, e.path))):
        path = tuple(error.absolute_path)
        if len(path) == 1 and path[0] in URL_FIELDS and error.validator in ("pattern", "format"):
            continue  # url_problem says precisely what is wrong
        if path and error.validator not in ("additionalProperties", "required", "not"):
            if path in seen:
                continue
            seen.add(path)
        if error.validator == "additionalProperties" and isinstance(error.instance, dict):
            allowed = set(error.schema.get("properties", {}))
            for key in sorted(set(error.instance) - allowed):
                yield Problem(shown, located.line((*path, key)), _dotted((*path, key)),
                              "unknown field")
        elif error.validator == "required":
            missing = re.match(r"'([^']+)'", error.message)
            name = missing.group(1) if missing else "?"
            yield Problem(shown, located.line(path), _dotted((*path, name)),
                          "required field is missing" + _kind_note(data, path))
        elif error.validator == "not" and isinstance(error.instance, dict):
            forbidden = [req for option in error.validator_value.get("anyOf", [])
                         for req in option.get("required", []) if req in error.instance]
            for key in forbidden:
                yield Problem(shown, located.line((*path, key)), _dotted((*path, key)),
                              f"not a field of a {data.get('kind')} entry")
        elif error.validator == "anyOf" and not path and error.validator_value and all(
            "required" in option for option in error.validator_value
        ):
            names = " or ".join(req for option in error.validator_value
                                for req in option["required"])
            yield Problem(shown, 1, names, f"a {data.get('kind')} entry needs {names}")
        else:
            yield Problem(shown, located.line(path), _dotted(path) if path else "-",
                          _schema_message(error))


def _kind_note(data: Any, path: tuple[Any, ...]) -> str:
    if not path and isinstance(data, dict) and data.get("kind") in KINDS:
        return f" (for a {data['kind']} entry)"
    return ""


def _schema_message(error: Any) -> str:
    value = error.instance
    shown = repr(value) if len(repr(value)) <= 60 else repr(value)[:57] + "..."
    match error.validator:
        case "enum":
            return f"{shown} is not one of: {', '.join(map(str, error.validator_value))}"
        case "type":
            return f"expected {error.validator_value}, got {type(value).__name__} {shown}"
        case "minLength":
            return f"too short ({len(value)} characters; at least {error.validator_value})"
        case "maxLength":
            return f"too long ({len(value)} characters; at most {error.validator_value})"
        case "minItems":
            return f"needs at least {error.validator_value} item(s)"
        case "maxItems":
            return f"at most {error.validator_value} items"
        case "uniqueItems":
            return "items are repeated"
        case "pattern":
            return f"{shown} does not have the expected form ({error.validator_value})"
        case "format":
            return f"{shown} is not a valid {error.validator_value}"
        case "minProperties":
            return "must not be empty"
    return error.message


def check_entry(entry_located: Located, kind_folder: str, entry_id: str, shown: str,
                validator: Draft202012Validator) -> list[Problem]:
    """Every problem one entry has on its own (cross-file checks come later)."""
    data = entry_located.data
    if not isinstance(data, dict):
        kind = type(data).__name__ if data is not None else "nothing"
        return [Problem(shown, 1, "-", f"an entry must be a mapping of fields, not a {kind}")]
    at = entry_located.line
    problems = []
    if data.get("kind") in KINDS and data["kind"] != kind_folder:
        problems.append(Problem(shown, at(("kind",)), "kind",
                                f"{data['kind']!r} does not match its folder {kind_folder!r}"))
        # Check the rest as the kind its folder says, so one mistake gives one message.
        entry_located = Located({**data, "kind": kind_folder}, entry_located.lines)
    problems += _schema_problems(validator, entry_located, shown)
    if not ID_PATTERN.fullmatch(entry_id) or len(entry_id) > 80:
        problems.append(Problem(shown, 1, "id", f"file name {entry_id!r} must be a lower-case "
                                                "hyphenated id (a-z, 0-9, -), at most 80 chars"))
    for key in URL_FIELDS:
        if isinstance(data.get(key), str) and (why := url_problem(data[key])):
            problems.append(Problem(shown, at((key,)), key, why))
    for key in TEXT_FIELDS:
        for path, text in _text_values(data.get(key), (key,)):
            if HTML_PATTERN.search(text):
                problems.append(Problem(shown, at(path), _dotted(path),
                                        "HTML is not allowed in text fields; write plain text"))
            elif MARKDOWN_LINK_PATTERN.search(text):
                problems.append(Problem(shown, at(path), _dotted(path),
                                        "Markdown links are not allowed; the entry's url is its"
                                        " link"))
            elif SCRIPT_SCHEME_PATTERN.search(text):
                problems.append(Problem(shown, at(path), _dotted(path),
                                        "script or data URLs are not allowed in text"))
    year = data.get("year")
    this_year = dt.date.today().year
    if isinstance(year, int) and not isinstance(year, bool) and not (
        EARLIEST_YEAR <= year <= this_year + 1
    ):
        span = f"{EARLIEST_YEAR}-{this_year + 1}"
        problems.append(Problem(shown, at(("year",)), "year",
                                f"{year} is not a plausible year ({span})"))
    added = data.get("added")
    if isinstance(added, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", added):
        try:
            day = dt.date.fromisoformat(added)
        except ValueError:
            problems.append(Problem(shown, at(("added",)), "added", f"{added} is not a real date"))
        else:
            if day > dt.date.today() + dt.timedelta(days=1):
                problems.append(Problem(shown, at(("added",)), "added",
                                        f"{added} is in the future"))
    isbn = data.get("isbn")
    if isinstance(isbn, str) and not isbn_is_valid(isbn):
        problems.append(Problem(shown, at(("isbn",)), "isbn",
                                f"{isbn} is not a valid ISBN (checksum or length)"))
    return problems


# ---------------------------------------------------------------------------------------
# The whole catalog


def _shown(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def load_schema(catalog_dir: Path) -> dict[str, Any]:
    """The catalog's own schema.json, else the project's."""
    for candidate in (catalog_dir / SCHEMA_NAME, DEFAULT_CATALOG / SCHEMA_NAME):
        if candidate.is_file():
            return json.loads(candidate.read_text(encoding="utf-8"))
    raise FileNotFoundError(f"no {SCHEMA_NAME} in {catalog_dir} or {DEFAULT_CATALOG}")


def load_topics(catalog_dir: Path) -> tuple[dict[str, Topic], list[Problem]]:
    path = catalog_dir / TOPICS_NAME
    shown = _shown(path)
    if not path.is_file():
        return {}, [Problem(shown, 1, "-", "the topic taxonomy is missing")]
    located, problems = read_yaml_file(path, shown)
    if located is None:
        return {}, problems
    items = located.data.get("topics") if isinstance(located.data, dict) else None
    if not isinstance(items, list):
        return {}, [Problem(shown, 1, "topics", "expected a list under the key 'topics'")]
    topics: dict[str, Topic] = {}
    for index, item in enumerate(items):
        line = located.line(("topics", index))
        where = f"topics[{index}]"
        if not isinstance(item, dict):
            problems.append(Problem(shown, line, where, "expected a mapping"))
            continue
        unknown = set(item) - {"id", "name", "description", "parent", "example"}
        for key in sorted(unknown):
            problems.append(Problem(shown, located.line(("topics", index, key)), f"{where}.{key}",
                                    "unknown field"))
        topic_id = item.get("id")
        if not isinstance(topic_id, str) or not ID_PATTERN.fullmatch(topic_id):
            problems.append(Problem(shown, line, f"{where}.id", "missing or not a hyphenated id"))
            continue
        for key in ("name", "description"):
            value = item.get(key)
            if not (isinstance(value, dict) and all(isinstance(value.get(lang), str)
                                                    and value[lang].strip()
                                                    for lang in ("en", "zh"))):
                problems.append(Problem(shown, line, f"{topic_id}.{key}",
                                        "needs non-empty 'en' and 'zh' text"))
            else:
                for lang, text in value.items():
                    if HTML_PATTERN.search(text) or MARKDOWN_LINK_PATTERN.search(text):
                        problems.append(Problem(shown, located.line(("topics", index, key, lang)),
                                                f"{topic_id}.{key}.{lang}",
                                                "HTML or Markdown links are not allowed"))
        if topic_id in topics:
            problems.append(Problem(shown, line, f"{topic_id}.id",
                                    f"duplicate topic id (first on line {topics[topic_id].line})"))
            continue
        example = item.get("example")
        if example is not None and not (isinstance(example, str) and ID_PATTERN.fullmatch(example)):
            problems.append(Problem(shown, line, f"{topic_id}.example",
                                    "must be the name of a folder under examples/"))
            example = None
        topics[topic_id] = Topic(
            id=topic_id,
            name=item.get("name") if isinstance(item.get("name"), dict) else {},
            description=item.get("description") if isinstance(item.get("description"), dict)
            else {},
            parent=item.get("parent"),
            example=example,
            line=line,
        )
    for topic in topics.values():
        if topic.parent is not None and topic.parent not in topics:
            problems.append(Problem(shown, topic.line, f"{topic.id}.parent",
                                    f"unknown parent topic {topic.parent!r}"))
            topic.parent = None
    for topic in topics.values():  # a parent chain must end at a root
        seen, current = set(), topic
        while current.parent is not None and current.id not in seen:
            seen.add(current.id)
            current = topics[current.parent]
        if current.parent is not None:
            problems.append(Problem(shown, topic.line, f"{topic.id}.parent", "parent cycle"))
            topic.parent = None
    return topics, problems


def load_catalog(catalog_dir: Path | str = DEFAULT_CATALOG) -> Catalog:
    """Every entry that passed its own checks, plus every problem found anywhere."""
    catalog_dir = Path(catalog_dir)
    problems: list[Problem] = []
    if not catalog_dir.is_dir():
        return Catalog(catalog_dir, [], {}, [Problem(_shown(catalog_dir), 1, "-",
                                                     "catalog folder not found")])
    topics, topic_problems = load_topics(catalog_dir)
    problems += topic_problems
    try:
        schema = load_schema(catalog_dir)
    except (OSError, ValueError) as error:
        return Catalog(catalog_dir, [], topics, [*problems, Problem(
            _shown(catalog_dir / SCHEMA_NAME), 1, "-", f"cannot load the schema: {error}")])
    from jsonschema import Draft202012Validator, FormatChecker

    validator = Draft202012Validator(schema, format_checker=FormatChecker())
    entries: list[Entry] = []
    for path in sorted(catalog_dir.rglob("*")):
        if path.is_dir() or path.name in (SCHEMA_NAME, TOPICS_NAME) or path.name.startswith("."):
            continue
        shown = _shown(path)
        relative = path.relative_to(catalog_dir)
        if len(relative.parts) != 2 or relative.parts[0] not in KINDS:
            problems.append(Problem(shown, 1, "-", "entries live in catalog/<kind>/<id>.yaml "
                                                   f"with kind one of {', '.join(KINDS)}"))
            continue
        if path.suffix != ".yaml":
            problems.append(Problem(shown, 1, "-", "entry files must end in .yaml"))
            continue
        located, file_problems = read_yaml_file(path, shown)
        problems += file_problems
        if located is None:
            continue
        entry_problems = check_entry(located, relative.parts[0], path.stem, shown, validator)
        problems += entry_problems
        if isinstance(located.data, dict):
            for index, topic_id in enumerate(located.data.get("topics") or []):
                if isinstance(topic_id, str) and topics and topic_id not in topics:
                    problems.append(Problem(shown, located.line(("topics", index)),
                                            f"topics[{index}]", f"unknown topic {topic_id!r}"))
                    entry_problems.append(problems[-1])
        if not entry_problems:
            entries.append(Entry(path.stem, relative.parts[0], Path(shown), located.data,
                                 located.lines))
    problems += _cross_file_problems(entries)
    rejected = {p.path for p in problems}
    return Catalog(catalog_dir, [e for e in entries if str(e.path) not in rejected], topics,
                   sorted(set(problems)))


def _cross_file_problems(entries: list[Entry]) -> Iterator[Problem]:
    first_by_id: dict[str, Entry] = {}
    first_by_url: dict[str, Entry] = {}
    for entry in entries:
        if (other := first_by_id.setdefault(entry.id, entry)) is not entry:
            yield Problem(str(entry.path), 1, "id", f"duplicate id: {other.path} has the same "
                                                     "file name")
        key = normalize_url(entry.url)
        if (other := first_by_url.setdefault(key, entry)) is not entry:
            yield Problem(str(entry.path), entry.line("url"), "url",
                          f"duplicate URL: {other.path}:{other.line('url')} points to the same "
                          "resource")


def iter_urls(catalog: Catalog) -> Iterator[tuple[str, str, int, str]]:
    """(url, file, line, field) for every web address in the catalog's valid entries."""
    for entry in catalog.entries:
        for key in ("url", "repository"):
            if key in entry.data:
                yield entry.data[key], str(entry.path), entry.line(key), key


# ---------------------------------------------------------------------------------------
# atlas validate


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "validate",
        help="check every catalog file against the schema and each other",
        description="Check the catalog: schema, URLs, text fields, duplicates, topics. "
                    "Prints every problem as path:line: field: message; exits 1 if any.",
    )
    parser.add_argument("paths", nargs="*", type=Path, default=[Path("catalog")],
                        metavar="PATH",
                        help="catalog folder (default: catalog), or files in it, as pre-commit "
                             "passes them: the whole catalog is still loaded (duplicates span "
                             "files) but only those files' problems are reported")
    parser.add_argument("-q", "--quiet", action="store_true", help="print problems only")
    parser.set_defaults(handler=run_validate)


def _catalog_of(path: Path) -> Path:
    """The catalog folder a file belongs to (catalog/<kind>/<id>.yaml or catalog/topics.yaml)."""
    if not path.is_file():
        return path
    return path.parent if path.name in (SCHEMA_NAME, TOPICS_NAME) else path.parent.parent


def run_validate(args: argparse.Namespace) -> int:
    folders: dict[Path, set[Path] | None] = {}
    for path in args.paths:
        folder = _catalog_of(path)
        if not path.is_file() or path.name in (SCHEMA_NAME, TOPICS_NAME):
            folders[folder] = None  # every problem of the catalog
        elif folders.get(folder, set()) is not None:
            folders.setdefault(folder, set()).add(path.resolve())
    problems: list[Problem] = []
    for folder, files in folders.items():
        catalog = load_catalog(folder)
        problems += [p for p in catalog.problems
                     if files is None or Path(p.path).resolve() in files]
    for problem in problems:
        print(problem)
    if problems:
        count = len({p.path for p in problems})
        print(f"atlas validate: {len(problems)} problem(s) in {count} file(s)",
              file=sys.stderr)
        return 1
    if len(folders) != 1 or next(iter(folders.values())) is not None:
        if not args.quiet:
            print(f"atlas validate: {len(args.paths)} file(s) OK")
        return 0
    if not args.quiet:
        counts = ", ".join(f"{sum(e.kind == k for e in catalog.entries)} {k}" for k in KINDS)
        print(f"atlas validate: {len(catalog.entries)} entries OK ({counts}), "
              f"{len(catalog.topics)} topics")
    return 0
