"""The dead-letter topic: where an event that cannot be delivered ends.

A dead letter keeps the original record whole (key, value bytes and headers)
and adds headers that say what happened, so that an operator can read the
reason and re-drive the event once the cause is fixed. An event is done only
once the broker has acknowledged its dead letter (``acks=all``); until then
its offset is not committed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from aiokafka.errors import KafkaError

from omniout.errors import DeadLetterError, DeliveryError, EventError
from omniout.telemetry.propagation import TRACE_CONTEXT_HEADERS

__all__ = [
    "HEADER_PREFIX",
    "DeadLetter",
    "DeadLetterWriter",
    "Producer",
    "dead_letter_headers",
]

logger = logging.getLogger(__name__)

HEADER_PREFIX = "omniout."
_MAX_REASON = 1024
_MAX_EXCERPT = 512


class Producer(Protocol):
    """The part of AIOKafkaProducer that dead letters need."""

    async def send_and_wait(
        self,
        topic: str,
        value: bytes | None = None,
        key: bytes | None = None,
        partition: int | None = None,
        timestamp_ms: int | None = None,
        headers: list[tuple[str, bytes]] | None = None,
    ) -> Any: ...


class SourceRecord(Protocol):
    """The fields of a consumed record that a dead letter carries."""

    @property
    def topic(self) -> str: ...
    @property
    def partition(self) -> int: ...
    @property
    def offset(self) -> int: ...
    @property
    def timestamp(self) -> int: ...
    @property
    def key(self) -> bytes | None: ...
    @property
    def value(self) -> bytes | None: ...
    @property
    def headers(self) -> Any: ...


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """Why one event of one route was given up."""

    record: SourceRecord
    error: EventError
    route: str = ""
    request_id: str = ""
    attempts: int = 0
    first_attempt_at: float | None = None
    last_attempt_at: float | None = None
    # The context of the dead letter's own span, in the service's formats.
    trace_headers: tuple[tuple[str, bytes], ...] = ()


def dead_letter_headers(letter: DeadLetter) -> list[tuple[str, bytes]]:
    """The original headers followed by the ``omniout.*`` and trace headers.

    The original's trace context (any format) and any header the letter's
    own trace headers replace are left out, so that the dead letter leads to
    its own span.
    """
    record, error = letter.record, letter.error
    facts: dict[str, str | int | None] = {
        "original.topic": record.topic,
        "original.partition": record.partition,
        "original.offset": record.offset,
        "original.timestamp": record.timestamp,
        "route": letter.route,
        "request-id": letter.request_id,
        "failure.kind": error.kind,
        "failure.reason": error.reason[:_MAX_REASON],
        "attempts": letter.attempts,
        "attempt.first": _iso(letter.first_attempt_at),
        "attempt.last": _iso(letter.last_attempt_at),
    }
    if isinstance(error, DeliveryError):
        facts["http.status"] = error.status
        facts["response.excerpt"] = error.excerpt[:_MAX_EXCERPT] or None
    replaced = TRACE_CONTEXT_HEADERS | {name for name, _ in letter.trace_headers}
    headers = [
        (name, value)
        for name, value in (record.headers or ())
        if not name.startswith(HEADER_PREFIX) and name.lower() not in replaced
    ]
    headers.extend(
        (HEADER_PREFIX + name, str(value).encode())
        for name, value in facts.items()
        if value is not None and value != ""
    )
    headers.extend(letter.trace_headers)
    return headers


class DeadLetterWriter:
    """Writes dead letters and waits for the broker's acknowledgement."""

    def __init__(self, producer: Producer) -> None:
        self._producer = producer

    async def write(self, topic: str, letter: DeadLetter) -> None:
        """Produce one dead letter; raises DeadLetterError if not acknowledged."""
        record = letter.record
        try:
            await self._producer.send_and_wait(
                topic,
                value=record.value,
                key=record.key,
                headers=dead_letter_headers(letter),
            )
        except KafkaError as exc:
            raise DeadLetterError(
                f"dead-letter topic {topic!r} did not acknowledge: {exc!r}"
            ) from exc
        logger.warning(
            "Dead-lettered %s to %s: %s",
            letter.error.kind,
            topic,
            letter.error.reason,
            extra={
                "route": letter.route,
                "topic": record.topic,
                "partition": record.partition,
                "offset": record.offset,
                "request_id": letter.request_id,
            },
        )


def _iso(moment: float | None) -> str | None:
    if moment is None:
        return None
    return datetime.fromtimestamp(moment, UTC).isoformat(timespec="milliseconds")
