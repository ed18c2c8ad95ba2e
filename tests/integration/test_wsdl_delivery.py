"""SOAP routes described by a WSDL: real broker, real SOAP endpoint.

The endpoint checks each envelope against what the WSDL demands, read
here with lxml alone (the SOAP version of the port, the binding's
``soapAction``, the input element and its schema), so the test does not
trust the code under test to say what the WSDL means.
"""

from __future__ import annotations

import copy
import uuid
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiohttp import web
from lxml import etree

from omniout.config import Settings
from omniout.payload.faults import SOAP11, SOAP12
from tests.integration.conftest import TopicFactory
from tests.integration.engine import (
    ORDER_SCHEMA,
    SCHEMAS,
    headers,
    order,
    produce_orders,
    read_all,
    running,
)
from tests.integration.receiver import Delivery, Receiver
from tests.wsdl import ERP, ORDERS_WSDL

pytestmark = pytest.mark.integration

WSDL = "http://schemas.xmlsoap.org/wsdl/"
XSD = "http://www.w3.org/2001/XMLSchema"
PORTS = {"/v11": ("OrderIntakeSoap11", SOAP11), "/v12": ("OrderIntakeSoap12", SOAP12)}
LINES = '[{"sku":"A-100","qty":2,"price":19.5},{"sku":"C-300","qty":6,"price":3.25}]'

MAPPING = {
    "Order.Number": "Order_Number__c",
    "Order.Account": "Account_Id__c",
    "Order.Priority": {"expr": "Is_Priority__c", "default": False},
    "Order.Total.Amount": "Total_Amount__c",
    "Order.Total.Currency": "Currency_Iso_Code__c",
    "Order.Line": '$eval(Line_Items_Json__c).{"Sku": sku, "Quantity": qty}',
}


def wsdl_expectations() -> tuple[str, etree.XMLSchema]:
    """The binding's soapAction and the schema of the WSDL's types."""
    root = etree.parse(str(ORDERS_WSDL)).getroot()
    actions = {
        found.get("soapAction")
        for found in root.iter(
            "{http://schemas.xmlsoap.org/wsdl/soap/}operation",
            "{http://schemas.xmlsoap.org/wsdl/soap12/}operation",
        )
    }
    [action] = actions
    schema = root.find(f"{{{WSDL}}}types/{{{XSD}}}schema")
    assert schema is not None
    nsmap = {"xs": XSD, "tns": ERP}
    alone = etree.Element(schema.tag, dict(schema.attrib), nsmap=nsmap)
    alone.extend(copy.deepcopy(child) for child in schema)
    return str(action), etree.XMLSchema(alone)


ACTION, SCHEMA = wsdl_expectations()


def answer(env: str, content: str, status: int = 200) -> web.Response:
    media = "text/xml" if env == SOAP11 else "application/soap+xml"
    text = f'<e:Envelope xmlns:e="{env}"><e:Body>{content}</e:Body></e:Envelope>'
    return web.Response(status=status, text=text, content_type=media)


def problems(delivery: Delivery, env: str) -> list[str]:
    found = []
    media = delivery.headers["content-type"]
    if env == SOAP11:
        if media != "text/xml; charset=utf-8":
            found.append(f"media type {media}")
        if delivery.headers.get("soapaction") != f'"{ACTION}"':
            found.append(f"SOAPAction {delivery.headers.get('soapaction')}")
    elif media != f'application/soap+xml; charset=utf-8; action="{ACTION}"':
        found.append(f"media type {media}")
    root = etree.fromstring(delivery.body)
    if root.tag != f"{{{env}}}Envelope":
        found.append(f"envelope {root.tag}")
    body = root.find(f"{{{env}}}Body")
    children = list(body) if body is not None else []
    if [child.tag for child in children] != [f"{{{ERP}}}SubmitOrder"]:
        found.append(f"body {[child.tag for child in children]}")
    elif not SCHEMA.validate(children[0]):
        found.append(str(SCHEMA.error_log))
    return found


async def erp_endpoint(delivery: Delivery) -> web.StreamResponse:
    """Answers as the WSDL says, or with a Client fault naming the problem."""
    _, env = PORTS[delivery.path]
    found = problems(delivery, env)
    if found:
        code = "Client" if env == SOAP11 else "Sender"
        return answer(env, fault(env, code, "; ".join(found)), status=500)
    root = etree.fromstring(delivery.body)
    number = root.findtext(f".//{{{ERP}}}Order/{{{ERP}}}Number")
    lines = len(root.findall(f".//{{{ERP}}}Order/{{{ERP}}}Line"))
    return answer(
        env,
        f'<SubmitOrderResponse xmlns="{ERP}"><Ticket>T-{number}</Ticket>'
        f"<AcceptedAt>2025-11-24T17:00:00Z</AcceptedAt><Lines>{lines}</Lines>"
        "</SubmitOrderResponse>",
    )


def fault(env: str, code: str, reason: str) -> str:
    if env == SOAP11:
        return (
            f'<e:Fault xmlns:e="{env}"><faultcode>e:{code}</faultcode>'
            f"<faultstring>{reason}</faultstring></e:Fault>"
        )
    return (
        f'<e:Fault xmlns:e="{env}"><e:Code><e:Value>e:{code}</e:Value></e:Code>'
        f'<e:Reason><e:Text xml:lang="en">{reason}</e:Text></e:Reason></e:Fault>'
    )


def wsdl_route(name: str, topic: str, url: str, path: str, replies: str) -> Any:
    port, _ = PORTS[path]
    soap = {"wsdl": str(ORDERS_WSDL), "operation": "SubmitOrder", "port": port}
    return {
        "name": name,
        "topic": topic,
        "schema": ORDER_SCHEMA,
        "mapping": MAPPING,
        "reply_topic": replies,
        "endpoint": {
            "url": url + path,
            "timeout": 2.0,
            "format": "soap",
            "soap": soap,
        },
        "retry": {"max_attempts": 3, "initial_backoff": 0.05, "max_backoff": 0.2},
    }


def config(kafka: str, tmp_path: Path, routes: list[Any]) -> Settings:
    return Settings.model_validate(
        {
            "kafka": {"bootstrap_servers": kafka, "group_id": f"g-{uuid.uuid4().hex}"},
            "schemas_dir": SCHEMAS,
            "ledger": {"url": f"sqlite:///{tmp_path / 'ledger.db'}"},
            "processing": {"commit_interval": 0.2, "shutdown_timeout": 5},
            "admin": {"enabled": False},
            "routes": routes,
        }
    )


def erp_order(number: int, **fields: Any) -> dict[str, Any]:
    return order(
        number,
        Account_Id__c="001Hs00000QRS34AAA",
        Line_Items_Json__c=LINES,
        **fields,
    )


async def test_1_1_and_1_2_ports_deliver_what_the_wsdl_demands(
    kafka: str, new_topic: TopicFactory, tmp_path: Path
) -> None:
    topic = await new_topic("wsdl-orders")
    replies = await new_topic("wsdl-replies")
    events = [erp_order(n, Is_Priority__c=n == 2) for n in range(1, 3)]
    await produce_orders(kafka, topic, events, key_field="EventUuid")

    async with Receiver() as receiver:
        receiver.answer = erp_endpoint
        routes = [
            wsdl_route("v11", topic, receiver.url, "/v11", replies),
            wsdl_route("v12", topic, receiver.url, "/v12", replies),
        ]
        async with running(config(kafka, tmp_path, routes)):
            records = await read_all(kafka, replies, expected=4)

    assert sorted(d.path for d in receiver.deliveries) == ["/v11"] * 2 + ["/v12"] * 2
    values = [orjson.loads(record.value) for record in records]
    assert sorted((v["route"], v["outcome"]) for v in values) == [
        ("v11", "delivered"),
        ("v11", "delivered"),
        ("v12", "delivered"),
        ("v12", "delivered"),
    ]
    first = next(
        v for v in values if v["request_id"] == events[0]["EventUuid"]
    )
    # Read with the output type: Lines is an xs:int, AcceptedAt a dateTime.
    assert first["response"] == {
        "SubmitOrderResponse": {
            "Ticket": "T-00000001",
            "AcceptedAt": "2025-11-24T17:00:00+00:00",
            "Lines": 2,
        }
    }
    assert await read_all(kafka, f"{topic}.dlq", expected=1, within=1) == []


async def test_a_payload_that_does_not_fit_the_input_type_is_dead_lettered(
    kafka: str, new_topic: TopicFactory, tmp_path: Path
) -> None:
    topic = await new_topic("wsdl-misfit")
    replies = await new_topic("wsdl-misfit-replies")
    misfit = erp_order(5, Currency_Iso_Code__c="EURO")
    fitting = erp_order(6)
    await produce_orders(kafka, topic, [misfit, fitting], key_field="EventUuid")

    async with Receiver() as receiver:
        receiver.answer = erp_endpoint
        route = wsdl_route("v12", topic, receiver.url, "/v12", replies)
        async with running(config(kafka, tmp_path, [route])):
            [letter] = await read_all(kafka, f"{topic}.dlq", expected=1)
            records = await read_all(kafka, replies, expected=2)

    # Nothing was sent for the misfit; the next event went through.
    assert [d.key for d in receiver.deliveries] == [fitting["EventUuid"]]
    found = headers(letter)
    assert found["omniout.failure.kind"] == "mapping"
    assert found["omniout.request-id"] == misfit["EventUuid"]
    reason = found["omniout.failure.reason"]
    assert "the payload does not fit SubmitOrder" in reason
    assert f"Element '{{{ERP}}}Currency'" in reason
    assert "'EURO' is not accepted by the pattern" in reason
    outcomes = {
        orjson.loads(r.value)["request_id"]: orjson.loads(r.value)["outcome"]
        for r in records
    }
    assert outcomes == {
        misfit["EventUuid"]: "dead-lettered",
        fitting["EventUuid"]: "delivered",
    }


async def test_a_sender_fault_on_a_wsdl_route_is_dead_lettered_at_once(
    kafka: str, new_topic: TopicFactory, tmp_path: Path
) -> None:
    topic = await new_topic("wsdl-sender-fault")
    replies = await new_topic("wsdl-sender-replies")
    event = erp_order(8)
    await produce_orders(kafka, topic, [event], key_field="EventUuid")

    async def refuse(delivery: Delivery) -> web.StreamResponse:
        assert problems(delivery, SOAP12) == []
        return answer(SOAP12, fault(SOAP12, "Sender", "Account on hold"), 500)

    async with Receiver() as receiver:
        receiver.answer = refuse
        route = wsdl_route("v12", topic, receiver.url, "/v12", replies)
        async with running(config(kafka, tmp_path, [route])):
            [letter] = await read_all(kafka, f"{topic}.dlq", expected=1)
            [reply] = await read_all(kafka, replies, expected=1)

    assert len(receiver.deliveries) == 1
    found = headers(letter)
    assert found["omniout.failure.kind"] == "delivery"
    assert "SOAP fault Sender: Account on hold (permanent)" in found[
        "omniout.failure.reason"
    ]
    value = orjson.loads(reply.value)
    assert value["outcome"] == "dead-lettered"
    assert value["response"]["Fault"]["Reason"]["Text"]["#text"] == "Account on hold"
