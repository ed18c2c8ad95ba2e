"""Re-driving dead letters: each one back to the topic it came from.

A replayed record carries the original key, value and headers (the
dead-letter facts are left out) and two headers that say where it came from,
so the service consumes it like any new event. Its request id is unchanged,
and a request id that was dead-lettered is not "delivered" in the ledger,
so the service sends it again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from aiokafka import AIOKafkaProducer

from omniout.config import KafkaSettings
from omniout.consume.client import client_options
from omniout.deadletter import HEADER_PREFIX
from omniout.errors import NotReplayableError
from omniout.reprocess.letters import StoredLetter

__all__ = [
    "REPLAYED_AT",
    "REPLAYED_FROM",
    "Replay",
    "plan_replay",
    "send_replays",
]

REPLAYED_FROM = HEADER_PREFIX + "replayed-from"
REPLAYED_AT = HEADER_PREFIX + "replayed-at"


@dataclass(frozen=True, slots=True)
class Replay:
    """One record to produce; ``partition`` None lets the key decide."""

    source: StoredLetter
    topic: str
    partition: int | None
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...]


def plan_replay(
    letters: Sequence[StoredLetter],
    partitions: Callable[[str], Sequence[int]],
    *,
    now: datetime | None = None,
) -> list[Replay]:
    """The records that re-drive ``letters``; raises NotReplayableError.

    A record goes back to its original partition while the topic still has
    it, which keeps it in the order of its key; otherwise the producer's
    partitioner places it by key. ``partitions`` gives a topic's partitions.
    """
    at = (now or datetime.now(UTC)).isoformat(timespec="milliseconds").encode()
    replays = []
    for letter in letters:
        topic = letter.original_topic
        if topic is None:
            raise NotReplayableError(letter.topic, letter.partition, letter.offset)
        partition = letter.original_partition
        if partition not in partitions(topic):
            partition = None
        origin = f"{letter.topic}/{letter.partition}/{letter.offset}".encode()
        kept = [
            (name, value)
            for name, value in letter.headers
            if not name.startswith(HEADER_PREFIX)
        ]
        headers = (*kept, (REPLAYED_FROM, origin), (REPLAYED_AT, at))
        replays.append(
            Replay(letter, topic, partition, letter.key, letter.value, headers)
        )
    return replays


async def send_replays(
    kafka: KafkaSettings,
    replays: Sequence[Replay],
    *,
    progress: Callable[[int], None] = lambda sent: None,
    window: int = 500,
) -> None:
    """Produce every replay with acks=all; returns once all are acknowledged.

    At most ``window`` records are unacknowledged at a time. A failure is
    raised as the producer's KafkaError; records acknowledged before it stay
    on their topics (a second replay of them is suppressed by the ledger).
    """
    producer = AIOKafkaProducer(
        **client_options(kafka), acks="all", enable_idempotence=True
    )
    await producer.start()
    try:
        for start in range(0, len(replays), window):
            chunk = replays[start : start + window]
            pending = [
                await producer.send(
                    r.topic,
                    value=r.value,
                    key=r.key,
                    partition=r.partition,
                    headers=list(r.headers),
                )
                for r in chunk
            ]
            await asyncio.gather(*pending)
            progress(len(chunk))
    finally:
        await producer.stop()
