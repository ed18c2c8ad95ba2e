"""The demo receiver's SOAP endpoint, against the envelopes omniout builds."""

from __future__ import annotations

from lxml import etree

from omniout.demo.soap import answer
from omniout.payload import SoapFormat, SoapSettings
from omniout.payload.faults import SOAP11, parse_fault
from omniout.replies import read_body

ERP = "urn:omniout:demo:erp"
ACTION = '"urn:omniout:demo:erp/SubmitOrder"'


def envelope(version: str = "1.1") -> bytes:
    settings = SoapSettings.model_validate(
        {
            "version": version,
            "action": "urn:omniout:demo:erp/SubmitOrder",
            "operation": "SubmitOrder",
            "body_namespace": ERP,
        }
    )
    return SoapFormat(settings).encode({"Order": {"@number": "00000101"}})


def test_an_operation_is_answered_with_its_response_and_a_ticket() -> None:
    result = answer(envelope(), ACTION, "T-000001")

    root = etree.fromstring(result.body)
    path = f"{{{SOAP11}}}Body/{{{ERP}}}SubmitOrderResponse/{{{ERP}}}Ticket"
    ticket = root.findtext(path)
    assert result.status == 200
    assert ticket == "T-000001"
    assert result.summary == "SubmitOrderResponse with ticket T-000001"
    assert parse_fault(result.body) is None


def test_the_answer_reads_as_the_reply_topic_shows_it() -> None:
    result = answer(envelope(), ACTION, "T-000007")

    assert read_body(result.body) == (
        {"SubmitOrderResponse": {"Ticket": "T-000007"}}, False
    )


def test_an_operation_without_a_namespace_gets_a_response_without_one() -> None:
    body = (
        b'<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/">'
        b"<soap:Body><Ping/></soap:Body></soap:Envelope>"
    )

    root = etree.fromstring(answer(body, '""', "T-1").body)

    assert root.findtext(f"{{{SOAP11}}}Body/PingResponse/Ticket") == "T-1"


def test_a_request_without_soapaction_is_a_client_fault() -> None:
    result = answer(envelope(), None, "T-1")

    fault = parse_fault(result.body)
    assert result.status == 500
    assert fault is not None
    assert (fault.code, fault.reason) == ("Client", "no SOAPAction header")
    assert fault.verdict == "permanent"


def test_bodies_that_are_no_soap_1_1_request_are_faults_naming_the_problem() -> None:
    cases = {
        b"{}": "Client",
        b"<Order/>": "Client",
        # SOAP 1.1 section 4.4.1: an Envelope in any other namespace.
        b"<Envelope/>": "VersionMismatch",
        envelope("1.2"): "VersionMismatch",
        f'<s:Envelope xmlns:s="{SOAP11}"/>'.encode(): "Client",
        f'<s:Envelope xmlns:s="{SOAP11}"><s:Body/></s:Envelope>'.encode(): "Client",
        f'<s:Envelope xmlns:s="{SOAP11}"><s:Body><a/><b/></s:Body></s:Envelope>'
        .encode(): "Client",
    }

    for body, code in cases.items():
        result = answer(body, ACTION, "T-1")
        fault = parse_fault(result.body)

        assert result.status == 500, body
        assert fault is not None, body
        assert fault.code == code, (body, result.summary)
        assert result.summary.startswith(f"fault {code}: ")

