"""Helpers for tests of the whole engine on the local stack."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import io
import time
import uuid
from collections.abc import AsyncIterator, Collection, Sequence
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from omniout.config import Settings
from omniout.decode import Encoder, KnownSchema, SchemaStore
from omniout.ledger import open_ledger
from omniout.service import serve

SCHEMAS = Path(__file__).parents[2] / "schemas"
ORDER_SCHEMA = "com.sforce.eventbus.Order_Completed__e"


def settings(
    kafka: str,
    topic: str,
    url: str,
    tmp_path: Path,
    **route: Any,
) -> Settings:
    """Settings with one route from ``topic`` to ``url``."""
    retry = {"max_attempts": 6, "initial_backoff": 0.05, "max_backoff": 0.5}
    retry.update(route.pop("retry", {}))
    endpoint = {"url": url, "timeout": 2.0}
    endpoint.update(route.pop("endpoint", {}))
    group = f"g-{uuid.uuid4().hex[:8]}"
    return Settings.model_validate(
        {
            "kafka": {"bootstrap_servers": kafka, "group_id": group},
            "schemas_dir": SCHEMAS,
            "ledger": {"url": f"sqlite:///{tmp_path / 'ledger.db'}"},
            "processing": {"commit_interval": 0.2, "shutdown_timeout": 5},
            "admin": {"enabled": False},
            "routes": [
                {
                    "name": "orders",
                    "topic": topic,
                    "schema": ORDER_SCHEMA,
                    "endpoint": endpoint,
                    "retry": retry,
                    **route,
                }
            ],
        }
    )


def order(number: int, **fields: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "CreatedDate": 1_764_000_000_000 + number,
        "CreatedById": "005000000000001AAA",
        "EventUuid": str(uuid.uuid4()),
        "Order_Number__c": f"{number:08d}",
        "Total_Amount__c": float(number),
        "Currency_Iso_Code__c": "EUR",
    }
    event.update(fields)
    return event


@functools.cache
def order_schema() -> KnownSchema:
    schema = SchemaStore.load(SCHEMAS).by_name(ORDER_SCHEMA)
    assert schema is not None
    return schema


def encode(event: dict[str, Any]) -> bytes:
    return Encoder().encode_single_object(event, order_schema())


async def produce(
    kafka: str,
    topic: str,
    records: Sequence[tuple[bytes | None, bytes]],
    partition: int | None = None,
) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=kafka, acks="all")
    await producer.start()
    try:
        for key, value in records:
            await producer.send_and_wait(topic, value, key=key, partition=partition)
    finally:
        await producer.stop()


async def produce_orders(
    kafka: str, topic: str, events: Sequence[dict[str, Any]], key_field: str
) -> None:
    await produce(
        kafka, topic, [(str(e[key_field]).encode(), encode(e)) for e in events]
    )


@contextlib.asynccontextmanager
async def running(config: Settings) -> AsyncIterator[asyncio.Event]:
    """Run the service in this event loop; stop it gracefully at the end."""
    stopping = asyncio.Event()
    task = asyncio.create_task(
        serve(config, config_file="test.yaml", stopping=stopping)
    )
    try:
        yield stopping
    finally:
        stopping.set()
        await asyncio.wait_for(task, timeout=30)


async def committed_and_end(
    kafka: str, group: str, topic: str, partitions: int = 1
) -> dict[int, tuple[int | None, int]]:
    """Per partition: the group's committed offset and the end offset."""
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka)
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(group)
    finally:
        await admin.close()
    tps = [TopicPartition(topic, p) for p in range(partitions)]
    consumer = AIOKafkaConsumer(bootstrap_servers=kafka)
    await consumer.start()
    try:
        consumer.assign(tps)
        ends = await consumer.end_offsets(tps)
    finally:
        await consumer.stop()
    return {
        tp.partition: (offsets[tp].offset if tp in offsets else None, ends[tp])
        for tp in tps
    }


async def wait_committed(
    kafka: str, group: str, topic: str, end: int | None = None, within: float = 20
) -> None:
    """Wait until the group has committed partition 0 of ``topic`` up to its
    end, and that end is ``end`` when one is given."""
    deadline = time.monotonic() + within
    while True:
        committed, last = (await committed_and_end(kafka, group, topic))[0]
        if committed == last and (end is None or last == end):
            return
        assert time.monotonic() < deadline, f"committed {committed} of {last}"
        await asyncio.sleep(0.1)


async def ledger_delivered(
    ledger_url: str, route: str, request_ids: Collection[str]
) -> set[str]:
    """The ids among ``request_ids`` that the ledger at ``ledger_url`` has as
    delivered on ``route``; the ledger is opened and closed for the question."""
    ledger = open_ledger(ledger_url)
    await ledger.open()
    try:
        return await ledger.delivered(route, request_ids)
    finally:
        await ledger.close()


async def read_all(
    kafka: str, topic: str, expected: int, within: float = 30
) -> list[Any]:
    """Read ``expected`` records from the start of ``topic``."""
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=kafka, auto_offset_reset="earliest"
    )
    await consumer.start()
    records: list[Any] = []
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while len(records) < expected and loop.time() < deadline:
            batch = await consumer.getmany(timeout_ms=500)
            for items in batch.values():
                records.extend(items)
    finally:
        await consumer.stop()
    return records


def headers(record: Any) -> dict[str, str]:
    return {name: value.decode() for name, value in record.headers}


async def wait_until(check: Any, within: float = 30) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not await check():
        if loop.time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.1)


def body_stream(value: bytes) -> io.BytesIO:
    return io.BytesIO(value)
