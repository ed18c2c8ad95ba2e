"""Reading the facts of a dead letter and choosing dead letters by them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from omniout.reprocess import LetterFilter, StoredLetter


@dataclass(frozen=True)
class Record:
    topic: str = "orders.dlq"
    partition: int = 0
    offset: int = 4
    timestamp: int = 1_764_000_000_000
    key: bytes | None = b"k"
    value: bytes | None = b"v"
    headers: Any = ()


def letter(**facts: str) -> StoredLetter:
    headers = [("x-tenant", b"acme")]
    headers += [
        (f"omniout.{name.replace('_', '.')}", value.encode())
        for name, value in facts.items()
    ]
    return StoredLetter.from_record(Record(headers=headers))


def test_facts_are_read_from_the_omniout_headers() -> None:
    found = letter(
        route="orders",
        failure_reason="HTTP 400 Bad Request (permanent)",
        http_status="400",
        original_topic="orders",
        original_partition="2",
    )

    assert found.route == "orders"
    assert found.http_status == 400
    assert (found.original_topic, found.original_partition) == ("orders", 2)
    assert found.summary()["time"] == "2025-11-24T16:00:00.000+00:00"
    assert found.headers[0] == ("x-tenant", b"acme")


def test_missing_facts_read_as_empty() -> None:
    found = letter()

    assert (found.route, found.reason, found.http_status) == ("", "", None)
    assert found.original_topic is None


@pytest.mark.parametrize(
    ("chosen", "matches"),
    [
        (LetterFilter(), True),
        (LetterFilter(reason="bad request"), True),
        (LetterFilter(reason="timeout"), False),
        (LetterFilter(route="orders"), True),
        (LetterFilter(route="invoices"), False),
        (LetterFilter(since=1_764_000_000_000), True),
        (LetterFilter(since=1_764_000_000_001), False),
        (LetterFilter(until=1_764_000_000_000), False),
        (LetterFilter(until=1_764_000_000_001), True),
        (LetterFilter(offsets={(None, 4)}), True),
        (LetterFilter(offsets={(0, 4)}), True),
        (LetterFilter(offsets={(1, 4)}), False),
        (LetterFilter(offsets={(None, 5)}), False),
    ],
)
def test_a_filter_requires_every_criterion_given(
    chosen: LetterFilter, matches: bool
) -> None:
    found = letter(route="orders", failure_reason="HTTP 400 Bad Request")

    assert chosen.matches(found) is matches
