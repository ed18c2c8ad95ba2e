"""The demo's reply reader: one line per reply record, as the service writes it."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import orjson

from omniout.deliver import DeliveryResult, Response
from omniout.demo.replies import describe
from omniout.errors import DeliveryError, MappingError
from omniout.replies import MAX_PARSED_BYTES, reply_for

ID = "6a1f0a2e-3b4c-4d5e-8f60-718293a4b5c6"


@dataclass(frozen=True, slots=True)
class Record:
    topic: str = "event.Order_Completed__e"
    partition: int = 0
    offset: int = 7
    timestamp: int = 0
    key: bytes | None = None
    value: bytes | None = b""
    headers: Any = ()


def written(route: str, result: DeliveryResult | DeliveryError | MappingError) -> bytes:
    """The record value the service writes for ``result``."""
    reply = reply_for(route, ID, Record(), result, now=100.0128)
    return orjson.dumps(asdict(reply))


def delivered(body: bytes, attempts: int = 1) -> DeliveryResult:
    return DeliveryResult(Response(200, (), body, 0.01), attempts, 100.0, 100.0)


def test_a_delivery_shows_status_attempts_latency_and_the_answer() -> None:
    value = written("order-to-oms", delivered(b'{"reference": "R-000001"}'))

    assert describe(value) == (
        f"order-to-oms {ID} delivered: HTTP 200, 1 attempt(s), 12.8 ms, "
        'answer {"reference":"R-000001"}'
    )


def test_a_soap_answer_shows_as_the_content_of_its_body() -> None:
    body = (
        b'<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/">'
        b'<soap:Body><SubmitOrderResponse xmlns="urn:erp"><Ticket>T-000001</Ticket>'
        b"</SubmitOrderResponse></soap:Body></soap:Envelope>"
    )

    line = describe(written("priority-to-erp", delivered(body, attempts=2)))

    assert line.endswith(
        '2 attempt(s), 12.8 ms, answer {"SubmitOrderResponse":{"Ticket":"T-000001"}}'
    )


def test_a_text_answer_is_quoted_and_a_long_one_marked_cut_short() -> None:
    short = describe(written("r", delivered(b"accepted")))
    long = describe(written("r", delivered(b"x" * (MAX_PARSED_BYTES + 1))))

    assert short.endswith("answer 'accepted'")
    assert long.endswith("(cut short)")


def test_a_dead_letter_shows_its_reason_instead_of_the_answer() -> None:
    error = DeliveryError(
        "HTTP 401 Unauthorized (permanent)",
        retriable=False,
        status=401,
        excerpt="no",
        attempts=1,
        first_attempt_at=100.0,
        last_attempt_at=100.0,
    )

    assert describe(written("order-to-oms", error)) == (
        f"order-to-oms {ID} dead-lettered: HTTP 401, 1 attempt(s), 12.8 ms, "
        "delivery: HTTP 401 Unauthorized (permanent)"
    )


def test_an_event_never_sent_shows_only_its_reason() -> None:
    error = MappingError("'$eval(x)' failed", route="order-to-oms", row="lines")

    assert describe(written("order-to-oms", error)) == (
        f"order-to-oms {ID} dead-lettered: mapping: route 'order-to-oms', "
        "row 'lines': '$eval(x)' failed"
    )


def test_a_record_that_is_not_a_reply_is_named_as_such() -> None:
    assert describe(b"\x00\x01avro") == "a record that is not a reply: '\\x00\\x01avro'"
    assert describe(None) == "a record that is not a reply: ''"
    assert describe(b"[1, 2]") == "a record that is not a reply: '[1, 2]'"
