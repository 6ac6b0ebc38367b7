"""What the link checker checks and what it finds: links, verdicts, results.

The reports and the cache read these types and nothing else of the checker, so that a
verdict is added in one place and every report format shows it.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any


class Verdict(enum.Enum):
    """What became of one link, worst first: reports list verdicts in this order, and
    ``a < b`` means ``a`` is the worse."""

    BROKEN = "broken"
    BLOCKED = "blocked"
    RATE_LIMITED = "rate_limited"
    MOVED = "moved"
    REDIRECTED = "redirected"
    UNSUPPORTED = "unsupported"
    EXCLUDED = "excluded"
    OK = "ok"

    def __str__(self) -> str:
        return self.value

    @property
    def rank(self) -> int:
        return list(Verdict).index(self)

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Verdict):
            return NotImplemented
        return self.rank < other.rank

    @property
    def alive(self) -> bool:
        """The page answered: its result may be reused, its fragments checked, its failure
        history forgotten."""
        return self in (Verdict.OK, Verdict.REDIRECTED, Verdict.MOVED)


@dataclass(frozen=True)
class Source:
    """Where a link was written: the file and line a maintainer has to edit."""

    file: str
    line: int
    field: str = ""

    def __str__(self) -> str:
        return f"{self.file}:{self.line}" + (f" ({self.field})" if self.field else "")


@dataclass
class Link:
    """One unique web address to check, with every place it was written."""

    url: str  # as first written
    fetch_url: str  # normalized, without fragment: one request serves every fragment
    fragment: str | None
    sources: list[Source] = field(default_factory=list)

    @property
    def key(self) -> str:
        return self.fetch_url + ("#" + self.fragment if self.fragment is not None else "")


@dataclass(frozen=True)
class Hop:
    """One redirect: the URL asked and the status it answered with."""

    url: str
    status: int

    def to_json(self) -> dict[str, Any]:
        return {"url": self.url, "status": self.status}


@dataclass
class Outcome:
    """What fetching one URL (all its hops) found; shared by every fragment of the page."""

    verdict: Verdict
    status: int | None = None
    final_url: str | None = None
    redirects: list[Hop] = field(default_factory=list)
    error: str | None = None
    anchors: set[str] | None = None
    html: bool = False
    timed_out: bool = False
    elapsed: float = 0.0
    moved_to: str | None = None  # for MOVED: where the permanent redirects lead


@dataclass
class Result:
    """The verdict on one link as written, with where it was written."""

    url: str
    verdict: Verdict
    status: int | None = None
    final_url: str | None = None
    redirects: list[Hop] = field(default_factory=list)
    error: str | None = None
    elapsed: float = 0.0
    sources: list[Source] = field(default_factory=list)
    cached: bool = False
    failed_runs: int = 0  # consecutive runs this link has been broken, this one included
    failing: bool = False  # counts against the exit status under the run's policies
    timed_out: bool = False
    deadline: bool = False  # not finished when the run's deadline was reached
    moved_to: str | None = None  # for MOVED: the URL the entry should now give

    def to_json(self) -> dict[str, Any]:
        return {
            "url": self.url, "verdict": self.verdict.value, "status": self.status,
            "final_url": self.final_url, "moved_to": self.moved_to,
            "redirects": [hop.to_json() for hop in self.redirects], "error": self.error,
            "elapsed": round(self.elapsed, 3),
            "sources": [{"file": s.file, "line": s.line, "field": s.field} for s in self.sources],
            "cached": self.cached, "failed_runs": self.failed_runs, "failing": self.failing,
            "timed_out": self.timed_out, "deadline": self.deadline,
        }
