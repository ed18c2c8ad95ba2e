"""SOAP routes, replies and CDC routes: real broker, real SOAP endpoint."""

from __future__ import annotations

import uuid
from collections import defaultdict
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiohttp import web
from lxml import etree

from omniout.config import Settings
from omniout.decode import Encoder, SchemaStore
from omniout.payload.faults import SOAP11, SOAP12
from tests.integration.conftest import TopicFactory
from tests.integration.engine import (
    ORDER_SCHEMA,
    SCHEMAS,
    headers,
    order,
    produce,
    produce_orders,
    read_all,
    running,
    wait_until,
)
from tests.integration.receiver import Delivery, Receiver
from tests.unit.mapping.events import account_create, account_update, gap_event

pytestmark = pytest.mark.integration

OMS = "urn:example:oms"
ACTION = "urn:example:oms/SubmitOrder"
ACCOUNT_SCHEMA = "com.sforce.eventbus.AccountChangeEvent"
SOBJECT = "urn:sobject.enterprise.soap.sforce.com"

MAPPING = {
    "Order.@number": "Order_Number__c",
    "Order.Total.@currency": "Currency_Iso_Code__c",
    "Order.Total.#text": "Total_Amount__c",
    "Order.Priority": {"expr": "Is_Priority__c", "default": False},
}


def soap_route(name: str, topic: str, url: str, version: str, **extra: Any) -> Any:
    return {
        "name": name,
        "topic": topic,
        "schema": ORDER_SCHEMA,
        "mapping": MAPPING,
        "endpoint": {
            "url": url,
            "timeout": 2.0,
            "format": "soap",
            "soap": {
                "version": version,
                "action": ACTION,
                "body_namespace": OMS,
                "operation": "SubmitOrder",
            },
        },
        "retry": {"max_attempts": 5, "initial_backoff": 0.05, "max_backoff": 0.2},
        **extra,
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


def envelope(delivery: Delivery) -> tuple[str, etree._Element]:
    """The envelope's SOAP version and the operation element in its Body."""
    root = etree.fromstring(delivery.body)
    version = {SOAP11: "1.1", SOAP12: "1.2"}[etree.QName(root).namespace or ""]
    env = etree.QName(root).namespace
    operation = root.find(f"{{{env}}}Body/{{{OMS}}}SubmitOrder")
    assert operation is not None
    return version, operation


def order_number(delivery: Delivery) -> str:
    _, operation = envelope(delivery)
    found = operation.find(f"{{{OMS}}}Order")
    assert found is not None
    return found.get("number") or ""


def answer(version: str, body: str, status: int = 200) -> web.Response:
    env = SOAP11 if version == "1.1" else SOAP12
    media = "text/xml" if version == "1.1" else "application/soap+xml"
    text = f'<e:Envelope xmlns:e="{env}"><e:Body>{body}</e:Body></e:Envelope>'
    return web.Response(status=status, text=text, content_type=media)


def ticket(version: str, number: str) -> web.Response:
    return answer(
        version,
        f'<SubmitOrderResponse xmlns="{OMS}"><Ticket>T-{number}</Ticket>'
        "</SubmitOrderResponse>",
    )


def fault(version: str, code: str, reason: str) -> web.Response:
    if version == "1.1":
        body = (
            f'<e:Fault xmlns:e="{SOAP11}"><faultcode>e:{code}</faultcode>'
            f"<faultstring>{reason}</faultstring></e:Fault>"
        )
    else:
        body = (
            f'<e:Fault xmlns:e="{SOAP12}"><e:Code><e:Value>e:{code}</e:Value>'
            f'</e:Code><e:Reason><e:Text xml:lang="en">{reason}</e:Text>'
            "</e:Reason></e:Fault>"
        )
    return answer(version, body, status=500)


async def soap_endpoint(delivery: Delivery) -> web.StreamResponse:
    """Checks what each binding requires, then answers with a ticket."""
    version, operation = envelope(delivery)
    media = delivery.headers["content-type"]
    if version == "1.1":
        assert media == "text/xml; charset=utf-8"
        assert delivery.headers["soapaction"] == f'"{ACTION}"'
    else:
        assert media == f'application/soap+xml; charset=utf-8; action="{ACTION}"'
        assert "soapaction" not in delivery.headers
    assert operation.find(f"{{{OMS}}}Order/{{{OMS}}}Total") is not None
    return ticket(version, order_number(delivery))


async def test_soap_1_1_and_1_2_are_delivered_and_replies_carry_the_answer(
    kafka: str, new_topic: TopicFactory, tmp_path: Path
) -> None:
    topic = await new_topic("soap-orders")
    replies = await new_topic("soap-replies")
    events = [order(n, Order_Id__c=f"801{n}") for n in range(1, 4)]
    await produce_orders(kafka, topic, events, key_field="Order_Id__c")

    async with Receiver() as receiver:
        receiver.answer = soap_endpoint
        settings = config(
            kafka,
            tmp_path,
            [
                soap_route("v11", topic, receiver.url + "/v11", "1.1",
                           reply_topic=replies),
                soap_route("v12", topic, receiver.url + "/v12", "1.2",
                           reply_topic=replies),
            ],
        )
        async with running(settings):
            records = await read_all(kafka, replies, expected=6)

    by_path: dict[str, list[str]] = defaultdict(list)
    for delivery in receiver.deliveries:
        by_path[delivery.path].append(order_number(delivery))
    numbers = sorted(e["Order_Number__c"] for e in events)
    assert sorted(by_path["/v11"]) == sorted(by_path["/v12"]) == numbers
    first = receiver.deliveries[0]
    _, operation = envelope(first)
    total = operation.find(f"{{{OMS}}}Order/{{{OMS}}}Total")
    assert total is not None
    # order(n) has a total of n.0, which JSONata writes as the integer n.
    assert (total.get("currency"), total.text) == ("EUR", str(int(order_number(first))))

    values = [orjson.loads(r.value) for r in records]
    assert sorted((v["route"], v["request_id"]) for v in values) == sorted(
        (route, e["EventUuid"]) for route in ("v11", "v12") for e in events
    )
    assert all(r.key.decode() == orjson.loads(r.value)["request_id"] for r in records)
    one = next(v for v in values if v["request_id"] == events[0]["EventUuid"])
    assert one["outcome"] == "delivered"
    assert one["http_status"] == 200
    assert one["attempts"] == 1
    assert one["latency_ms"] > 0
    assert one["response"] == {"SubmitOrderResponse": {"Ticket": "T-00000001"}}
    # Each reply names its event's trace and carries it on as a header.
    for record, value in zip(records, values, strict=True):
        traceparent = dict(record.headers)["traceparent"].decode()
        assert traceparent.split("-")[1] == value["trace_id"]
        assert len(value["trace_id"]) == 32


async def test_a_client_fault_is_dead_lettered_at_once(
    kafka: str, new_topic: TopicFactory, tmp_path: Path
) -> None:
    topic = await new_topic("soap-client-fault")
    replies = await new_topic("soap-client-replies")
    rejected = order(7, Order_Number__c="REJECT")
    await produce_orders(kafka, topic, [rejected], key_field="EventUuid")
    calls = 0

    async def refuse(delivery: Delivery) -> web.StreamResponse:
        nonlocal calls
        calls += 1
        return fault("1.1", "Client", "Unknown order REJECT")

    async with Receiver() as receiver:
        receiver.answer = refuse
        route = soap_route("v11", topic, receiver.url, "1.1", reply_topic=replies)
        async with running(config(kafka, tmp_path, [route])):
            letters = await read_all(kafka, f"{topic}.dlq", expected=1)
            [reply] = await read_all(kafka, replies, expected=1)

    assert calls == 1
    [letter] = letters
    found = headers(letter)
    assert found["omniout.failure.kind"] == "delivery"
    assert found["omniout.http.status"] == "500"
    assert found["omniout.attempts"] == "1"
    assert "SOAP fault Client: Unknown order REJECT" in found["omniout.failure.reason"]
    assert "(permanent)" in found["omniout.failure.reason"]
    assert found["omniout.request-id"] == rejected["EventUuid"]
    value = orjson.loads(reply.value)
    assert value["outcome"] == "dead-lettered"
    assert value["response"]["Fault"]["faultstring"] == "Unknown order REJECT"


async def test_a_server_fault_is_retried_until_the_endpoint_recovers(
    kafka: str, new_topic: TopicFactory, tmp_path: Path
) -> None:
    topic = await new_topic("soap-server-fault")
    replies = await new_topic("soap-server-replies")
    event = order(9)
    await produce_orders(kafka, topic, [event], key_field="EventUuid")
    calls = 0

    async def recover(delivery: Delivery) -> web.StreamResponse:
        nonlocal calls
        calls += 1
        if calls <= 2:
            return fault("1.2", "Receiver", "Database busy")
        return ticket("1.2", order_number(delivery))

    async with Receiver() as receiver:
        receiver.answer = recover
        route = soap_route("v12", topic, receiver.url, "1.2", reply_topic=replies)
        async with running(config(kafka, tmp_path, [route])):
            [reply] = await read_all(kafka, replies, expected=1)

    assert calls == 3
    value = orjson.loads(reply.value)
    assert (value["outcome"], value["attempts"]) == ("delivered", 3)
    assert value["response"] == {"SubmitOrderResponse": {"Ticket": "T-00000009"}}
    assert await read_all(kafka, f"{topic}.dlq", expected=1, within=1) == []


async def test_changes_only_are_sent_and_gap_events_go_where_routes_say(
    kafka: str, new_topic: TopicFactory, tmp_path: Path
) -> None:
    topic = await new_topic("account-changes")
    replies = await new_topic("account-replies")
    schema = SchemaStore.load(SCHEMAS).by_name(ACCOUNT_SCHEMA)
    assert schema is not None
    events = [account_create(), account_update(), gap_event("GAP_OVERFLOW")]
    await produce(
        kafka,
        topic,
        [(b"001", Encoder().encode_single_object(e, schema)) for e in events],
    )

    async with Receiver() as receiver:
        route = {
            "name": "account-changes",
            "topic": topic,
            "schema": ACCOUNT_SCHEMA,
            "condition": "ChangeEventHeader.changeType = 'UPDATE'",
            "mapping": {
                "id": "ChangeEventHeader.recordIds[0]",
                "changes": "$pick($, $changed)",
                "cleared": "$nulled",
            },
            "endpoint": {"url": receiver.url + "/accounts", "method": "PATCH"},
            "reply_topic": replies,
        }
        rereads = {
            "name": "account-rereads",
            "topic": topic,
            "schema": ACCOUNT_SCHEMA,
            "gap_events": "deliver",
            "condition": "$contains(ChangeEventHeader.changeType, 'GAP_')",
            "mapping": "{'reread': ChangeEventHeader.entityName}",
            "endpoint": {"url": receiver.url + "/rereads"},
        }
        async with running(config(kafka, tmp_path, [route, rereads])):
            await receiver.wait_for(2)
            [letter] = await read_all(kafka, f"{topic}.dlq", expected=1)
            answers = await read_all(kafka, replies, expected=2)

    [reread] = [d for d in receiver.deliveries if d.path == "/rereads"]
    assert reread.json() == {"reread": "Account"}
    [delivery] = [d for d in receiver.deliveries if d.path == "/accounts"]
    assert delivery.json() == {
        "id": "001Hs00000QRS34AAA",
        "changes": {
            "Rating": "Hot",
            "Phone": "+33 4 72 00 00 00",
            "Website": None,
            "LastModifiedDate": 1_764_003_600_000,
            "BillingAddress": {"City": "Lyon"},
        },
        "cleared": ["Website"],
    }
    found = headers(letter)
    assert found["omniout.failure.kind"] == "gap-event"
    assert found["omniout.failure.reason"].startswith("GAP_OVERFLOW for Account")
    assert found["omniout.original.offset"] == "2"
    outcomes = {
        r.key.decode(): orjson.loads(r.value)["outcome"] for r in answers
    }
    assert outcomes == {
        events[1]["EventUuid"]: "delivered",
        events[2]["EventUuid"]: "dead-lettered",
    }


async def test_the_outbound_messaging_profile_retries_until_acknowledged(
    kafka: str, new_topic: TopicFactory, tmp_path: Path
) -> None:
    topic = await new_topic("soap-om")
    event = order(11)
    await produce_orders(kafka, topic, [event], key_field="EventUuid")
    outbound = "http://soap.sforce.com/2005/09/outbound"
    acks = ["false", "true"]
    seen: list[str] = []

    async def acknowledge(delivery: Delivery) -> web.StreamResponse:
        root = etree.fromstring(delivery.body)
        path = "Body/{o}notifications/{o}Notification/{o}Id"
        found = root.findtext(
            f"{{{SOAP11}}}" + path.replace("{o}", f"{{{outbound}}}")
        )
        seen.append(found or "")
        ack = acks.pop(0)
        return answer(
            "1.1",
            f'<notificationsResponse xmlns="{outbound}"><Ack>{ack}</Ack>'
            "</notificationsResponse>",
        )

    async def answered_twice() -> bool:
        return not acks

    async with Receiver() as receiver:
        receiver.answer = acknowledge
        route = {
            "name": "om",
            "topic": topic,
            "schema": ORDER_SCHEMA,
            "mapping": {
                "OrganizationId": "'00DHs0000000001AAA'",
                "Notification.Id": "EventUuid",
                "Notification.sObject.#ns": f"'{SOBJECT}'",
                "Notification.sObject.Id": "Order_Number__c",
            },
            "endpoint": {
                "url": receiver.url,
                "format": "soap",
                "soap": {
                    "action": "notifications",
                    "operation": "notifications",
                    "body_namespace": outbound,
                    "profile": "outbound-messaging",
                },
            },
            "retry": {"initial_backoff": 0.05, "max_backoff": 0.1},
        }
        async with running(config(kafka, tmp_path, [route])):
            await wait_until(answered_twice)

    assert seen == [event["EventUuid"]] * 2
