"""The demo's reply reader against the broker: what it prints, and when it stops."""

from __future__ import annotations

import asyncio
import time
from dataclasses import asdict, dataclass
from typing import Any

import orjson
import pytest
from aiokafka import AIOKafkaProducer

from omniout.config import KafkaSettings
from omniout.deliver import DeliveryResult, Response
from omniout.demo.replies import print_replies
from omniout.replies import reply_for
from tests.integration.conftest import KAFKA, TopicFactory

pytestmark = pytest.mark.integration


@dataclass(frozen=True, slots=True)
class Record:
    topic: str = "orders"
    partition: int = 0
    offset: int = 3
    timestamp: int = 0
    key: bytes | None = None
    value: bytes | None = b""
    headers: Any = ()


def reply(request_id: str) -> bytes:
    result = DeliveryResult(Response(200, (), b'{"ok": true}', 0.01), 1, 10.0, 10.0)
    value = reply_for("orders", request_id, Record(), result, now=10.5)
    return orjson.dumps(asdict(value))


async def test_replies_since_a_time_are_printed_until_idle(
    new_topic: TopicFactory,
) -> None:
    topic = await new_topic("replies", partitions=2)
    since = int(time.time() * 1000)
    async with AIOKafkaProducer(bootstrap_servers=KAFKA) as producer:
        await producer.send_and_wait(
            topic, reply("before"), partition=0, timestamp_ms=since - 1000
        )
        await producer.send_and_wait(topic, reply("r-1"), partition=0)
        await producer.send_and_wait(topic, b"not json", partition=1)
    lines: list[str] = []

    count = await asyncio.wait_for(
        print_replies(
            KafkaSettings(bootstrap_servers=KAFKA),
            [topic],
            since_ms=since,
            idle=1.0,
            stop=asyncio.Event(),
            say=lines.append,
        ),
        30,
    )

    assert count == 2
    assert sorted(lines) == [
        "a record that is not a reply: 'not json'",
        'orders r-1 delivered: HTTP 200, 1 attempt(s), 500.0 ms, answer {"ok":true}',
    ]


async def test_following_prints_replies_written_later_until_stopped(
    new_topic: TopicFactory,
) -> None:
    topic = await new_topic("replies")
    lines: list[str] = []
    stop, printed = asyncio.Event(), asyncio.Event()

    def say(line: str) -> None:
        lines.append(line)
        printed.set()

    reader = asyncio.create_task(
        print_replies(
            KafkaSettings(bootstrap_servers=KAFKA),
            [topic],
            since_ms=0,
            idle=None,
            stop=stop,
            say=say,
        )
    )
    async with AIOKafkaProducer(bootstrap_servers=KAFKA) as producer:
        await producer.send_and_wait(topic, reply("later"))

    await asyncio.wait_for(printed.wait(), 30)
    stop.set()
    count = await asyncio.wait_for(reader, 10)

    assert count == 1
    assert lines[0].startswith("orders later delivered: HTTP 200")
