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

    __slots__ = ("_clock", "_observer", "_rate", "_sleep", "_slots", "key")

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
        self._slots = (
            None if max_concurrency is None else asyncio.Semaphore(max_concurrency)
        )
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
        slots = self._slots
        if slots is not None:
            if slots.locked():
                await self._wait_for_slot(slots)
            else:
                await slots.acquire()
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
            if slots is not None:
                slots.release()
            self._ended(self._clock() - now)
            raise
        self._ended(delay)

    def release(self) -> None:
        """Give the concurrency slot back; the attempt is over."""
        if self._slots is not None:
            self._slots.release()

    async def _wait_for_slot(self, slots: asyncio.Semaphore) -> None:
        began = self._clock()
        self._began()
        try:
            await slots.acquire()
        finally:
            self._ended(self._clock() - began)

    def _began(self) -> None:
        if self._observer is not None:
            self._observer.began()

    def _ended(self, seconds: float) -> None:
        if self._observer is not None:
            self._observer.ended(seconds)
