"""The local stack is real: Kafka carries Avro events, Jaeger stores spans."""

from __future__ import annotations

import asyncio
import io
import json
import time
import uuid
from pathlib import Path
from typing import Any, cast

import fastavro
import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from tests.integration.conftest import JAEGER, OTLP, TopicFactory

pytestmark = pytest.mark.integration

SCHEMAS = Path(__file__).parents[2] / "schemas"


def order_event() -> dict[str, Any]:
    return {
        "CreatedDate": 1_764_000_000_000,
        "CreatedById": "005000000000001AAA",
        "EventUuid": str(uuid.uuid4()),
        "Order_Id__c": "801000000000001AAA",
        "Order_Number__c": "00000123",
        "Account_Id__c": "001000000000001AAA",
        "Total_Amount__c": 129.5,
        "Currency_Iso_Code__c": "EUR",
        "Completed_At__c": 1_764_000_000_000,
        "Requested_Ship_Date__c": None,
        "Is_Priority__c": True,
        "Line_Items_Json__c": '[{"sku": "A-1", "qty": 2}]',
        "Correlation_Id__c": None,
    }


async def test_an_avro_event_travels_through_kafka(
    kafka: str, new_topic: TopicFactory
) -> None:
    schema = fastavro.parse_schema(
        json.loads((SCHEMAS / "Order_Completed__e.avsc").read_text())
    )
    event = order_event()
    body = io.BytesIO()
    fastavro.schemaless_writer(body, schema, event)
    topic = await new_topic("stack")

    producer = AIOKafkaProducer(bootstrap_servers=kafka, acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(topic, body.getvalue(), key=b"801")
    finally:
        await producer.stop()

    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=kafka,
        group_id=f"stack-{uuid.uuid4().hex[:8]}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        record = await asyncio.wait_for(consumer.getone(), timeout=30)
    finally:
        await consumer.stop()

    decoded = cast(
        dict[str, Any],
        fastavro.schemaless_reader(io.BytesIO(record.value), schema, schema),
    )
    assert record.key == b"801"
    assert str(decoded["EventUuid"]) == event["EventUuid"]
    assert decoded["Total_Amount__c"] == event["Total_Amount__c"]
    assert decoded["Line_Items_Json__c"] == event["Line_Items_Json__c"]


async def test_a_span_exported_over_otlp_is_found_in_jaeger() -> None:
    service = f"omniout-stack-{uuid.uuid4().hex[:8]}"
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(
        SimpleSpanProcessor(OTLPSpanExporter(endpoint=f"{OTLP}/v1/traces"))
    )
    with provider.get_tracer("tests").start_as_current_span("stack-check") as span:
        trace_id = format(span.get_span_context().trace_id, "032x")
    provider.shutdown()

    found = await poll_jaeger_trace(trace_id)

    names = {s["operationName"] for s in found["spans"]}
    assert names == {"stack-check"}
    processes = {p["serviceName"] for p in found["processes"].values()}
    assert processes == {service}


async def poll_jaeger_trace(trace_id: str, within: float = 30) -> dict[str, Any]:
    """Ask Jaeger's query API for a trace until it has been stored."""
    deadline = time.monotonic() + within
    async with httpx.AsyncClient(base_url=JAEGER) as client:
        while True:
            answer = await client.get(f"/api/traces/{trace_id}")
            if answer.status_code == 200 and answer.json().get("data"):
                trace: dict[str, Any] = answer.json()["data"][0]
                return trace
            if time.monotonic() > deadline:
                pytest.fail(f"trace {trace_id} not in Jaeger after {within}s")
            await asyncio.sleep(0.5)
