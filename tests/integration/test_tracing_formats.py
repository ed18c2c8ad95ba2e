"""Traces exported over OTLP/gRPC, and trace context carried as B3.

As in test_tracing.py, the service runs in this process under a service name
unique to the test and the traces are read back through Jaeger's query API;
here the export goes to Jaeger's gRPC port, or the context travels in the
``X-B3-*`` headers that ``OTEL_PROPAGATORS=b3multi`` chooses, in Kafka
records and HTTP requests alike.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiohttp import web
from opentelemetry.propagators.b3 import B3MultiFormat

from omniout.publish import prepare, send
from omniout.telemetry.tracing import setup_tracing
from tests.integration.admin import serving, wait_ready, with_admin
from tests.integration.conftest import OTLP, OTLP_GRPC, TopicFactory
from tests.integration.engine import (
    headers,
    order,
    order_schema,
    read_all,
    running,
    settings,
    wait_until,
)
from tests.integration.receiver import Delivery, Receiver
from tests.integration.tracing import Trace, TracedReceiver, find_trace

pytestmark = pytest.mark.integration

B3_FIELDS = {"x-b3-traceid", "x-b3-spanid", "x-b3-sampled"}


@pytest.fixture
def service(monkeypatch: pytest.MonkeyPatch) -> str:
    """A service name of this test alone; spans leave in batches every 100 ms."""
    name = f"omniout-test-{uuid.uuid4().hex[:10]}"
    monkeypatch.setenv("OTEL_SERVICE_NAME", name)
    monkeypatch.setenv("OTEL_BSP_SCHEDULE_DELAY", "100")
    return name


async def publish_one(kafka: str, topic: str, event: dict[str, Any]) -> None:
    """``omniout publish`` for one event, traced with the same variables."""
    config = settings(kafka, topic, "http://127.0.0.1:9/unused", Path("."))
    tracing = setup_tracing()
    try:
        records = prepare([(1, event)], order_schema())
        await send(config, topic, records, tracer=tracing.tracer)
    finally:
        tracing.shutdown()


async def test_spans_exported_over_grpc_make_the_events_trace_in_jaeger(
    kafka: str,
    new_topic: TopicFactory,
    tmp_path: Path,
    service: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", OTLP_GRPC)
    topic = await new_topic("traced-grpc")
    event = order(1)
    await publish_one(kafka, topic, event)

    async with TracedReceiver(f"{service}-receiver") as receiver:
        config = settings(kafka, topic, receiver.url + "/orders", tmp_path)
        async with running(config):
            await wait_until(_count(receiver, 1))

    def complete(trace: Trace) -> bool:
        steps = ("decode", "map", "POST", "ledger write", "POST /orders")
        return all(trace.named(step) for step in steps)

    traces = await find_trace(
        service, {"messaging.message.id": event["EventUuid"]}, complete=complete
    )

    sent = receiver.deliveries[0].headers["traceparent"].split("-")
    assert [t.trace_id for t in traces] == [sent[1]]
    trace = traces[0]
    publish = trace.one(f"publish {topic}")
    process = trace.one(f"process {topic}")
    assert publish.service == service
    assert process.parent_id == publish.span_id
    for step in ("decode", "map", "POST", "ledger write"):
        assert trace.one(step).parent_id == process.span_id
    assert trace.one("POST").span_id == sent[2]
    assert trace.one("POST /orders").parent_id == sent[2]


async def test_with_b3multi_records_and_requests_carry_b3_and_one_trace_holds(
    kafka: str,
    new_topic: TopicFactory,
    tmp_path: Path,
    service: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", OTLP)
    monkeypatch.setenv("OTEL_PROPAGATORS", "b3multi")
    topic = await new_topic("traced-b3")
    delivered, refused = order(2), order(3)
    await publish_one(kafka, topic, delivered)
    await publish_one(kafka, topic, refused)
    published = [headers(r) for r in await read_all(kafka, topic, expected=2)]

    async def refuse_one(delivery: Delivery) -> web.StreamResponse:
        if delivery.key == refused["EventUuid"]:
            return web.json_response({"error": "bad order"}, status=400)
        return web.json_response({"ok": True})

    async with TracedReceiver(f"{service}-receiver", B3MultiFormat()) as receiver:
        receiver.answer = refuse_one
        config = settings(kafka, topic, receiver.url + "/orders", tmp_path)
        async with running(config):
            letters = await read_all(kafka, f"{topic}.dlq", expected=1)

    def complete(trace: Trace) -> bool:
        return bool(trace.named("POST /orders")) and bool(trace.named("ledger write"))

    traces = await find_trace(
        service, {"messaging.message.id": delivered["EventUuid"]}, complete=complete
    )

    assert all(set(h) >= B3_FIELDS and "traceparent" not in h for h in published)
    request = next(
        d.headers for d in receiver.deliveries if d.key == delivered["EventUuid"]
    )
    assert set(request) >= B3_FIELDS
    assert "traceparent" not in request
    trace = traces[0]
    assert [t.trace_id for t in traces] == [request["x-b3-traceid"]]
    publish = trace.one(f"publish {topic}")
    process = trace.one(f"process {topic}")
    attempt = trace.one("POST")
    assert published[0]["x-b3-spanid"] == publish.span_id
    assert process.parent_id == publish.span_id
    assert attempt.parent_id == process.span_id
    assert request["x-b3-spanid"] == attempt.span_id
    served = trace.one("POST /orders")
    assert served.service == f"{service}-receiver"
    assert served.parent_id == attempt.span_id
    letter = headers(letters[0])
    assert "traceparent" not in letter
    assert letter["x-b3-traceid"] == published[1]["x-b3-traceid"]
    assert letter["x-b3-spanid"] != published[1]["x-b3-spanid"]


async def test_an_invoke_request_with_a_b3_header_continues_that_trace(
    kafka: str, new_topic: TopicFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OTEL_PROPAGATORS", "b3")
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_ENDPOINT", raising=False)
    topic = await new_topic("invoke-b3")
    trace_id, span_id = uuid.uuid4().hex, uuid.uuid4().hex[:16]

    async with Receiver() as receiver:
        config = with_admin(settings(kafka, topic, receiver.url + "/o", tmp_path))
        async with serving(config) as url, httpx.AsyncClient(base_url=url) as admin:
            await wait_ready(admin)
            answer = await admin.post(
                "/invoke/orders?timeout=5",
                json=order(4),
                headers={"b3": f"{trace_id}-{span_id}-1"},
            )

    assert answer.json()["trace_id"] == trace_id
    sent = receiver.deliveries[0].headers
    assert "traceparent" not in sent
    assert sent["b3"].startswith(f"{trace_id}-")
    assert sent["b3"].split("-")[1] != span_id


def _count(receiver: Receiver, count: int) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return len(receiver.deliveries) >= count

    return check
