"""``omniout publish`` and ``omniout run`` over SASL_PLAINTEXT on the real broker.

The local stack's broker has a second listener (``OMNIOUT_TEST_KAFKA_SASL``,
default 127.0.0.1:9094) that takes PLAIN and SCRAM-SHA-512 for the user
``omniout``. The topics are made and inspected through the plain listener of
the same broker. A stack without that listener fails these tests: it is part
of what the stack provides.
"""

from __future__ import annotations

import asyncio
import os
import socket
import uuid
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import SaslAuthenticationFailed

from omniout.config import Settings, load_settings
from omniout.errors import ConfigError
from omniout.service import serve
from tests.doc_examples import example
from tests.integration.conftest import TopicFactory
from tests.integration.engine import (
    ORDER_SCHEMA,
    SCHEMAS,
    order,
    running,
    wait_committed,
)
from tests.integration.processes import Service, omniout, write_config
from tests.integration.receiver import Receiver

pytestmark = pytest.mark.integration

SASL = os.environ.get("OMNIOUT_TEST_KAFKA_SASL", "127.0.0.1:9094")
USER = "omniout"
PASSWORD = "omniout-secret"
WRONG = "not-the-password-7f3a"
MECHANISMS = ["PLAIN", "SCRAM-SHA-512"]


@pytest.fixture
def sasl() -> str:
    host, _, port = SASL.rpartition(":")
    try:
        socket.create_connection((host, int(port)), timeout=2).close()
    except OSError as exc:
        pytest.fail(
            f"no SASL listener on {SASL} ({exc}); the local stack provides "
            "it: bash deploy/local/stack.sh stop kafka && "
            "bash deploy/local/stack.sh start kafka"
        )
    return SASL


@pytest.fixture
def password_env(monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh variable name; the test sets its value (or leaves it unset)."""
    name = f"KAFKA_PASSWORD_{uuid.uuid4().hex[:8].upper()}"
    monkeypatch.delenv(name, raising=False)
    return name


def secure_config(
    path: Path, bootstrap: str, mechanism: str, password_env: str, topic: str, url: str
) -> Path:
    """The config a SASL deployment writes: the password only by variable name."""
    return write_config(
        path,
        {
            "kafka": {
                "bootstrap_servers": bootstrap,
                "group_id": f"g-{uuid.uuid4().hex[:8]}",
                "security_protocol": "SASL_PLAINTEXT",
                "sasl_mechanism": mechanism,
                "sasl_username": USER,
                "sasl_password_env": password_env,
            },
            "schemas_dir": SCHEMAS,
            "ledger": {"url": f"sqlite:///{path.parent / 'ledger.db'}"},
            "processing": {"commit_interval": 0.2, "shutdown_timeout": 5},
            "admin": {"enabled": False},
            "routes": [
                {
                    "name": "orders",
                    "topic": topic,
                    "schema": ORDER_SCHEMA,
                    "mapping": {"number": "Order_Number__c"},
                    "endpoint": {"url": url, "timeout": 2.0},
                }
            ],
        },
    )


def events_file(path: Path, count: int) -> Path:
    lines = []
    for number in range(count):
        event: dict[str, Any] = order(number, Order_Id__c=f"801{number:03d}")
        del event["EventUuid"], event["CreatedDate"]
        lines.append(orjson.dumps(event) + b"\n")
    path.write_bytes(b"".join(lines))
    return path


async def end_offset(kafka: str, topic: str) -> int:
    consumer = AIOKafkaConsumer(bootstrap_servers=kafka)
    await consumer.start()
    try:
        tp = TopicPartition(topic, 0)
        consumer.assign([tp])
        return int((await consumer.end_offsets([tp]))[tp])
    finally:
        await consumer.stop()


def publish_args(config: Path, topic: str, source: Path) -> list[str | Path]:
    return ["publish", "-c", config, "--topic", topic, "--file", source]


@pytest.mark.parametrize("mechanism", MECHANISMS)
async def test_published_events_are_delivered_over_sasl(
    kafka: str,
    sasl: str,
    new_topic: TopicFactory,
    password_env: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    mechanism: str,
) -> None:
    topic = await new_topic("sasl")
    monkeypatch.setenv(password_env, PASSWORD)
    async with Receiver() as receiver:
        config = secure_config(
            tmp_path / "sasl.yaml", sasl, mechanism, password_env, topic, receiver.url
        )
        source = events_file(tmp_path / "events.jsonl", 3)
        published = await omniout(*publish_args(config, topic, source))
        assert published.code == 0, published.stderr
        assert published.stdout.strip() == f"Published 3 event(s) to {topic}"
        assert await end_offset(kafka, topic) == 3

        settings = load_settings(config)
        async with running(settings):
            await receiver.wait_for(3, within=30)
            await wait_committed(kafka, settings.kafka.group_id, topic, end=3)
    numbers = sorted(orjson.loads(d.body)["number"] for d in receiver.deliveries)
    assert numbers == ["00000000", "00000001", "00000002"]


@pytest.mark.parametrize("mechanism", MECHANISMS)
async def test_a_wrong_password_stops_the_service_with_the_broker_reason(
    sasl: str,
    new_topic: TopicFactory,
    password_env: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    mechanism: str,
) -> None:
    topic = await new_topic("sasl")
    monkeypatch.setenv(password_env, WRONG)
    config = secure_config(
        tmp_path / "sasl.yaml", sasl, mechanism, password_env, topic, "http://x/"
    )
    with pytest.raises(SaslAuthenticationFailed) as raised:
        await asyncio.wait_for(
            serve(
                load_settings(config),
                config_file=str(config),
                stopping=asyncio.Event(),
            ),
            timeout=20,
        )
    assert "Authentication failed" in str(raised.value)
    assert WRONG not in str(raised.value)


async def test_omniout_run_with_a_wrong_password_exits_1_naming_the_failure(
    sasl: str,
    new_topic: TopicFactory,
    password_env: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    topic = await new_topic("sasl")
    monkeypatch.setenv(password_env, WRONG)
    config = secure_config(
        tmp_path / "sasl.yaml", sasl, "SCRAM-SHA-512", password_env, topic, "http://x/"
    )
    finished = await omniout("run", "-c", config, within=30)
    assert finished.code == 1, finished.stderr
    assert f"omniout: error: Kafka at {sasl}: " in finished.stderr
    assert "SaslAuthenticationFailed" in finished.stderr
    assert WRONG not in finished.stderr + finished.stdout


@pytest.mark.parametrize("mechanism", MECHANISMS)
async def test_publish_with_a_wrong_password_exits_1_and_sends_nothing(
    kafka: str,
    sasl: str,
    new_topic: TopicFactory,
    password_env: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    mechanism: str,
) -> None:
    topic = await new_topic("sasl")
    monkeypatch.setenv(password_env, WRONG)
    config = secure_config(
        tmp_path / "sasl.yaml", sasl, mechanism, password_env, topic, "http://x/"
    )
    source = events_file(tmp_path / "events.jsonl", 2)
    finished = await omniout(*publish_args(config, topic, source), within=30)
    assert finished.code == 1, finished.stderr
    assert "omniout: error: sending failed after 0 of 2: " in finished.stderr
    assert "SaslAuthenticationFailed" in finished.stderr
    assert WRONG not in finished.stderr + finished.stdout
    assert await end_offset(kafka, topic) == 0


async def test_an_unset_password_variable_is_a_config_error_naming_the_key(
    kafka: str,
    sasl: str,
    new_topic: TopicFactory,
    password_env: str,
    tmp_path: Path,
) -> None:
    topic = await new_topic("sasl")
    config = secure_config(
        tmp_path / "sasl.yaml", sasl, "SCRAM-SHA-512", password_env, topic, "http://x/"
    )
    reason = f"kafka.sasl_password_env: {password_env} is not set"

    settings: Settings = load_settings(config)
    with pytest.raises(ConfigError) as raised:
        await serve(settings, config_file=str(config), stopping=asyncio.Event())
    assert raised.value.key == "kafka.sasl_password_env"

    ran = await omniout("run", "-c", config, within=30)
    assert ran.code == 2, ran.stderr
    assert reason in ran.stderr

    source = events_file(tmp_path / "events.jsonl", 1)
    published = await omniout(*publish_args(config, topic, source), within=30)
    assert published.code == 2, published.stderr
    assert reason in published.stderr
    assert "nothing was sent" in published.stderr
    assert await end_offset(kafka, topic) == 0


async def test_the_documented_scram_config_publishes_and_runs(
    kafka: str,
    sasl: str,
    new_topic: TopicFactory,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    """The README's example, its kafka section as shown; the route is pointed
    at this test's topic and receiver, the group made unique."""
    topic = await new_topic("sasl")
    monkeypatch.setenv("KAFKA_PASSWORD", PASSWORD)
    shown = yaml.safe_load(example("kafka-sasl-scram", tmp_path).read_text())
    assert shown["kafka"]["bootstrap_servers"] == "127.0.0.1:9094"
    shown["kafka"]["bootstrap_servers"] = sasl
    shown["kafka"]["group_id"] = f"g-{uuid.uuid4().hex[:8]}"
    shown["schemas_dir"] = SCHEMAS
    shown["ledger"] = {"url": f"sqlite:///{tmp_path / 'ledger.db'}"}
    shown["admin"] = {"enabled": False}
    async with Receiver() as receiver:
        shown["routes"][0].update(topic=topic, endpoint={"url": receiver.url})
        config = write_config(tmp_path / "sasl.yaml", shown)
        source = events_file(tmp_path / "orders.jsonl", 2)
        published = await omniout(*publish_args(config, topic, source))
        assert published.code == 0, published.stderr
        async with Service(config) as service:
            await receiver.wait_for(2, within=30)
            await wait_committed(kafka, shown["kafka"]["group_id"], topic, end=2)
            assert await service.stop() == 0
    numbers = sorted(orjson.loads(d.body)["number"] for d in receiver.deliveries)
    assert numbers == ["00000000", "00000001"]
    assert PASSWORD not in service.log
