"""Each service's limits: requests in flight, the primary rate limit, pauses it asks for.

GitHub states its primary limit on every answer (``X-RateLimit-Remaining``, and
``X-RateLimit-Reset`` in epoch seconds). Before each request a slot of what remains is
reserved, so requests in flight never spend more than is left; when nothing is left the
run waits for the reset if it is at most ``max_wait`` away, and otherwise stops asking that
service (``Stopped``): the entries not yet asked keep their old values and are reported as
not refreshed. A secondary limit (403/429 with ``Retry-After``) pauses the whole service
for as long as it asks, under the same ``max_wait``. The first request to a service goes
alone, so that the others start knowing what limit it states.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import email.utils
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from atlas.refresh.targets import Service

RESET_MARGIN = 1.0  # seconds after the announced reset: clocks differ
Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


def retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds a ``Retry-After`` header asks for (delay-seconds or an HTTP date)."""
    value = (value or "").strip()
    if value.isdigit():
        return float(value)
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    return max(0.0, moment.timestamp() - (time.time() if now is None else now))


class Stopped(Exception):
    """A service's limit will not lift within ``max_wait``: stop asking it."""

    def __init__(self, service: Service, until: float | None, why: str) -> None:
        self.service, self.until, self.why = service, until, why
        super().__init__(self.describe())

    def describe(self) -> str:
        when = ""
        if self.until is not None:
            moment = dt.datetime.fromtimestamp(self.until, dt.timezone.utc)
            when = f" until {moment:%Y-%m-%d %H:%M} UTC"
        return f"{self.service.label}: {self.why}{when}"


@dataclass
class Limits:
    service: Service
    concurrency: int
    max_wait: float
    clock: Clock = time.time
    sleep: Sleep = asyncio.sleep
    notify: Callable[[str], None] = lambda message: None
    remaining: int | None = None
    reset: float | None = None
    paused_until: float = 0.0
    reserved: int = 0
    stopped: Stopped | None = None
    waited: float = 0.0  # seconds spent waiting for this service's limits
    slots: asyncio.Semaphore = field(init=False)
    answered: asyncio.Event = field(init=False)  # the first request has its answer
    _announced: float = 0.0  # the end of the wait last announced (waiters share it)

    def __post_init__(self) -> None:
        self.slots = asyncio.Semaphore(self.concurrency)
        self.answered = asyncio.Event()

    async def reserve(self) -> None:
        """Wait until one more request may go out (or raise Stopped)."""
        while True:
            if self.stopped:
                raise self.stopped
            if not self.answered.is_set() and self.reserved > 0:
                await self.answered.wait()
                continue
            now = self.clock()
            if self.paused_until > now:
                await self._wait(self.paused_until - now, None,
                                 "asked to slow down (secondary rate limit)")
                continue
            if self.remaining is not None and self.remaining - self.reserved <= 0:
                if self.reset is None or self.reset + RESET_MARGIN <= now:
                    self.remaining = None  # a new window: its answers will tell
                    continue
                await self._wait(self.reset + RESET_MARGIN - now, self.reset,
                                 "rate limit spent")
                continue
            self.reserved += 1
            return

    def release(self) -> None:
        self.reserved -= 1
        self.answered.set()

    def observe(self, remaining: str | None, reset: str | None) -> None:
        """Take the limit an answer states (answers of one window may arrive out of order:
        the smallest remaining count wins; a later reset time starts a new window)."""
        try:
            left, until = int(remaining or ""), float(reset or "")
        except ValueError:
            return
        if self.reset is None or until > self.reset:
            self.reset, self.remaining = until, left
        elif until == self.reset:
            self.remaining = left if self.remaining is None else min(self.remaining, left)

    def spent(self, reset: str | None) -> None:
        """The service said the primary limit is spent (403/429 with remaining 0)."""
        self.observe("0", reset)
        if self.reset is None:  # no reset time given: a minute, as GitHub advises
            self.reset, self.remaining = self.clock() + 60, 0
        self.remaining = 0

    async def pause(self, seconds: float, why: str) -> None:
        """A secondary limit: nobody asks this service for ``seconds``."""
        until = self.clock() + seconds
        if seconds > self.max_wait:
            self.stopped = Stopped(self.service, until, why)
            raise self.stopped
        self.paused_until = max(self.paused_until, until)

    async def _wait(self, seconds: float, until: float | None, why: str) -> None:
        if seconds > self.max_wait:
            self.stopped = Stopped(self.service, until or self.clock() + seconds, why)
            raise self.stopped
        end = self.clock() + seconds
        if abs(end - self._announced) > 0.5:  # the first of the requests that wait for it
            self._announced = end
            self.waited += seconds
            self.notify(f"{self.service.label}: {why}; waiting {seconds:.0f} s")
        await self.sleep(seconds)
