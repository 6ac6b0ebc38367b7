"""The catalog's rules, derived from their one statement: the catalog's ``schema.json``.

Which kinds exist, which fields each kind has (in the house order), which are required,
the vocabularies (levels, access, modalities, ...), which fields hold URLs and which hold
contributor text: all of it is read here from the schema, so that adding a kind or a
field is an edit to the schema alone. The validator, ``atlas new``, the site, the exports
and the explorer take a ``Rules`` object instead of keeping lists of their own.

The schema states each kind's fields under ``$defs/kinds/<kind>`` (applied by an
``if kind == ...`` branch, with ``unevaluatedProperties: false`` refusing the rest) and the
shape of every kind-specific field under ``$defs/fields``; ``x-atlas-field-order`` gives
the order fields are written in.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # imported where used: 45 ms that `atlas linkcheck URL` need not pay
    from jsonschema import Draft202012Validator

SCHEMA_NAME = "schema.json"
ORDER_KEY = "x-atlas-field-order"
# The $defs that make a field contributor text (checked for HTML and links) or a URL.
TEXT_DEFS = frozenset({"#/$defs/line", "#/$defs/paragraph", "#/$defs/paragraph_zh"})
URL_DEF = "#/$defs/url"
# Fields whose values are single words from a vocabulary, by the $defs entry or the field.
VOCABULARIES = ("level", "access", "weights", "commercial_use", "modality")


class SchemaError(ValueError):
    """The schema does not state the rules in the form this module reads."""


@dataclass(frozen=True)
class Rules:
    schema: dict[str, Any]

    @classmethod
    def load(cls, path: Path) -> Rules:
        try:
            schema = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
            raise SchemaError(f"cannot read {path}: {error}") from None
        rules = cls(schema)
        rules.check()
        return rules

    @classmethod
    def of_catalog(cls, catalog_dir: Path) -> Rules:
        return cls.load(catalog_dir / SCHEMA_NAME)

    # --- what the schema says ------------------------------------------------------------

    @cached_property
    def kinds(self) -> tuple[str, ...]:
        return tuple(self.schema["properties"]["kind"]["enum"])

    @cached_property
    def field_order(self) -> tuple[str, ...]:
        return tuple(self.schema[ORDER_KEY])

    @cached_property
    def common_fields(self) -> frozenset[str]:
        return frozenset(self.schema["properties"])

    def kind_schema(self, kind: str) -> dict[str, Any]:
        kind_def: dict[str, Any] = self.schema["$defs"]["kinds"][kind]
        return kind_def

    def fields(self, kind: str) -> tuple[str, ...]:
        """Every field an entry of ``kind`` may have, in the order files write them."""
        own = self.kind_schema(kind).get("properties", {})
        return tuple(name for name in self.field_order if name in self.common_fields
                     or name in own)

    def required(self, kind: str) -> tuple[str, ...]:
        """The fields every entry of ``kind`` must have (conditional ones not included)."""
        names = set(self.schema.get("required", [])) | set(self.kind_schema(kind)
                                                           .get("required", []))
        return tuple(name for name in self.field_order if name in names)

    def kinds_with(self, name: str) -> tuple[str, ...]:
        return tuple(kind for kind in self.kinds if name in self.fields(kind))

    @cached_property
    def all_fields(self) -> frozenset[str]:
        return frozenset(name for kind in self.kinds for name in self.fields(kind))

    def raw_field_schema(self, name: str) -> dict[str, Any]:
        """A field's schema as written (common fields at the top, the rest in $defs/fields)."""
        if name in self.common_fields:
            own: dict[str, Any] = self.schema["properties"][name]
        else:
            own = self.schema["$defs"]["fields"][name]
        return own

    def field_schema(self, name: str) -> dict[str, Any]:
        """The schema of one field, wrapped so that its $refs resolve on their own."""
        return {**self.raw_field_schema(name), "$defs": self.schema["$defs"]}

    def description(self, name: str) -> str:
        """What the schema says a field is (its own description, else its $ref's)."""
        return str(self.resolve(self.raw_field_schema(name)).get("description", ""))

    def vocabulary(self, name: str) -> tuple[str, ...]:
        """The allowed words of an enumerated field (``level``) or $defs entry (``modality``)."""
        if name in self.common_fields or name in self.schema["$defs"]["fields"]:
            schema = self.resolve(self.raw_field_schema(name))
        else:
            schema = self.resolve(self.schema["$defs"][name])
        return tuple(schema["enum"])

    @cached_property
    def vocabulary_words(self) -> frozenset[str]:
        """Every word of every vocabulary: values a page shows by their label."""
        return frozenset(word for name in VOCABULARIES for word in self.vocabulary(name))

    @cached_property
    def text_fields(self) -> tuple[str, ...]:
        """Fields holding contributor prose: checked for HTML, Markdown links and scripts."""
        return tuple(name for name in self.field_order
                     if name in self.all_fields and self._refs(name) & TEXT_DEFS)

    @cached_property
    def url_fields(self) -> tuple[str, ...]:
        return tuple(name for name in self.field_order
                     if name in self.all_fields and self._direct_ref(name) == URL_DEF)

    @cached_property
    def pattern(self) -> dict[str, str]:
        """Regular expressions of the fields that have one (after following $refs)."""
        found = {}
        for name in self.all_fields:
            schema = self.resolve(self.raw_field_schema(name))
            if "pattern" in schema:
                found[name] = schema["pattern"]
            elif "pattern" in schema.get("items", {}):
                found[name] = schema["items"]["pattern"]
        return found

    def validator(self) -> Draft202012Validator:
        from jsonschema import Draft202012Validator, FormatChecker

        return Draft202012Validator(self.schema, format_checker=FormatChecker())

    def kind_schema_flat(self, kind: str) -> dict[str, Any]:
        """The schema an entry of ``kind`` meets, as one flat object schema.

        The same rules as the whole schema (a test checks they agree), written so that
        jsonschema need not track evaluated properties through ``if`` branches, which costs
        it most of its time: a catalog of 10,000 entries validates several times faster.
        """
        own = self.kind_schema(kind)
        flat: dict[str, Any] = {
            "type": "object",
            "additionalProperties": False,
            "properties": {**self.schema["properties"], **own.get("properties", {})},
            "required": [*self.schema.get("required", []), *own.get("required", [])],
        }
        flat.update({key: own[key] for key in ("allOf", "anyOf", "if", "then") if key in own})
        # $refs written out in place: resolving them is most of what jsonschema would spend.
        inlined: dict[str, Any] = self._inline(flat)
        return {"$schema": self.schema.get("$schema"), **inlined}

    def _inline(self, node: Any) -> Any:
        if isinstance(node, dict):
            if "$ref" in node:
                return self._inline(self.resolve(node))
            return {key: self._inline(value) for key, value in node.items()}
        if isinstance(node, list):
            return [self._inline(item) for item in node]
        return node

    @cached_property
    def _kind_validators(self) -> dict[str, Draft202012Validator]:
        from jsonschema import Draft202012Validator, FormatChecker

        return {kind: Draft202012Validator(self.kind_schema_flat(kind),
                                           format_checker=FormatChecker())
                for kind in self.kinds}

    def kind_validator(self, kind: str) -> Draft202012Validator:
        """The validator of one kind's entries (see ``kind_schema_flat``)."""
        return self._kind_validators[kind]

    def field_validator(self, name: str) -> Draft202012Validator:
        """A validator for one field's value alone (``atlas new`` checks each answer)."""
        from jsonschema import Draft202012Validator, FormatChecker

        return Draft202012Validator(self.field_schema(name), format_checker=FormatChecker())

    # --- consistency of the schema itself ------------------------------------------------

    def check(self) -> None:
        """Fail loudly if the schema no longer has the structure the rules are read from."""
        try:
            kinds = self.kinds
            defined = set(self.schema["$defs"]["kinds"])
            order = self.field_order
            fields = set(self.schema["$defs"]["fields"])
        except (KeyError, TypeError) as error:
            raise SchemaError(f"the schema lacks {error}") from None
        if set(kinds) != defined:
            raise SchemaError(f"kinds {sorted(kinds)} and $defs/kinds {sorted(defined)} differ")
        branches = {branch.get("if", {}).get("properties", {}).get("kind", {}).get("const")
                    for branch in self.schema.get("allOf", [])}
        if missing := set(kinds) - branches:
            raise SchemaError(f"no allOf branch applies $defs/kinds for {sorted(missing)}")
        used = set(self.common_fields)
        for kind in kinds:
            own = set(self.kind_schema(kind).get("properties", {}))
            if unknown := own - fields - used:
                raise SchemaError(f"{kind} has fields without a $defs/fields entry: {unknown}")
            used |= own
        if set(order) != used or len(order) != len(set(order)):
            raise SchemaError(f"{ORDER_KEY} must list every field once; it differs by "
                              f"{sorted(set(order) ^ used)}")

    # --- helpers ---------------------------------------------------------------------------

    def resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        """Follow $refs; keywords written beside a $ref (a description) win over its target's."""
        while "$ref" in schema:
            beside = {key: value for key, value in schema.items() if key != "$ref"}
            schema = {**self._target(schema["$ref"]), **beside}
        return schema

    def conditions(self, kind: str) -> list[tuple[dict[str, Any], list[str]]]:
        """A kind's conditional requirements: (what its ``if`` says, the fields then required)."""
        kind_def = self.kind_schema(kind)
        branches = [kind_def, *kind_def.get("allOf", [])]
        return [(branch["if"].get("properties", {}), list(branch["then"].get("required", [])))
                for branch in branches if "if" in branch and "then" in branch]

    def _target(self, ref: str) -> dict[str, Any]:
        node: Any = self.schema
        for part in ref.removeprefix("#/").split("/"):
            node = node[part]
        return dict(node)

    def _direct_ref(self, name: str) -> str | None:
        """The $defs entry a field's schema points to."""
        ref = self.raw_field_schema(name).get("$ref")
        return ref if isinstance(ref, str) else None

    def _refs(self, name: str) -> set[str]:
        def walk(node: Any, seen: set[str]) -> Iterator[str]:
            if isinstance(node, dict):
                ref = node.get("$ref")
                if isinstance(ref, str) and ref not in seen:
                    seen.add(ref)
                    yield ref
                    yield from walk(self._target(ref), seen)
                for key, value in node.items():
                    if key != "$ref":
                        yield from walk(value, seen)
            elif isinstance(node, list):
                for item in node:
                    yield from walk(item, seen)

        return set(walk(self.raw_field_schema(name), set()))
