"""Load and validate the catalog: one YAML file per entry, a topic taxonomy, a JSON Schema.

Contributors write these files by hand, so the loader assumes nothing about them: any
file (empty, binary, a list, an alias bomb, 50 MB) yields ``Problem`` records of the form
``path:line: field: message``, never an exception, and every problem of a run is reported
together. The site generator and the link checker read the same ``Catalog`` object.
"""

from __future__ import annotations

import argparse
import datetime as dt
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

import yaml

from atlas.rules import SCHEMA_NAME, Rules, SchemaError

if TYPE_CHECKING:  # imported where used: 45 ms that `atlas linkcheck URL` need not pay
    from jsonschema import Draft202012Validator

DEFAULT_CATALOG = Path("catalog")
TOPICS_NAME = "topics.yaml"
MAX_FILE_BYTES = 64 * 1024
MAX_NODES = 5_000  # an entry has a few dozen YAML nodes; more means something is wrong
ID_PATTERN = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
EXAMPLE_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")  # a folder under examples/
EARLIEST_YEAR = 1900
START_HERE = (3, 5)  # picks per topic, fewest and most
# What RFC 3986 allows unencoded in a URL (unreserved, reserved and '%' of an escape).
URL_CHARACTERS = re.compile(r"[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]")

# Text a contributor writes must stay text: no tags, no entities, no Markdown links.
HTML_PATTERN = re.compile(r"<\s*/?\s*[A-Za-z!?][^>]*>|&(#\d+|#x[0-9a-fA-F]+|[A-Za-z]+);")
MARKDOWN_LINK_PATTERN = re.compile(r"!?\[[^\]]*\]\([^)]*\)|<https?://[^>]*>")
SCRIPT_SCHEME_PATTERN = re.compile(r"\b(javascript|vbscript|data)\s*:", re.IGNORECASE)

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
    """One valid catalog entry: its fields, typed, and the file they came from.

    The attributes after ``lines`` are the schema's fields (a test keeps the two in step);
    a field the entry does not have is None. ``data`` keeps the file's own mapping, in the
    author's order, for the exports.
    """

    id: str
    kind: str
    path: Path  # relative to the working directory when inside it, for messages and edit links
    data: dict[str, Any]
    lines: dict[tuple[Any, ...], int]
    title: str
    url: str
    description: dict[str, str]
    topics: list[str]
    languages: list[str]
    level: str
    access: str
    added: str
    translated_title: dict[str, str] | None = None
    tags: list[str] = field(default_factory=list)
    authors: list[str] | None = None
    et_al: bool = False
    translators: list[str] | None = None
    developer: str | None = None
    creator: str | None = None
    year: int | None = None
    venue: str | None = None
    publisher: str | None = None
    edition: str | None = None
    isbn: str | None = None
    provider: str | None = None
    inputs: list[str] | None = None
    outputs: list[str] | None = None
    modalities: list[str] | None = None
    parameters: list[str] | None = None
    size: list[str] | None = None
    weights: str | None = None
    repository: str | None = None
    huggingface: str | None = None
    pypi: str | None = None
    license: str | None = None
    commercial_use: str | None = None
    commercial_note: dict[str, str] | None = None
    arxiv: str | None = None
    doi: str | None = None

    @classmethod
    def from_data(cls, entry_id: str, kind: str, path: Path, located: Located) -> Entry:
        """An entry from a mapping that passed validation (so every field has its type)."""
        data: dict[str, Any] = located.data
        return cls(id=entry_id, path=path, data=data, lines=located.lines,
                   **{key: value for key, value in data.items() if key != "kind"}, kind=kind)

    @classmethod
    def of(cls, entry_id: str, kind: str, path: Path, data: dict[str, Any]) -> Entry:
        """An entry made in code (tests, benchmarks), without line numbers."""
        return cls.from_data(entry_id, kind, path, Located(data, {}))

    def line(self, *path: Any) -> int:
        return Located(self.data, self.lines).line(tuple(path))

    def text(self, key: str, lang: str) -> str:
        """A bilingual field in ``lang``; falls back to English."""
        value = self.data.get(key, {})
        return str(value.get(lang) or value.get("en", ""))

    def display_title(self, lang: str) -> str:
        return self.title

    def translated(self, lang: str) -> str | None:
        """The title in ``lang`` when the published title is in another language."""
        translated = (self.translated_title or {}).get(lang)
        return translated if translated and translated != self.title else None

    @property
    def modalities_all(self) -> list[str]:
        """Every modality the entry involves: a model's inputs and outputs, a dataset's."""
        seen = [*(self.inputs or []), *(self.outputs or []), *(self.modalities or [])]
        return list(dict.fromkeys(seen))


@dataclass(frozen=True)
class Pick:
    """A "start here" entry of a topic, with the reason to read it, in both languages."""

    entry: str
    why: dict[str, str]


@dataclass
class Topic:
    id: str
    name: dict[str, str]
    description: dict[str, str]
    parent: str | None
    example: str | None
    line: int
    formerly: tuple[str, ...] = ()
    start_here: tuple[Pick, ...] = ()


@dataclass
class Catalog:
    root: Path
    entries: list[Entry]
    topics: dict[str, Topic]
    problems: list[Problem]
    rules: Rules | None = None
    # Computed once per catalog by atlas.site.related_entries (both languages share it).
    related: dict[str, list[Entry]] | None = field(default=None, repr=False, compare=False)

    def by_id(self) -> dict[str, Entry]:
        return {entry.id: entry for entry in self.entries}

    def children(self, topic_id: str | None) -> list[Topic]:
        return [topic for topic in self.topics.values() if topic.parent == topic_id]

    def renamed(self) -> dict[str, str]:
        """Former topic ids and the topic each now is."""
        return {old: topic.id for topic in self.topics.values() for old in topic.formerly}

    @property
    def kinds(self) -> tuple[str, ...]:
        return self.rules.kinds if self.rules else ()


# ---------------------------------------------------------------------------------------
# YAML with line numbers, safely


class _Reject(Exception):
    def __init__(self, line: int, field: str, message: str) -> None:
        super().__init__(message)
        self.line, self.field, self.message = line, field, message


_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
STR_TAG = "tag:yaml.org,2002:str"
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
                lines[path + (key,)] = key_node.start_mark.line + 1
            return result
        if isinstance(node, yaml.SequenceNode):
            return [build(item, (*path, index)) for index, item in enumerate(node.value)]
        return build_scalar(node)

    def build_scalar(node: yaml.Node) -> Any:
        if not isinstance(node, yaml.ScalarNode):
            raise _Reject(node.start_mark.line + 1, "-", "keys must be text")
        if node.tag == STR_TAG:  # most values: the constructor would return the text as is
            return node.value
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
    """Why ``url`` is not a safe, real web address, or None when it is.

    Only the characters RFC 3986 allows unencoded may appear: a quote, an angle bracket, a
    backslash, a brace or a non-ASCII letter is not part of any real address (a browser
    would encode it), so the message shows the encoded form to write instead.
    """
    if any(ch.isspace() for ch in url) or any(ord(ch) < 32 or ord(ch) == 127 for ch in url):
        return "URL contains whitespace or control characters"
    if bad := sorted({ch for ch in url if not URL_CHARACTERS.fullmatch(ch)}, key=url.index):
        shown = " ".join(repr(ch) for ch in bad[:5])
        return f"URL contains {shown}, not allowed unencoded (RFC 3986); write " \
               f"{_encoded(url)}"
    if re.search(r"%(?![0-9A-Fa-f]{2})", url):
        return "URL has a '%' that does not start a percent-escape (%XX); write '%25' for '%'"
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        return f"malformed URL ({error})"
    if parts.scheme not in ("http", "https"):
        return f"URL scheme must be http or https, not {parts.scheme or 'none'!r}"
    if parts.username or parts.password or "@" in parts.netloc:
        return "URL must not carry a user name or password"
    if set("[]") & set(parts.path + parts.query + parts.fragment):
        return "URL has '[' or ']' outside an IP address; write %5B and %5D"
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
                                  for label in labels):
        return f"URL host {host!r} is not a valid domain name"
    if not re.fullmatch(r"[a-z]{2,63}|xn--[a-z0-9-]+", labels[-1], re.I):
        return f"URL host {host!r} has no valid top-level domain"
    if port is not None and port == 0:
        return "URL port 0 is not valid"
    return None


def _encoded(url: str) -> str:
    """``url`` as it may be written: an IDN host in its xn-- form, the rest percent-encoded."""
    scheme, rest = url.split("://", 1) if "://" in url else ("", url)
    host, slash, tail = rest.partition("/")
    try:
        host = ".".join(label.encode("idna").decode("ascii") if not label.isascii() else label
                        for label in host.split("."))
    except UnicodeError:
        host = quote(host, safe=":@[]")
    tail = quote(tail.replace("\\", "/"), safe="/?#[]@!$&'()*+,;=%:~")
    return f"{scheme}://{host}{slash}{tail}" if scheme else f"{host}{slash}{tail}"


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


def _schema_problems(rules: Rules, validator: Draft202012Validator, located: Located,
                     shown: str) -> Iterator[Problem]:
    if validator.is_valid(located.data):  # the common case, without building errors
        return
    data = located.data
    kind = data.get("kind")
    seen: set[tuple[Any, ...]] = set()
    for error in sorted(validator.iter_errors(data), key=lambda e: list(map(str, e.path))):
        path = tuple(error.absolute_path)
        if len(path) == 1 and path[0] in rules.url_fields and error.validator == "pattern":
            continue  # url_problem says precisely what is wrong
        if path and error.validator not in ("additionalProperties", "required", "not"):
            if path in seen:
                continue
            seen.add(path)
        if error.validator in ("additionalProperties", "unevaluatedProperties") \
                and isinstance(error.instance, dict):
            allowed = set(error.schema.get("properties", {})) if path else \
                set(rules.fields(kind))
            for key in sorted(set(error.instance) - allowed):
                yield Problem(shown, located.line((*path, key)), _dotted((*path, key)),
                              _not_a_field(rules, key, kind) if not path else "unknown field")
        elif error.validator == "required":
            missing = re.match(r"'([^']+)'", error.message)
            name = missing.group(1) if missing else "?"
            yield Problem(shown, located.line(path), _dotted((*path, name)),
                          "required field is missing" + _required_note(rules, data, path, name))
        elif error.validator == "anyOf" and error.validator_value and all(
            "required" in option for option in error.validator_value
        ):
            names = " or ".join(req for option in error.validator_value
                                for req in option["required"])
            yield Problem(shown, 1, names, f"a {kind} entry needs {names}")
        elif error.validator == "pattern" and path and path[0] in rules.all_fields:
            value = repr(error.instance) if len(repr(error.instance)) <= 60 \
                else repr(error.instance)[:57] + "..."
            yield Problem(shown, located.line(path), _dotted(path),
                          f"{value} does not have the expected form: "
                          f"{rules.description(path[0]) or error.validator_value}")
        else:
            yield Problem(shown, located.line(path), _dotted(path) if path else "-",
                          schema_message(error))


def _not_a_field(rules: Rules, key: str, kind: str) -> str:
    owners = rules.kinds_with(key)
    if not owners:
        return "unknown field"
    return f"not a field of a {kind} entry (only {', '.join(owners)} entries have it)"


def _required_note(rules: Rules, data: dict[str, Any], path: tuple[Any, ...], name: str) -> str:
    """Say which kind needs the field, and on what condition if it is a conditional one."""
    kind = data.get("kind")
    if path or kind not in rules.kinds:
        return ""
    for condition, names in rules.conditions(kind):
        if name in names and name not in rules.required(kind):
            said = " and ".join(f"{field} is {spec.get('const')}"
                                for field, spec in condition.items())
            return f" (for a {kind} entry whose {said})"
    return f" (for a {kind} entry)"


def schema_message(error: Any) -> str:
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
    return str(error.message)


def check_entry(entry_located: Located, kind_folder: str, entry_id: str, shown: str,
                rules: Rules) -> list[Problem]:
    """Every problem one entry has on its own (cross-file checks come later)."""
    data = entry_located.data
    if not isinstance(data, dict):
        kind = type(data).__name__ if data is not None else "nothing"
        return [Problem(shown, 1, "-", f"an entry must be a mapping of fields, not a {kind}")]
    at = entry_located.line
    problems = []
    if data.get("kind") != kind_folder:
        if "kind" not in data:
            problems.append(Problem(shown, 1, "kind", "required field is missing"))
        elif data["kind"] in rules.kinds:
            problems.append(Problem(shown, at(("kind",)), "kind",
                                    f"{data['kind']!r} does not match its folder "
                                    f"{kind_folder!r}"))
        else:
            problems.append(Problem(shown, at(("kind",)), "kind",
                                    f"{data['kind']!r} is not one of: "
                                    f"{', '.join(rules.kinds)}"))
        # Check the rest as the kind its folder says, so one mistake gives one message.
        entry_located = Located({**data, "kind": kind_folder}, entry_located.lines)
    problems += _schema_problems(rules, rules.kind_validator(kind_folder), entry_located, shown)
    if not ID_PATTERN.fullmatch(entry_id) or len(entry_id) > 80:
        problems.append(Problem(shown, 1, "id", f"file name {entry_id!r} must be a lower-case "
                                                "hyphenated id (a-z, 0-9, -), at most 80 chars"))
    for key in rules.url_fields:
        if isinstance(data.get(key), str) and (why := url_problem(data[key])):
            problems.append(Problem(shown, at((key,)), key, why))
    for key in rules.text_fields:
        for path, text in _text_values(data.get(key), (key,)):
            if why := text_problem(text):
                problems.append(Problem(shown, at(path), _dotted(path), why))
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


def text_problem(text: str) -> str | None:
    """Why contributor text would not stay plain text on a page, or None."""
    if HTML_PATTERN.search(text):
        return "HTML is not allowed in text fields; write plain text"
    if MARKDOWN_LINK_PATTERN.search(text):
        return "Markdown links are not allowed; the entry's url is its link"
    if SCRIPT_SCHEME_PATTERN.search(text):
        return "script or data URLs are not allowed in text"
    return None


# ---------------------------------------------------------------------------------------
# The whole catalog


def _shown(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


TOPIC_FIELDS = ("id", "name", "description", "parent", "example", "formerly", "start_here")


def _bilingual_problem(value: Any, longest: int | None = None) -> str | None:
    """Why ``value`` is not an {en, zh} mapping of non-empty plain text, or None."""
    if not (isinstance(value, dict) and all(isinstance(value.get(lang), str)
                                            and value[lang].strip() for lang in ("en", "zh"))):
        return "needs non-empty 'en' and 'zh' text"
    if unknown := sorted(set(value) - {"en", "zh"}, key=str):
        return f"unknown language key(s): {', '.join(map(str, unknown))}"
    for text in value.values():
        if why := text_problem(text):
            return why
        if longest and len(text) > longest:
            return f"too long ({len(text)} characters; at most {longest})"
    return None


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
        for key in sorted(set(item) - set(TOPIC_FIELDS)):
            problems.append(Problem(shown, located.line(("topics", index, key)), f"{where}.{key}",
                                    "unknown field"))
        topic_id = item.get("id")
        if not isinstance(topic_id, str) or not ID_PATTERN.fullmatch(topic_id):
            problems.append(Problem(shown, line, f"{where}.id", "missing or not a hyphenated id"))
            continue
        for key in ("name", "description"):
            if why := _bilingual_problem(item.get(key)):
                problems.append(Problem(shown, located.line(("topics", index, key)),
                                        f"{topic_id}.{key}", why))
        if topic_id in topics:
            problems.append(Problem(shown, line, f"{topic_id}.id",
                                    f"duplicate topic id (first on line {topics[topic_id].line})"))
            continue
        example = item.get("example")
        if example is not None and not (isinstance(example, str)
                                        and EXAMPLE_PATTERN.fullmatch(example)):
            problems.append(Problem(shown, line, f"{topic_id}.example",
                                    "must be the name of a folder under examples/"))
            example = None
        parent = item.get("parent")
        if parent is not None and not isinstance(parent, str):
            problems.append(Problem(shown, located.line(("topics", index, "parent")),
                                    f"{topic_id}.parent", "must be a topic id"))
            parent = None
        formerly = item.get("formerly", [])
        if not (isinstance(formerly, list) and all(isinstance(old, str) and
                                                   ID_PATTERN.fullmatch(old) for old in formerly)):
            problems.append(Problem(shown, located.line(("topics", index, "formerly")),
                                    f"{topic_id}.formerly", "must be a list of former topic ids"))
            formerly = []
        picks, pick_problems = _start_here(item.get("start_here"), topic_id, located,
                                           ("topics", index, "start_here"), shown)
        problems += pick_problems
        name, description = item.get("name"), item.get("description")
        topics[topic_id] = Topic(
            id=topic_id,
            name=name if isinstance(name, dict) else {},
            description=description if isinstance(description, dict) else {},
            parent=parent,
            example=example,
            line=line,
            formerly=tuple(formerly),
            start_here=picks,
        )
    for topic in topics.values():
        if topic.parent is not None and topic.parent not in topics:
            problems.append(Problem(shown, topic.line, f"{topic.id}.parent",
                                    f"unknown parent topic {topic.parent!r}"))
            topic.parent = None
    for topic in topics.values():  # a parent chain must end at a root
        seen: set[str] = set()
        current = topic
        while current.parent is not None and current.id not in seen:
            seen.add(current.id)
            current = topics[current.parent]
        if current.parent is not None:
            problems.append(Problem(shown, topic.line, f"{topic.id}.parent", "parent cycle"))
            topic.parent = None
    former: dict[str, str] = {}
    for topic in topics.values():
        for old in topic.formerly:
            if old in topics or old in former:
                problems.append(Problem(shown, topic.line, f"{topic.id}.formerly",
                                        f"{old!r} is already the id or former id of "
                                        f"{old if old in topics else former[old]!r}"))
            former.setdefault(old, topic.id)
    return topics, problems


def _start_here(value: Any, topic_id: str, located: Located, at: tuple[Any, ...], shown: str
                ) -> tuple[tuple[Pick, ...], list[Problem]]:
    """A topic's "start here" picks, checked on their own (that the entries exist and
    belong to the topic is checked once the entries are loaded)."""
    if value is None:
        return (), []
    where = f"{topic_id}.start_here"
    fewest, most = START_HERE
    if not isinstance(value, list) or not fewest <= len(value) <= most:
        return (), [Problem(shown, located.line(at), where,
                            f"a list of {fewest} to {most} picks ({{entry, why}}) in reading "
                            "order")]
    picks: list[Pick] = []
    problems: list[Problem] = []
    for index, item in enumerate(value):
        line = located.line((*at, index))
        if not isinstance(item, dict) or set(item) != {"entry", "why"}:
            problems.append(Problem(shown, line, f"{where}[{index}]",
                                    "each pick has exactly 'entry' (an entry id) and 'why'"))
            continue
        if not isinstance(item["entry"], str) or not ID_PATTERN.fullmatch(item["entry"]):
            problems.append(Problem(shown, line, f"{where}[{index}].entry",
                                    "must be an entry id"))
            continue
        if why := _bilingual_problem(item["why"], longest=200):
            problems.append(Problem(shown, located.line((*at, index, "why")),
                                    f"{where}[{index}].why", why))
            continue
        if any(pick.entry == item["entry"] for pick in picks):
            problems.append(Problem(shown, line, f"{where}[{index}].entry",
                                    f"{item['entry']!r} is picked twice"))
            continue
        picks.append(Pick(item["entry"], dict(item["why"])))
    return tuple(picks), problems


@dataclass
class FileCache:
    """What loading the catalog learnt about each file, kept between loads by ``make serve``.

    A file whose bytes (and the schema and taxonomy they were checked against) are unchanged
    is not parsed or validated again, and keeps its ``Entry`` object: later stages can
    recognise an unchanged entry by identity.
    """

    context: bytes = b""  # schema.json and topics.yaml, as checked against
    topics: dict[str, Topic] = field(default_factory=dict)
    topic_problems: list[Problem] = field(default_factory=list)
    rules: Rules | None = None
    # shown path -> (mtime, size, inode), its bytes, its entry (None if it has problems), its
    # problems
    files: dict[str, tuple[tuple[int, int, int], bytes, Entry | None, list[Problem]]] = field(
        default_factory=dict)


def load_catalog(catalog_dir: Path | str = DEFAULT_CATALOG, cache: FileCache | None = None
                 ) -> Catalog:
    """Every entry that passed its own checks, plus every problem found anywhere.

    With a ``cache`` (``make serve``), unchanged files are taken from it; the result is the
    same as a load without one.
    """
    catalog_dir = Path(catalog_dir)
    problems: list[Problem] = []
    if not catalog_dir.is_dir():
        return Catalog(catalog_dir, [], {}, [Problem(_shown(catalog_dir), 1, "-",
                                                     "catalog folder not found")])
    context = b"".join(_read_or_empty(catalog_dir / name) for name in (SCHEMA_NAME, TOPICS_NAME))
    if cache is not None and cache.context == context and cache.rules is not None:
        topics, topic_problems, rules = cache.topics, cache.topic_problems, cache.rules
    else:
        topics, topic_problems = load_topics(catalog_dir)
        try:
            rules = Rules.of_catalog(catalog_dir)
        except SchemaError as error:
            return Catalog(catalog_dir, [], topics, [*topic_problems, Problem(
                _shown(catalog_dir / SCHEMA_NAME), 1, "-", f"cannot load the schema: {error}")])
        if cache is not None:
            cache.context, cache.topics, cache.topic_problems, cache.rules = \
                context, topics, topic_problems, rules
            cache.files.clear()
    problems += topic_problems
    renamed = {old: topic.id for topic in topics.values() for old in topic.formerly}
    entries: list[Entry] = []
    seen: dict[str, tuple[tuple[int, int, int], bytes, Entry | None, list[Problem]]] = {}
    for path in sorted(catalog_dir.rglob("*")):
        if path.is_dir() or path.name in (SCHEMA_NAME, TOPICS_NAME) or path.name.startswith("."):
            continue
        shown = _shown(path)
        relative = path.relative_to(catalog_dir)
        if len(relative.parts) != 2 or relative.parts[0] not in rules.kinds:
            problems.append(Problem(shown, 1, "-", "entries live in catalog/<kind>/<id>.yaml "
                                                   f"with kind one of {', '.join(rules.kinds)}"))
            continue
        if path.suffix != ".yaml":
            problems.append(Problem(shown, 1, "-", "entry files must end in .yaml"))
            continue
        try:
            stat = path.stat()
            stamp = (stat.st_mtime_ns, stat.st_size, stat.st_ino)
        except OSError:
            stamp = (-1, -1, -1)
        known = cache.files.get(shown) if cache is not None else None
        if known is not None and known[0] == stamp:  # untouched since the last load
            raw = known[1]
        else:  # the bytes decide; a file too big to read is keyed by its size alone
            raw = _read_or_empty(path) if 0 <= stamp[1] <= MAX_FILE_BYTES \
                else f"{stamp[1]}".encode()
        if known is not None and known[1] == raw:
            entry, entry_problems = known[2], known[3]
        else:
            entry, entry_problems = _load_entry(path, shown, relative.parts[0], rules, topics,
                                                renamed)
        seen[shown] = (stamp, raw, entry, entry_problems)
        problems += entry_problems
        if entry is not None:
            entries.append(entry)
    if cache is not None:
        cache.files = seen
    problems += _cross_file_problems(entries)
    problems += _start_here_problems(catalog_dir, topics, entries)
    rejected = {p.path for p in problems}
    return Catalog(catalog_dir, [e for e in entries if str(e.path) not in rejected], topics,
                   sorted(set(problems)), rules)


def _read_or_empty(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError:
        return b""


def _load_entry(path: Path, shown: str, kind: str, rules: Rules, topics: dict[str, Topic],
                renamed: dict[str, str]) -> tuple[Entry | None, list[Problem]]:
    """One entry file on its own: the entry if it has no problem, and its problems."""
    located, problems = read_yaml_file(path, shown)
    if located is None:
        return None, problems
    problems += check_entry(located, kind, path.stem, shown, rules)
    if isinstance(located.data, dict):
        for index, topic_id in enumerate(located.data.get("topics") or []):
            if not isinstance(topic_id, str) or not topics or topic_id in topics:
                continue
            hint = f"; it was renamed to {renamed[topic_id]!r}" if topic_id in renamed else ""
            problems.append(Problem(shown, located.line(("topics", index)), f"topics[{index}]",
                                    f"unknown topic {topic_id!r}{hint}"))
    if problems:
        return None, problems
    return Entry.from_data(path.stem, kind, Path(shown), located), []


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


def _start_here_problems(catalog_dir: Path, topics: dict[str, Topic], entries: list[Entry]
                         ) -> Iterator[Problem]:
    """Each pick names an entry of the catalog that lists the topic."""
    by_id = {entry.id: entry for entry in entries}
    shown = _shown(catalog_dir / TOPICS_NAME)
    for topic in topics.values():
        for index, pick in enumerate(topic.start_here):
            where = f"{topic.id}.start_here[{index}].entry"
            entry = by_id.get(pick.entry)
            if entry is None:
                yield Problem(shown, topic.line, where, f"no valid entry {pick.entry!r}")
            elif topic.id not in entry.topics:
                yield Problem(shown, topic.line, where,
                              f"{pick.entry!r} does not list the topic {topic.id!r}")


def iter_urls(catalog: Catalog) -> Iterator[tuple[str, str, int, str]]:
    """(url, file, line, field) for every web address in the catalog's valid entries."""
    fields = catalog.rules.url_fields if catalog.rules else ("url",)
    for entry in catalog.entries:
        for key in fields:
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
        elif (files := folders.setdefault(folder, set())) is not None:
            files.add(path.resolve())
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
        counts = ", ".join(f"{sum(e.kind == k for e in catalog.entries)} {k}"
                           for k in catalog.kinds)
        print(f"atlas validate: {len(catalog.entries)} entries OK ({counts}), "
              f"{len(catalog.topics)} topics")
    return 0
