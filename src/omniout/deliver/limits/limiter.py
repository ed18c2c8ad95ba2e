"""The guard in front of one endpoint: how many attempts at once, how often.

An :class:`EndpointLimiter` is built once per process for each limit key
(see :mod:`omniout.deliver.limits.settings`) and shared by every event of
every route that names the key. The deliverer calls :meth:`acquire` before
an attempt takes a pooled connection and starts its timeout, and
:meth:`release` when the attempt is over, answer read or not. Retries come
back through ``acquire``: a backoff pause holds no slot.

The concurrency slot is taken before the rate slot. The other way round,
attempts that had their turn while all slots were taken would go out
together when slots free up, faster than the rate allows.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Protocol

from omniout.deliver.limits.rate import RateSchedule

__all__ = ["EndpointLimiter", "WaitObserver"]

Clock = Callable[[], float]
SleepFn = Callable[[float], Awaitable[None]]


class WaitObserver(Protocol):
    """Told about attempts that had to wait; metrics implement it.

    ``began`` is called when an attempt starts waiting, ``ended`` with the
    seconds it waited, also when the wait was cancelled. Neither may raise.
    Attempts that never wait call neither.
    """

    def began(self) -> None: ...

    def ended(self, seconds: float) -> None: ...


class EndpointLimiter:
    """At most ``max_concurrency`` attempts in flight, and a rate schedule.

    Either may be ``None`` (no such limit). ``clock`` is monotonic seconds,
    ``sleep`` what a rate wait awaits; both are injected for tests. Waiting
    is cancellable at any point, and a cancelled wait holds nothing.
    """

    __slots__ = ("_clock", "_free", "_observer", "_rate", "_sleep", "_waiters", "key")

    def __init__(
        self,
        key: str,
        *,
        max_concurrency: int | None = None,
        rate: RateSchedule | None = None,
        observer: WaitObserver | None = None,
        clock: Clock = time.monotonic,
        sleep: SleepFn = asyncio.sleep,
    ) -> None:
        self.key = key
        # Free slots, or None without a concurrency limit. A waiter's future
        # is made only when no slot is free; a release hands its slot to the
        # first waiter directly, so exactly one is woken, in arrival order.
        self._free = max_concurrency
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._rate = rate
        self._observer = observer
        self._clock = clock
        self._sleep = sleep

    async def acquire(self) -> None:
        """Wait for a concurrency slot, then for the rate's next turn.

        Returns at once, without reading the clock for the concurrency part,
        when a slot is free and the rate allows a request now. Every
        successful ``acquire`` must be followed by one :meth:`release`.
        """
        free = self._free
        if free is not None:
            if free > 0 and not self._waiters:
                self._free = free - 1
            else:
                await self._wait_for_slot()
        rate = self._rate
        if rate is None:
            return
        now = self._clock()
        delay = rate.reserve(now)
        if delay == 0.0:
            return
        granted = rate.tat
        self._began()
        try:
            await self._sleep(delay)
        except BaseException:
            rate.refund(granted)
            self.release()
            self._ended(self._clock() - now)
            raise
        self._ended(delay)

    def release(self) -> None:
        """Give the concurrency slot back; the attempt is over."""
        if self._free is None:
            return
        waiters = self._waiters
        while waiters:
            waiter = waiters.popleft()
            if not waiter.done():  # a cancelled waiter is skipped
                waiter.set_result(None)
                return
        self._free += 1

    async def _wait_for_slot(self) -> None:
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        began = self._clock()
        self._began()
        try:
            await waiter
        except asyncio.CancelledError:
            # Cancelled after a release handed this waiter its slot: pass
            # the slot on rather than lose it.
            if waiter.done() and not waiter.cancelled():
                self.release()
            raise
        finally:
            self._ended(self._clock() - began)

    def _began(self) -> None:
        if self._observer is not None:
            self._observer.began()

    def _ended(self, seconds: float) -> None:
        if self._observer is not None:
            self._observer.ended(seconds)
