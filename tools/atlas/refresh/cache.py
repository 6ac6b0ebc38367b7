"""The conditional-request cache: each URL's validators and the part of its answer we use.

A service that answers ``304 Not Modified`` sends no body, so the cache keeps, next to the
``ETag`` (and ``Last-Modified``) of each URL, what was taken from its last full answer;
GitHub does not count an authorised 304 against the rate limit, so an unchanged repository
costs nothing. A permanent redirect (a renamed repository) is remembered too, so the next
run asks the new address directly. The cache also records when each entry was last
checked, for ``--max-age``.

It lives under ``.cache/`` (git-ignored; CI keeps it with actions/cache). Losing it costs
one full run, never data: metadata.json holds the values.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from atlas.refresh.metadata import write_if_changed

DEFAULT_CACHE = Path(".cache/atlas-refresh.json")
VERSION = 1  # bump when what is kept of an answer changes: older caches are then ignored


@dataclass
class Cached:
    etag: str | None = None
    last_modified: str | None = None
    data: Any = None  # what the service module took from the body
    redirect: str | None = None  # a permanent redirect's target


@dataclass
class Cache:
    path: Path | None
    responses: dict[str, Cached] = field(default_factory=dict)
    checked: dict[str, str] = field(default_factory=dict)  # entry id -> stamp
    notes: list[str] = field(default_factory=list)

    @classmethod
    def load(cls, path: Path | None) -> Cache:
        """The cache at ``path`` (None: no cache); an unreadable one is started afresh."""
        cache = cls(path)
        if path is None or not path.is_file():
            return cache
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
            if document.get("version") != VERSION:
                raise ValueError("another version")
            cache.responses = {url: Cached(**item) for url, item in document["responses"].items()}
            cache.checked = dict(document.get("checked", {}))
        except (OSError, UnicodeDecodeError, ValueError, TypeError, KeyError, AttributeError):
            cache.notes.append(f"{path}: unreadable or from another version; starting afresh")
            cache.responses, cache.checked = {}, {}
        return cache

    def get(self, url: str) -> Cached | None:
        return self.responses.get(url)

    def put(self, url: str, item: Cached) -> None:
        self.responses[url] = item

    def drop(self, url: str) -> None:
        self.responses.pop(url, None)

    def to_text(self) -> str:
        document = {"version": VERSION, "checked": self.checked,
                    "responses": {url: {key: value for key, value in vars(item).items()
                                        if value is not None}
                                  for url, item in self.responses.items()}}
        # Not indented: nobody reads it, and json's fast encoder only writes compact text.
        return json.dumps(document, ensure_ascii=False, sort_keys=True) + "\n"

    def save(self) -> None:
        if self.path is not None:
            write_if_changed(self.path, self.to_text())
