"""``omniout publish --framing confluent`` end to end: the local stack's
schema registry (Apicurio, Confluent-compatible API), the real broker, the
engine decoding what was published, and a real receiver.

Publishing runs the command as a process; the engine runs in this process
(tests/integration/engine.py). Every test uses topics and subjects of its
own; Apicurio gives one schema text one id, so ids are shared between tests.
"""

from __future__ import annotations

import asyncio
import base64
import socket
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from aiohttp import web

from omniout.config import Settings
from omniout.decode import Decoder, SchemaStore
from omniout.decode.framing import read_header
from omniout.decode.settings import RegistrySettings
from omniout.errors import ConfigError
from omniout.service import serve
from tests.integration.conftest import TopicFactory
from tests.integration.engine import ORDER_SCHEMA, SCHEMAS, read_all, running
from tests.integration.engine import settings as engine_settings
from tests.integration.processes import omniout, write_config
from tests.integration.receiver import Receiver
from tests.integration.test_publish import bare, end_offset, invoke, jsonl
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


class GuardedRegistry:
    """The local registry behind a real HTTP server that asks for basic auth.

    Apicurio in the local stack has no authentication; this gate answers
    401 as a registry does to requests without the right credentials, and
    passes the others on unchanged.
    """

    def __init__(self, username: str, password: str) -> None:
        token = base64.b64encode(f"{username}:{password}".encode()).decode()
        self.expected = f"Basic {token}"
        self.seen: list[tuple[str, bool]] = []
        self.url = ""
        self._runner: web.AppRunner | None = None
        self._http = httpx.AsyncClient()

    async def _handle(self, request: web.Request) -> web.Response:
        allowed = request.headers.get("Authorization") == self.expected
        self.seen.append((f"{request.method} {request.path}", allowed))
        if not allowed:
            refusal = {"error_code": 40101, "message": "Unauthorized"}
            return web.Response(
                status=401, body=orjson.dumps(refusal), content_type=MEDIA_TYPE
            )
        upstream = await self._http.request(
            request.method,
            REGISTRY.removesuffix("/apis/ccompat/v7") + request.path_qs,
            content=await request.read(),
            headers={
                name: request.headers[name]
                for name in ("Accept", "Content-Type")
                if name in request.headers
            },
        )
        return web.Response(
            status=upstream.status_code,
            body=upstream.content,
            headers={"Content-Type": upstream.headers.get("Content-Type", "")},
        )

    async def __aenter__(self) -> GuardedRegistry:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}/apis/ccompat/v7"
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self._http.aclose()
        if self._runner is not None:
            await self._runner.cleanup()


@pytest.fixture
async def guarded() -> AsyncIterator[GuardedRegistry]:
    async with GuardedRegistry("omniout", "registry-s3cret") as registry:
        yield registry


async def test_publish_and_the_engine_authenticate_to_the_registry(
    kafka: str,
    new_topic: TopicFactory,
    tmp_path: Path,
    guarded: GuardedRegistry,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    topic = await new_topic("pubreg-auth")
    password_file = tmp_path / "registry-password"
    password_file.write_text("registry-s3cret\n")
    monkeypatch.setenv("REGISTRY_PASSWORD", "registry-s3cret")
    registry = {
        "url": guarded.url,
        "username": "omniout",
        "password": {"env": "REGISTRY_PASSWORD"},
        "timeout": 5,
    }
    config = publish_config(kafka, topic, tmp_path, registry)
    source = tmp_path / "orders.jsonl"
    source.write_bytes(jsonl(bare(1), bare(2)))

    done = await omniout("publish", "-c", config, "--topic", topic, "-f", source)

    assert done.code == 0, done.stderr
    registered = f"POST /apis/ccompat/v7/subjects/{topic}-value/versions"
    assert guarded.seen == [(registered, True)]
    # The engine reads its password from a file, the other form of reference.
    engine_registry = RegistrySettings.model_validate(
        {**registry, "password": {"file": password_file}}
    )
    async with Receiver() as receiver:
        settings = engine_config(kafka, topic, receiver.url, tmp_path, engine_registry)
        async with running(settings):
            await receiver.wait_for(2)

    schema_id = await latest_id(f"{topic}-value")
    fetched = f"GET /apis/ccompat/v7/schemas/ids/{schema_id}"
    assert guarded.seen[1:] == [(fetched, True)]


async def test_a_wrong_registry_password_exits_1_unquoted_and_sends_nothing(
    kafka: str,
    new_topic: TopicFactory,
    tmp_path: Path,
    guarded: GuardedRegistry,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    topic = await new_topic("pubreg-denied")
    monkeypatch.setenv("REGISTRY_PASSWORD", "not-the-password")
    registry = {
        "url": guarded.url,
        "username": "omniout",
        "password": {"env": "REGISTRY_PASSWORD"},
    }
    config = publish_config(kafka, topic, tmp_path, registry)
    source = tmp_path / "orders.jsonl"
    source.write_bytes(jsonl(bare(1)))

    done = await omniout("publish", "-c", config, "--topic", topic, "-f", source)

    assert done.code == 1
    assert done.stderr == (
        f"omniout: error: schema registry answered 401 to POST /subjects/"
        f"{topic}-value/versions: Unauthorized (error code 40101); "
        "nothing was sent\n"
    )
    assert "not-the-password" not in done.stderr
    assert await end_offset(kafka, topic) == 0


async def test_single_object_framing_can_be_asked_for_beside_a_registry(
    kafka: str, new_topic: TopicFactory, tmp_path: Path, guarded: GuardedRegistry
) -> None:
    topic = await new_topic("pubreg-single")
    # No password for the registry: the single-object framing never asks it.
    config = publish_config(kafka, topic, tmp_path, {"url": guarded.url})
    source = tmp_path / "orders.jsonl"
    source.write_bytes(jsonl(bare(1)))

    done = await omniout(
        "publish", "-c", config, "--topic", topic, "-f", source,
        "--framing", "single-object",
    )  # fmt: skip

    assert done.code == 0, done.stderr
    [record] = await published(kafka, topic, 1)
    event = await Decoder(SchemaStore.load(SCHEMAS)).decode(record.value)
    assert event.framing == "single-object"
    assert event.record["Order_Number__c"] == "00000001"
    assert guarded.seen == []


BAD_ARGUMENTS = [
    pytest.param(
        None,
        ["--framing", "confluent"],
        "--framing confluent needs a schema_registry in the config",
        id="confluent-without-registry",
    ),
    pytest.param(
        {"url": REGISTRY},
        ["--framing", "single-object", "--subject", "orders-value"],
        "--subject is for --framing confluent",
        id="subject-with-single-object",
    ),
    pytest.param(
        None,
        ["--subject", "orders-value"],
        "--subject is for --framing confluent",
        id="subject-without-registry",
    ),
    pytest.param(
        {"url": REGISTRY},
        ["--subject", ""],
        "--subject must not be empty",
        id="empty-subject",
    ),
    pytest.param(
        {"url": REGISTRY},
        ["--framing", "avro"],
        "Invalid value for '--framing'",
        id="unknown-framing",
    ),
    pytest.param(
        {
            "url": REGISTRY,
            "username": "omniout",
            "password": {"env": "OMNIOUT_TEST_UNSET_PASSWORD"},
        },
        [],
        "schema_registry.password: environment variable "
        "OMNIOUT_TEST_UNSET_PASSWORD is not set",
        id="password-not-set",
    ),
    pytest.param(
        {"url": REGISTRY, "password": {"env": "REGISTRY_PASSWORD"}},
        [],
        "schema_registry: Value error, username and password go together",
        id="password-without-username",
    ),
]


@pytest.mark.parametrize(("registry", "args", "message"), BAD_ARGUMENTS)
async def test_bad_framing_arguments_exit_2_and_send_nothing(
    kafka: str,
    new_topic: TopicFactory,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    registry: dict[str, Any] | None,
    args: list[str],
    message: str,
) -> None:
    topic = await new_topic("pubreg-bad")
    monkeypatch.delenv("OMNIOUT_TEST_UNSET_PASSWORD", raising=False)
    config = publish_config(kafka, topic, tmp_path, registry)
    source = tmp_path / "orders.jsonl"
    source.write_bytes(jsonl(bare(1)))

    result = invoke("publish", "-c", config, "--topic", topic, "-f", source, *args)

    assert result.exit_code == 2
    assert message in result.stderr
    assert await end_offset(kafka, topic) == 0
    assert await subjects_named(f"{topic}-value") == []


async def subjects_named(subject: str) -> list[str]:
    async with httpx.AsyncClient() as http:
        response = await http.get(f"{REGISTRY}/subjects")
    response.raise_for_status()
    return [name for name in orjson.loads(response.content) if name == subject]


async def test_the_engine_stops_at_start_when_the_registry_password_is_missing(
    kafka: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Nothing connects before the secrets are read, so no topic is needed.
    topic = "pubreg-never-read"
    monkeypatch.delenv("OMNIOUT_TEST_UNSET_PASSWORD", raising=False)
    registry = RegistrySettings.model_validate(
        {
            "url": REGISTRY,
            "username": "omniout",
            "password": {"env": "OMNIOUT_TEST_UNSET_PASSWORD"},
        }
    )
    settings = engine_config(kafka, topic, "http://127.0.0.1:9", tmp_path, registry)

    with pytest.raises(ConfigError) as caught:
        await serve(settings, config_file="test.yaml", stopping=asyncio.Event())

    assert str(caught.value) == (
        "test.yaml: schema_registry.password: "
        "environment variable OMNIOUT_TEST_UNSET_PASSWORD is not set"
    )
