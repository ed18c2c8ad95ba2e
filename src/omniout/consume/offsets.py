"""Which offset of each partition may be committed.

Events finish out of order when they run concurrently, but the committed
offset of a partition must never pass an event that is not done: after a crash
the group restarts from the committed offset, and everything before it is
taken as finished. The tracker therefore keeps, per partition, the offsets
handed out in fetch order and commits the first one that is not yet done.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from aiokafka import TopicPartition

__all__ = ["CommitPolicy", "OffsetTracker"]


@dataclass(slots=True)
class _Partition:
    pending: deque[int] = field(default_factory=deque)
    done: set[int] = field(default_factory=set)
    # The offset to commit: one past the last offset of the done prefix.
    next_offset: int | None = None
    committed: int | None = None

    def finish(self, offset: int) -> None:
        self.done.add(offset)
        while self.pending and self.pending[0] in self.done:
            first = self.pending.popleft()
            self.done.discard(first)
            self.next_offset = first + 1


class OffsetTracker:
    """Tracks fetched and finished offsets; not thread-safe, asyncio only.

    ``started`` must be called in fetch order for each partition; ``finished``
    may come in any order.
    """

    def __init__(self) -> None:
        self._partitions: dict[TopicPartition, _Partition] = {}

    def started(self, tp: TopicPartition, offset: int) -> None:
        self._partitions.setdefault(tp, _Partition()).pending.append(offset)

    def finished(self, tp: TopicPartition, offset: int) -> None:
        partition = self._partitions.get(tp)
        if partition is not None:
            partition.finish(offset)

    def in_flight(self, tp: TopicPartition | None = None) -> int:
        """Events started and not yet finished, for one partition or all."""
        if tp is not None:
            partition = self._partitions.get(tp)
            return len(partition.pending) if partition else 0
        return sum(len(p.pending) for p in self._partitions.values())

    def committable(self) -> dict[TopicPartition, int]:
        """Offsets that moved since the last commit, ready to commit."""
        return {
            tp: p.next_offset
            for tp, p in self._partitions.items()
            if p.next_offset is not None and p.next_offset != p.committed
        }

    def committed(self, offsets: dict[TopicPartition, int]) -> None:
        for tp, offset in offsets.items():
            partition = self._partitions.get(tp)
            if partition is not None:
                partition.committed = offset

    def forget(self, tps: Iterable[TopicPartition]) -> None:
        """Drop partitions this member no longer owns."""
        for tp in tps:
            self._partitions.pop(tp, None)


class CommitPolicy:
    """Decides when to commit: at most once per interval.

    The clock is injected so that tests decide what time it is.
    """

    def __init__(self, interval: float, clock: Callable[[], float]) -> None:
        self._interval = interval
        self._clock = clock
        self._last = clock()

    def due(self) -> bool:
        return self._clock() - self._last >= self._interval

    def reset(self) -> None:
        self._last = self._clock()
