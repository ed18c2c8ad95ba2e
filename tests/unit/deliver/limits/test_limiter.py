"""The endpoint limiter: slots, rate waits and cancellation, on a fake clock."""

from __future__ import annotations

import asyncio

import pytest

from omniout.deliver.limits import EndpointLimiter, RateSchedule


class FakeTime:
    """A clock that moves only when a rate wait sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []
        self.hold: asyncio.Event | None = None

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        if self.hold is not None:
            await self.hold.wait()
        self.now += seconds


class Waits:
    def __init__(self) -> None:
        self.waiting = 0
        self.seconds: list[float] = []

    def began(self) -> None:
        self.waiting += 1

    def ended(self, seconds: float) -> None:
        self.waiting -= 1
        self.seconds.append(seconds)


def limiter(
    time: FakeTime,
    waits: Waits,
    *,
    max_concurrency: int | None = None,
    rate: RateSchedule | None = None,
) -> EndpointLimiter:
    return EndpointLimiter(
        "partner",
        max_concurrency=max_concurrency,
        rate=rate,
        observer=waits,
        clock=time.clock,
        sleep=time.sleep,
    )


async def test_no_more_than_max_concurrency_attempts_hold_a_slot() -> None:
    time, waits = FakeTime(), Waits()
    guard = limiter(time, waits, max_concurrency=2)
    inside = peak = 0
    release = asyncio.Event()

    async def attempt() -> None:
        nonlocal inside, peak
        await guard.acquire()
        inside += 1
        peak = max(peak, inside)
        await release.wait()
        inside -= 1
        guard.release()

    tasks = [asyncio.create_task(attempt()) for _ in range(5)]
    await asyncio.sleep(0)
    assert (inside, waits.waiting) == (2, 3)

    release.set()
    await asyncio.gather(*tasks)

    assert peak == 2
    assert waits.waiting == 0
    assert len(waits.seconds) == 3


async def test_a_free_slot_and_an_open_rate_do_not_wait() -> None:
    time, waits = FakeTime(), Waits()
    guard = limiter(
        time, waits, max_concurrency=1, rate=RateSchedule(10, 1.0, burst=2)
    )

    for _ in range(2):
        await guard.acquire()
        guard.release()

    assert time.slept == []
    assert waits.seconds == []


async def test_rate_waits_are_slept_and_counted_as_waiting_time() -> None:
    time, waits = FakeTime(), Waits()
    guard = limiter(time, waits, rate=RateSchedule(4, 1.0))

    for _ in range(3):
        await guard.acquire()
        guard.release()

    assert time.slept == [0.25, 0.25]
    assert waits.seconds == [0.25, 0.25]


async def test_a_cancelled_rate_wait_gives_back_its_slot_and_its_turn() -> None:
    time, waits = FakeTime(), Waits()
    rate = RateSchedule(10, 1.0)
    guard = limiter(time, waits, max_concurrency=1, rate=rate)
    await guard.acquire()
    guard.release()
    time.hold = asyncio.Event()

    waiting = asyncio.create_task(guard.acquire())
    await asyncio.sleep(0)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting

    assert waits.waiting == 0
    time.hold = None
    await asyncio.wait_for(guard.acquire(), 1)
    assert time.slept == [pytest.approx(0.1), pytest.approx(0.1)]


async def test_a_cancelled_wait_for_a_slot_holds_nothing() -> None:
    time, waits = FakeTime(), Waits()
    guard = limiter(time, waits, max_concurrency=1)
    await guard.acquire()

    waiting = asyncio.create_task(guard.acquire())
    await asyncio.sleep(0)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    guard.release()

    await asyncio.wait_for(guard.acquire(), 1)
    assert waits.waiting == 0


async def test_a_slot_handed_to_a_waiter_cancelled_meanwhile_is_passed_on() -> None:
    time, waits = FakeTime(), Waits()
    guard = limiter(time, waits, max_concurrency=1)
    await guard.acquire()
    first = asyncio.create_task(guard.acquire())
    second = asyncio.create_task(guard.acquire())
    await asyncio.sleep(0)

    guard.release()
    first.cancel()
    with pytest.raises(asyncio.CancelledError):
        await first

    await asyncio.wait_for(second, 1)
    assert waits.waiting == 0


async def test_slots_go_to_waiters_in_the_order_they_came() -> None:
    time, waits = FakeTime(), Waits()
    guard = limiter(time, waits, max_concurrency=1)
    order: list[int] = []
    await guard.acquire()

    async def attempt(number: int) -> None:
        await guard.acquire()
        order.append(number)
        guard.release()

    tasks = [asyncio.create_task(attempt(n)) for n in range(4)]
    await asyncio.sleep(0)
    guard.release()
    await asyncio.gather(*tasks)

    assert order == [0, 1, 2, 3]
