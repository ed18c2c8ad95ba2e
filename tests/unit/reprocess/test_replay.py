"""The records that re-drive dead letters."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from omniout.errors import NotReplayableError
from omniout.reprocess import StoredLetter, plan_replay

NOW = datetime(2026, 12, 4, 9, 30, tzinfo=UTC)


def letter(offset: int, partition: str = "1") -> StoredLetter:
    headers = (
        ("x-tenant", b"acme"),
        ("omniout.original.topic", b"orders"),
        ("omniout.original.partition", partition.encode()),
        ("omniout.failure.reason", b"HTTP 400"),
        ("traceparent", b"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"),
    )
    facts = {
        name.removeprefix("omniout."): value.decode()
        for name, value in headers
        if name.startswith("omniout.")
    }
    return StoredLetter(
        "orders.dlq", 0, offset, 0, b"key", b"value", headers, facts
    )


def test_a_replay_keeps_key_value_and_headers_and_says_where_it_came_from() -> None:
    (replay,) = plan_replay([letter(7)], lambda topic: [0, 1, 2], now=NOW)

    assert (replay.topic, replay.partition) == ("orders", 1)
    assert (replay.key, replay.value) == (b"key", b"value")
    assert [name for name, _ in replay.headers] == [
        "x-tenant",
        "traceparent",
        "omniout.replayed-from",
        "omniout.replayed-at",
    ]
    assert dict(replay.headers)["omniout.replayed-from"] == b"orders.dlq/0/7"
    assert dict(replay.headers)["omniout.replayed-at"] == (
        b"2026-12-04T09:30:00.000+00:00"
    )


def test_a_partition_the_topic_no_longer_has_leaves_the_choice_to_the_key() -> None:
    (replay,) = plan_replay([letter(7, partition="5")], lambda topic: [0, 1])

    assert replay.partition is None


def test_a_dead_letter_without_its_original_topic_cannot_be_replayed() -> None:
    bare = StoredLetter("orders.dlq", 0, 3, 0, None, b"v", (), {})

    with pytest.raises(NotReplayableError, match=r"orders\.dlq/0/3"):
        plan_replay([bare], lambda topic: [0])
