"""The reply topic: the outcome of each delivery, for whoever asked for it.

A route with ``reply_topic`` writes one record per delivered or
dead-lettered event, keyed by the request id, whose value is JSON::

    {"route": "orders", "request_id": "…", "outcome": "delivered",
     "http_status": 200, "attempts": 1, "latency_ms": 12.3,
     "response": {…}, "response_truncated": false, "reason": null,
     "source": {"topic": "…", "partition": 0, "offset": 42}}

``response`` is the endpoint's answer read as JSON, or as XML (the content
of a SOAP Body, or the root element) turned into a dict (see
:mod:`omniout.payload.xml`), or else as text. An answer larger than
``MAX_PARSED_BYTES`` is not parsed: its first ``MAX_TEXT_BYTES`` go as
text with ``response_truncated`` true. For a dead-lettered event,
``reason`` is the failure kind and reason, and only the start of the last
answer is known (the dead letter's excerpt); an event that failed before
anything was sent (a mapping error, a gap event) has no status or answer,
and one that failed before its request id was known (undecodable) has no
reply at all. The record is
acknowledged by all in-sync replicas before the event counts as done.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import orjson
from aiokafka.errors import KafkaError
from lxml import etree

from omniout.deadletter import Producer, SourceRecord
from omniout.deliver import DeliveryResult
from omniout.errors import DeliveryError, EventError, ReplyError
from omniout.payload.faults import SOAP11, SOAP12
from omniout.payload.xml import SAFE_PARSER, to_value

__all__ = [
    "MAX_PARSED_BYTES",
    "MAX_TEXT_BYTES",
    "Reply",
    "ReplyWriter",
    "read_body",
    "reply_for",
]

logger = logging.getLogger(__name__)

MAX_PARSED_BYTES = 64 * 1024
MAX_TEXT_BYTES = 4 * 1024


@dataclass(frozen=True, slots=True)
class Reply:
    """What happened to one event on one route."""

    route: str
    request_id: str
    outcome: str
    http_status: int | None
    attempts: int
    latency_ms: float | None
    response: Any
    response_truncated: bool
    reason: str | None
    source: dict[str, Any]
    # The trace of the event (32 hex digits), when it is traced.
    trace_id: str | None = None


def reply_for(
    route: str,
    request_id: str,
    record: SourceRecord,
    result: DeliveryResult | EventError,
    *,
    now: float | None = None,
    reader: Callable[[bytes], Any] | None = None,
) -> Reply:
    """The reply for an event that ended in ``result``.

    ``reader`` (a route's WSDL output type) reads a whole answer first;
    where it gives None, the generic reading applies.

    An ``EventError`` other than a ``DeliveryError`` (a mapping error, a
    gap event) means nothing was sent: no status, no answer, no attempts.
    """
    finished = time.time() if now is None else now
    first: float | None = None
    status: int | None = None
    body: Any = None
    truncated, attempts, reason = False, 0, None
    if isinstance(result, DeliveryResult):
        body, truncated = read_body(result.response.body, reader)
        status, attempts = result.response.status, result.attempts
        first = result.first_attempt_at
    elif isinstance(result, DeliveryError):
        body, truncated = read_body(result.excerpt.encode())
        status, attempts = result.status, result.attempts
        first = result.first_attempt_at
    if not isinstance(result, DeliveryResult):
        reason = f"{result.kind}: {result.reason}"
    latency = None if not first else round((finished - first) * 1000, 3)
    return Reply(
        route=route,
        request_id=request_id,
        outcome="delivered" if reason is None else "dead-lettered",
        http_status=status,
        attempts=attempts,
        latency_ms=latency,
        response=body,
        response_truncated=truncated,
        reason=reason,
        source={
            "topic": record.topic,
            "partition": record.partition,
            "offset": record.offset,
        },
    )


def read_body(
    body: bytes, reader: Callable[[bytes], Any] | None = None
) -> tuple[Any, bool]:
    """An answer's body as data, and whether it was cut short."""
    if not body.strip():
        return None, False
    if len(body) > MAX_PARSED_BYTES:
        text = body[:MAX_TEXT_BYTES].decode("utf-8", errors="replace")
        return text, True
    start = body.lstrip()[:1]
    if reader is not None and start == b"<":
        value = reader(body)
        if value is not None:
            return value, False
    if start in (b"{", b"["):
        try:
            return orjson.loads(body), False
        except orjson.JSONDecodeError:
            pass
    elif start == b"<":
        try:
            return _xml(etree.fromstring(body, SAFE_PARSER)), False
        except etree.XMLSyntaxError:
            pass
    return body.decode("utf-8", errors="replace"), False


def _xml(root: etree._Element) -> Any:
    for namespace in (SOAP11, SOAP12):
        body = root.find(f"{{{namespace}}}Body")
        if body is not None:
            return to_value(body)
    return {etree.QName(root).localname: to_value(root)}


class ReplyWriter:
    """Writes replies and waits for the broker's acknowledgement."""

    def __init__(self, producer: Producer) -> None:
        self._producer = producer

    async def write(
        self,
        topic: str,
        reply: Reply,
        *,
        trace_headers: Sequence[tuple[str, bytes]] = (),
    ) -> None:
        """Produce one reply; raises ReplyError if it is not acknowledged.

        ``trace_headers`` (the reply span's context) go out with it, so that
        a consumer of the reply joins the event's trace.
        """
        headers = [("content-type", b"application/json"), *trace_headers]
        try:
            await self._producer.send_and_wait(
                topic,
                value=orjson.dumps(asdict(reply)),
                key=reply.request_id.encode(),
                headers=headers,
            )
        except KafkaError as exc:
            raise ReplyError(
                f"reply topic {topic!r} did not acknowledge: {exc!r}"
            ) from exc
        logger.debug(
            "Reply written to %s",
            topic,
            extra={"route": reply.route, "request_id": reply.request_id},
        )
