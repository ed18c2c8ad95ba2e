"""Reply records: the endpoint's answer as data, bounded, with the outcome."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
import pytest

from omniout.deliver import DeliveryResult, Response
from omniout.errors import DeliveryError, MappingError
from omniout.replies import (
    MAX_PARSED_BYTES,
    MAX_TEXT_BYTES,
    Reply,
    ReplyWriter,
    read_body,
    reply_for,
)


@dataclass(frozen=True, slots=True)
class Record:
    topic: str = "orders"
    partition: int = 2
    offset: int = 41
    timestamp: int = 0
    key: bytes | None = None
    value: bytes | None = b""
    headers: Any = ()


SOAP_ANSWER = b"""<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/">
<soap:Body><r:SubmitOrderResponse xmlns:r="urn:oms">
<r:Ticket status="open">T-1</r:Ticket><r:Line>1</r:Line><r:Line>2</r:Line>
</r:SubmitOrderResponse></soap:Body></soap:Envelope>"""


def test_json_answers_are_parsed() -> None:
    body = b'{"id": "oms-1", "ok": true}'

    assert read_body(body) == ({"id": "oms-1", "ok": True}, False)


def test_a_soap_answer_becomes_the_content_of_its_body() -> None:
    value, truncated = read_body(SOAP_ANSWER)

    assert not truncated
    assert value == {
        "SubmitOrderResponse": {
            "Ticket": {"@status": "open", "#text": "T-1"},
            "Line": ["1", "2"],
        }
    }


def test_plain_xml_keeps_its_root() -> None:
    assert read_body(b"<ok><id>7</id></ok>") == ({"ok": {"id": "7"}}, False)


@pytest.mark.parametrize(
    ("body", "value"),
    [(b"", None), (b"  ", None), (b"accepted", "accepted"), (b"{broken", "{broken")],
)
def test_other_answers_are_text(body: bytes, value: Any) -> None:
    assert read_body(body) == (value, False)


def test_large_answers_are_cut_and_not_parsed() -> None:
    body = b"[" + b"1," * MAX_PARSED_BYTES + b"1]"

    value, truncated = read_body(body)

    assert truncated
    assert value == body[:MAX_TEXT_BYTES].decode()


def test_a_delivered_reply_carries_status_answer_attempts_and_latency() -> None:
    response = Response(200, (), b'{"id": "oms-1"}', 0.02)
    result = DeliveryResult(response, 2, first_attempt_at=100.0, last_attempt_at=100.5)

    reply = reply_for("orders", "req-1", Record(), result, now=100.75)

    assert reply == Reply(
        route="orders",
        request_id="req-1",
        outcome="delivered",
        http_status=200,
        attempts=2,
        latency_ms=750.0,
        response={"id": "oms-1"},
        response_truncated=False,
        reason=None,
        source={"topic": "orders", "partition": 2, "offset": 41},
    )


def test_a_dead_lettered_reply_carries_the_reason_and_excerpt() -> None:
    error = DeliveryError(
        "HTTP 422 Unprocessable Content (permanent)",
        retriable=False,
        status=422,
        excerpt='{"error": "unknown sku"}',
        attempts=1,
        first_attempt_at=10.0,
        last_attempt_at=10.0,
    )

    reply = reply_for("orders", "req-2", Record(), error, now=10.5)

    assert reply.outcome == "dead-lettered"
    assert (reply.http_status, reply.attempts) == (422, 1)
    assert reply.response == {"error": "unknown sku"}
    assert reply.reason == "delivery: HTTP 422 Unprocessable Content (permanent)"


def test_a_reply_for_an_event_never_sent_has_no_status_or_answer() -> None:
    error = MappingError("'$eval(x)' failed", route="orders", row="lines")

    reply = reply_for("orders", "req-4", Record(), error, now=1.0)

    assert reply.outcome == "dead-lettered"
    assert (reply.http_status, reply.attempts, reply.response) == (None, 0, None)
    assert reply.reason == "mapping: route 'orders', row 'lines': '$eval(x)' failed"
    assert reply.latency_ms is None


class Producer:
    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    async def send_and_wait(
        self,
        topic: str,
        value: bytes | None = None,
        key: bytes | None = None,
        partition: int | None = None,
        timestamp_ms: int | None = None,
        headers: list[tuple[str, bytes]] | None = None,
    ) -> None:
        self.sent.append({"topic": topic, "value": value, "key": key})


async def test_the_writer_keys_replies_by_request_id() -> None:
    producer = Producer()
    response = Response(200, (), b"ok", 0.01)
    reply = reply_for("orders", "req-3", Record(), DeliveryResult(response, 1, 1, 1))

    await ReplyWriter(producer).write("orders.replies", reply)

    [sent] = producer.sent
    assert (sent["topic"], sent["key"]) == ("orders.replies", b"req-3")
    assert orjson.loads(sent["value"])["response"] == "ok"


def typed(body: bytes) -> Any:
    """A reader that knows one answer: what a route's output type gives."""
    return {"SubmitOrderResponse": {"Lines": 2}} if b"Line" in body else None


def test_a_routes_reader_reads_the_answer_first() -> None:
    response = Response(200, (), SOAP_ANSWER, 0.01)

    reply = reply_for("erp", "r-1", Record(), DeliveryResult(response, 1, 1, 1),
                      reader=typed)

    assert reply.response == {"SubmitOrderResponse": {"Lines": 2}}


def test_an_answer_the_reader_declines_is_read_as_xml() -> None:
    body = b"<ok><id>7</id></ok>"

    assert read_body(body, typed) == ({"ok": {"id": "7"}}, False)
    assert read_body(b'{"id": 1}', typed) == ({"id": 1}, False)


def test_a_dead_letters_excerpt_is_not_given_to_the_reader() -> None:
    # The excerpt is the start of the answer only: the generic reading.
    error = DeliveryError(
        "HTTP 500 Internal Server Error (permanent)",
        retriable=False,
        status=500,
        excerpt="<ok><Line>1</Line></ok>",
        attempts=1,
    )

    reply = reply_for("erp", "r-2", Record(), error, reader=typed)

    assert reply.response == {"ok": {"Line": "1"}}
