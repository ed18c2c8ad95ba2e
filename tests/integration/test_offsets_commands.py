"""``omniout offsets`` against a real broker, and reprocessing after a reset."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from omniout.config import Settings, load_settings
from omniout.errors import GroupActiveError
from omniout.reprocess import GroupOffsets
from tests.integration.commands import (
    Result,
    omniout,
    running_command,
    serving,
    write_config,
)
from tests.integration.conftest import TopicFactory
from tests.integration.engine import (
    committed_and_end,
    encode,
    order,
    settings,
    wait_committed,
)
from tests.integration.receiver import Delivery, Receiver, accept

pytestmark = pytest.mark.integration


def config_file(
    kafka: str, topic: str, url: str, tmp_path: Path
) -> tuple[Path, Settings]:
    path = write_config(settings(kafka, topic, url, tmp_path), tmp_path / "cfg.yaml")
    return path, load_settings(path)


async def produce_at(
    kafka: str,
    topic: str,
    events: list[dict[str, Any]],
    at_ms: int,
    partition: int = 0,
) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=kafka, acks="all")
    await producer.start()
    try:
        for event in events:
            await producer.send_and_wait(
                topic, encode(event), partition=partition, timestamp_ms=at_ms
            )
    finally:
        await producer.stop()


async def commit(kafka: str, group: str, offsets: dict[TopicPartition, int]) -> None:
    consumer = AIOKafkaConsumer(
        bootstrap_servers=kafka, group_id=group, enable_auto_commit=False
    )
    await consumer.start()
    try:
        consumer.assign(list(offsets))
        await consumer.commit(offsets)
    finally:
        await consumer.stop()


async def deliver_all(config: Settings, receiver: Receiver, count: int) -> None:
    """Run the service until ``count`` events arrived and are committed."""
    topic = config.routes[0].topic
    group = config.kafka.group_id
    async with serving(config):
        await receiver.wait_for(count)
        await wait_committed(config.kafka.bootstrap_servers, group, topic)
    positions = await committed_and_end(config.kafka.bootstrap_servers, group, topic)
    assert positions[0] == (count, count)


async def reset(path: Path, topic: str, *args: str) -> Result:
    return await omniout("offsets", "reset", "-c", str(path), "--topic", topic, *args)


def position(topic: str, partition: int, committed: int | None, end: int) -> Any:
    return {
        "topic": topic,
        "partition": partition,
        "committed": committed,
        "start": 0,
        "end": end,
    }


def iso(epoch_ms: int) -> str:
    return datetime.fromtimestamp(epoch_ms / 1000, UTC).isoformat()


async def test_show_prints_committed_end_and_lag_per_partition(
    kafka: str, new_topic: TopicFactory, tmp_path: Path
) -> None:
    topic = await new_topic("offsets-show", partitions=2)
    path, config = config_file(kafka, topic, "http://127.0.0.1:9", tmp_path)
    now = int(time.time() * 1000)
    await produce_at(kafka, topic, [order(n) for n in range(5)], now, partition=0)
    await produce_at(kafka, topic, [order(n) for n in range(3)], now, partition=1)
    await commit(kafka, config.kafka.group_id, {TopicPartition(topic, 0): 2})

    shown = await omniout("offsets", "show", "-c", str(path), "--json")
    table = await omniout("offsets", "show", "-c", str(path), "--topic", topic)

    assert shown.code == 0, shown.err
    assert shown.json() == {
        "group": config.kafka.group_id,
        "state": "Empty",
        "members": 0,
        "partitions": [
            {**position(topic, 0, 2, 5), "lag": 3},
            {**position(topic, 1, None, 3), "lag": None},
        ],
    }
    assert table.code == 0, table.err
    rows = [line.split("│")[1:-1] for line in table.out.splitlines() if topic in line]
    cells = [[cell.strip() for cell in row] for row in rows]
    assert cells == [[topic, "0", "2", "0", "5", "3"], [topic, "1", "-", "0", "3", "-"]]


async def test_after_reset_to_earliest_run_skips_delivered_and_redeliver_resends(
    kafka: str, new_topic: TopicFactory, tmp_path: Path
) -> None:
    topic = await new_topic("offsets-earliest")
    events = [order(n) for n in range(6)]
    refused = events[2]["EventUuid"]
    await produce_at(kafka, topic, events, int(time.time() * 1000))

    async def refuse_one(delivery: Delivery) -> web.StreamResponse:
        status = 400 if delivery.key == refused else 200
        return web.json_response({}, status=status)

    async with Receiver() as receiver:
        receiver.answer = refuse_one
        path, config = config_file(kafka, topic, receiver.url, tmp_path)
        group = config.kafka.group_id
        await deliver_all(config, receiver, len(events))
        receiver.answer = accept

        dry = await reset(path, topic, "--to-earliest")
        assert dry.code == 0, dry.err
        assert "Dry run: nothing changed" in dry.out
        assert (await committed_and_end(kafka, group, topic))[0] == (6, 6)

        done = await reset(path, topic, "--to-earliest", "--execute")
        assert done.code == 0, done.err
        assert (await committed_and_end(kafka, group, topic))[0] == (0, 6)

        async with serving(config):
            await wait_committed(kafka, group, topic)
        assert receiver.keys()[len(events) :] == [refused]

        await reset(path, topic, "--to-earliest", "--execute")
        log = tmp_path / "run.log"
        command = ("run", "-c", str(path), "--redeliver")
        async with running_command(*command, log=log) as run:
            await receiver.wait_for_requests(2 * len(events) + 1)
            await wait_committed(kafka, group, topic)
        assert run.returncode == 0, log.read_text()
        assert "Stopped; offsets committed" in log.read_text()

    first, again = receiver.keys()[:6], receiver.keys()[7:]
    assert sorted(again) == sorted(first) == sorted(e["EventUuid"] for e in events)


async def test_after_reset_to_a_time_redeliver_resends_only_later_events(
    kafka: str, new_topic: TopicFactory, tmp_path: Path
) -> None:
    topic = await new_topic("offsets-time")
    now = int(time.time() * 1000)
    older = [order(n) for n in range(4)]
    newer = [order(n) for n in range(4, 7)]
    await produce_at(kafka, topic, older, now - 120_000)
    await produce_at(kafka, topic, newer, now - 60_000)
    async with Receiver() as receiver:
        path, config = config_file(kafka, topic, receiver.url, tmp_path)
        await deliver_all(config, receiver, len(older) + len(newer))

        moved = await reset(
            path, topic, "--to-datetime", iso(now - 90_000), "--execute"
        )
        assert moved.code == 0, moved.err
        group = config.kafka.group_id
        assert (await committed_and_end(kafka, group, topic))[0] == (4, 7)

        async with serving(config, redeliver=True):
            await receiver.wait_for_requests(len(older) + 2 * len(newer))
            await wait_committed(kafka, group, topic)

    again = receiver.keys()[len(older) + len(newer) :]
    assert sorted(again) == sorted(e["EventUuid"] for e in newer)


async def test_reset_is_refused_while_the_group_has_members(
    kafka: str, new_topic: TopicFactory, tmp_path: Path
) -> None:
    topic = await new_topic("offsets-active")
    events = [order(n) for n in range(3)]
    await produce_at(kafka, topic, events, int(time.time() * 1000))
    async with Receiver() as receiver:
        path, config = config_file(kafka, topic, receiver.url, tmp_path)
        group = config.kafka.group_id
        async with serving(config):
            await receiver.wait_for(len(events))
            await wait_committed(kafka, group, topic)
            refused = await reset(path, topic, "--to-earliest", "--execute")
            dry = await reset(path, topic, "--to-earliest")
            async with GroupOffsets(config.kafka) as offsets:
                with pytest.raises(GroupActiveError):
                    await offsets.commit(topic, {0: 0})
            assert (await committed_and_end(kafka, group, topic))[0] == (3, 3)

    message = f"consumer group {group!r} is Stable with 1 member(s)"
    assert refused.code == 1
    assert message in refused.err
    assert "Committed" not in refused.out
    assert dry.code == 0
    assert "Dry run: nothing changed" in dry.out
    assert message in dry.err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--to-earliest", "--to-latest"], "give exactly one of"),
        ([], "give exactly one of"),
        (["--to-datetime", "yesterday"], "is not an ISO 8601 time"),
        (["--to-earliest", "--partitions", "0,7"], "has no partition 7"),
        (["--to-earliest", "--partitions", "zero"], "is not a comma-separated"),
        (["--to-offset", "-3"], "is negative"),
    ],
)
async def test_bad_arguments_exit_2_and_change_nothing(
    kafka: str,
    new_topic: TopicFactory,
    tmp_path: Path,
    args: list[str],
    message: str,
) -> None:
    topic = await new_topic("offsets-bad", partitions=2)
    path, config = config_file(kafka, topic, "http://127.0.0.1:9", tmp_path)
    await produce_at(kafka, topic, [order(1), order(2)], int(time.time() * 1000))
    tp = TopicPartition(topic, 0)
    await commit(kafka, config.kafka.group_id, {tp: 1})

    result = await reset(path, topic, *args, "--execute")

    assert result.code == 2
    assert message in result.err
    assert (await committed_and_end(kafka, config.kafka.group_id, topic))[0] == (1, 2)


async def test_an_unknown_topic_exits_2_without_creating_it(
    kafka: str, tmp_path: Path
) -> None:
    topic = f"offsets-missing-{uuid.uuid4().hex[:8]}"
    path, _ = config_file(kafka, topic, "http://127.0.0.1:9", tmp_path)

    result = await omniout("offsets", "show", "-c", str(path))

    assert result.code == 2
    assert f"topic {topic!r} does not exist" in result.err
    again = await omniout("offsets", "show", "-c", str(path))
    assert again.code == 2
