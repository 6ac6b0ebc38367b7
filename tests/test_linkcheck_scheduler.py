"""The scheduler on its own (no HTTP): the per-host and the global limit, the interval
between starts on one host, a host paused by a 429, and waiters cancelled in the queue."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest
from atlas.linkcheck import scheduler

pytestmark = pytest.mark.timeout(30)
VARIANTS = [scheduler.QueueSlots, scheduler.SemaphoreSlots]


def scenario(test: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(test())


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


@pytest.mark.parametrize("variant", VARIANTS)
def test_per_host_and_global_limits(variant) -> None:
    async def test() -> None:
        slots = variant(total=3, per_host=2, interval=0)
        got: list[str] = []

        async def one(host: str) -> None:
            await slots.acquire(host)
            got.append(host)

        tasks = [asyncio.ensure_future(one(host)) for host in "aaaabb"]
        await settle()
        assert len(got) == 3 and got.count("a") <= 2  # 3 in all, 2 a host
        assert slots.active == 3
        for host in list(got):
            slots.release(host)
        await settle()
        assert len(got) == 6 and got.count("a") == 4
        for host in got[3:]:
            slots.release(host)
        await asyncio.gather(*tasks)
        assert slots.active == 0

    scenario(test)


@pytest.mark.parametrize("variant", VARIANTS)
def test_interval_between_starts_and_a_paused_host(variant) -> None:
    async def test() -> None:
        loop = asyncio.get_running_loop()
        slots = variant(total=10, per_host=4, interval=0.05)
        starts: list[float] = []

        async def one(host: str) -> None:
            await slots.acquire(host)
            starts.append(loop.time())
            slots.release(host)

        await asyncio.gather(*(one("a") for _ in range(4)))
        gaps = [b - a for a, b in zip(starts, starts[1:], strict=False)]
        assert all(gap >= 0.045 for gap in gaps), gaps
        slots.pause_until("a", loop.time() + 0.2)
        paused = loop.time()
        await asyncio.gather(one("a"), one("b"))
        assert starts[-1] - paused >= 0.19  # a waited for its pause...
        assert starts[-2] - paused < 0.1  # ... b did not

    scenario(test)


@pytest.mark.parametrize("variant", VARIANTS)
def test_a_waiter_cancelled_in_the_queue_takes_no_slot(variant) -> None:
    async def test() -> None:
        slots = variant(total=1, per_host=1, interval=0)
        await slots.acquire("a")
        waiting = [asyncio.ensure_future(slots.acquire("a")),
                   asyncio.ensure_future(slots.acquire("b"))]
        await settle()
        waiting[0].cancel()
        await settle()
        slots.release("a")
        await settle()
        assert waiting[1].done() and not waiting[1].cancelled()  # b got the slot
        slots.release("b")
        await asyncio.gather(*waiting, return_exceptions=True)
        await slots.acquire("a")  # a's slot was given back, not leaked
        slots.release("a")
        assert slots.active == 0

    scenario(test)
