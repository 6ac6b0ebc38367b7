"""`atlas linkcheck --fix`: the moved URLs of entry files rewritten to where they moved.

A file is edited as text, at the value's own characters (located by YAML's parser), never
re-dumped, so everything else stays byte for byte: comments, key order, quoting style,
line endings, a byte-order mark, the rest of the line. A new URL the validator would
reject is not written, and after writing the catalog is validated again.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

import yaml

from atlas.catalog import Catalog, Problem, load_catalog, url_problem
from atlas.linkcheck.model import Result, Verdict
from atlas.linkcheck.urls import split_url

BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True)
class Move:
    """One value to rewrite: where it is written, what it says and what it should say."""

    file: str
    line: int
    field: str
    old: str
    new: str


@dataclass(frozen=True)
class Refusal:
    move: Move
    reason: str

    def __str__(self) -> str:
        move = self.move
        return f"{move.file}:{move.line}: {move.field}: not rewritten to {move.new}: {self.reason}"


@dataclass
class FileFix:
    """One entry file before and after its moves."""

    file: str
    before: bytes
    after: bytes
    moves: list[Move] = field(default_factory=list)


def moves_of(results: Iterable[Result], url_fields: Iterable[str]) -> Iterator[Move]:
    """The moves among ``results`` that are written in a URL field of an entry."""
    fields = set(url_fields)
    for result in results:
        if result.verdict is Verdict.MOVED and result.moved_to:
            for source in result.sources:
                if source.field in fields:
                    yield Move(source.file, source.line, source.field, result.url,
                               result.moved_to)


def _value_node(text: str, key: str, line: int) -> yaml.ScalarNode | str:
    """The scalar of top-level ``key`` whose key is on ``line``, or why there is none."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as error:
        return f"the file no longer reads as YAML ({type(error).__name__})"
    if isinstance(root, yaml.MappingNode):
        for key_node, value_node in root.value:
            if (isinstance(key_node, yaml.ScalarNode) and key_node.value == key
                    and key_node.start_mark.line + 1 == line):
                if isinstance(value_node, yaml.ScalarNode):
                    return value_node
                return "the value is not a single URL"
    return f"no {key!r} on this line (the file changed since it was checked?)"


def _written(url: str, style: str | None) -> str | None:
    """``url`` as a YAML scalar in the quoting style the file used; None for block styles."""
    if style is None:
        return url
    if style == "'":
        return "'" + url.replace("'", "''") + "'"
    if style == '"':
        return '"' + url.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return None


def _fix_file(file: str, moves: list[Move]) -> tuple[FileFix | None, list[Refusal]]:
    try:
        raw = Path(file).read_bytes()
        bom = BOM if raw.startswith(BOM) else b""
        text = raw[len(bom):].decode("utf-8")
    except (OSError, UnicodeDecodeError) as error:
        return None, [Refusal(move, f"cannot read the file ({error})") for move in moves]
    refusals: list[Refusal] = []
    edits: list[tuple[int, int, str, Move]] = []
    for move in moves:
        if problem := url_problem(move.new):
            refusals.append(Refusal(move, f"the validator would reject it: {problem}"))
            continue
        node = _value_node(text, move.field, move.line)
        if isinstance(node, str):
            refusals.append(Refusal(move, node))
            continue
        start, end = node.start_mark.index, node.end_mark.index
        written = _written(move.new, node.style)
        if split_url(str(node.value)) != split_url(move.old):
            refusals.append(Refusal(move, f"the file says {node.value}, not {move.old}"))
        elif written is None or "\n" in text[start:end]:
            refusals.append(Refusal(move, "the value spans lines; edit it by hand"))
        else:
            edits.append((start, end, written, move))
    if not edits:
        return None, refusals
    new_text = text
    for start, end, written, _ in sorted(edits, key=lambda edit: edit[0], reverse=True):
        new_text = new_text[:start] + written + new_text[end:]
    for *_, move in edits:  # the edited file must read back with exactly the new values
        node = _value_node(new_text, move.field, move.line)
        if isinstance(node, str) or node.value != move.new:
            return None, refusals + [Refusal(m, "the edited file would not read back the "
                                                "same; edit it by hand") for *_, m in edits]
    moved = [move for *_, move in edits]
    return FileFix(file, raw, bom + new_text.encode("utf-8"), moved), refusals


def plan(moves: Iterable[Move]) -> tuple[list[FileFix], list[Refusal]]:
    """What each file would become, and the moves that cannot be written."""
    by_file: dict[str, list[Move]] = {}
    for move in moves:
        by_file.setdefault(move.file, []).append(move)
    fixes: list[FileFix] = []
    refusals: list[Refusal] = []
    for file in sorted(by_file):
        fix, refused = _fix_file(file, by_file[file])
        fixes += [fix] if fix else []
        refusals += refused
    return fixes, refusals


def unified_diff(fixes: Iterable[FileFix]) -> str:
    """The changes as ``git apply`` reads them (paths as a/FILE and b/FILE)."""
    chunks: list[str] = []
    for fix in fixes:
        before = fix.before.decode("utf-8-sig").splitlines(keepends=True)
        after = fix.after.decode("utf-8-sig").splitlines(keepends=True)
        for line in difflib.unified_diff(before, after, f"a/{fix.file}", f"b/{fix.file}"):
            missing = "" if line.endswith("\n") else "\n\\ No newline at end of file\n"
            chunks.append(line + missing)
    return "".join(chunks)


def write(fixes: Iterable[FileFix]) -> None:
    """Replace each file at once (a reader never sees half of it), keeping its mode."""
    for fix in fixes:
        path = Path(fix.file)
        temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        temporary.write_bytes(fix.after)
        os.chmod(temporary, path.stat().st_mode)
        os.replace(temporary, path)


def fix_moves(results: list[Result], loaded: dict[Path, Catalog], apply: bool, out: TextIO,
              err: TextIO) -> int:
    """Print the diff of every move in the ``loaded`` catalogs (and write it with
    ``apply``); the exit status: 0 when every move was rewritten and the catalog has no new
    problem, 1 otherwise."""
    url_fields = {name for catalog in loaded.values() if catalog.rules
                  for name in catalog.rules.url_fields}
    fixes, refusals = plan(moves_of(results, url_fields))
    out.write(unified_diff(fixes))
    for refusal in refusals:
        print(f"atlas linkcheck: {refusal}", file=err)
    count = sum(len(fix.moves) for fix in fixes)
    if not apply:
        print(f"atlas linkcheck --fix: {count} moved URL(s) in {len(fixes)} file(s); dry run, "
              "nothing written (add --write to apply)", file=err)
        return 1 if refusals else 0
    write(fixes)
    print(f"atlas linkcheck --fix: {count} moved URL(s) rewritten in {len(fixes)} file(s)",
          file=err)
    new_problems: list[Problem] = []
    for folder, catalog in loaded.items():
        new_problems += sorted(set(load_catalog(folder).problems) - set(catalog.problems))
    for problem in new_problems:
        print(problem, file=err)
    if new_problems:
        print(f"atlas linkcheck --fix: the catalog has {len(new_problems)} new problem(s) after "
              "writing; review them (git diff shows what was written)", file=err)
    return 1 if refusals or new_problems else 0
