"""The spans of one event, named and attributed by the semantic conventions.

A trace of one event reads: ``publish <topic>`` (PRODUCER, from ``omniout
publish`` or any producer that puts trace context into the record's headers)
→ ``process <topic>`` (CONSUMER) → ``decode``, ``map``, one CLIENT span per
HTTP attempt, ``ledger write``, and ``publish <dead-letter topic>`` when the
event is given up. Attribute names come from ``opentelemetry.semconv``; the
few of this service's own are prefixed ``omniout.`` and the platform's
``sf.``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from aiokafka.structs import ConsumerRecord
from opentelemetry.semconv._incubating.attributes.messaging_attributes import (
    MESSAGING_CONSUMER_GROUP_NAME,
    MESSAGING_DESTINATION_NAME,
    MESSAGING_DESTINATION_PARTITION_ID,
    MESSAGING_KAFKA_OFFSET,
    MESSAGING_MESSAGE_ID,
    MESSAGING_OPERATION_NAME,
    MESSAGING_OPERATION_TYPE,
    MESSAGING_SYSTEM,
    MessagingOperationTypeValues,
    MessagingSystemValues,
)
from opentelemetry.semconv.attributes.error_attributes import ERROR_TYPE
from opentelemetry.trace import Span, SpanKind, Status, StatusCode, Tracer

from omniout.telemetry.propagation import continued, kafka_context, propagator_of

__all__ = [
    "EVENT_UUID",
    "ROUTE",
    "consuming",
    "failed",
    "producing",
    "publish_attributes",
]

ROUTE = "omniout.route"
EVENT_UUID = "sf.event_uuid"

_KAFKA = MessagingSystemValues.KAFKA.value
_PROCESS = MessagingOperationTypeValues.PROCESS.value
_SEND = MessagingOperationTypeValues.SEND.value

# The platform's gRPC envelope travels in these record headers; they name the
# event on the platform side, so they are worth a search in the trace backend.
_PLATFORM_HEADERS = {
    "sf-event-uuid": EVENT_UUID,
    "sf-replay-id": "sf.replay_id",
    "sf-schema-id": "sf.schema_id",
    "sf-topic": "sf.topic",
}


def publish_attributes(topic: str, message_id: str = "") -> dict[str, Any]:
    """The attributes of a PRODUCER span that sends to ``topic``."""
    attributes: dict[str, Any] = {
        MESSAGING_SYSTEM: _KAFKA,
        MESSAGING_DESTINATION_NAME: topic,
        MESSAGING_OPERATION_TYPE: _SEND,
        MESSAGING_OPERATION_NAME: "publish",
    }
    if message_id:
        attributes[MESSAGING_MESSAGE_ID] = message_id
    return attributes


@contextlib.contextmanager
def consuming(tracer: Tracer, record: ConsumerRecord, group: str) -> Iterator[Span]:
    """The CONSUMER span of one record, child of its producer's span if any.

    The span is current inside the block, so everything the pipeline does for
    the record nests under it, and the baggage the record carried goes on
    with what the pipeline sends. An exception leaving the block marks it
    ERROR.
    """
    attributes: dict[str, Any] = {
        MESSAGING_SYSTEM: _KAFKA,
        MESSAGING_DESTINATION_NAME: record.topic,
        MESSAGING_CONSUMER_GROUP_NAME: group,
        MESSAGING_DESTINATION_PARTITION_ID: str(record.partition),
        MESSAGING_KAFKA_OFFSET: record.offset,
        MESSAGING_OPERATION_TYPE: _PROCESS,
        MESSAGING_OPERATION_NAME: "process",
    }
    for name, value in record.headers or ():
        attribute = _PLATFORM_HEADERS.get(name)
        if attribute is not None and value:
            attributes[attribute] = _header_text(name, value)
    parent = kafka_context(record.headers, propagator_of(tracer))
    with (
        continued(parent),
        tracer.start_as_current_span(
            f"process {record.topic}", kind=SpanKind.CONSUMER, attributes=attributes
        ) as span,
    ):
        yield span


@contextlib.contextmanager
def producing(tracer: Tracer, topic: str, message_id: str) -> Iterator[Span]:
    """A PRODUCER span around one send to ``topic`` (dead letters, replies)."""
    with tracer.start_as_current_span(
        f"publish {topic}",
        kind=SpanKind.PRODUCER,
        attributes=publish_attributes(topic, message_id),
    ) as span:
        yield span


def failed(span: Span, exc: BaseException, reason: str) -> None:
    """Mark ``span`` as failed by ``exc``; ``reason`` must hold no secret."""
    span.set_status(Status(StatusCode.ERROR, reason))
    span.set_attribute(ERROR_TYPE, type(exc).__qualname__)
    span.record_exception(exc)


def _header_text(name: str, value: bytes) -> str:
    # The replay id is opaque bytes on the platform; the others are text.
    if name == "sf-replay-id":
        return value.hex()
    return value.decode("utf-8", errors="replace")
