"""The engine against a real broker and real HTTP receivers, in one process."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from omniout.decode import Encoder, SchemaStore
from omniout.routing import Route
from tests.integration.conftest import TopicFactory
from tests.integration.engine import (
    SCHEMAS,
    encode,
    headers,
    order,
    produce,
    produce_orders,
    read_all,
    running,
    settings,
    wait_until,
)
from tests.integration.engine import committed_and_end as offsets
from tests.integration.receiver import Delivery, Receiver
from tests.unit.mapping.events import account_update

pytestmark = pytest.mark.integration


async def test_every_event_is_delivered_once_and_offsets_reach_the_end(
    kafka: str, new_topic: TopicFactory, tmp_path: Path
) -> None:
    topic = await new_topic("orders", partitions=4)
    events = [order(n, Order_Id__c=f"801{n % 20:03d}") for n in range(200)]
    await produce_orders(kafka, topic, events, key_field="Order_Id__c")

    async with Receiver() as receiver:
        config = settings(kafka, topic, receiver.url + "/orders", tmp_path)
        async with running(config):
            await receiver.wait_for(len(events))
            await asyncio.sleep(0.5)

    assert sorted(receiver.keys()) == sorted(e["EventUuid"] for e in events)
    positions = await offsets(kafka, config.kafka.group_id, topic, partitions=4)
    assert all(committed == end for committed, end in positions.values())
    assert sum(end for _, end in positions.values()) == len(events)


async def test_one_key_keeps_offset_order_while_keys_overlap(
    kafka: str, new_topic: TopicFactory, tmp_path: Path
) -> None:
    topic = await new_topic("order-keys")
    keys = ["A", "B", "C", "D"]
    events = [order(n, Order_Id__c=keys[n % 4]) for n in range(40)]
    await produce_orders(kafka, topic, events, key_field="Order_Id__c")
    active = 0
    peak = 0

    async def slow(delivery: Delivery) -> web.StreamResponse:
        nonlocal active, peak
        active += 1
        peak = max(peak, active)
        await asyncio.sleep(0.03)
        active -= 1
        return web.json_response({})

    async with Receiver() as receiver:
        receiver.answer = slow
        config = settings(kafka, topic, receiver.url, tmp_path)
        async with running(config):
            await receiver.wait_for(len(events))

    seen: dict[str, list[float]] = defaultdict(list)
    for delivery in receiver.deliveries:
        body = delivery.json()
        assert isinstance(body, dict)
        seen[body["Order_Id__c"]].append(body["Total_Amount__c"])
    assert all(numbers == sorted(numbers) for numbers in seen.values())
    assert set(seen) == set(keys)
    assert peak > 1


async def test_transient_failures_are_retried_until_delivered(
    kafka: str, new_topic: TopicFactory, tmp_path: Path
) -> None:
    topic = await new_topic("order-flaky")
    events = [order(n, Order_Id__c=f"k{n}") for n in range(6)]
    await produce_orders(kafka, topic, events, key_field="Order_Id__c")
    calls: dict[str, int] = defaultdict(int)
    script = ["503", "429", "hang"]

    async def flaky(delivery: Delivery) -> web.StreamResponse:
        calls[delivery.key] += 1
        step = script[hash(delivery.key) % 3]
        if calls[delivery.key] <= 2:
            if step == "503":
                return web.Response(status=503)
            if step == "429":
                return web.Response(status=429, headers={"Retry-After": "1"})
            await asyncio.sleep(3)
        return web.json_response({"ok": True})

    async with Receiver() as receiver:
        receiver.answer = flaky
        config = settings(kafka, topic, receiver.url, tmp_path)
        async with running(config):
            await receiver.wait_for(len(events))
            await asyncio.sleep(0.5)

    assert all(calls[e["EventUuid"]] == 3 for e in events)
    assert await read_all(kafka, f"{topic}.dlq", expected=1, within=2) == []


async def test_bad_records_are_dead_lettered_and_the_consumer_goes_on(
    kafka: str, new_topic: TopicFactory, tmp_path: Path
) -> None:
    topic = await new_topic("order-bad")
    rejected = order(1, Order_Number__c="REJECT", Line_Items_Json__c="[]")
    unmappable = order(2, Line_Items_Json__c="not json")
    good = order(3, Line_Items_Json__c="[]")
    unknown_schema = b"\xc3\x01" + bytes(8) + b"\x00"
    records = [
        (b"k1", encode(rejected)),
        (b"k2", b"{not avro}"),
        (b"k3", unknown_schema),
        (b"k4", encode(unmappable)),
        (b"k5", encode(good)),
    ]
    await produce(kafka, topic, records)

    async def picky(delivery: Delivery) -> web.StreamResponse:
        if "REJECT" in delivery.path:
            return web.json_response({"error": "unknown order"}, status=400)
        return web.json_response({"ok": True})

    async with Receiver() as receiver:
        receiver.answer = picky
        config = settings(
            kafka,
            topic,
            receiver.url + "/orders/{Order_Number__c}",
            tmp_path,
            mapping={"number": "Order_Number__c", "lines": "$eval(Line_Items_Json__c)"},
        )
        async with running(config):
            await receiver.wait_for(2)
            letters = await read_all(kafka, f"{topic}.dlq", expected=4)

    assert [d.key for d in receiver.deliveries if d.path.endswith("00000003")] == [
        good["EventUuid"]
    ]
    found = {headers(r)["omniout.original.offset"]: r for r in letters}
    assert sorted(found) == ["0", "1", "2", "3"]
    kinds = {o: headers(r)["omniout.failure.kind"] for o, r in found.items()}
    assert kinds == {
        "0": "delivery",
        "1": "decode",
        "2": "unknown-schema",
        "3": "mapping",
    }
    http = headers(found["0"])
    assert http["omniout.http.status"] == "400"
    assert "unknown order" in http["omniout.response.excerpt"]
    assert http["omniout.request-id"] == rejected["EventUuid"]
    assert http["omniout.route"] == "orders"
    assert http["omniout.original.topic"] == topic
    assert int(http["omniout.attempts"]) == 1
    assert found["1"].value == b"{not avro}"
    assert found["1"].key == b"k2"


async def test_a_pausing_route_keeps_retrying_in_order_and_dead_letters_nothing(
    kafka: str, new_topic: TopicFactory, tmp_path: Path
) -> None:
    topic = await new_topic("order-pause")
    events = [order(n, Order_Id__c=f"k{n}") for n in range(3)]
    await produce_orders(kafka, topic, events, key_field="Order_Id__c")
    refusals = 6  # three retry budgets of two attempts for the first event

    async def down_for_a_while(delivery: Delivery) -> web.StreamResponse:
        nonlocal refusals
        if refusals > 0:
            refusals -= 1
            return web.Response(status=503)
        return web.json_response({"ok": True})

    async with Receiver() as receiver:
        receiver.answer = down_for_a_while
        config = settings(
            kafka,
            topic,
            receiver.url,
            tmp_path,
            ordering="partition",
            retry={"max_attempts": 2, "on_exhausted": "pause"},
        )
        async with running(config):
            await receiver.wait_for(len(events))
            await asyncio.sleep(0.5)

    first = events[0]["EventUuid"]
    # Only the first event was tried while the endpoint was down; the others
    # waited their turn, then all went in offset order.
    assert receiver.keys()[:7] == [first] * 7
    accepted = receiver.keys()[6:]
    assert accepted == [e["EventUuid"] for e in events]
    assert await read_all(kafka, f"{topic}.dlq", expected=1, within=2) == []
    positions = await offsets(kafka, config.kafka.group_id, topic)
    assert positions[0] == (3, 3)


async def test_a_computed_request_id_keys_cdc_deliveries(
    kafka: str, new_topic: TopicFactory, tmp_path: Path
) -> None:
    topic = await new_topic("account-changes")
    store = SchemaStore.load(SCHEMAS)
    account = store.by_name("com.sforce.eventbus.AccountChangeEvent")
    assert account is not None
    changes = []
    for sequence in (1, 2):
        change = account_update()
        change["ChangeEventHeader"]["sequenceNumber"] = sequence
        changes.append((b"001", Encoder().encode_single_object(change, account)))
    await produce(kafka, topic, changes)
    expression = (
        "ChangeEventHeader.transactionKey & ':' & ChangeEventHeader.sequenceNumber"
    )

    async with Receiver() as receiver:
        config = settings(
            kafka,
            topic,
            receiver.url,
            tmp_path,
            schema="com.sforce.eventbus.AccountChangeEvent",
            request_id={"expr": expression},
            mapping={"rating": "Rating"},
        )
        async with running(config):
            await receiver.wait_for(2)

    transaction = account_update()["ChangeEventHeader"]["transactionKey"]
    assert receiver.keys() == [f"{transaction}:1", f"{transaction}:2"]


async def test_a_fault_of_omniout_itself_dead_letters_the_event_and_goes_on(
    kafka: str,
    new_topic: TopicFactory,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    topic = await new_topic("order-bug")
    events = [order(1), order(2, Order_Number__c="BUG"), order(3)]
    await produce_orders(kafka, topic, events, key_field="EventUuid")
    request = Route.request

    def faulty(self: Route, event: dict[str, Any], *args: Any) -> Any:
        # Stands for a bug in omniout that one event's data runs into.
        if event.get("Order_Number__c") == "BUG":
            raise RuntimeError("index out of range")
        return request(self, event, *args)

    monkeypatch.setattr(Route, "request", faulty)
    async with Receiver() as receiver:
        config = settings(kafka, topic, receiver.url, tmp_path)
        async with running(config):
            await receiver.wait_for(2)
            [letter] = await read_all(kafka, f"{topic}.dlq", expected=1)

            async def caught_up() -> bool:
                positions = await offsets(kafka, config.kafka.group_id, topic)
                return positions[0] == (3, 3)

            await wait_until(caught_up)

    assert sorted(receiver.keys()) == sorted(
        e["EventUuid"] for e in (events[0], events[2])
    )
    facts = headers(letter)
    assert facts["omniout.failure.kind"] == "internal"
    assert facts["omniout.failure.reason"] == "unexpected RuntimeError in omniout"
    assert facts["omniout.request-id"] == events[1]["EventUuid"]
