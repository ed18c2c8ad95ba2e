"""Publishing test events: JSON lines in, Avro records on a topic out.

Every event of the input is read, completed and validated before the first
one is sent, so a bad event stops the whole batch with an error that names
its line and field, and nothing reaches the topic.

Each record is sent in its own PRODUCER span, whose trace context goes
into the record's headers (in the formats ``OTEL_PROPAGATORS`` names): the
service's spans for the event join that trace.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, TextIO

import orjson
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaConnectionError
from opentelemetry.semconv._incubating.attributes.messaging_attributes import (
    MESSAGING_DESTINATION_PARTITION_ID,
    MESSAGING_KAFKA_OFFSET,
)
from opentelemetry.trace import NoOpTracer, Span, SpanKind, Tracer

from omniout.config import Settings
from omniout.consume.client import client_options
from omniout.consume.rejection import raise_if_rejected
from omniout.decode import Encoder, KnownSchema
from omniout.errors import EventError
from omniout.telemetry.propagation import kafka_trace_headers, propagator_of
from omniout.telemetry.spans import failed, publish_attributes

__all__ = ["Outgoing", "PublishError", "prepare", "read_events", "send"]


class PublishError(EventError):
    """An input event cannot be published; the batch is not sent."""

    kind = "publish"


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One encoded record, ready to produce."""

    key: bytes | None
    value: bytes
    request_id: str


def read_events(lines: Iterable[str]) -> list[tuple[int, dict[str, Any]]]:
    """Parse JSON lines; blank lines are skipped, the line number is kept."""
    events = []
    try:
        for number, line in enumerate(lines, start=1):
            if line.strip():
                events.append((number, _parse(number, line)))
    except UnicodeDecodeError as exc:
        raise PublishError(f"the input is not UTF-8 text: {exc.reason}") from None
    return events


def _parse(number: int, line: str) -> dict[str, Any]:
    try:
        event = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        raise PublishError(f"line {number}: not JSON: {exc}") from None
    if not isinstance(event, dict):
        raise PublishError(f"line {number}: an event must be a JSON object")
    return event


def prepare(
    events: Sequence[tuple[int, dict[str, Any]]],
    schema: KnownSchema,
    *,
    key_field: str | None = None,
    schema_id: int | None = None,
    clock: Callable[[], float] = time.time,
) -> list[Outgoing]:
    """Fill ``EventUuid`` and ``CreatedDate`` where absent, validate, encode.

    Without ``schema_id`` the values are in single-object encoding; with it,
    in the Confluent framing under that registry id, which must be the id
    the registry gave ``schema`` (see :mod:`omniout.cli.framing`).
    """
    encoder = Encoder()
    encode: Callable[[dict[str, Any]], bytes]
    if schema_id is None:
        encode = partial(encoder.encode_single_object, schema=schema)
    else:
        encode = partial(encoder.encode_registered, schema_id=schema_id, schema=schema)
    fields = {field["name"] for field in schema.plain["fields"]}
    if key_field is not None and key_field not in fields:
        raise PublishError(f"key field {key_field!r} is not in schema {schema.name}")
    prepared = []
    for number, event in events:
        if "EventUuid" in fields and not event.get("EventUuid"):
            event["EventUuid"] = str(uuid.uuid4())
        if "CreatedDate" in fields and event.get("CreatedDate") is None:
            event["CreatedDate"] = int(clock() * 1000)
        try:
            value = encode(event)
        except EventError as exc:
            raise PublishError(f"line {number}: {exc.reason}") from None
        prepared.append(
            Outgoing(
                key=_key(event, key_field, number),
                value=value,
                request_id=str(event.get("EventUuid", "")),
            )
        )
    return prepared


def _key(event: dict[str, Any], field: str | None, number: int) -> bytes | None:
    if field is None:
        return None
    value = event.get(field)
    if value is None:
        raise PublishError(f"line {number}: key field {field!r} is empty")
    return str(value).encode()


async def send(
    settings: Settings,
    topic: str,
    records: Sequence[Outgoing],
    *,
    progress: Callable[[int], None] = lambda sent: None,
    window: int = 1000,
    tracer: Tracer | None = None,
) -> None:
    """Produce every record (acks=all), at most ``window`` unacknowledged.

    ``progress`` is called with the size of each acknowledged chunk. A broker
    failure raises KafkaError; the chunks acknowledged before it stay on the
    topic (the batch is atomic only against invalid input, not the broker).
    With ``tracer``, each record's span ends when the broker acknowledges it.
    """
    tracer = tracer or NoOpTracer()
    producer = AIOKafkaProducer(
        **client_options(settings.kafka), acks="all", enable_idempotence=True
    )
    try:
        try:
            await producer.start()
        except KafkaConnectionError:
            await raise_if_rejected(settings.kafka)
            raise
        for start in range(0, len(records), window):
            chunk = records[start : start + window]
            pending = [await _send_one(producer, tracer, topic, r) for r in chunk]
            await asyncio.gather(*pending)
            progress(len(chunk))
    finally:
        await producer.stop()


async def _send_one(
    producer: AIOKafkaProducer, tracer: Tracer, topic: str, record: Outgoing
) -> asyncio.Future[Any]:
    span = tracer.start_span(
        f"publish {topic}",
        kind=SpanKind.PRODUCER,
        attributes=publish_attributes(topic, record.request_id),
    )
    try:
        sent: asyncio.Future[Any] = await producer.send(
            topic,
            value=record.value,
            key=record.key,
            headers=kafka_trace_headers(span, propagator_of(tracer)),
        )
    except Exception as exc:
        failed(span, exc, f"not sent: {type(exc).__name__}")
        span.end()
        raise
    sent.add_done_callback(partial(_acknowledged, span))
    return sent


def _acknowledged(span: Span, sent: asyncio.Future[Any]) -> None:
    if sent.cancelled():
        span.end()
        return
    error = sent.exception()
    if error is not None:
        failed(span, error, f"not acknowledged: {type(error).__name__}")
    else:
        metadata = sent.result()
        span.set_attribute(MESSAGING_DESTINATION_PARTITION_ID, str(metadata.partition))
        span.set_attribute(MESSAGING_KAFKA_OFFSET, metadata.offset)
    span.end()


def open_input(path: str | None, stdin: TextIO) -> Iterable[str]:
    """The lines of ``path``, or of standard input when it is None or '-'.

    Raises OSError when the file cannot be read and PublishError when it is
    not UTF-8; standard input is read lazily, so its errors come later, from
    :func:`read_events`.
    """
    if path is None or path == "-":
        return stdin
    try:
        with open(path, encoding="utf-8") as file:
            return file.readlines()
    except UnicodeDecodeError as exc:
        raise PublishError(f"{path}: not UTF-8 text: {exc.reason}") from None
