"""What the site shows from metadata.json: stars, last activity, archived or inactive.

One statement of what "inactive" means, used by the site's badges, the explorer's filter
and the findings report alike: no activity of the project (a push, a GitHub release, an
upload to PyPI) for ``INACTIVE_DAYS``, counted back from a given day (the day the site is
built, or the day of the run). A model or dataset known only from the Hugging Face Hub is
neither active nor inactive: a checkpoint that stays unchanged is not abandoned; its last
update still shows as its last activity.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from enum import Enum

from atlas.refresh.metadata import Metadata, Record, parse_stamp

INACTIVE_DAYS = 365  # "active in the last year"
# A PyPI package whose latest release is older than this is reported (findings.py).
STALE_RELEASE_DAYS = 2 * 365


class Status(str, Enum):
    ACTIVE = "active"
    INACTIVE = "inactive"
    ARCHIVED = "archived"


@dataclass(frozen=True)
class Activity:
    """One entry's facts as pages show them (dates as YYYY-MM-DD)."""

    fetched: str
    status: Status | None  # None: no date of any activity is known
    last_activity: str | None = None
    stars: int | None = None
    forks: int | None = None
    release: str | None = None  # the latest GitHub release's tag
    release_date: str | None = None
    version: str | None = None  # the latest PyPI version
    version_date: str | None = None
    downloads: int | None = None
    likes: int | None = None
    sources: tuple[str, ...] = ()  # the services the facts come from, by title

    @property
    def flagged(self) -> bool:
        """Archived or inactive: marked with a badge in lists."""
        return self.status in (Status.ARCHIVED, Status.INACTIVE)


def _day(text: str | None) -> str | None:
    moment = parse_stamp(text)
    return moment.date().isoformat() if moment else None


def last_activity(record: Record, projects_only: bool = False) -> dt.datetime | None:
    """The newest of the record's dates of activity (of the project's code and releases
    only, or also the Hub's last update)."""
    github, pypi, hub = record.github, record.pypi, record.huggingface
    candidates = []
    if github and not github.missing:
        candidates += [github.pushed, github.release.date if github.release else None]
    if pypi and not pypi.missing:
        candidates.append(pypi.released)
    if hub and not hub.missing and not projects_only:
        candidates.append(hub.modified)
    moments = [moment for moment in map(parse_stamp, candidates) if moment]
    return max(moments) if moments else None


def status_of(record: Record, today: dt.date) -> Status | None:
    if record.github and record.github.archived and not record.github.missing:
        return Status.ARCHIVED
    newest = last_activity(record, projects_only=True)
    if newest is None:
        return None
    return Status.ACTIVE if (today - newest.date()).days <= INACTIVE_DAYS else Status.INACTIVE


def activity(record: Record, today: dt.date) -> Activity | None:
    """The record as pages show it; None when the services gave nothing to show."""
    github = record.github if record.github and not record.github.missing else None
    pypi = record.pypi if record.pypi and not record.pypi.missing else None
    hub = record.huggingface if record.huggingface and not record.huggingface.missing else None
    if not (github or pypi or hub):
        return None
    newest = last_activity(record)
    sources = tuple(title for title, present in (("GitHub", github), ("PyPI", pypi),
                                                 ("Hugging Face", hub)) if present)
    return Activity(
        fetched=_day(record.fetched) or record.fetched[:10],
        status=status_of(record, today),
        last_activity=newest.date().isoformat() if newest else None,
        stars=github.stars if github else None,
        forks=github.forks if github else None,
        release=github.release.tag if github and github.release else None,
        release_date=_day(github.release.date) if github and github.release else None,
        version=pypi.version if pypi else None,
        version_date=_day(pypi.released) if pypi else None,
        downloads=hub.downloads if hub else None,
        likes=hub.likes if hub else None,
        sources=sources,
    )


def activities(metadata: Metadata, today: dt.date) -> dict[str, Activity]:
    """Every entry's activity, by id (entries with nothing to show are left out)."""
    found = {}
    for entry_id, record in metadata.records.items():
        shown = activity(record, today)
        if shown is not None:
            found[entry_id] = shown
    return found


def build_day() -> dt.date:
    """The day a build counts activity back from: SOURCE_DATE_EPOCH's (reproducible builds)
    when set, else today in UTC."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "")
    if epoch.isdigit():
        return dt.datetime.fromtimestamp(int(epoch), dt.timezone.utc).date()
    return dt.datetime.now(dt.timezone.utc).date()
