"""``omniout publish --framing confluent`` end to end: the local stack's
schema registry (Apicurio, Confluent-compatible API), the real broker, the
engine decoding what was published, and a real receiver.

Publishing runs the command as a process; the engine runs in this process
(tests/integration/engine.py). Every test uses topics and subjects of its
own; Apicurio gives one schema text one id, so ids are shared between tests.
"""

from __future__ import annotations

import socket
import uuid
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from omniout.config import Settings
from omniout.decode.framing import read_header
from omniout.decode.settings import RegistrySettings
from tests.integration.conftest import TopicFactory
from tests.integration.engine import ORDER_SCHEMA, SCHEMAS, read_all, running
from tests.integration.engine import settings as engine_settings
from tests.integration.processes import omniout, write_config
from tests.integration.receiver import Receiver
from tests.integration.test_publish import bare, end_offset, jsonl
from tests.integration.test_registry_live import (
    REGISTRY,
    require_backward_compatibility,
    versions,
)

pytestmark = pytest.mark.integration

MEDIA_TYPE = "application/vnd.schemaregistry.v1+json"


def publish_config(
    kafka: str,
    topic: str,
    folder: Path,
    registry: dict[str, Any] | None,
    schemas: Path = SCHEMAS,
) -> Path:
    config: dict[str, Any] = {
        "kafka": {"bootstrap_servers": kafka},
        "schemas_dir": schemas,
        "routes": [
            {
                "name": "orders",
                "topic": topic,
                "schema": ORDER_SCHEMA,
                "endpoint": {"url": "http://127.0.0.1:9/orders"},
            }
        ],
    }
    if registry is not None:
        config["schema_registry"] = registry
    return write_config(folder / f"publish-{uuid.uuid4().hex[:6]}.yaml", config)


def engine_config(
    kafka: str, topic: str, url: str, tmp_path: Path, registry: RegistrySettings
) -> Settings:
    config = engine_settings(kafka, topic, url, tmp_path)
    return config.model_copy(update={"schema_registry": registry})


def evolved_schemas(folder: Path, field: dict[str, Any]) -> Path:
    """A schemas folder whose order schema has ``field`` added at the end."""
    folder.mkdir()
    source = orjson.loads((SCHEMAS / "Order_Completed__e.avsc").read_bytes())
    source["fields"].append(field)
    (folder / "Order_Completed__e.avsc").write_bytes(orjson.dumps(source))
    return folder


async def latest_id(subject: str) -> int:
    async with httpx.AsyncClient() as http:
        response = await http.get(f"{REGISTRY}/subjects/{subject}/versions/latest")
    response.raise_for_status()
    return int(orjson.loads(response.content)["id"])


async def published(kafka: str, topic: str, count: int) -> list[Any]:
    records = await read_all(kafka, topic, expected=count)
    assert len(records) == count
    return sorted(records, key=lambda r: r.offset)


async def test_confluent_events_are_decoded_by_the_engine_and_delivered(
    kafka: str, new_topic: TopicFactory, tmp_path: Path
) -> None:
    topic = await new_topic("pubreg")
    source = tmp_path / "orders.jsonl"
    source.write_bytes(jsonl(bare(1), bare(2), bare(3)))
    # No --framing: a config with a schema registry means the Confluent one.
    config = publish_config(kafka, topic, tmp_path, {"url": REGISTRY})

    done = await omniout("publish", "-c", config, "--topic", topic, "-f", source)

    assert done.code == 0, done.stderr
    assert done.stdout == f"Published 3 event(s) to {topic}\n"
    schema_id = await latest_id(f"{topic}-value")
    records = await published(kafka, topic, 3)
    framings = {
        (header.framing, header.registry_id)
        for header in (read_header(r.value) for r in records)
    }
    assert framings == {("confluent", schema_id)}
    async with Receiver() as receiver:
        settings = engine_config(
            kafka, topic, receiver.url, tmp_path, RegistrySettings(url=REGISTRY)
        )
        async with running(settings):
            await receiver.wait_for(3)

    bodies = sorted(
        (body(d.json()) for d in receiver.deliveries),
        key=lambda b: str(b["Order_Number__c"]),
    )
    assert [b["Order_Number__c"] for b in bodies] == [
        "00000001",
        "00000002",
        "00000003",
    ]
    assert sorted(receiver.keys()) == sorted(str(b["EventUuid"]) for b in bodies)


async def test_an_evolved_schema_is_registered_and_read_as_the_route_schema(
    kafka: str, new_topic: TopicFactory, tmp_path: Path
) -> None:
    topic = await new_topic("pubreg-evolved")
    subject = f"orders-{uuid.uuid4().hex[:12]}"
    await require_backward_compatibility(subject)
    channel = {"name": "Channel__c", "type": ["null", "string"], "default": None}
    newer = evolved_schemas(tmp_path / "newer", channel)
    older_config = publish_config(kafka, topic, tmp_path, {"url": REGISTRY})
    newer_config = publish_config(kafka, topic, tmp_path, {"url": REGISTRY}, newer)
    source = tmp_path / "orders.jsonl"
    source.write_bytes(jsonl(bare(1)))
    newer_source = tmp_path / "newer.jsonl"
    newer_source.write_bytes(jsonl({**bare(2), "Channel__c": "web"}))
    args = ["--topic", topic, "--framing", "confluent", "--subject", subject]

    first = await omniout("publish", "-c", older_config, *args, "-f", source)
    second = await omniout("publish", "-c", newer_config, *args, "-f", newer_source)

    assert first.code == 0, first.stderr
    assert second.code == 0, second.stderr
    assert await versions(subject) == [1, 2]
    records = await published(kafka, topic, 2)
    older_id, newer_id = (read_header(r.value).registry_id for r in records)
    assert older_id != newer_id
    assert newer_id == await latest_id(subject)
    async with Receiver() as receiver:
        settings = engine_config(
            kafka, topic, receiver.url, tmp_path, RegistrySettings(url=REGISTRY)
        )
        async with running(settings):
            await receiver.wait_for(2)

    bodies = sorted(
        (body(d.json()) for d in receiver.deliveries),
        key=lambda b: str(b["Order_Number__c"]),
    )
    assert [b["Order_Number__c"] for b in bodies] == ["00000001", "00000002"]
    # The route's schema, the reader, has no Channel__c: it is resolved away.
    assert all("Channel__c" not in b for b in bodies)


async def test_an_incompatible_schema_is_refused_and_nothing_is_sent(
    kafka: str, new_topic: TopicFactory, tmp_path: Path
) -> None:
    topic = await new_topic("pubreg-refused")
    subject = f"{topic}-value"
    await require_backward_compatibility(subject)
    # A required field without a default cannot read the older events.
    region = {"name": "Region__c", "type": "string"}
    newer = evolved_schemas(tmp_path / "newer", region)
    older_config = publish_config(kafka, topic, tmp_path, {"url": REGISTRY})
    newer_config = publish_config(kafka, topic, tmp_path, {"url": REGISTRY}, newer)
    source = tmp_path / "orders.jsonl"
    source.write_bytes(jsonl(bare(1)))
    newer_source = tmp_path / "newer.jsonl"
    newer_source.write_bytes(jsonl({**bare(2), "Region__c": "EMEA"}))

    first = await omniout("publish", "-c", older_config, "--topic", topic, "-f", source)
    refused = await omniout(
        "publish", "-c", newer_config, "--topic", topic, "-f", newer_source
    )

    assert first.code == 0, first.stderr
    assert refused.code == 1
    assert refused.stdout == ""
    message = refused.stderr
    assert message.startswith(
        f"omniout: error: schema registry refused {ORDER_SCHEMA} "
        f"for subject {subject!r}: Incompatible artifact"
    )
    assert "Region__c" in message
    assert message.rstrip().endswith("; nothing was sent")
    assert await versions(subject) == [1]
    assert await end_offset(kafka, topic) == 1


async def test_an_unreachable_registry_exits_1_and_nothing_is_sent(
    kafka: str, new_topic: TopicFactory, tmp_path: Path
) -> None:
    topic = await new_topic("pubreg-down")
    registry = {"url": f"http://127.0.0.1:{closed_port()}/apis/ccompat/v7"}
    config = publish_config(kafka, topic, tmp_path, {**registry, "timeout": 2})
    source = tmp_path / "orders.jsonl"
    source.write_bytes(jsonl(bare(1)))

    done = await omniout("publish", "-c", config, "--topic", topic, "-f", source)

    assert done.code == 1
    assert done.stderr.startswith(
        "omniout: error: schema registry unreachable for "
        f"POST /subjects/{topic}-value/versions: ConnectError("
    )
    assert done.stderr.rstrip().endswith("; nothing was sent")
    assert await end_offset(kafka, topic) == 0


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def body(payload: object) -> dict[str, object]:
    assert isinstance(payload, dict)
    return payload
