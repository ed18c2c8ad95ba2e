"""An in-memory ledger for the unit tests of what sits in front of a ledger."""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Sequence

from omniout.ledger import LedgerEntry


class MemoryLedger:
    """The ``Ledger`` protocol over lists, with every call under test control.

    ``delivered`` logs each query in ``queries``, sets ``querying`` and
    answers from ``known`` (route -> delivered ids); ``record`` appends each
    batch to ``batches``. Both wait for ``gate`` when one is set, and raise
    the first of ``failures`` instead of answering while any are left.
    """

    def __init__(self, known: dict[str, set[str]] | None = None) -> None:
        self.known = {} if known is None else known
        self.queries: list[tuple[str, list[str]]] = []
        self.batches: list[list[LedgerEntry]] = []
        self.failures: list[Exception] = []
        self.gate: asyncio.Event | None = None
        self.querying = asyncio.Event()

    async def open(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def delivered(self, route: str, request_ids: Collection[str]) -> set[str]:
        self.queries.append((route, list(request_ids)))
        self.querying.set()
        await asyncio.sleep(0)
        if self.gate is not None:
            await self.gate.wait()
        if self.failures:
            raise self.failures.pop(0)
        return self.known.get(route, set()) & set(request_ids)

    async def record(self, entries: Sequence[LedgerEntry]) -> None:
        if self.gate is not None:
            await self.gate.wait()
        await asyncio.sleep(0)
        if self.failures:
            raise self.failures.pop(0)
        self.batches.append(list(entries))

    async def forget(self, route: str, request_ids: Collection[str]) -> int:
        return 0

    async def prune(self, older_than: float) -> int:
        return 0

    async def ping(self) -> None:
        return None
