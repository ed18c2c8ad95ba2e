"""Planning an offset reset: from where a group stands to where it should.

The plan is pure: it takes the group's positions (and, for a reset to a time,
the offsets the broker found for that time) and says, per partition, the
current and the new committed offset. Nothing here talks to Kafka, so what
an operator sees in a dry run is exactly what ``--execute`` commits.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from omniout.reprocess.positions import Position

__all__ = ["Move", "ResetTarget", "plan_reset"]

Kind = Literal["earliest", "latest", "datetime", "offset", "shift"]


@dataclass(frozen=True, slots=True)
class ResetTarget:
    """Where to move: ``value`` is epoch ms, an offset or a shift, by kind."""

    kind: Kind
    value: int = 0

    def describe(self) -> str:
        if self.kind in ("earliest", "latest"):
            return f"to {self.kind}"
        if self.kind == "shift":
            return f"shift by {self.value:+d}"
        if self.kind == "datetime":
            moment = datetime.fromtimestamp(self.value / 1000, UTC)
            return f"to {moment.isoformat(timespec='milliseconds')}"
        return f"to {self.kind} {self.value}"


@dataclass(frozen=True, slots=True)
class Move:
    """One partition's planned change; ``note`` says why it is not literal."""

    topic: str
    partition: int
    current: int | None
    new: int
    note: str = ""


def plan_reset(
    target: ResetTarget,
    positions: Sequence[Position],
    *,
    found_at_time: Mapping[int, int | None] | None = None,
    start_when_uncommitted: Literal["earliest", "latest"] = "earliest",
) -> list[Move]:
    """The move of every partition in ``positions``, in their order.

    Every new offset lies within [start, end] of its partition: an offset or
    a shift beyond either bound is clamped, and the move says so. A time
    after the last record moves to the end. A shift from a partition with no
    committed offset starts where the group would start
    (``start_when_uncommitted``, the group's ``auto_offset_reset``).
    """
    return [
        _move(target, p, found_at_time or {}, start_when_uncommitted)
        for p in positions
    ]


def _move(
    target: ResetTarget,
    position: Position,
    found_at_time: Mapping[int, int | None],
    start_when_uncommitted: str,
) -> Move:
    note = ""
    if target.kind == "earliest":
        wanted = position.start
    elif target.kind == "latest":
        wanted = position.end
    elif target.kind == "offset":
        wanted = target.value
    elif target.kind == "shift":
        base = position.committed
        if base is None:
            uncommitted_start = start_when_uncommitted == "earliest"
            base = position.start if uncommitted_start else position.end
            note = "no committed offset; shifted from the group's start. "
        wanted = base + target.value
    else:
        found = found_at_time.get(position.partition)
        if found is None:
            wanted = position.end
            note = "no record at or after the time; moved to the end"
        else:
            wanted = found
    new = min(max(wanted, position.start), position.end)
    if new != wanted:
        bound = "start" if new == position.start else "end"
        note += f"{wanted} is out of range; clamped to the {bound}"
    return Move(
        topic=position.topic,
        partition=position.partition,
        current=position.committed,
        new=new,
        note=note.strip(),
    )
