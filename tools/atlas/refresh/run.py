"""One refresh: ask every service about every entry in scope, under the limits, and keep
metadata.json up to date as answers arrive.

An entry's record is replaced only when every service it names answered (a repository
that is gone is an answer); otherwise it keeps its old values and the entry is reported as
not refreshed. A record whose values are the same as before keeps its old bytes. The files
are written atomically every ``save_every`` seconds and at the end, whatever ends the run
(a rate limit that will not lift in time, Ctrl-C, an error), so nothing fetched is lost.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

import aiohttp

from atlas.refresh import services
from atlas.refresh.cache import Cache
from atlas.refresh.client import USER_AGENT, Client, Failure, Stats, origin
from atlas.refresh.limits import Limits, Stopped
from atlas.refresh.metadata import (
    GitHubFacts,
    HubFacts,
    Metadata,
    PyPIFacts,
    Record,
    parse_stamp,
    stamp,
    write_if_changed,
)
from atlas.refresh.targets import Service, Targets

# GitHub asks integrations not to hammer it (its secondary limits count concurrent requests
# and requests a minute): a few at a time, and its 403/429 answers pause the service.
DEFAULT_CONCURRENCY = {Service.GITHUB: 4, Service.PYPI: 8, Service.HUGGINGFACE: 4}


class Outcome(str, Enum):
    UPDATED = "updated"  # new values written
    UNCHANGED = "unchanged"  # asked, same values: the record kept its bytes
    SKIPPED = "skipped"  # checked less than --max-age ago: not asked
    NOT_REFRESHED = "not-refreshed"  # a service failed or its limit stopped the run


@dataclass
class EntryResult:
    entry_id: str
    outcome: Outcome
    problems: list[str] = field(default_factory=list)


@dataclass
class Settings:
    bases: services.Bases
    token: str | None = None
    concurrency: dict[Service, int] = field(default_factory=lambda: dict(DEFAULT_CONCURRENCY))
    timeout: float = 30.0
    retries: int = 3
    retry_wait: float = 1.0
    max_wait: float = 900.0
    max_age: float = 0.0
    save_every: float = 2.0
    user_agent: str = USER_AGENT


@dataclass
class RunResult:
    results: list[EntryResult]
    stats: Stats
    stopped: list[Stopped]
    waited: dict[Service, float]
    elapsed: float

    def count(self, outcome: Outcome) -> int:
        return sum(result.outcome == outcome for result in self.results)


def service_headers(settings: Settings) -> dict[Service, dict[str, str]]:
    common = {"User-Agent": settings.user_agent, "Accept": "application/json"}
    github = {**common, "Accept": "application/vnd.github+json",
              "X-GitHub-Api-Version": "2022-11-28"}
    if settings.token:
        github["Authorization"] = f"Bearer {settings.token}"
    return {Service.GITHUB: github, Service.PYPI: common, Service.HUGGINGFACE: common}


def due(targets: Targets, metadata: Metadata, cache: Cache, max_age: float,
        now: dt.datetime) -> bool:
    """Whether an entry was last checked longer than ``max_age`` seconds ago."""
    if max_age <= 0:
        return True
    record = metadata.records.get(targets.entry_id)
    times = [parse_stamp(cache.checked.get(targets.entry_id)),
             parse_stamp(record.fetched) if record else None]
    newest = max((moment for moment in times if moment), default=None)
    return newest is None or (now - newest).total_seconds() >= max_age


async def refresh(targets: list[Targets], metadata: Metadata, metadata_path: Path,
                  cache: Cache, settings: Settings,
                  progress: Callable[[int, int], None] | None = None,
                  notify: Callable[[str], None] = lambda message: None,
                  clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.timezone.utc),
                  ) -> RunResult:
    started = time.monotonic()
    limits = {service: Limits(service, settings.concurrency[service], settings.max_wait,
                              notify=notify) for service in Service}
    stats = Stats()
    results: list[EntryResult] = []
    now = clock()
    todo = [t for t in targets if due(t, metadata, cache, settings.max_age, now)]
    results += [EntryResult(t.entry_id, Outcome.SKIPPED) for t in targets if t not in todo]
    last_save = time.monotonic()

    def save() -> None:
        write_if_changed(metadata_path, metadata.to_text())
        cache.save()

    connector = aiohttp.TCPConnector(limit=sum(settings.concurrency.values()),
                                     limit_per_host=0, ttl_dns_cache=300)
    async with aiohttp.ClientSession(connector=connector, trust_env=False) as session:
        client = Client(session, cache, limits, service_headers(settings),
                        {service: origin(settings.bases.of(service)) for service in Service},
                        settings.timeout, settings.retries, settings.retry_wait,
                        {Service.HUGGINGFACE: services.HUB_GONE}, stats)

        async def one(target: Targets) -> EntryResult:
            facts: dict[str, Any] = {}
            problems: list[str] = []

            async def ask(service: Service) -> None:
                try:
                    if service is Service.GITHUB:
                        assert target.github
                        facts["github"] = await services.github(client, settings.bases,
                                                                target.github)
                    elif service is Service.PYPI:
                        assert target.pypi
                        facts["pypi"] = await services.pypi(client, settings.bases,
                                                            target.pypi)
                    else:
                        facts["huggingface"] = await services.huggingface(
                            client, settings.bases, target)
                except Stopped as stop:
                    problems.append(stop.describe())
                except Failure as failure:
                    problems.append(f"{service.label}: {failure}")

            await asyncio.gather(*(ask(service) for service in target.services))
            cache.checked[target.entry_id] = stamp(clock())
            if problems:
                return EntryResult(target.entry_id, Outcome.NOT_REFRESHED, problems)
            fresh = Record(stamp(clock()), _github(facts), _pypi(facts), _hub(facts))
            old = metadata.records.get(target.entry_id)
            if fresh.same_values(old):
                return EntryResult(target.entry_id, Outcome.UNCHANGED)
            metadata.records[target.entry_id] = fresh
            return EntryResult(target.entry_id, Outcome.UPDATED)

        tasks = [asyncio.ensure_future(one(target)) for target in todo]
        try:
            for done, finished in enumerate(asyncio.as_completed(tasks), 1):
                results.append(await finished)
                if progress:
                    progress(done, len(tasks))
                if time.monotonic() - last_save >= settings.save_every:
                    save()
                    last_save = time.monotonic()
        finally:
            for task in tasks:
                task.cancel()
            save()
    stopped = list({limit.stopped.service: limit.stopped for limit in limits.values()
                    if limit.stopped}.values())
    order = {target.entry_id: index for index, target in enumerate(targets)}
    results.sort(key=lambda result: order[result.entry_id])
    return RunResult(results, stats, stopped,
                     {service: limit.waited for service, limit in limits.items() if limit.waited},
                     time.monotonic() - started)


def _github(facts: dict[str, Any]) -> GitHubFacts | None:
    value: GitHubFacts | None = facts.get("github")
    return value


def _pypi(facts: dict[str, Any]) -> PyPIFacts | None:
    value: PyPIFacts | None = facts.get("pypi")
    return value


def _hub(facts: dict[str, Any]) -> HubFacts | None:
    value: HubFacts | None = facts.get("huggingface")
    return value
