"""Reading a dead-letter topic: what is there, and why each one failed.

:func:`read_dead_letters` reads every partition from its start up to the end
offset it had when the read began, with a consumer outside any group, so it
commits nothing and always terminates, even while new dead letters arrive.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition

from omniout.config import KafkaSettings
from omniout.consume.client import client_options
from omniout.deadletter import HEADER_PREFIX

__all__ = ["LetterFilter", "StoredLetter", "read_dead_letters"]

_BATCH = 500


@dataclass(frozen=True, slots=True)
class StoredLetter:
    """One record of a dead-letter topic, with its ``omniout.*`` facts."""

    topic: str
    partition: int
    offset: int
    timestamp: int  # epoch ms, when the dead letter was written
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...]
    facts: dict[str, str] = field(hash=False)

    @classmethod
    def from_record(cls, record: Any) -> StoredLetter:
        headers = tuple(record.headers or ())
        facts = {
            name.removeprefix(HEADER_PREFIX): value.decode("utf-8", "replace")
            for name, value in headers
            if name.startswith(HEADER_PREFIX)
        }
        return cls(
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            timestamp=record.timestamp,
            key=record.key,
            value=record.value,
            headers=headers,
            facts=facts,
        )

    @property
    def time(self) -> datetime:
        return datetime.fromtimestamp(self.timestamp / 1000, UTC)

    @property
    def route(self) -> str:
        return self.facts.get("route", "")

    @property
    def request_id(self) -> str:
        return self.facts.get("request-id", "")

    @property
    def kind(self) -> str:
        return self.facts.get("failure.kind", "")

    @property
    def reason(self) -> str:
        return self.facts.get("failure.reason", "")

    @property
    def http_status(self) -> int | None:
        status = self.facts.get("http.status", "")
        return int(status) if status.isdigit() else None

    @property
    def original_topic(self) -> str | None:
        return self.facts.get("original.topic") or None

    @property
    def original_partition(self) -> int | None:
        partition = self.facts.get("original.partition", "")
        return int(partition) if partition.isdigit() else None

    def summary(self) -> dict[str, Any]:
        """The fields an operator reads, as JSON-ready values."""
        return {
            "partition": self.partition,
            "offset": self.offset,
            "time": self.time.isoformat(timespec="milliseconds"),
            "route": self.route,
            "request_id": self.request_id,
            "kind": self.kind,
            "reason": self.reason,
            "http_status": self.http_status,
            "original_topic": self.original_topic,
            "original_partition": self.original_partition,
            "original_offset": _number(self.facts.get("original.offset", "")),
            "attempts": _number(self.facts.get("attempts", "")),
        }


@dataclass(frozen=True, slots=True)
class LetterFilter:
    """Which dead letters to pick; every given criterion must hold.

    ``reason`` is a case-insensitive substring of the failure reason;
    ``since`` and ``until`` (epoch ms) bound when the dead letter was
    written, ``until`` exclusive; ``offsets`` holds (partition, offset)
    pairs, with partition None for "any partition".
    """

    reason: str | None = None
    route: str | None = None
    since: int | None = None
    until: int | None = None
    offsets: Collection[tuple[int | None, int]] = ()

    def matches(self, letter: StoredLetter) -> bool:
        if self.reason is not None and (
            self.reason.casefold() not in letter.reason.casefold()
        ):
            return False
        if self.route is not None and letter.route != self.route:
            return False
        if self.since is not None and letter.timestamp < self.since:
            return False
        if self.until is not None and letter.timestamp >= self.until:
            return False
        if not self.offsets:
            return True
        return (letter.partition, letter.offset) in self.offsets or (
            None,
            letter.offset,
        ) in self.offsets


async def read_dead_letters(
    kafka: KafkaSettings,
    topic: str,
    partitions: Sequence[int],
    chosen: LetterFilter,
    *,
    limit: int | None = None,
) -> list[StoredLetter]:
    """The dead letters of ``topic`` that ``chosen`` matches, oldest first.

    Stops at the end offsets taken when it starts, or after ``limit`` matches.
    Letters are in (partition, offset) order.
    """
    # Starting at the earliest offset spares a first fetch at the end of the
    # log, which the broker would hold for fetch_max_wait_ms before the seek.
    consumer = AIOKafkaConsumer(
        **client_options(kafka),
        enable_auto_commit=False,
        group_id=None,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in partitions]
        consumer.assign(tps)
        ends = await consumer.end_offsets(tps)
        starts = await consumer.beginning_offsets(tps)
        found: list[StoredLetter] = []
        for tp in tps:
            if starts[tp] >= ends[tp]:
                continue
            consumer.seek(tp, starts[tp])
            await _read_partition(consumer, tp, ends[tp], chosen, found, limit)
            if limit is not None and len(found) >= limit:
                break
        return found
    finally:
        await consumer.stop()


async def _read_partition(
    consumer: AIOKafkaConsumer,
    tp: TopicPartition,
    end: int,
    chosen: LetterFilter,
    found: list[StoredLetter],
    limit: int | None,
) -> None:
    # One partition at a time keeps the result in offset order without
    # sorting, and lets a limit stop the read early.
    others = [p for p in consumer.assignment() if p != tp]
    consumer.pause(*others)
    consumer.resume(tp)
    while await consumer.position(tp) < end:
        batch = await consumer.getmany(tp, timeout_ms=500, max_records=_BATCH)
        for record in batch.get(tp, []):
            if record.offset >= end:
                return
            letter = StoredLetter.from_record(record)
            if chosen.matches(letter):
                found.append(letter)
                if limit is not None and len(found) >= limit:
                    return


def _number(text: str) -> int | None:
    return int(text) if text.lstrip("-").isdigit() else None
