"""SOAP faults and what the retry loop does with them."""

from __future__ import annotations

import pytest

from omniout.deliver import OutboundRequest, Response, RetryPolicy, classify
from omniout.deliver.retry import deliver_with_retries
from omniout.errors import DeliveryError
from omniout.payload.faults import SoapClassifier, find_ack, parse_fault

FAULT_11 = b"""<?xml version="1.0"?>
<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/">
 <soap:Body><soap:Fault>
  <faultcode>soap:%s</faultcode><faultstring>%s</faultstring>
 </soap:Fault></soap:Body></soap:Envelope>"""

FAULT_12 = b"""<env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope">
 <env:Body><env:Fault>
  <env:Code><env:Value>env:%s</env:Value>
   <env:Subcode><env:Value>m:OrderUnknown</env:Value></env:Subcode></env:Code>
  <env:Reason><env:Text xml:lang="en">%s</env:Text></env:Reason>
 </env:Fault></env:Body></env:Envelope>"""

OK_11 = b"""<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/">
 <soap:Body><r:Result xmlns:r="urn:r"><r:Id>42</r:Id></r:Result></soap:Body>
</soap:Envelope>"""

ACK = b"""<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">
 <soapenv:Body><notificationsResponse xmlns="http://soap.sforce.com/2005/09/outbound">
 <Ack>%s</Ack></notificationsResponse></soapenv:Body></soapenv:Envelope>"""


def fault_11(code: str, reason: str = "why") -> bytes:
    return FAULT_11 % (code.encode(), reason.encode())


def fault_12(code: str, reason: str = "why") -> bytes:
    return FAULT_12 % (code.encode(), reason.encode())


def answer(status: int, body: bytes) -> Response:
    return Response(status=status, headers=(), body=body, elapsed=0.01)


def test_a_1_1_fault_is_read() -> None:
    fault = parse_fault(fault_11("Client.Validation", "Unknown order"))

    assert fault is not None
    assert (fault.code, fault.subcode, fault.reason) == (
        "Client",
        "Client.Validation",
        "Unknown order",
    )


def test_a_1_2_fault_is_read() -> None:
    fault = parse_fault(fault_12("Sender", "Bad total"))

    assert fault is not None
    assert (fault.code, fault.subcode, fault.reason) == (
        "Sender",
        "OrderUnknown",
        "Bad total",
    )


ENTITY = b"<!DOCTYPE x [<!ENTITY e 'y'>]><x>&e;</x>"


@pytest.mark.parametrize("body", [b"", b"{}", b"<not xml", OK_11, ENTITY])
def test_no_fault_where_there_is_none(body: bytes) -> None:
    assert parse_fault(body) is None


@pytest.mark.parametrize(
    ("status", "body", "verdict"),
    [
        (500, fault_11("Client"), "permanent"),
        (500, fault_11("Server"), "retry"),
        (500, fault_12("Sender"), "permanent"),
        (500, fault_12("Receiver"), "retry"),
        (500, fault_12("MustUnderstand"), "permanent"),
        (500, fault_11("VersionMismatch"), "permanent"),
        (200, fault_11("Client"), "permanent"),
        (200, fault_11("Server"), "retry"),
        (500, b"<html>oops</html>", "retry"),
        (400, b"not xml", "permanent"),
        (200, OK_11, "done"),
    ],
)
def test_faults_decide_the_verdict(status: int, body: bytes, verdict: str) -> None:
    http = classify(status, RetryPolicy())

    assert SoapClassifier()(answer(status, body), http).verdict == verdict


def test_the_fault_is_the_detail() -> None:
    response = answer(500, fault_11("Client", "No such SKU"))

    classified = SoapClassifier()(response, "retry")

    assert classified.detail == "SOAP fault Client: No such SKU"


def test_the_outbound_messaging_profile_needs_an_ack() -> None:
    strict = SoapClassifier(require_ack=True)

    assert find_ack(ACK % b"true")
    assert strict(answer(200, ACK % b"true"), "done").verdict == "done"
    assert strict(answer(200, ACK % b"false"), "done").verdict == "retry"
    assert strict(answer(200, OK_11), "done").verdict == "retry"


REQUEST = OutboundRequest("POST", "http://soap.test/", (), b"<x/>", 1.0)
POLICY = RetryPolicy(
    max_attempts=4, initial_backoff=0, jitter=0, response_classifier=SoapClassifier()
)


async def no_sleep(_: float) -> None:
    return None


async def test_a_client_fault_in_a_500_is_not_retried() -> None:
    sent: list[OutboundRequest] = []

    async def send(request: OutboundRequest) -> Response:
        sent.append(request)
        return answer(500, fault_11("Client", "Unknown order"))

    with pytest.raises(DeliveryError) as caught:
        await deliver_with_retries(send, REQUEST, POLICY, sleep=no_sleep)

    assert len(sent) == 1
    assert not caught.value.retriable
    assert caught.value.status == 500
    assert "SOAP fault Client: Unknown order" in caught.value.reason


async def test_a_server_fault_is_retried_until_it_passes() -> None:
    answers = [answer(500, fault_12("Receiver")), answer(500, fault_12("Receiver"))]

    async def send(request: OutboundRequest) -> Response:
        return answers.pop(0) if answers else answer(200, OK_11)

    result = await deliver_with_retries(send, REQUEST, POLICY, sleep=no_sleep)

    assert (result.attempts, result.response.status) == (3, 200)
