"""The reset plan: where each partition moves, and when it is clamped."""

from __future__ import annotations

import pytest

from omniout.reprocess import Position, ResetTarget, plan_reset


def at(committed: int | None, start: int = 10, end: int = 50) -> list[Position]:
    return [Position("orders", 0, committed, start, end)]


@pytest.mark.parametrize(
    ("target", "new"),
    [
        (ResetTarget("earliest"), 10),
        (ResetTarget("latest"), 50),
        (ResetTarget("offset", 25), 25),
        (ResetTarget("shift", -5), 25),
        (ResetTarget("shift", 7), 37),
    ],
)
def test_each_kind_moves_from_the_committed_offset(
    target: ResetTarget, new: int
) -> None:
    (move,) = plan_reset(target, at(30))

    assert (move.current, move.new, move.note) == (30, new, "")


@pytest.mark.parametrize(
    ("target", "new", "bound"),
    [
        (ResetTarget("shift", -100), 10, "start"),
        (ResetTarget("shift", 100), 50, "end"),
        (ResetTarget("offset", 3), 10, "start"),
        (ResetTarget("offset", 99), 50, "end"),
    ],
)
def test_a_target_out_of_range_is_clamped_and_says_so(
    target: ResetTarget, new: int, bound: str
) -> None:
    (move,) = plan_reset(target, at(30))

    assert move.new == new
    assert move.note.endswith(f"clamped to the {bound}")


def test_a_time_moves_to_the_offset_found_or_to_the_end() -> None:
    positions = [
        Position("orders", 0, 30, 0, 50),
        Position("orders", 1, 8, 0, 9),
    ]

    moves = plan_reset(
        ResetTarget("datetime", 1_764_000_000_000),
        positions,
        found_at_time={0: 12, 1: None},
    )

    assert [(m.partition, m.new) for m in moves] == [(0, 12), (1, 9)]
    assert moves[1].note == "no record at or after the time; moved to the end"


@pytest.mark.parametrize(
    ("start", "shift", "new"), [("earliest", 3, 13), ("latest", -3, 57)]
)
def test_a_shift_without_committed_offset_starts_where_the_group_would(
    start: str, shift: int, new: int
) -> None:
    (move,) = plan_reset(
        ResetTarget("shift", shift),
        at(None, start=10, end=60),
        start_when_uncommitted="earliest" if start == "earliest" else "latest",
    )

    assert (move.current, move.new) == (None, new)
    assert move.note.startswith("no committed offset")


def test_a_target_describes_itself_for_the_plan_title() -> None:
    assert ResetTarget("shift", -3).describe() == "shift by -3"
    assert ResetTarget("earliest").describe() == "to earliest"
    assert ResetTarget("offset", 7).describe() == "to offset 7"
    assert ResetTarget("datetime", 1_764_000_000_000).describe() == (
        "to 2025-11-24T16:00:00.000+00:00"
    )


def test_lag_is_unknown_without_a_committed_offset() -> None:
    assert Position("t", 0, None, 0, 5).lag is None
    assert Position("t", 0, 2, 0, 5).lag == 3
