"""Batched reads of the ledger: many events ask, one query answers.

Before it sends an event, a route asks the ledger whether the event's request
id is already delivered. Events run concurrently, so many of them ask within
the same turn of the event loop; a query each would make the database's round
trip the limit of the service. ``LedgerLookup`` collects the questions that
arrive together, per route, and answers them with one ``Ledger.delivered``
call for each route.

A batch is sent on the next turn of the loop after its first question (no
added delay); while a query runs, the next batch gathers.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict

from omniout.errors import LedgerError
from omniout.ledger.base import Ledger

__all__ = ["LedgerLookup"]

logger = logging.getLogger(__name__)

_Waiters = dict[str, list[asyncio.Future[bool]]]


class LedgerLookup:
    """Coalesces concurrent "already delivered?" questions into few queries.

    Safe to share between the tasks of one event loop. ``max_batch`` bounds
    the ids of one route in one query.
    """

    def __init__(self, ledger: Ledger, *, max_batch: int = 512) -> None:
        if max_batch < 1:
            raise ValueError(f"max_batch must be at least 1, not {max_batch}")
        self._ledger = ledger
        self._max_batch = max_batch
        self._pending: defaultdict[str, _Waiters] = defaultdict(dict)
        self._flusher: asyncio.Task[None] | None = None

    async def is_delivered(self, route: str, request_id: str) -> bool:
        """Whether ``request_id`` is recorded as delivered on ``route``.

        Raises ``LedgerError`` when the query holding the question failed;
        the caller then treats the event as not done and tries again.
        """
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._pending[route].setdefault(request_id, []).append(future)
        if self._flusher is None:
            self._flusher = asyncio.create_task(self._flush(), name="ledger-lookup")
        return await future

    async def _flush(self) -> None:
        """Answer batches until no question waits; one task at a time."""
        try:
            while self._pending:
                # Let the other events of this turn ask first.
                await asyncio.sleep(0)
                batches, self._pending = self._pending, defaultdict(dict)
                for route, waiters in batches.items():
                    await self._answer(route, waiters)
        finally:
            self._flusher = None
            for waiters in self._pending.values():
                _fail(waiters, LedgerError("The ledger lookup stopped"))
            self._pending.clear()

    async def _answer(self, route: str, waiters: _Waiters) -> None:
        ids = list(waiters)
        for start in range(0, len(ids), self._max_batch):
            chunk = ids[start : start + self._max_batch]
            try:
                found = await self._ledger.delivered(route, chunk)
            except asyncio.CancelledError:
                _fail(waiters, LedgerError("The ledger lookup was cancelled"))
                raise
            except Exception as exc:  # every waiter must hear of any failure
                logger.debug("Ledger lookup of %d ids failed: %r", len(chunk), exc)
                error = exc if isinstance(exc, LedgerError) else LedgerError(
                    f"Ledger lookup failed: {exc!r}"
                )
                _fail({i: waiters[i] for i in chunk}, error)
                continue
            for request_id in chunk:
                for future in waiters[request_id]:
                    if not future.done():
                        future.set_result(request_id in found)


def _fail(waiters: _Waiters, error: LedgerError) -> None:
    """Fail each waiting question with an error of its own."""
    for futures in waiters.values():
        for future in futures:
            if not future.done():
                own = LedgerError(str(error))
                own.__cause__ = error.__cause__ or error
                future.set_exception(own)
