"""Per-record bindings in the pipeline: CDC lists expanded once, if needed.

Real parts: the decoder on the local schemas, the HTTP client against an
aiohttp receiver, a SQLite ledger and a producer on the local broker.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.structs import ConsumerRecord

from omniout.config import RouteSettings
from omniout.deadletter import DeadLetterWriter
from omniout.decode import Decoder, Encoder, SchemaStore
from omniout.deliver import Deliverer
from omniout.ledger import LedgerWriter, SqliteLedger
from omniout.mapping.cdc import FieldTable, change_bindings
from omniout.pipeline import Outcome, Pipeline
from omniout.routing import compile_routes
from tests.integration.engine import SCHEMAS
from tests.integration.receiver import Receiver
from tests.unit.mapping.events import account_update

pytestmark = pytest.mark.integration

ACCOUNT = "com.sforce.eventbus.AccountChangeEvent"


@pytest.fixture
async def producer(kafka: str) -> AsyncIterator[AIOKafkaProducer]:
    started = AIOKafkaProducer(bootstrap_servers=kafka, acks="all")
    await started.start()
    yield started
    await started.stop()


def record(value: bytes) -> ConsumerRecord[bytes, bytes]:
    return ConsumerRecord(
        topic="data.AccountChangeEvent",
        partition=0,
        offset=7,
        timestamp=0,
        timestamp_type=0,
        key=b"001",
        value=value,
        checksum=None,
        serialized_key_size=3,
        serialized_value_size=len(value),
        headers=[],
    )


def route(name: str, url: str, mapping: Any) -> RouteSettings:
    return RouteSettings.model_validate(
        {
            "name": name,
            "topic": "data.AccountChangeEvent",
            "schema": ACCOUNT,
            "mapping": mapping,
            "endpoint": {"url": f"{url}/{name}"},
        }
    )


async def run_once(
    tmp_path: Path,
    producer: AIOKafkaProducer,
    mappings: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> tuple[list[Outcome], int, Receiver]:
    expansions = 0

    def counted(event: dict[str, Any], table: FieldTable) -> dict[str, Any]:
        nonlocal expansions
        expansions += 1
        return change_bindings(event, table)

    monkeypatch.setattr("omniout.pipeline.change_bindings", counted)
    store = SchemaStore.load(SCHEMAS)
    schema = store.by_name(ACCOUNT)
    assert schema is not None
    value = Encoder().encode_single_object(account_update(), schema)
    ledger = SqliteLedger(str(tmp_path / "ledger.db"))
    await ledger.open()
    async with Receiver() as receiver, Deliverer() as deliverer:
        routes = compile_routes(
            [route(name, receiver.url, m) for name, m in mappings.items()]
        )
        writer = LedgerWriter(ledger, max_delay=0)
        pipeline = Pipeline(
            routes,
            {r.name: schema for r in routes},
            Decoder(store),
            deliverer,
            ledger,
            writer,
            DeadLetterWriter(producer),
            stopping=asyncio.Event(),
            clock=lambda: 1_764_003_600.0,
        )
        outcomes = await pipeline.process(record(value))
        await writer.close()
    await ledger.close()
    return outcomes, expansions, receiver


async def test_two_routes_share_one_expansion(
    tmp_path: Path, producer: AIOKafkaProducer, monkeypatch: pytest.MonkeyPatch
) -> None:
    outcomes, expansions, receiver = await run_once(
        tmp_path,
        producer,
        {"a": {"changed": "$changed"}, "b": "$pick($, $nulled)", "c": {"x": "Rating"}},
        monkeypatch,
    )

    assert outcomes == [Outcome.DELIVERED] * 3
    assert expansions == 1
    bodies = {d.path: d.json() for d in receiver.deliveries}
    assert bodies["/a"] == {
        "changed": [
            "Rating",
            "Phone",
            "Website",
            "LastModifiedDate",
            "BillingAddress.City",
        ]
    }
    assert bodies["/b"] == {"Website": None}


async def test_no_route_reads_the_lists_so_none_are_expanded(
    tmp_path: Path, producer: AIOKafkaProducer, monkeypatch: pytest.MonkeyPatch
) -> None:
    outcomes, expansions, receiver = await run_once(
        tmp_path,
        producer,
        {"a": {"rating": "Rating", "sentAt": "$toIso($nowMillis)"}},
        monkeypatch,
    )

    assert outcomes == [Outcome.DELIVERED]
    assert expansions == 0
    [delivery] = receiver.deliveries
    assert delivery.json() == {"rating": "Hot", "sentAt": "2025-11-24T17:00:00.000Z"}


async def test_routes_with_one_reader_schema_decode_the_record_once(
    tmp_path: Path, producer: AIOKafkaProducer, monkeypatch: pytest.MonkeyPatch
) -> None:
    decodes = 0
    decode = Decoder.decode

    async def counted(self: Decoder, *args: Any, **kwargs: Any) -> Any:
        nonlocal decodes
        decodes += 1
        return await decode(self, *args, **kwargs)

    monkeypatch.setattr(Decoder, "decode", counted)
    outcomes, _, receiver = await run_once(
        tmp_path,
        producer,
        {"a": {"x": "Rating"}, "b": {"y": "Rating"}, "c": {"z": "Phone"}},
        monkeypatch,
    )

    assert outcomes == [Outcome.DELIVERED] * 3
    assert decodes == 1
    assert sorted(d.path for d in receiver.deliveries) == ["/a", "/b", "/c"]
