"""What needs a maintainer's attention, from metadata.json and the run.

Each kind of finding is one rule, stated here once:

* ``archived``: the GitHub repository is archived.
* ``inactive``: no push, release or upload for ``INACTIVE_DAYS`` (activity.py's rule).
* ``licence``: the licence GitHub detects differs from the entry's ``license`` (GitHub
  writes GPL-3.0 for a licence text that does not say "only" or "or later", so it matches
  both; NOASSERTION, a licence GitHub does not recognise, is no finding).
* ``renamed``: the repository's current full name differs from the entry's URL.
* ``stale-release``: the PyPI package's latest release is more than STALE_RELEASE_DAYS old.
* ``not-found``: the repository, package or Hub id answered 404 (deleted or private).
* ``not-refreshed``: a service failed or its rate limit stopped the run; old values kept.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import Enum

from atlas.catalog import Entry
from atlas.refresh.activity import (
    INACTIVE_DAYS,
    STALE_RELEASE_DAYS,
    Status,
    last_activity,
    status_of,
)
from atlas.refresh.metadata import Metadata, parse_stamp
from atlas.refresh.run import EntryResult, Outcome
from atlas.refresh.targets import github_repository


class Kind(str, Enum):
    NOT_FOUND = "not-found"
    RENAMED = "renamed"
    ARCHIVED = "archived"
    LICENCE = "licence"
    INACTIVE = "inactive"
    STALE_RELEASE = "stale-release"
    NOT_REFRESHED = "not-refreshed"

    @property
    def heading(self) -> str:
        return {
            "not-found": "Not found (deleted or private)",
            "renamed": "Renamed repositories",
            "archived": "Archived repositories",
            "licence": "Licence differs from the entry's",
            "inactive": f"No activity for {INACTIVE_DAYS // 30} months",
            "stale-release": f"Latest PyPI release over {STALE_RELEASE_DAYS // 365} years old",
            "not-refreshed": "Not refreshed this run",
        }[self.value]


@dataclass(frozen=True)
class Finding:
    kind: Kind
    entry_id: str
    file: str
    line: int
    message: str

    def to_json(self) -> dict[str, object]:
        return {"kind": self.kind.value, "entry": self.entry_id, "file": self.file,
                "line": self.line, "message": self.message}


LICENCE_SUFFIXES = ("-only", "-or-later", "+")


def licences_differ(ours: str, detected: str) -> bool:
    """Whether the entry's SPDX id and the one GitHub detects name different licences."""
    if detected in ("NOASSERTION", "") or ours.startswith("LicenseRef-"):
        return False
    mine, theirs = ours.casefold(), detected.casefold()
    if theirs.endswith(LICENCE_SUFFIXES):  # GitHub said which: "-only" is the bare id
        return mine.removesuffix("-only") != theirs.removesuffix("-only")
    for suffix in LICENCE_SUFFIXES:  # GitHub's bare GPL-3.0 covers "only" and "or later"
        mine = mine.removesuffix(suffix)
    return mine != theirs


def find(entries: list[Entry], metadata: Metadata, results: list[EntryResult],
         today: dt.date) -> list[Finding]:
    """Every finding about ``entries`` (the run's scope), worst kinds first."""
    found: list[Finding] = []
    problems = {r.entry_id: r.problems for r in results if r.outcome is Outcome.NOT_REFRESHED}
    for entry in entries:
        def add(kind: Kind, message: str, field: str = "repository",
                entry: Entry = entry) -> None:
            line = entry.line(field) if field in entry.data else 1
            found.append(Finding(kind, entry.id, str(entry.path), line, message))

        for problem in problems.get(entry.id, []):
            add(Kind.NOT_REFRESHED, f"{problem}; its values are those of the last run",
                "url")
        record = metadata.records.get(entry.id)
        if record is None:
            continue
        github, pypi, hub = record.github, record.pypi, record.huggingface
        if github and github.missing:
            add(Kind.NOT_FOUND, f"GitHub repository {github.repository} not found (404)")
        if pypi and pypi.missing:
            add(Kind.NOT_FOUND, f"PyPI package {pypi.package} not found (404)", "pypi")
        if hub and hub.missing:
            add(Kind.NOT_FOUND, f"Hugging Face {hub.id} not found", "huggingface")
        written = github_repository(entry.repository)
        if github and not github.missing and written \
                and written.casefold() != github.repository.casefold():
            add(Kind.RENAMED, f"GitHub repository {written} is now {github.repository}: "
                              f"update `repository` to https://github.com/{github.repository}")
        status = status_of(record, today)
        if status is Status.ARCHIVED:
            add(Kind.ARCHIVED, f"GitHub repository {github.repository if github else ''} "
                               "is archived (read-only)".replace("  ", " "))
        elif status is Status.INACTIVE:
            newest = last_activity(record, projects_only=True)
            add(Kind.INACTIVE, f"no push, release or upload since "
                               f"{newest.date().isoformat() if newest else 'ever'}", "url")
        if github and github.license and entry.license \
                and licences_differ(entry.license, github.license):
            add(Kind.LICENCE, f"the entry says {entry.license}, GitHub detects "
                              f"{github.license} in {github.repository}", "license")
        released = parse_stamp(pypi.released) if pypi and not pypi.missing else None
        if pypi and released and (today - released.date()).days > STALE_RELEASE_DAYS:
            add(Kind.STALE_RELEASE, f"PyPI {pypi.package} {pypi.version} was released on "
                                    f"{released.date().isoformat()}", "pypi")
    order = list(Kind)
    return sorted(found, key=lambda f: (order.index(f.kind), f.file, f.line, f.entry_id))
