"""Envelopes built by zeep from a WSDL operation, parsed back with lxml."""

from __future__ import annotations

import copy
import logging
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from omniout.deliver.policy import Classified
from omniout.deliver.request import Response
from omniout.errors import MappingError
from omniout.payload import SoapSettings, WsdlFormat, payload_format
from omniout.payload.faults import SOAP11, SOAP12
from tests.wsdl import ACTION, ERP, ORDERS_WSDL, good_order


def wsdl_format(port: str) -> WsdlFormat:
    settings = SoapSettings(wsdl=ORDERS_WSDL, operation="SubmitOrder", port=port)
    found = payload_format("soap", settings)
    assert isinstance(found, WsdlFormat)
    return found


@pytest.fixture(scope="module")
def soap11() -> WsdlFormat:
    return wsdl_format("OrderIntakeSoap11")


@pytest.fixture(scope="module")
def soap12() -> WsdlFormat:
    return wsdl_format("OrderIntakeSoap12")


def test_the_1_1_binding_gives_version_action_and_address(soap11: WsdlFormat) -> None:
    assert soap11.headers == (
        ("Content-Type", "text/xml; charset=utf-8"),
        ("SOAPAction", f'"{ACTION}"'),
    )
    assert soap11.address == "https://erp.example/soap/orders"

    root = etree.fromstring(soap11.encode(good_order()))

    assert root.tag == f"{{{SOAP11}}}Envelope"
    body = root.find(f"{{{SOAP11}}}Body")
    assert body is not None
    assert [child.tag for child in body] == [f"{{{ERP}}}SubmitOrder"]


def test_the_1_2_binding_puts_the_action_in_the_media_type(soap12: WsdlFormat) -> None:
    assert soap12.headers == (
        (
            "Content-Type",
            f'application/soap+xml; charset=utf-8; action="{ACTION}"',
        ),
    )
    assert soap12.address == "https://erp.example/soap12/orders"

    root = etree.fromstring(soap12.encode(good_order()))

    assert root.tag == f"{{{SOAP12}}}Envelope"
    assert root.find(f"{{{SOAP12}}}Body/{{{ERP}}}SubmitOrder") is not None


def test_the_body_follows_the_schema_in_its_order_and_namespace(
    soap11: WsdlFormat,
) -> None:
    root = etree.fromstring(soap11.encode(good_order()))

    order = root.find(f"{{{SOAP11}}}Body/{{{ERP}}}SubmitOrder/{{{ERP}}}Order")
    assert order is not None
    # The payload lists Priority before Total; the schema's sequence wins.
    names = [etree.QName(child).localname for child in order]
    assert names == ["Number", "Account", "Priority", "Total", "Line", "Line"]
    assert order.findtext(f"{{{ERP}}}Priority") == "true"
    assert order.findtext(f"{{{ERP}}}Total/{{{ERP}}}Amount") == "58.5"
    quantities = order.findall(f"{{{ERP}}}Line/{{{ERP}}}Quantity")
    assert [q.text for q in quantities] == ["2", "6"]


def spoil(path: list[str | int], value: Any) -> dict[str, Any]:
    payload: dict[str, Any] = copy.deepcopy(good_order())
    target: Any = payload
    for step in path[:-1]:
        target = target[step]
    if value is None:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return payload


@pytest.mark.parametrize(
    ("payload", "named"),
    [
        (spoil(["Order", "Account"], None), "Missing element Account"),
        (spoil(["Order", "Rebate"], 5), "unexpected keyword argument 'Rebate'"),
        (spoil(["Order", "Line", 0, "Quantity"], "two"), "Quantity"),
        (spoil(["Order", "Total", "Amount"], "lots"), "Amount"),
        (spoil(["Order", "Total", "Currency"], "EURO"), "Currency"),
        ({"Ordre": {}}, "unexpected keyword argument 'Ordre'"),
    ],
)
def test_a_payload_that_does_not_fit_is_a_mapping_error_naming_the_element(
    soap11: WsdlFormat, payload: dict[str, Any], named: str
) -> None:
    with pytest.raises(MappingError) as caught:
        soap11.encode(payload)

    assert caught.value.reason.startswith("the payload does not fit SubmitOrder: ")
    assert named in caught.value.reason


def test_a_payload_that_is_not_an_object_is_a_mapping_error(
    soap12: WsdlFormat,
) -> None:
    with pytest.raises(MappingError, match="built from an object, not list"):
        soap12.encode([good_order()])


def answer(env: str, content: str) -> bytes:
    return (
        f'<e:Envelope xmlns:e="{env}"><e:Body>{content}</e:Body></e:Envelope>'
    ).encode()


TICKET = (
    f'<SubmitOrderResponse xmlns="{ERP}"><Ticket>T-00001042</Ticket>'
    "<AcceptedAt>2025-11-24T17:00:00Z</AcceptedAt><Lines>2</Lines>"
    "</SubmitOrderResponse>"
)


def test_the_answer_is_read_with_the_output_type(soap12: WsdlFormat) -> None:
    value = soap12.reply_reader(answer(SOAP12, TICKET))

    assert value == {
        "SubmitOrderResponse": {
            "Ticket": "T-00001042",
            "AcceptedAt": "2025-11-24T17:00:00+00:00",
            "Lines": 2,
        }
    }


@pytest.mark.parametrize(
    "content",
    [
        f'<Other xmlns="{ERP}"><Ticket>T-1</Ticket></Other>',
        f'<e:Fault xmlns:e="{SOAP11}"><faultcode>e:Client</faultcode></e:Fault>',
        TICKET.replace("<Ticket>T-00001042</Ticket>", ""),
    ],
)
def test_an_answer_the_output_type_cannot_read_is_left_to_the_generic_reading(
    soap11: WsdlFormat, content: str
) -> None:
    assert soap11.reply_reader(answer(SOAP11, content)) is None
    assert soap11.reply_reader(b"<not xml") is None


@pytest.mark.parametrize(
    ("payload", "named"),
    [
        (spoil(["Order", "Number"], {"Text": "1"}), "Order.Number (a simple value"),
        (spoil(["Order", "Total"], "58.5"), "Order.Total (needs child elements)"),
        (
            spoil(["Order", "Line", 1, "Sku"], ["C-300", "C-301"]),
            "Order.Line[1].Sku (a list, but Sku does not repeat)",
        ),
    ],
)
def test_a_value_of_the_wrong_shape_is_named_by_its_path(
    soap12: WsdlFormat, payload: dict[str, Any], named: str
) -> None:
    with pytest.raises(MappingError) as caught:
        soap12.encode(payload)

    assert f"the payload does not fit SubmitOrder: {named}" in caught.value.reason


def test_faults_are_classified_as_on_any_soap_route(soap12: WsdlFormat) -> None:
    sender = (
        f'<e:Fault xmlns:e="{SOAP12}"><e:Code><e:Value>e:Sender</e:Value>'
        "</e:Code><e:Reason><e:Text>Unknown account</e:Text></e:Reason></e:Fault>"
    )
    body = answer(SOAP12, sender)
    response = Response(status=500, headers=(), body=body, elapsed=0.1)

    verdict = soap12.classifier(response, "retry")

    assert verdict == Classified("permanent", "SOAP fault Sender: Unknown account")


def test_a_wsdl_with_split_schemas_is_checked_by_zeep_alone(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # A second, empty schema: lxml cannot compile the types as one.
    text = ORDERS_WSDL.read_text(encoding="utf-8").replace(
        "<wsdl:types>",
        '<wsdl:types><xs:schema targetNamespace="urn:example:erp:extra"/>',
    )
    (tmp_path / "split.wsdl").write_text(text, encoding="utf-8")
    settings = SoapSettings(
        wsdl=tmp_path / "split.wsdl", operation="SubmitOrder", port="OrderIntakeSoap11"
    )

    with caplog.at_level(logging.INFO, logger="omniout.payload.wsdl"):
        fmt = payload_format("soap", settings)

    assert "has 2 schemas: values are not validated" in caplog.text
    # zeep still refuses a missing element; the value is not checked.
    with pytest.raises(MappingError, match="Missing element Account"):
        fmt.encode(spoil(["Order", "Account"], None))
    root = etree.fromstring(fmt.encode(spoil(["Order", "Total", "Currency"], "EURO")))
    assert root.findtext(f".//{{{ERP}}}Currency") == "EURO"
