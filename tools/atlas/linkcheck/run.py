"""A run: every external link checked under one deadline, in an order that finishes
soonest, then the run's policies decide which results fail it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from atlas.linkcheck.cache import Cache
from atlas.linkcheck.fetch import Fetcher
from atlas.linkcheck.http import Transport
from atlas.linkcheck.model import Link, Result, Verdict
from atlas.linkcheck.options import Options
from atlas.linkcheck.scheduler import Slots
from atlas.linkcheck.urls import host_of

Progress = Callable[[int, int], None]


def queue_order(groups: dict[str, list[Link]], previous: Callable[[str], float]
                ) -> list[list[Link]]:
    """The order requests are queued in: links that were broken last run first, slowest
    first (timeouts and retries are the run's long poles), then the rest round-robin over
    hosts. ``previous(key)`` is how long a link took when it was last broken, else < 0."""
    def slowest(group: list[Link]) -> float:
        return max(previous(link.key) for link in group)

    failed = sorted((group for group in groups.values() if slowest(group) >= 0),
                    key=slowest, reverse=True)
    rest = {url: group for url, group in groups.items() if slowest(group) < 0}
    return failed + interleave_hosts(rest)


def interleave_hosts(groups: dict[str, list[Link]]) -> list[list[Link]]:
    """Round-robin over hosts, so that one big host does not queue ahead of the rest."""
    by_host: dict[str, list[list[Link]]] = {}
    for fetch_url, group in groups.items():
        by_host.setdefault(host_of(fetch_url), []).append(group)
    queues = list(by_host.values())
    order: list[list[Link]] = []
    for index in range(max(map(len, queues), default=0)):
        order += [queue[index] for queue in queues if index < len(queue)]
    return order


async def check_links(links: list[Link], options: Options, cache: Cache,
                      progress: Progress | None = None, resolver: Any = None
                      ) -> tuple[list[Result], int]:
    """Check every link; returns the results and the number of HTTP requests made."""
    groups: dict[str, list[Link]] = {}
    results: list[Result] = []
    for link in links:
        if any(pattern.search(link.url) for pattern in options.exclude):
            results.append(Result(link.url, Verdict.EXCLUDED, sources=link.sources,
                                  error="matches an exclude pattern; not checked"))
        else:
            groups.setdefault(link.fetch_url, []).append(link)
    if not groups:
        return results, 0
    loop = asyncio.get_running_loop()
    slots = Slots(options.max_concurrency, options.host_concurrency, options.host_interval)
    transport = Transport(options, resolver)
    fetcher = Fetcher(options, slots, transport, loop.time() + options.deadline)
    order = queue_order(groups, cache.previous_elapsed)
    tasks: dict[asyncio.Future[list[Result]], list[Link]] = {}
    finished = 0

    def count(_: asyncio.Future[list[Result]]) -> None:
        nonlocal finished
        finished += 1
        if progress:
            progress(finished, len(order))

    try:
        for index, group in enumerate(order, 1):
            task = asyncio.ensure_future(fetcher.check_group(group, cache))
            task.add_done_callback(count)  # one wait for all: no re-waiting on thousands
            tasks[task] = group
            if index % (2 * options.max_concurrency) == 0:
                # Let the first requests go out while the rest queue up: a task's answer
                # waits behind every task started before it, thousands at the start.
                await asyncio.sleep(0)
        done, pending = await asyncio.wait(
            tasks, timeout=max(0.0, fetcher.run_end - loop.time()))
        for future in tasks:  # in the order scheduled, so reports are stable
            if future in done:
                results += future.result()
        for future in pending:
            future.cancel()
            for link in tasks[future]:
                results.append(Result(link.url, Verdict.BROKEN, sources=link.sources,
                                      timed_out=True, deadline=True, elapsed=options.deadline,
                                      error=f"not finished when the run's deadline "
                                            f"({options.deadline:g} s) was reached"))
        if pending:
            await asyncio.wait(pending, timeout=1)
    finally:
        await transport.close()
    return results, fetcher.requests


def apply_policies(results: list[Result], options: Options, cache: Cache,
                   link_keys: dict[str, str]) -> None:
    """Failure history, then which results fail the run."""
    for result in results:
        key = link_keys.get(result.url)
        broken = result.verdict is Verdict.BROKEN
        if key is not None and not result.deadline:
            result.failed_runs = cache.record(key, result)
        elif broken:
            result.failed_runs = max(result.failed_runs, 1)
        result.failing = (
            (broken and result.failed_runs >= options.fail_after
             and not (result.timed_out and options.accept_timeouts))
            or (broken and result.deadline and not options.accept_timeouts)
            or (result.verdict is Verdict.BLOCKED and options.blocked_is_broken)
            or (result.verdict is Verdict.MOVED and options.moved_is_broken)
        )
