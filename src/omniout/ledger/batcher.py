"""Group commit for the ledger: many events' entries, one transaction.

Each event records one entry when it is done, and many events finish at about
the same time. A transaction per entry would make the database's commit (an
fsync, a round trip) the limit of the whole service. ``LedgerWriter`` lets
each event wait for its own entry while entries that arrive together are
written in one ``Ledger.record`` call.

One batch is written at a time. While it is written the next one gathers, so
batches grow with the load and entries are committed in the order in which
they were recorded (for one key, the last call wins).

``max_delay`` trades latency for batch size when entries trickle in. When each
caller waits for its entry before it records the next (a bounded number of
event slots) and there are fewer callers than ``max_batch``, every batch waits
the full delay; the write itself already gathers the next batch, so such a
service does well with a delay of 0 (benchmarks/bench_ledger.py measures it).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

from omniout.errors import LedgerError
from omniout.ledger.base import Ledger, LedgerEntry

__all__ = ["LedgerWriter"]

logger = logging.getLogger(__name__)


@dataclass(slots=True)
class _Waiter:
    entry: LedgerEntry
    since: float
    done: asyncio.Future[None] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


class LedgerWriter:
    """Batches concurrent ``record`` calls into few ``Ledger.record`` calls.

    A batch is written when ``max_batch`` entries wait, or ``max_delay``
    seconds after its first entry arrived, or at ``close``; if a write is
    still running then, the batch follows right after it.
    """

    def __init__(
        self, ledger: Ledger, *, max_batch: int = 256, max_delay: float = 0.005
    ) -> None:
        if max_batch < 1:
            raise ValueError(f"max_batch must be at least 1, not {max_batch}")
        if max_delay < 0:
            raise ValueError(f"max_delay must not be negative, not {max_delay}")
        self._ledger = ledger
        self._max_batch = max_batch
        self._max_delay = max_delay
        self._waiting: list[_Waiter] = []
        self._wakeup = asyncio.Event()
        self._writer: asyncio.Task[None] | None = None
        self._closing = False

    async def record(self, entry: LedgerEntry) -> None:
        """Return once ``entry`` is committed in the ledger.

        Raises ``LedgerError`` when the batch holding the entry could not be
        written, or when the writer is closed. If the caller is cancelled,
        the entry may still be written.
        """
        if self._closing:
            raise LedgerError("The ledger writer is closed")
        waiter = _Waiter(entry, asyncio.get_running_loop().time())
        self._waiting.append(waiter)
        if self._writer is None:
            self._writer = asyncio.create_task(self._drain(), name="ledger-writer")
        elif len(self._waiting) >= self._max_batch:
            self._wakeup.set()
        await waiter.done

    async def close(self) -> None:
        """Write what waits now, then refuse further entries.

        Returns when every waiting entry is written or has failed.
        """
        self._closing = True
        self._wakeup.set()
        if self._writer is not None:
            await asyncio.shield(self._writer)

    async def _drain(self) -> None:
        """Write batches until nothing waits; runs as one task at a time."""
        try:
            while self._waiting:
                await self._gather()
                batch = self._waiting[: self._max_batch]
                del self._waiting[: self._max_batch]
                await self._write(batch)
        finally:
            self._writer = None
            # Should this task be cancelled (the loop shutting down), nobody
            # would write what still waits; fail it rather than hang.
            _fail(self._waiting, "The ledger writer stopped")
            self._waiting.clear()

    async def _gather(self) -> None:
        """Wait until a batch is full, its delay has passed, or close."""
        loop = asyncio.get_running_loop()
        deadline = self._waiting[0].since + self._max_delay
        while not self._ready(loop.time(), deadline):
            self._wakeup.clear()
            try:
                async with asyncio.timeout_at(deadline):
                    await self._wakeup.wait()
            except TimeoutError:
                return

    def _ready(self, now: float, deadline: float) -> bool:
        full = len(self._waiting) >= self._max_batch
        return full or self._closing or now >= deadline

    async def _write(self, batch: list[_Waiter]) -> None:
        try:
            await self._ledger.record([waiter.entry for waiter in batch])
        except asyncio.CancelledError:
            _fail(batch, "The ledger write was cancelled")
            raise
        except Exception as exc:  # every waiter must hear of any failure
            logger.warning("Ledger write of %d entries failed: %s", len(batch), exc)
            _fail(batch, _describe(exc), cause=exc)
        else:
            logger.debug("Ledger wrote %d entries", len(batch))
            for waiter in batch:
                if not waiter.done.done():
                    waiter.done.set_result(None)


def _describe(exc: Exception) -> str:
    if isinstance(exc, LedgerError):
        return str(exc)
    return f"Ledger write failed: {exc!r}"


def _fail(
    waiters: list[_Waiter], message: str, *, cause: BaseException | None = None
) -> None:
    """Fail each waiter with an error of its own, so no two tasks raise one."""
    for waiter in waiters:
        if not waiter.done.done():
            error = LedgerError(message)
            error.__cause__ = cause
            waiter.done.set_exception(error)
