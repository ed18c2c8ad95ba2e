"""SOAP envelopes, parsed back with lxml."""

from __future__ import annotations

from typing import Any

import pytest
from lxml import etree

from omniout.errors import MappingError
from omniout.payload import SoapFormat, SoapSettings
from omniout.payload.faults import SOAP11, SOAP12

OMS = "urn:example:oms:orders"


def soap(**fields: Any) -> SoapFormat:
    return SoapFormat(SoapSettings.model_validate(fields))


def parse(body: bytes) -> etree._Element:
    return etree.fromstring(body)


def test_a_1_1_envelope_carries_the_payload_in_the_body_namespace() -> None:
    fmt = soap(version="1.1", action="urn:SubmitOrder", body_namespace=OMS,
               operation="SubmitOrder")

    root = parse(fmt.encode({"OrderNumber": "00001042", "Total": 175.25}))

    assert root.tag == f"{{{SOAP11}}}Envelope"
    operation = root.find(f"{{{SOAP11}}}Body/{{{OMS}}}SubmitOrder")
    assert operation is not None
    assert operation.findtext(f"{{{OMS}}}OrderNumber") == "00001042"
    assert operation.findtext(f"{{{OMS}}}Total") == "175.25"


def test_a_1_2_envelope_uses_the_1_2_namespace() -> None:
    root = parse(soap(version="1.2").encode({"Ping": "x"}))

    assert root.tag == f"{{{SOAP12}}}Envelope"
    assert root.findtext(f"{{{SOAP12}}}Body/Ping") == "x"


def test_1_1_announces_the_action_in_a_soapaction_header() -> None:
    headers = dict(soap(version="1.1", action="urn:SubmitOrder").headers)

    assert headers == {
        "Content-Type": "text/xml; charset=utf-8",
        "SOAPAction": '"urn:SubmitOrder"',
    }


def test_1_2_announces_the_action_as_a_media_type_parameter() -> None:
    headers = dict(soap(version="1.2", action="urn:SubmitOrder").headers)

    assert headers == {
        "Content-Type": 'application/soap+xml; charset=utf-8; action="urn:SubmitOrder"'
    }


def test_yaml_numbers_are_read_as_versions() -> None:
    assert SoapSettings.model_validate({"version": 1.2}).version == "1.2"


def test_attributes_text_namespaces_and_lists_follow_the_conventions() -> None:
    payload = {
        "Order": {
            "@id": "801",
            "Total": {"@currency": "EUR", "#text": 175.25},
            "Line": [{"Sku": "A-100"}, {"Sku": "B-200"}],
            "Ext": {"#ns": "urn:ext", "Priority": True},
            "Note": None,
        }
    }

    root = parse(soap(body_namespace=OMS).encode(payload))

    order = root.find(f"{{{SOAP11}}}Body/{{{OMS}}}Order")
    assert order is not None
    assert order.get("id") == "801"
    total = order.find(f"{{{OMS}}}Total")
    assert total is not None
    assert (total.get("currency"), total.text) == ("EUR", "175.25")
    assert [e.text for e in order.iterfind(f"{{{OMS}}}Line/{{{OMS}}}Sku")] == [
        "A-100",
        "B-200",
    ]
    assert order.findtext("{urn:ext}Ext/{urn:ext}Priority") == "true"
    note = order.find(f"{{{OMS}}}Note")
    assert note is not None
    assert note.get("{http://www.w3.org/2001/XMLSchema-instance}nil") == "true"


def test_text_is_escaped_by_the_library() -> None:
    root = parse(soap().encode({"Name": "Smith & Sons <Ltd>"}))

    assert root.findtext(f"{{{SOAP11}}}Body/Name") == "Smith & Sons <Ltd>"


@pytest.mark.parametrize(
    "payload",
    [{"bad name": 1}, {"Name": "bell \x07"}, {"Order": {"@id": {"x": 1}}}],
)
def test_what_xml_cannot_hold_is_a_mapping_error(payload: dict[str, Any]) -> None:
    with pytest.raises(MappingError, match="cannot write element"):
        soap().encode(payload)


def test_a_payload_that_is_not_an_object_is_a_mapping_error() -> None:
    with pytest.raises(MappingError, match="built from an object"):
        soap().encode(["a", "b"])


def test_an_action_with_a_quote_is_refused() -> None:
    with pytest.raises(ValueError, match="quotes"):
        SoapSettings.model_validate({"action": 'urn:a"b'})


@pytest.mark.parametrize("operation", ["Submit Order", "1st", "a:b"])
def test_an_operation_that_is_not_an_xml_name_is_refused(operation: str) -> None:
    with pytest.raises(ValueError, match="operation"):
        SoapSettings.model_validate({"operation": operation})


def test_top_level_attributes_go_on_the_operation_element() -> None:
    fmt = soap(operation="SubmitOrder", body_namespace=OMS)

    root = parse(fmt.encode({"@schemaVersion": 2, "Id": "801"}))

    operation = root.find(f"{{{SOAP11}}}Body/{{{OMS}}}SubmitOrder")
    assert operation is not None
    assert operation.get("schemaVersion") == "2"
    assert operation.findtext(f"{{{OMS}}}Id") == "801"


def test_an_empty_ns_leaves_the_body_namespace() -> None:
    fmt = soap(operation="SubmitOrder", body_namespace=OMS)

    root = parse(fmt.encode({"Plain": {"#ns": "", "Inner": 1}, "Kept": 2}))

    operation = root.find(f"{{{SOAP11}}}Body/{{{OMS}}}SubmitOrder")
    assert operation is not None
    assert [child.tag for child in operation] == ["Plain", f"{{{OMS}}}Kept"]
    assert operation.findtext("Plain/Inner") == "1"
