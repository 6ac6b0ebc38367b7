"""Politeness: when a request may start. At most ``per_host`` requests in flight to one
host, starting ``interval`` apart (a 429's Retry-After pauses the whole host), and at most
``total`` in all. Redirect hops take a slot on their own host like any request.

Kept because it pays for itself against per-host and global semaphores with a per-host
next start (as lychee schedules): ``make bench-linkcheck`` runs both on one workload, and
the README gives the figures."""

from __future__ import annotations

import asyncio
import heapq
from collections import deque
from dataclasses import dataclass, field


@dataclass(eq=False)
class HostQueue:
    """One host's side of the limits: requests in flight, when the next may start (the
    interval, or a 429's pause) and the requests waiting, retries and redirect hops first."""

    active: int = 0
    next_start: float = 0.0
    queues: tuple[deque[asyncio.Future[None]], ...] = field(
        default_factory=lambda: (deque(), deque()))  # urgent, rest
    waiting: list[int] = field(default_factory=lambda: [0, 0])  # live waiters in each queue
    version: int = 0  # bumped on every change; older heap entries are stale
    timer: asyncio.TimerHandle | None = None


class Slots:
    """Both limits in one place, as a queue per host and a heap of the hosts that may start.

    A request is given both slots at once, so no host slot sits idle while its request waits
    for the global limit. When the global limit binds, the next free slot goes to a host
    with retries waiting, else to the host with the most requests waiting per request it
    has in flight, waiting / (in flight + 1): each host's share of the global limit follows
    what it has left, so the hosts drain together (the run ends when the last one does) and
    a host slowed by timeouts or 429s gets more, not less. Within a host, first come, first
    served (retries and redirect hops ahead of URLs not yet tried, so a URL that already
    waited is not starved); each release wakes one waiter, not all of them.
    """

    def __init__(self, total: int, per_host: int, interval: float) -> None:
        self.total, self.per_host, self.interval = total, per_host, interval
        self.active = 0
        self.hosts: dict[str, HostQueue] = {}
        # Hosts that may be given a slot, best first: (no retry waiting, -share, push order,
        # version, host); an entry whose version is not its host's current one is stale.
        self.ready: list[tuple[bool, float, int, int, HostQueue]] = []
        self.pushes = 0
        self.loop = asyncio.get_running_loop()

    def pause_until(self, host: str, moment: float) -> None:
        queue = self.hosts[host]
        queue.next_start = max(queue.next_start, moment)

    async def acquire(self, host: str, urgent: bool = False) -> None:
        queue = self.hosts.get(host) or self.hosts.setdefault(host, HostQueue())
        waiter = self.loop.create_future()
        queue.queues[not urgent].append(waiter)
        queue.waiting[not urgent] += 1
        self._offer(queue)
        self._dispatch()
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self.release(host)  # the slots were ours already: hand them on
            else:
                queue.waiting[not urgent] -= 1
                self._offer(queue)
            raise

    def release(self, host: str) -> None:
        queue = self.hosts[host]
        queue.active -= 1
        self.active -= 1
        self._offer(queue)
        self._dispatch()

    def _offer(self, queue: HostQueue) -> None:
        """(Re)enter a host with requests waiting into the choice, under its current rank."""
        queue.version += 1
        if sum(queue.waiting) and queue.active < self.per_host:
            self.pushes += 1
            share = sum(queue.waiting) / (queue.active + 1)
            heapq.heappush(self.ready, (not queue.waiting[0], -share, self.pushes,
                                        queue.version, queue))

    def _dispatch(self) -> None:
        now = self.loop.time()
        while self.active < self.total and self.ready:
            *_, version, queue = heapq.heappop(self.ready)
            if version != queue.version:
                continue  # stale: the host was offered again since, under another rank
            if now < queue.next_start:
                if queue.timer is None or queue.timer.when() != queue.next_start:
                    if queue.timer is not None:
                        queue.timer.cancel()
                    queue.timer = self.loop.call_at(queue.next_start, self._resume, queue)
                continue
            urgent = bool(queue.waiting[0])
            waiter = queue.queues[not urgent].popleft()
            if waiter.done():  # cancelled while queued (already uncounted)
                self._offer(queue)
                continue
            queue.waiting[not urgent] -= 1
            queue.active += 1
            self.active += 1
            queue.next_start = now + self.interval
            waiter.set_result(None)
            self._offer(queue)

    def _resume(self, queue: HostQueue) -> None:
        queue.timer = None
        self._offer(queue)
        self._dispatch()
