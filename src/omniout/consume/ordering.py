"""Per-key order: events with the same key never overlap.

The consumer claims a turn for every event in fetch order, before it starts
the event's task; the task then waits for the turn of the previous event with
the same key. Events with different keys run side by side.
"""

from __future__ import annotations

import asyncio
from collections.abc import Hashable

__all__ = ["KeyedTurns", "Turn"]


class Turn:
    """One event's place in the queue of its key."""

    __slots__ = ("_after", "_key", "_mine", "_turns")

    def __init__(
        self,
        turns: KeyedTurns,
        key: Hashable,
        after: asyncio.Future[None] | None,
        mine: asyncio.Future[None],
    ) -> None:
        self._turns = turns
        self._key = key
        self._after = after
        self._mine = mine

    async def wait(self) -> None:
        """Block until every earlier event with this key has released."""
        if self._after is not None and not self._after.done():
            await asyncio.shield(self._after)

    def release(self) -> None:
        """Let the next event with this key go; call once, even on failure."""
        if not self._mine.done():
            self._mine.set_result(None)
        self._turns.released(self._key, self._mine)


class KeyedTurns:
    """Hands out turns per key; ``None`` as a key means no ordering."""

    def __init__(self) -> None:
        self._tails: dict[Hashable, asyncio.Future[None]] = {}

    def claim(self, key: Hashable) -> Turn:
        """Take the next turn for ``key``; call in fetch order, without awaiting."""
        mine: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if key is None:
            return Turn(self, key, None, mine)
        after = self._tails.get(key)
        self._tails[key] = mine
        return Turn(self, key, after, mine)

    def released(self, key: Hashable, future: asyncio.Future[None]) -> None:
        if self._tails.get(key) is future:
            del self._tails[key]

    def __len__(self) -> int:
        return len(self._tails)
