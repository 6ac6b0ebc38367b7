"""The scheduler on its own (no HTTP): the per-host and the global limit, the interval
between starts on one host, a host paused by a 429, waiters cancelled in the queue, and
which host gets a free slot when the global limit binds."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest
from atlas.linkcheck import scheduler

pytestmark = pytest.mark.timeout(30)


def scenario(test: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(test())


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


def test_per_host_and_global_limits() -> None:
    async def test() -> None:
        slots = scheduler.Slots(total=3, per_host=2, interval=0)
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


def test_interval_between_starts_and_a_paused_host() -> None:
    async def test() -> None:
        loop = asyncio.get_running_loop()
        slots = scheduler.Slots(total=10, per_host=4, interval=0.05)
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


def test_a_waiter_cancelled_in_the_queue_takes_no_slot() -> None:
    async def test() -> None:
        slots = scheduler.Slots(total=1, per_host=1, interval=0)
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


def test_free_slots_go_to_the_host_with_the_most_waiting() -> None:
    """When the global limit binds, the host that would otherwise finish last is served
    first; retries go ahead; a request cancelled while queued takes no slot."""

    async def scenario() -> list[str]:
        slots = scheduler.Slots(total=1, per_host=4, interval=0)
        order: list[str] = []

        async def one(host: str, urgent: bool = False) -> None:
            await slots.acquire(host, urgent)
            order.append(host + ("!" if urgent else ""))

        async def next_turn() -> None:  # the holder of the one slot gives it back
            done = len(order)
            slots.release(order[-1].rstrip("!"))
            while len(order) == done:
                await asyncio.sleep(0)

        tasks = [asyncio.ensure_future(one(host)) for host in ["small"] * 3 + ["big"] * 7]
        await asyncio.sleep(0)
        tasks.pop().cancel()
        await asyncio.sleep(0)
        await next_turn()
        tasks.append(asyncio.ensure_future(one("small", urgent=True)))
        await asyncio.sleep(0)
        for _ in range(8):
            await next_turn()
        slots.release(order[-1].rstrip("!"))
        await asyncio.gather(*tasks, return_exceptions=True)
        assert slots.active == 0 and all(q.active == 0 for q in slots.hosts.values())
        return order

    order = asyncio.run(scenario())
    assert order[:3] == ["small", "big", "small!"]
    assert order[3:6] == ["big"] * 3  # 5, 4 and 3 "big" waiting against 2 "small"
    assert sorted(order[6:]) == ["big", "big", "small", "small"]
