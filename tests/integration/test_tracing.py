"""One trace per event, from ``publish`` to the receiver, as Jaeger shows it.

The service runs in this process with its spans exported over OTLP to the
local Jaeger under a service name unique to the test; the receiver exports
its own SERVER spans under another. The traces are then read back through
Jaeger's query API.
"""

from __future__ import annotations

import io
import logging
import uuid
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from omniout.publish import prepare, send
from omniout.telemetry.logs import TextFormatter, TraceIdFilter
from omniout.telemetry.tracing import setup_tracing
from tests.integration.conftest import OTLP, TopicFactory
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


@pytest.fixture
def service(monkeypatch: pytest.MonkeyPatch) -> str:
    """A service name of this test alone, and export to the local Jaeger."""
    name = f"omniout-test-{uuid.uuid4().hex[:10]}"
    monkeypatch.setenv("OTEL_SERVICE_NAME", name)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", OTLP)
    monkeypatch.setenv("OTEL_BSP_SCHEDULE_DELAY", "100")
    return name


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    """The service's log lines, formatted as ``omniout run`` writes them."""
    lines = io.StringIO()
    handler = logging.StreamHandler(lines)
    handler.setFormatter(TextFormatter())
    handler.addFilter(TraceIdFilter())
    omniout = logging.getLogger("omniout")
    omniout.addHandler(handler)
    level = omniout.level
    omniout.setLevel(logging.INFO)
    try:
        yield lines
    finally:
        omniout.removeHandler(handler)
        omniout.setLevel(level)


async def publish_one(kafka: str, topic: str, event: dict[str, Any]) -> None:
    """What ``omniout publish`` does: one PRODUCER span, its context in headers."""
    config = settings(kafka, topic, "http://127.0.0.1:9/unused", Path("."))
    records = prepare([(1, event)], order_schema())
    tracing = setup_tracing()
    try:
        await send(config, topic, records, tracer=tracing.tracer)
    finally:
        tracing.shutdown()


async def test_one_trace_holds_publish_process_each_attempt_and_the_receiver(
    kafka: str,
    new_topic: TopicFactory,
    tmp_path: Path,
    service: str,
    log_lines: io.StringIO,
) -> None:
    topic = await new_topic("traced")
    event = order(1)
    await publish_one(kafka, topic, event)
    answers = [web.json_response({"busy": True}, status=503)]

    async def fail_once(delivery: Delivery) -> web.StreamResponse:
        return answers.pop() if answers else web.json_response({"ok": True})

    async with TracedReceiver(f"{service}-receiver") as receiver:
        receiver.answer = fail_once
        config = settings(kafka, topic, receiver.url + "/orders", tmp_path)
        async with running(config):
            await wait_until(_count(receiver, 2))
    sent_trace_id = receiver.deliveries[0].headers["traceparent"].split("-")[1]

    def complete(trace: Trace) -> bool:
        return len(trace.named("POST")) == 2 and len(trace.named("POST /orders")) == 2

    traces = await find_trace(
        service, {"messaging.message.id": event["EventUuid"]}, complete=complete
    )

    assert [t.trace_id for t in traces] == [sent_trace_id]
    trace = traces[0]
    publish = trace.one(f"publish {topic}")
    process = trace.one(f"process {topic}")
    assert publish.parent_id is None
    assert publish.tags["span.kind"] == "producer"
    assert process.parent_id == publish.span_id
    assert process.tags["span.kind"] == "consumer"
    assert process.tags["messaging.system"] == "kafka"
    assert process.tags["messaging.destination.name"] == topic
    assert process.tags["messaging.consumer.group.name"] == config.kafka.group_id
    assert process.tags["messaging.destination.partition.id"] == "0"
    assert process.tags["messaging.kafka.offset"] == 0
    assert process.tags["sf.event_uuid"] == event["EventUuid"]
    for step in ("decode", "map", "ledger write"):
        assert trace.one(step).parent_id == process.span_id
    first, second = sorted(
        trace.named("POST"), key=lambda s: s.tags.get("http.request.resend_count", 0)
    )
    assert {first.parent_id, second.parent_id} == {process.span_id}
    assert first.tags["span.kind"] == "client"
    assert first.tags["http.response.status_code"] == 503
    assert first.error
    assert second.tags["http.response.status_code"] == 200
    assert second.tags["http.request.resend_count"] == 1
    assert second.tags["omniout.retry.waited"] > 0
    assert second.tags["url.full"] == receiver.url + "/orders"
    served = trace.named("POST /orders")
    assert {s.service for s in served} == {f"{service}-receiver"}
    assert {s.parent_id for s in served} == {first.span_id, second.span_id}
    assert all(s.tags["span.kind"] == "server" for s in served)
    delivered = [
        line for line in log_lines.getvalue().splitlines() if "Delivered" in line
    ]
    assert len(delivered) == 1
    assert delivered[0].endswith(
        f"Delivered with HTTP 200 after 2 attempt(s) route=orders topic={topic} "
        f"partition=0 offset=0 request_id={event['EventUuid']} "
        f"trace_id={trace.trace_id}"
    )


async def test_a_dead_lettered_event_shows_its_dead_letter_publish_as_an_error(
    kafka: str, new_topic: TopicFactory, tmp_path: Path, service: str
) -> None:
    topic = await new_topic("traced-dlq")
    event = order(2)
    await publish_one(kafka, topic, event)

    async def refuse(delivery: Delivery) -> web.StreamResponse:
        return web.json_response({"error": "bad order"}, status=400)

    async with TracedReceiver(f"{service}-receiver") as receiver:
        receiver.answer = refuse
        config = settings(kafka, topic, receiver.url + "/orders", tmp_path)
        async with running(config):
            letters = await read_all(kafka, f"{topic}.dlq", expected=1)
    assert len(letters) == 1

    def complete(trace: Trace) -> bool:
        return bool(trace.named(f"publish {topic}.dlq"))

    traces = await find_trace(
        service, {"messaging.message.id": event["EventUuid"]}, complete=complete
    )

    assert len(traces) == 1
    trace = traces[0]
    process = trace.one(f"process {topic}")
    dead_letter = trace.one(f"publish {topic}.dlq")
    attempt = trace.one("POST")
    assert process.error
    assert attempt.error
    assert attempt.tags["http.response.status_code"] == 400
    assert dead_letter.error
    assert dead_letter.parent_id == process.span_id
    assert dead_letter.tags["span.kind"] == "producer"
    assert dead_letter.tags["error.type"] == "DeliveryError"
    carried = headers(letters[0])["traceparent"].split("-")
    assert carried[1:3] == [trace.trace_id, dead_letter.span_id]


def _count(receiver: Receiver, count: int) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return len(receiver.deliveries) >= count

    return check
