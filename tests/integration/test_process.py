"""``omniout run`` as real processes: killed, stopped, scaled, misconfigured.

Each test runs the command as child processes against the real broker, a
real receiver in this process, and a real ledger (an SQLite file, or a
PostgreSQL table of its own), and then checks what the receiver got against
what the ledger and the group's committed offsets say.
"""

from __future__ import annotations

import asyncio
import sqlite3
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import psycopg
import pytest
from aiohttp import web
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient

from tests.integration.conftest import TopicFactory
from tests.integration.engine import ORDER_SCHEMA, SCHEMAS, encode, order, wait_until
from tests.integration.engine import committed_and_end as offsets
from tests.integration.processes import Service, omniout, write_config
from tests.integration.receiver import Delivery, Receiver

pytestmark = pytest.mark.integration

PARTITIONS = 4
EVENTS = 200
KEYS = 20

Position = tuple[int, int]  # partition, offset

# The log line of an assignment that is not empty.
ASSIGNED = 'Partitions assigned: ["TopicPartition('


def run_config(
    kafka: str,
    topic: str,
    url: str,
    ledger_url: str,
    **sections: Any,
) -> dict[str, Any]:
    """A config for ``omniout run`` with one route; short timeouts."""
    config: dict[str, Any] = {
        "kafka": {
            "bootstrap_servers": kafka,
            "group_id": f"g-{uuid.uuid4().hex[:10]}",
            "session_timeout": 6,
        },
        "schemas_dir": SCHEMAS,
        "ledger": {"url": ledger_url},
        "processing": {
            "commit_interval": 0.2,
            "shutdown_timeout": 10,
            "revoke_timeout": 2,
        },
        "admin": {"enabled": False},
        "routes": [
            {
                "name": "orders",
                "topic": topic,
                "schema": ORDER_SCHEMA,
                "endpoint": {"url": url, "timeout": 10},
                "retry": {"max_attempts": 3, "initial_backoff": 0.05},
            }
        ],
    }
    for name, values in sections.items():
        config[name] = {**config.get(name, {}), **values}
    return config


async def publish(kafka: str, topic: str, count: int = EVENTS) -> dict[str, Position]:
    """Produce ``count`` keyed orders; return each one's partition and offset."""
    producer = AIOKafkaProducer(bootstrap_servers=kafka, acks="all")
    await producer.start()
    where: dict[str, Position] = {}
    try:
        for number in range(count):
            event = order(number, Order_Id__c=f"801{number % KEYS:03d}")
            sent = await producer.send_and_wait(
                topic, encode(event), key=event["Order_Id__c"].encode()
            )
            where[event["EventUuid"]] = (sent.partition, sent.offset)
    finally:
        await producer.stop()
    return where


def sqlite_ledger(path: Path) -> dict[str, Position]:
    """The delivered request ids in an SQLite ledger file, with positions."""
    if not path.exists():
        return {}
    db = sqlite3.connect(path)
    try:
        rows = db.execute(
            "SELECT request_id, kafka_partition, kafka_offset FROM deliveries "
            "WHERE outcome = 'delivered'"
        ).fetchall()
    except sqlite3.OperationalError:  # the service has not created it yet
        return {}
    finally:
        db.close()
    return {request_id: (partition, offset) for request_id, partition, offset in rows}


def assert_one_key_per_event(deliveries: Sequence[Delivery]) -> None:
    """Every request carried its event's own id, however often it was sent."""
    keys: dict[str, set[str]] = defaultdict(set)
    for delivery in deliveries:
        body = delivery.json()
        assert isinstance(body, dict)
        assert delivery.key == body["EventUuid"]
        keys[body["Order_Number__c"]].add(delivery.key)
    assert all(len(found) == 1 for found in keys.values())


async def committed(kafka: str, group: str, topic: str) -> dict[int, int]:
    found = await offsets(kafka, group, topic, partitions=PARTITIONS)
    return {p: position or 0 for p, (position, _) in found.items()}


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async with Receiver() as started:
        yield started


async def test_a_killed_process_resends_only_what_the_ledger_lacks(
    kafka: str, new_topic: TopicFactory, tmp_path: Path, receiver: Receiver
) -> None:
    topic = await new_topic("proc-kill", partitions=PARTITIONS)
    where = await publish(kafka, topic)
    ledger = tmp_path / "ledger.db"
    answered = 60
    released = asyncio.Event()

    async def stalls_after_60(delivery: Delivery) -> web.StreamResponse:
        # The answers after the 60th wait, so that those requests are still
        # in flight when the process dies.
        if len(receiver.deliveries) > answered:
            await released.wait()
        return web.json_response({"ok": True})

    receiver.answer = stalls_after_60
    settings = run_config(kafka, topic, receiver.url, f"sqlite:///{ledger}")
    config = write_config(tmp_path / "run.yaml", settings)
    async with Service(config, "first") as first:
        await wait_until(_at_least(receiver, answered + 5))
        await wait_until(_ledger_holds(ledger, answered // 2))
        await first.kill()
    recorded = sqlite_ledger(ledger)
    released.set()
    before_restart = len(receiver.deliveries)
    in_flight = {d.key for d in receiver.deliveries[answered:]}

    async with Service(config, "second") as second:
        await receiver.wait_for(EVENTS)
        await wait_until(_all_committed(kafka, settings, topic, PARTITIONS))
        assert await second.stop() == 0

    resent = {d.key for d in receiver.deliveries[before_restart:]}
    assert set(receiver.keys()) == set(where)
    assert len(recorded) >= answered // 2
    assert not resent & set(recorded)
    assert not in_flight & set(recorded)
    assert in_flight <= resent
    assert_one_key_per_event(receiver.deliveries)
    assert sqlite_ledger(ledger) == where
    group = settings["kafka"]["group_id"]
    ends = await offsets(kafka, group, topic, partitions=PARTITIONS)
    assert all(position == end for position, end in ends.values())


async def test_three_processes_share_the_partitions_through_rebalances(
    kafka: str,
    new_topic: TopicFactory,
    tmp_path: Path,
    receiver: Receiver,
    postgres_dsn: str,
) -> None:
    topic = await new_topic("proc-group", partitions=6)
    where = await publish(kafka, topic)
    table = f"deliveries_{uuid.uuid4().hex[:12]}"
    open_gate = asyncio.Event()
    open_gate.set()

    async def gated(delivery: Delivery) -> web.StreamResponse:
        await open_gate.wait()
        return web.json_response({"ok": True})

    receiver.answer = gated
    settings = run_config(
        kafka, topic, receiver.url, postgres_dsn, ledger={"table": table}
    )
    config = write_config(tmp_path / "run.yaml", settings)
    members = [Service(config, f"member-{n}") for n in range(3)]
    try:
        await members[0].start()
        for joined, target in ((1, 60), (2, 120)):
            # Deliveries stall while the next member joins, so the partitions
            # move with requests in flight.
            await wait_until(_at_least(receiver, target))
            open_gate.clear()
            await members[joined].start()
            await members[joined].wait_for_line(ASSIGNED)
            open_gate.set()
        await receiver.wait_for(EVENTS)
        await wait_until(_postgres_holds(postgres_dsn, table, EVENTS))
        # Events that a former owner finished after its partition moved are
        # read again by the new owner, found in the ledger and committed.
        await wait_until(_all_committed(kafka, settings, topic, 6))
        codes = await asyncio.gather(*(m.stop() for m in members))
        delivered = await _postgres_rows(postgres_dsn, table)
    finally:
        open_gate.set()
        for member in members:
            await member.__aexit__(None, None, None)
        await _drop(postgres_dsn, table)

    assert codes == [0, 0, 0]
    assert set(receiver.keys()) == set(where)
    assert_one_key_per_event(receiver.deliveries)
    assert delivered == where
    assigned = [m.count(ASSIGNED) for m in members]
    assert assigned[0] >= 3
    assert assigned[1] >= 2
    assert assigned[2] >= 1
    ends = await offsets(kafka, settings["kafka"]["group_id"], topic, partitions=6)
    logs = "\n".join(m.log for m in members)
    assert all(position == end for position, end in ends.values()), (ends, logs)


BAD_CONFIGS = [
    pytest.param(
        ("processing", "max_inflight", 4),
        "processing.max_inflight",
        "Extra inputs are not permitted",
        id="unknown-key",
    ),
    pytest.param(
        ("processing", "max_in_flight", "many"),
        "processing.max_in_flight",
        "Input should be a valid integer",
        id="wrong-type",
    ),
    pytest.param(
        ("route", "schema", "com.example.Missing"),
        "routes[0].schema",
        "no schema named 'com.example.Missing'",
        id="unknown-schema",
    ),
    pytest.param(
        ("route", "mapping", {"total": "Total_Amount__c +"}),
        "routes[0].mapping.total",
        "invalid expression 'Total_Amount__c +'",
        id="bad-mapping",
    ),
]


@pytest.mark.parametrize(("change", "key", "reason"), BAD_CONFIGS)
async def test_a_bad_config_stops_start_up_with_exit_2_and_consumes_nothing(
    kafka: str,
    new_topic: TopicFactory,
    tmp_path: Path,
    change: tuple[str, str, Any],
    key: str,
    reason: str,
) -> None:
    topic = await new_topic("proc-config")
    await publish(kafka, topic, count=3)
    settings = run_config(
        kafka, topic, "http://127.0.0.1:9/x", f"sqlite:///{tmp_path / 'l.db'}"
    )
    section, name, value = change
    target = settings["routes"][0] if section == "route" else settings[section]
    target[name] = value
    config = write_config(tmp_path / "bad.yaml", settings)

    done = await omniout("run", "-c", config)

    assert done.code == 2
    assert done.stderr.startswith(f"omniout: error: {config}: {key}: ")
    assert reason in done.stderr
    assert await _group_offsets(kafka, settings["kafka"]["group_id"]) == {}
    assert not (tmp_path / "l.db").exists()


async def test_sigterm_finishes_in_flight_work_commits_and_exits_0(
    kafka: str, new_topic: TopicFactory, tmp_path: Path, receiver: Receiver
) -> None:
    topic = await new_topic("proc-term", partitions=PARTITIONS)
    where = await publish(kafka, topic)
    ledger = tmp_path / "ledger.db"

    async def slow(delivery: Delivery) -> web.StreamResponse:
        await asyncio.sleep(0.1)
        return web.json_response({"ok": True})

    receiver.answer = slow
    settings = run_config(
        kafka, topic, receiver.url, f"sqlite:///{ledger}",
        processing={"max_in_flight": 16},
    )  # fmt: skip
    config = write_config(tmp_path / "run.yaml", settings)
    async with Service(config) as service:
        await wait_until(_at_least(receiver, 40))
        code = await service.stop()

    assert code == 0
    assert "Stopped; offsets committed" in service.log
    recorded = sqlite_ledger(ledger)
    assert sorted(receiver.keys()) == sorted(recorded)
    assert len(recorded) < EVENTS
    positions = await committed(kafka, settings["kafka"]["group_id"], topic)
    by_partition: dict[int, list[int]] = defaultdict(list)
    for partition, offset in recorded.values():
        by_partition[partition].append(offset)
    for partition, position in positions.items():
        assert sorted(by_partition[partition]) == list(range(position))
    assert all(where[request_id] == p for request_id, p in recorded.items())


async def test_sigterm_with_a_hung_endpoint_gives_up_after_the_shutdown_timeout(
    kafka: str, new_topic: TopicFactory, tmp_path: Path, receiver: Receiver
) -> None:
    topic = await new_topic("proc-hung", partitions=PARTITIONS)
    where = await publish(kafka, topic)
    ledger = tmp_path / "ledger.db"
    never = asyncio.Event()

    async def hangs_after_30(delivery: Delivery) -> web.StreamResponse:
        if len(receiver.deliveries) > 30:
            await never.wait()
        return web.json_response({"ok": True})

    receiver.answer = hangs_after_30
    settings = run_config(
        kafka, topic, receiver.url, f"sqlite:///{ledger}",
        processing={"shutdown_timeout": 1},
    )  # fmt: skip
    config = write_config(tmp_path / "run.yaml", settings)
    try:
        async with Service(config) as service:
            await wait_until(_at_least(receiver, 35))
            await wait_until(_ledger_holds(ledger, 30))
            code = await service.stop()
    finally:
        never.set()

    assert code == 0
    assert "Stopping: waiting for" in service.log
    recorded = sqlite_ledger(ledger)
    hung = {d.key for d in receiver.deliveries[30:]}
    assert not hung & set(recorded)
    positions = await committed(kafka, settings["kafka"]["group_id"], topic)
    for request_id in hung:
        partition, offset = where[request_id]
        assert offset >= positions[partition]
    for request_id, (partition, offset) in where.items():
        if offset < positions[partition]:
            assert request_id in recorded


def _at_least(receiver: Receiver, count: int) -> Any:
    async def check() -> bool:
        return len(receiver.deliveries) >= count

    return check


def _all_committed(
    kafka: str, settings: dict[str, Any], topic: str, partitions: int
) -> Any:
    group = settings["kafka"]["group_id"]

    async def check() -> bool:
        found = await offsets(kafka, group, topic, partitions=partitions)
        return all(position == end for position, end in found.values())

    return check


def _ledger_holds(path: Path, count: int) -> Any:
    async def check() -> bool:
        return len(sqlite_ledger(path)) >= count

    return check


def _postgres_holds(dsn: str, table: str, count: int) -> Any:
    async def check() -> bool:
        return len(await _postgres_rows(dsn, table)) >= count

    return check


async def _postgres_rows(dsn: str, table: str) -> dict[str, Position]:
    async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
        cursor = await conn.execute(
            f"SELECT request_id, kafka_partition, kafka_offset FROM {table} "
            "WHERE outcome = 'delivered'"
        )
        rows = await cursor.fetchall()
    return {request_id: (partition, offset) for request_id, partition, offset in rows}


async def _drop(dsn: str, table: str) -> None:
    async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
        await conn.execute(f"DROP TABLE IF EXISTS {table}")


async def _group_offsets(kafka: str, group: str) -> dict[Any, Any]:
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka)
    await admin.start()
    try:
        found: dict[Any, Any] = await admin.list_consumer_group_offsets(group)
    finally:
        await admin.close()
    return found
