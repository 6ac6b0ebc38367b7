"""Learning paths: catalog/paths.yaml, checked against catalog/paths.schema.json.

A path leads a reader from zero to a goal in ordered steps; each step names one Learn page,
topic, catalog entry or example, says why it comes there, and which earlier steps it needs.
The schema states the file's shape once; this module turns its failures into
``path:line: field: message`` problems and checks what a schema cannot see: that what a
step names exists (a Learn page in both languages, a topic, a valid entry, an example with
a page) and that a step needs only steps before it. As everywhere in the catalog, every
problem of a run is reported, whatever the file holds, and never as a traceback.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from atlas.catalog import (
    PATHS_NAME,
    PATHS_SCHEMA_NAME,
    Entry,
    Located,
    Problem,
    Topic,
    _shown,
    read_yaml_file,
    schema_message,
    text_problem,
)

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator

TARGETS = ("learn", "topic", "entry", "example")  # what a step can name
LANGS = ("en", "zh")  # a Learn page must exist in both: docs/<lang>/learn/<name>.md
MESSAGE_KEY = "x-atlas-message"


@dataclass(frozen=True)
class Step:
    """One step of a path: what it names (``kind`` is one of TARGETS) and why."""

    id: str
    kind: str
    target: str
    why: dict[str, str]
    needs: tuple[str, ...] = ()
    levels: tuple[str, ...] = ()  # topic steps: the levels of the picks they list
    line: int = 1  # where the step starts
    target_line: int = 1  # where it names its target


@dataclass(frozen=True)
class LearningPath:
    id: str
    title: dict[str, str]
    goal: dict[str, str]
    steps: tuple[Step, ...]
    line: int = 1

    def step(self, step_id: str) -> Step:
        return next(step for step in self.steps if step.id == step_id)

    def number(self, step_id: str) -> int:
        """A step's number on the page, from 1."""
        return next(index for index, step in enumerate(self.steps, 1) if step.id == step_id)


@dataclass
class ParsedPaths:
    """What paths.yaml says on its own: the paths that are well formed, with the index each
    has in the file, and the problems of the file's shape."""

    paths: list[tuple[int, LearningPath]]
    problems: list[tuple[int | None, Problem]]  # (the path's index, if one path's, problem)


def read_paths(catalog_dir: Path) -> ParsedPaths:
    """Parse and check paths.yaml against its schema; no file means no paths."""
    path = catalog_dir / PATHS_NAME
    shown = _shown(path)
    if not path.exists():
        return ParsedPaths([], [])
    try:
        schema = json.loads((catalog_dir / PATHS_SCHEMA_NAME).read_text(encoding="utf-8"))
        from jsonschema import Draft202012Validator

        Draft202012Validator.check_schema(schema)
        validator = Draft202012Validator(schema)
    except Exception as error:  # noqa: BLE001 - any failure to read it is one problem
        return ParsedPaths([], [(None, Problem(_shown(catalog_dir / PATHS_SCHEMA_NAME), 1, "-",
                                                f"cannot load the paths schema: "
                                                f"{type(error).__name__}: {error}"))])
    located, read_problems = read_yaml_file(path, shown)
    if located is None:
        return ParsedPaths([], [(None, problem) for problem in read_problems])
    problems = list(_schema_problems(validator, located, shown))
    data = located.data
    items = data.get("paths") if isinstance(data, dict) else None
    paths: list[tuple[int, LearningPath]] = []
    first_path: dict[str, int] = {}
    for index, item in enumerate(items if isinstance(items, list) else []):
        if not isinstance(item, dict):
            continue
        at = ("paths", index)
        name = _name(located, index)
        for key in ("title", "goal"):
            for lang, text in _texts(item.get(key)):
                if why := text_problem(text):
                    problems.append((index, Problem(shown, located.line((*at, key, lang)),
                                                    f"{name}.{key}.{lang}", why)))
        path_id = item.get("id")
        if isinstance(path_id, str):
            if path_id in first_path:
                problems.append((index, Problem(
                    shown, located.line((*at, "id")), f"{name}.id",
                    f"duplicate path id (first on line {first_path[path_id]})")))
            else:
                first_path[path_id] = located.line((*at, "id"))
        steps, step_problems = _steps(item.get("steps"), located, index, name, shown)
        problems += [(index, problem) for problem in step_problems]
        title, goal = item.get("title"), item.get("goal")
        if isinstance(path_id, str) and isinstance(title, dict) and isinstance(goal, dict):
            paths.append((index, LearningPath(path_id, dict(title), dict(goal), tuple(steps),
                                              located.line(at))))
    return ParsedPaths(paths, problems)


def _name(located: Located, index: int) -> str:
    """How messages name a path: its id when it has a usable one, else its position."""
    items = located.data.get("paths") if isinstance(located.data, dict) else None
    item = items[index] if isinstance(items, list) and index < len(items) else None
    path_id = item.get("id") if isinstance(item, dict) else None
    if isinstance(path_id, str) and path_id and len(path_id) <= 40 and path_id.isprintable():
        return path_id
    return f"paths[{index}]"


def _texts(value: Any) -> Iterator[tuple[str, str]]:
    if isinstance(value, dict):
        yield from ((lang, text) for lang, text in value.items() if isinstance(text, str))


def _field(located: Located, path: tuple[Any, ...]) -> str:
    """A schema error's place, as messages name it: diffusion.steps[2].entry."""
    if len(path) >= 2 and path[0] == "paths" and isinstance(path[1], int):
        parts = [_name(located, path[1])]
        rest = path[2:]
    else:
        parts, rest = [], path
    for part in rest:
        parts.append(f"[{part}]" if isinstance(part, int) else f".{part}")
    return "".join(parts).lstrip(".") or "-"


def _schema_problems(validator: Draft202012Validator, located: Located, shown: str
                     ) -> Iterator[tuple[int | None, Problem]]:
    data = located.data
    if validator.is_valid(data):
        return
    seen: set[tuple[Any, ...]] = set()
    for error in sorted(validator.iter_errors(data), key=lambda e: list(map(str, e.path))):
        path = tuple(error.absolute_path)
        owner = path[1] if len(path) >= 2 and path[0] == "paths" and isinstance(path[1], int) \
            else None
        if error.validator not in ("additionalProperties", "required"):
            if path in seen:
                continue
            seen.add(path)
        if error.validator == "additionalProperties" and isinstance(error.instance, dict):
            allowed = set(error.schema.get("properties", {}))
            for key in sorted(set(error.instance) - allowed, key=str):
                yield owner, Problem(shown, located.line((*path, key)),
                                     _field(located, (*path, key)), "unknown field")
        elif error.validator == "required":
            missing = error.message.split("'")[1] if "'" in error.message else "?"
            message = error.schema.get(MESSAGE_KEY) or "required field is missing"
            at = path if MESSAGE_KEY in error.schema else (*path, missing)
            yield owner, Problem(shown, located.line(path), _field(located, at), message)
        elif MESSAGE_KEY in error.schema:
            yield owner, Problem(shown, located.line(path), _field(located, path),
                                 error.schema[MESSAGE_KEY])
        elif error.validator == "type" and not path:
            yield owner, Problem(shown, 1, "-", "expected a mapping with the key 'paths'")
        else:
            yield owner, Problem(shown, located.line(path), _field(located, path),
                                 schema_message(error))


def _steps(value: Any, located: Located, index: int, name: str, shown: str
           ) -> tuple[list[Step], list[Problem]]:
    """The path's well-formed steps, and what is wrong with their ids and needs (the rest
    of their shape is the schema's)."""
    if not isinstance(value, list):
        return [], []
    problems: list[Problem] = []
    steps: list[Step] = []
    position: dict[str, int] = {}  # step id -> its index
    for number, item in enumerate(value):
        if isinstance(item, dict) and isinstance(item.get("id"), str):
            position.setdefault(item["id"], number)
    for number, item in enumerate(value):
        at = ("paths", index, "steps", number)
        if not isinstance(item, dict):
            continue
        where = f"{name}.steps[{number}]"
        for lang, text in _texts(item.get("why")):
            if why := text_problem(text):
                problems.append(Problem(shown, located.line((*at, "why", lang)),
                                        f"{where}.why.{lang}", why))
        step_id = item.get("id")
        if isinstance(step_id, str) and position.get(step_id) != number:
            first = located.line(("paths", index, "steps", position[step_id]))
            problems.append(Problem(shown, located.line((*at, "id")), f"{where}.id",
                                    f"duplicate step id {step_id!r} (first on line {first})"))
        needs = item.get("needs")
        for slot, need in enumerate(needs if isinstance(needs, list) else []):
            if not isinstance(need, str):
                continue
            line = located.line((*at, "needs", slot))
            if need == step_id:
                problems.append(Problem(shown, line, f"{where}.needs[{slot}]",
                                        "a step cannot need itself"))
            elif need not in position:
                problems.append(Problem(shown, line, f"{where}.needs[{slot}]",
                                        f"no step {need!r} in this path"))
            elif position[need] > number:
                problems.append(Problem(
                    shown, line, f"{where}.needs[{slot}]",
                    f"{need!r} is step {position[need] + 1}, after this one "
                    f"(step {number + 1}): a step needs only earlier steps"))
        targets = [key for key in TARGETS if isinstance(item.get(key), str)]
        why = item.get("why")
        if isinstance(step_id, str) and len(targets) == 1 and isinstance(why, dict):
            levels = item.get("levels")
            steps.append(Step(step_id, targets[0], item[targets[0]], dict(why),
                              tuple(n for n in needs if isinstance(n, str))
                              if isinstance(needs, list) else (),
                              tuple(levels) if isinstance(levels, list) else (),
                              located.line(at), located.line((*at, targets[0]))))
    return steps, problems


def check_paths(parsed: ParsedPaths, catalog_dir: Path, topics: dict[str, Topic],
                entries: list[Entry]) -> tuple[list[LearningPath], list[Problem]]:
    """The paths whose every step names something that exists, and every problem.

    The project's root is the catalog folder's parent: Learn pages are read from
    docs/<lang>/learn/, examples from examples/.
    """
    root = catalog_dir.parent
    shown = _shown(catalog_dir / PATHS_NAME)
    by_id = {entry.id: entry for entry in entries}
    renamed = {old: topic.id for topic in topics.values() for old in topic.formerly}
    examples = {topic.example: topic.id for topic in topics.values() if topic.example}
    problems = list(parsed.problems)
    for index, path in parsed.paths:
        named: dict[tuple[str, str], str] = {}
        for number, step in enumerate(path.steps):
            where = f"{path.id}.steps[{number}].{step.kind}"
            for message in _target_problems(step, root, topics, by_id, renamed, examples):
                problems.append((index, Problem(shown, step.target_line, where, message)))
            key = (step.kind, step.target)
            if key in named:
                problems.append((index, Problem(
                    shown, step.target_line, where,
                    f"step {named[key]!r} already names the {step.kind} {step.target!r}")))
            named.setdefault(key, step.id)
    bad = {index for index, _ in problems}
    valid = [path for index, path in parsed.paths if index not in bad and None not in bad]
    return valid, sorted({problem for _, problem in problems})


def _target_problems(step: Step, root: Path, topics: dict[str, Topic], by_id: dict[str, Entry],
                     renamed: dict[str, str], examples: dict[str, str]) -> Iterator[str]:
    if step.kind == "learn":
        missing = [f"docs/{lang}/learn/{step.target}.md" for lang in LANGS
                   if not (root / "docs" / lang / "learn" / f"{step.target}.md").is_file()]
        if missing:
            yield f"no Learn page {' or '.join(missing)}"
        elif step.target == "index":
            yield "the Learn index is not a step; name a Learn page"
    elif step.kind == "topic":
        topic = topics.get(step.target)
        if topic is None:
            hint = f"; it was renamed to {renamed[step.target]!r}" \
                if step.target in renamed else ""
            yield f"unknown topic {step.target!r}{hint}"
        elif step.levels and not any(
            pick.entry in by_id and by_id[pick.entry].level in step.levels
            for pick in topic.start_here
        ):
            yield f"no start-here pick of topic {step.target!r} is at level " \
                  f"{' or '.join(step.levels)}"
    elif step.kind == "entry":
        if step.target not in by_id:
            yield f"no valid entry {step.target!r} in the catalog"
    elif step.kind == "example":
        folder = root / "examples" / step.target
        if not (folder / f"{step.target}.py").is_file():
            yield f"no example examples/{step.target}/ (with {step.target}.py)"
        elif step.target not in examples:
            yield f"examples/{step.target}/ is no topic's example (topics.yaml `example:`), " \
                  "so it has no page to link to"


def start_here_for(step: Step, topic: Topic, by_id: dict[str, Entry]) -> list[tuple[Entry, Any]]:
    """A topic step's picks: the topic's start-here entries (of the step's levels, if any)."""
    return [(by_id[pick.entry], pick) for pick in topic.start_here if pick.entry in by_id
            and (not step.levels or by_id[pick.entry].level in step.levels)]
