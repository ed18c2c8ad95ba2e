"""``omniout dlq`` against a real broker: list dead letters, re-drive them."""

from __future__ import annotations

from pathlib import Path

import pytest
from aiohttp import web
from aiokafka import AIOKafkaProducer

from omniout.config import load_settings
from tests.integration.commands import Result, omniout, serving, write_config
from tests.integration.conftest import TopicFactory
from tests.integration.engine import (
    committed_and_end,
    encode,
    headers,
    ledger_delivered,
    order,
    produce,
    read_all,
    settings,
    wait_committed,
)
from tests.integration.receiver import Delivery, Receiver, accept

pytestmark = pytest.mark.integration


async def refuse_rejects(delivery: Delivery) -> web.StreamResponse:
    if "REJECT" in delivery.path:
        return web.json_response({"error": "unknown order"}, status=400)
    return web.json_response({"ok": True})


async def dlq_command(command: str, path: Path, topic: str, *args: str) -> Result:
    return await omniout("dlq", command, "-c", str(path), "--topic", topic, *args)


async def ends(kafka: str, topic: str) -> int:
    return (await committed_and_end(kafka, "nobody", topic))[0][1]


async def test_dead_letters_are_listed_and_replayed_once_the_receiver_is_fixed(
    kafka: str, new_topic: TopicFactory, tmp_path: Path
) -> None:
    topic = await new_topic("dlq-orders")
    dlq = f"{topic}.dlq"
    rejected = [order(n, Order_Number__c=f"REJECT{n}") for n in (1, 3)]
    accepted = [order(n) for n in (2, 4)]
    events = [rejected[0], accepted[0], rejected[1], accepted[1]]
    await produce(
        kafka,
        topic,
        [(e["Order_Number__c"].encode(), encode(e)) for e in events],
    )
    async with Receiver() as receiver:
        receiver.answer = refuse_rejects
        path = write_config(
            settings(
                kafka, topic, receiver.url + "/orders/{Order_Number__c}", tmp_path
            ),
            tmp_path / "cfg.yaml",
        )
        config = load_settings(path)
        async with serving(config):
            await read_all(kafka, dlq, expected=2)
            receiver.answer = accept

            shown = await dlq_command("show", path, dlq, "--json")
            table = await dlq_command("show", path, dlq)
            none = await dlq_command("show", path, dlq, "--reason", "timeout")
            dry = await dlq_command("replay", path, dlq)
            assert dry.code == 0, dry.err
            assert await ends(kafka, topic) == len(events)

            sent = await dlq_command(
                "replay", path, dlq, "--reason", "http 400", "--execute"
            )
            await receiver.wait_for(len(events))
            await receiver.wait_for_requests(len(events) + len(rejected))

            twice = await dlq_command(
                "replay", path, dlq, "--offsets", "0", "--execute"
            )
            await wait_committed(kafka, config.kafka.group_id, topic, end=7)

    assert shown.code == 0, shown.err
    letters = shown.json()
    assert isinstance(letters, list)
    by_id = {x["request_id"]: x for x in letters}
    assert set(by_id) == {e["EventUuid"] for e in rejected}
    assert sorted(x["offset"] for x in letters) == [0, 1]
    assert all(x["http_status"] == 400 for x in letters)
    assert all("400" in x["reason"] and x["kind"] == "delivery" for x in letters)
    assert all(
        x["route"] == "orders" and x["original_topic"] == topic for x in letters
    )
    assert by_id[rejected[0]["EventUuid"]]["original_offset"] == 0
    assert by_id[rejected[1]["EventUuid"]]["original_offset"] == 2
    assert table.code == 0
    assert rejected[0]["EventUuid"] in table.out
    assert "0 dead letter(s)" in none.out
    assert "Would send 2 dead letter(s)" in dry.out
    assert "nothing was sent" in dry.out

    assert sent.code == 0, sent.err
    assert "Replayed 2 dead letter(s)" in sent.out
    redriven = [d for d in receiver.deliveries if d.path.startswith("/orders/REJECT")]
    assert sorted(d.key for d in redriven) == sorted(
        [e["EventUuid"] for e in rejected] * 2
    )

    records = await read_all(kafka, topic, expected=len(events) + len(rejected) + 1)
    replays = records[len(events) : len(events) + len(rejected)]
    assert headers(records[-1])["omniout.replayed-from"] == f"{dlq}/0/0"
    in_dlq_order = sorted(letters, key=lambda x: x["offset"])
    by_key = {e["Order_Number__c"].encode(): e for e in rejected}
    assert [by_key[r.key]["EventUuid"] for r in replays] == [
        x["request_id"] for x in in_dlq_order
    ]
    assert all(r.value == encode(by_key[r.key]) for r in replays)
    assert [headers(r)["omniout.replayed-from"] for r in replays] == [
        f"{dlq}/0/0",
        f"{dlq}/0/1",
    ]
    assert all("omniout.failure.reason" not in headers(r) for r in replays)

    assert twice.code == 0, twice.err
    assert len(receiver.deliveries) == len(events) + len(rejected)

    ids = [e["EventUuid"] for e in rejected]
    assert await ledger_delivered(config.ledger.url, "orders", ids) == set(ids)


async def test_replay_of_chosen_offsets_sends_only_those(
    kafka: str, new_topic: TopicFactory, tmp_path: Path
) -> None:
    topic = await new_topic("dlq-pick")
    dlq = await new_topic("dlq-pick-dead")
    path = write_config(
        settings(kafka, topic, "http://127.0.0.1:9", tmp_path),
        tmp_path / "cfg.yaml",
    )
    facts = [
        ("omniout.original.topic", topic.encode()),
        ("omniout.original.partition", b"0"),
        ("omniout.route", b"orders"),
        ("x-tenant", b"acme"),
    ]
    letters = [(b"k%d" % n, encode(order(n)), facts) for n in range(4)]
    await produce_with_headers(kafka, dlq, letters)

    sent = await dlq_command("replay", path, dlq, "--offsets", "1,0:3", "--execute")
    limited = await dlq_command("show", path, dlq, "--limit", "2", "--json")

    assert sent.code == 0, sent.err
    records = await read_all(kafka, topic, expected=2)
    assert [r.key for r in records] == [b"k1", b"k3"]
    assert [headers(r)["x-tenant"] for r in records] == ["acme", "acme"]
    assert await ends(kafka, topic) == 2
    shown = limited.json()
    assert isinstance(shown, list)
    assert [x["offset"] for x in shown] == [0, 1]


Letter = tuple[bytes, bytes, list[tuple[str, bytes]]]


async def produce_with_headers(kafka: str, topic: str, records: list[Letter]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=kafka, acks="all")
    await producer.start()
    try:
        for key, value, extra in records:
            await producer.send_and_wait(topic, value, key=key, headers=extra)
    finally:
        await producer.stop()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--since", "last week"], "is not an ISO 8601 time"),
        (["--offsets", "one"], "is not OFFSET or PARTITION:OFFSET"),
        (["--offsets", "9"], "no matching dead letter at 9"),
        (["--limit", "0"], "Invalid value for '--limit'"),
    ],
)
async def test_bad_replay_arguments_exit_2_and_send_nothing(
    kafka: str,
    new_topic: TopicFactory,
    tmp_path: Path,
    args: list[str],
    message: str,
) -> None:
    topic = await new_topic("dlq-bad")
    dlq = await new_topic("dlq-bad-dead")
    path = write_config(
        settings(kafka, topic, "http://127.0.0.1:9", tmp_path),
        tmp_path / "cfg.yaml",
    )
    letter = [("omniout.original.topic", topic.encode())]
    await produce_with_headers(kafka, dlq, [(b"k", encode(order(1)), letter)])

    result = await dlq_command("replay", path, dlq, *args, "--execute")

    assert result.code == 2
    assert message in result.err
    assert await ends(kafka, topic) == 0
