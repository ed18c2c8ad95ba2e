"""Reprocessing: moving a group's offsets and re-driving dead letters."""

from __future__ import annotations

from omniout.reprocess.letters import LetterFilter, StoredLetter, read_dead_letters
from omniout.reprocess.positions import (
    GroupOffsets,
    GroupState,
    Position,
    topic_partitions,
)
from omniout.reprocess.replay import (
    REPLAYED_AT,
    REPLAYED_FROM,
    Replay,
    plan_replay,
    send_replays,
)
from omniout.reprocess.reset import Move, ResetTarget, plan_reset

__all__ = [
    "REPLAYED_AT",
    "REPLAYED_FROM",
    "GroupOffsets",
    "GroupState",
    "LetterFilter",
    "Move",
    "Position",
    "Replay",
    "ResetTarget",
    "StoredLetter",
    "plan_replay",
    "plan_reset",
    "read_dead_letters",
    "send_replays",
    "topic_partitions",
]
