"""Memory between runs, in one JSON file: results of pages that were alive (not asked
again while young) and, per link, how many consecutive runs it has been broken (so that
``--fail-after`` can tell a flaky host from a dead page)."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from atlas.linkcheck.model import Hop, Outcome, Result, Verdict

CACHE_VERSION = 2  # 2: the moved verdict; a version 1 file keeps its failure history
HISTORY_DAYS = 90  # a failure not seen again for this long is dropped from the history


class Cache:
    """Alive results younger than the maximum age and the failure history.

    Failures, blocks and 429s are never reused: they are always checked again.
    """

    def __init__(self, path: Path | None, max_age: float, notes: list[str]) -> None:
        self.path, self.max_age = path, max_age
        self.pages: dict[str, dict[str, Any]] = {}
        self.failures: dict[str, dict[str, Any]] = {}
        self.now = time.time()
        if path is None or not path.exists():
            return
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if data.get("version") not in (1, CACHE_VERSION):
                raise ValueError("another version")
            # Version 1 knew no moves: its redirected pages are asked again.
            self.pages = dict(data["pages"]) if data["version"] == CACHE_VERSION else {}
            self.failures = dict(data["failures"])
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
            notes.append(f"ignoring the cache file {path} ({type(error).__name__}); "
                         "starting afresh")
            self.pages, self.failures = {}, {}

    def lookup(self, fetch_url: str, want_anchors: bool) -> Outcome | None:
        entry = self.pages.get(fetch_url)
        if not entry or self.now - entry.get("checked", 0) > self.max_age:
            return None
        if want_anchors and entry.get("anchors") is None and entry.get("html", True):
            return None  # checked without reading the page: its fragments are unknown
        try:
            verdict = Verdict(entry["verdict"])
            redirects = [Hop(hop["url"], hop["status"]) for hop in entry.get("redirects", [])]
        except (ValueError, KeyError, TypeError):
            return None
        anchors = entry.get("anchors")
        return Outcome(verdict, entry.get("status"), entry.get("final_url"), redirects, None,
                       set(anchors) if anchors is not None else None, entry.get("html", False),
                       moved_to=entry.get("moved_to"))

    def store(self, fetch_url: str, outcome: Outcome) -> None:
        if outcome.verdict.alive:
            self.pages[fetch_url] = {
                "checked": self.now, "verdict": outcome.verdict.value, "status": outcome.status,
                "final_url": outcome.final_url, "moved_to": outcome.moved_to,
                "redirects": [hop.to_json() for hop in outcome.redirects], "html": outcome.html,
                "anchors": sorted(outcome.anchors) if outcome.anchors is not None else None,
            }
        else:
            self.pages.pop(fetch_url, None)

    def previous_elapsed(self, key: str) -> float:
        """How long the link took when it was last broken; -1 if it was not."""
        return float(self.failures.get(key, {}).get("elapsed", -1.0))

    def record(self, key: str, result: Result) -> int:
        """Update the failure history with this run's result; consecutive broken runs."""
        if result.verdict is Verdict.BROKEN:
            entry = self.failures.setdefault(key, {"runs": 0, "first": self.now})
            entry["runs"] += 1
            entry["last"], entry["error"] = self.now, result.error
            entry["elapsed"] = round(result.elapsed, 3)
            return int(entry["runs"])
        if result.verdict.alive:
            self.failures.pop(key, None)
        return 0

    def save(self) -> None:
        if self.path is None:
            return
        horizon = self.now - max(self.max_age, 0)
        pages = {url: e for url, e in self.pages.items() if e.get("checked", 0) >= horizon}
        forgotten = self.now - HISTORY_DAYS * 86400  # links no longer checked anywhere
        failures = {key: e for key, e in self.failures.items() if e.get("last", 0) >= forgotten}
        data = {"version": CACHE_VERSION, "pages": pages, "failures": failures}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_name(self.path.name + f".{os.getpid()}.tmp")
        temporary.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
        os.replace(temporary, self.path)
