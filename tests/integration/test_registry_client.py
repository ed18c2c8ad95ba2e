"""RegistryClient against a real HTTP server speaking the Confluent Schema
Registry REST API (answers shaped as the registry sends them: media type
application/vnd.schemaregistry.v1+json, errors as {"error_code", "message"})."""

from __future__ import annotations

import asyncio
import base64
import socket
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from aiohttp import web

from omniout.decode import (
    Decoder,
    Encoder,
    KnownSchema,
    RegistryClient,
    SchemaStore,
    known_schema,
)
from omniout.decode.framing import confluent_header
from omniout.errors import (
    DecodeError,
    EventError,
    RegistryUnavailableError,
    UnknownSchemaError,
    ValidationError,
)
from tests.integration.engine import order_schema

pytestmark = pytest.mark.integration

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"
MEDIA_TYPE = "application/vnd.schemaregistry.v1+json"
USER = "omniout"
PASSWORD = "registry-secret-4711"
ORDER_ID = 1
PROTOBUF_ID = 3


def compact(path: Path) -> str:
    """The schema text as a registry stores it: compact JSON."""
    return orjson.dumps(orjson.loads(path.read_text())).decode()


class RecordedRegistry:
    """Serves the registry's recorded answers and counts what it was asked."""

    def __init__(self) -> None:
        self.answers: dict[int, dict[str, Any]] = {
            ORDER_ID: {"schema": compact(SCHEMAS / "Order_Completed__e.avsc")},
            PROTOBUF_ID: {
                "schemaType": "PROTOBUF",
                "schema": 'syntax = "proto3";\nmessage Order {\n  string id = 1;\n}\n',
            },
        }
        self.requests: Counter[str] = Counter()
        self.posted: list[tuple[str, str, dict[str, Any]]] = []
        self.outage = False

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get(r"/schemas/ids/{id:\d+}", self.schema_by_id)
        app.router.add_post("/subjects/{subject}/versions", self.register)
        return app

    async def schema_by_id(self, request: web.Request) -> web.Response:
        self.requests[request.path] += 1
        refused = self._refusal(request)
        if refused is not None:
            return refused
        # Slow enough that concurrent lookups overlap with the first one.
        await asyncio.sleep(0.05)
        schema_id = int(request.match_info["id"])
        if schema_id not in self.answers:
            message = f"Schema {schema_id} not found"
            return answer({"error_code": 40403, "message": message}, 404)
        return answer(self.answers[schema_id])

    async def register(self, request: web.Request) -> web.Response:
        subject = request.match_info["subject"]
        body = orjson.loads(await request.read())
        self.posted.append((subject, request.content_type, body))
        refused = self._refusal(request)
        if refused is not None:
            return refused
        if subject == "orders-incompatible-value":
            message = (
                "Schema being registered is incompatible with an earlier schema "
                f'for subject "{subject}"'
            )
            return answer({"error_code": 409, "message": message}, 409)
        for schema_id, known in self.answers.items():
            if known["schema"] == body["schema"]:
                return answer({"id": schema_id})
        schema_id = max(self.answers) + 4
        self.answers[schema_id] = {"schema": body["schema"]}
        return answer({"id": schema_id})

    def _refusal(self, request: web.Request) -> web.Response | None:
        if self.outage:
            message = "Error while forwarding the request to the primary"
            return answer({"error_code": 50003, "message": message}, 503)
        token = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
        if request.headers.get("Authorization") != f"Basic {token}":
            return answer({"error_code": 401, "message": "Unauthorized"}, 401)
        return None


def answer(body: dict[str, Any], status: int = 200) -> web.Response:
    return web.Response(
        body=orjson.dumps(body), status=status, content_type=MEDIA_TYPE
    )


@pytest.fixture
async def server() -> AsyncIterator[tuple[RecordedRegistry, str]]:
    registry = RecordedRegistry()
    runner = web.AppRunner(registry.app())
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    port = runner.addresses[0][1]
    yield registry, f"http://127.0.0.1:{port}/"
    await runner.cleanup()


@pytest.fixture
def order() -> KnownSchema:
    return order_schema()


def order_record() -> dict[str, Any]:
    return {
        "CreatedDate": 1_733_260_800_123,
        "CreatedById": "005Hs00000ABCDEF",
        "EventUuid": "6a1f0a2e-3b4c-4d5e-8f60-718293a4b5c6",
        "Order_Number__c": "00001042",
        "Total_Amount__c": 1249.5,
        "Completed_At__c": 1_733_260_799_000,
    }


def client(url: str, password: str = PASSWORD) -> RegistryClient:
    return RegistryClient(url, username=USER, password=password, timeout=5)


async def test_twenty_concurrent_decodes_fetch_the_schema_once(
    server: tuple[RecordedRegistry, str], order: KnownSchema
) -> None:
    recorded, url = server
    value = await Encoder().encode_confluent(order_record(), ORDER_ID, order)
    async with client(url) as registry:
        decoder = Decoder(SchemaStore(), registry)

        events = await asyncio.gather(*(decoder.decode(value) for _ in range(20)))
        again = await decoder.decode(value)

    assert recorded.requests[f"/schemas/ids/{ORDER_ID}"] == 1
    assert {event.schema_id for event in [*events, again]} == {str(ORDER_ID)}
    assert events[0].record["Total_Amount__c"] == 1249.5
    assert events[0].record["CreatedDate"] == 1_733_260_800_123
    assert events[0].schema_name == order.name


async def test_a_cancelled_lookup_does_not_cancel_the_shared_fetch(
    server: tuple[RecordedRegistry, str],
) -> None:
    recorded, url = server
    async with client(url) as registry:
        first = asyncio.create_task(registry.schema(ORDER_ID))
        second = asyncio.create_task(registry.schema(ORDER_ID))
        await asyncio.sleep(0.01)
        first.cancel()

        schema = await second

    assert first.cancelled()
    assert schema.schema_id == str(ORDER_ID)
    assert recorded.requests[f"/schemas/ids/{ORDER_ID}"] == 1


async def test_unknown_id_is_an_unknown_schema_and_is_asked_again(
    server: tuple[RecordedRegistry, str],
) -> None:
    recorded, url = server
    async with client(url) as registry:
        decoder = Decoder(SchemaStore(), registry)
        for _ in range(2):
            with pytest.raises(UnknownSchemaError) as caught:
                await decoder.decode(confluent_header(99) + b"\x00")

    assert caught.value.reason == "schema id 99 is not in the schema registry"
    assert recorded.requests["/schemas/ids/99"] == 2


async def test_id_beyond_signed_32_bits_is_unknown_without_asking(
    server: tuple[RecordedRegistry, str],
) -> None:
    recorded, url = server
    async with client(url) as registry:
        with pytest.raises(UnknownSchemaError, match="is above 2147483647"):
            await registry.schema(2**31)

    assert sum(recorded.requests.values()) == 0


async def test_outage_is_retriable_and_the_next_lookup_recovers(
    server: tuple[RecordedRegistry, str],
) -> None:
    recorded, url = server
    recorded.outage = True
    async with client(url) as registry:
        with pytest.raises(RegistryUnavailableError) as caught:
            await registry.schema(ORDER_ID)
        recorded.outage = False
        schema = await registry.schema(ORDER_ID)

    assert caught.value.status == 503
    assert "50003" in caught.value.reason
    assert not isinstance(caught.value, EventError)
    assert schema.name == "com.sforce.eventbus.Order_Completed__e"


async def test_rejected_credentials_are_retriable_and_stay_secret(
    server: tuple[RecordedRegistry, str],
) -> None:
    _, url = server
    async with client(url, password="wrong-password-0815") as registry:
        with pytest.raises(RegistryUnavailableError) as caught:
            await registry.schema(ORDER_ID)

    assert caught.value.status == 401
    assert "wrong-password-0815" not in str(caught.value)


async def test_404_without_the_registry_error_code_is_retriable(
    server: tuple[RecordedRegistry, str],
) -> None:
    # A wrong base URL must not dead-letter every event as an unknown schema.
    _, url = server
    async with client(url + "wrong-prefix/") as registry:
        with pytest.raises(RegistryUnavailableError) as caught:
            await registry.schema(ORDER_ID)

    assert caught.value.status == 404


async def test_unreachable_registry_is_retriable() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # Nothing listens on the port once the probe socket is closed.
    async with client(f"http://127.0.0.1:{port}") as registry:
        with pytest.raises(RegistryUnavailableError, match="unreachable"):
            await registry.schema(ORDER_ID)


async def test_non_avro_schema_is_a_decode_error(
    server: tuple[RecordedRegistry, str],
) -> None:
    _, url = server
    async with client(url) as registry:
        with pytest.raises(DecodeError, match="is PROTOBUF, not Avro"):
            await Decoder(SchemaStore(), registry).decode(
                confluent_header(PROTOBUF_ID) + b"\x00"
            )


async def test_registered_schema_id_frames_a_record_that_decodes(
    server: tuple[RecordedRegistry, str], order: KnownSchema
) -> None:
    recorded, url = server
    # A producer's newer schema; the consumer still reads with the old one.
    evolved = orjson.loads(order.source)
    evolved["fields"].append(
        {"name": "Channel__c", "type": ["null", "string"], "default": None}
    )
    writer = known_schema(orjson.dumps(evolved).decode())
    async with client(url) as publisher:
        schema_id = await publisher.register("orders-value", writer)
        same_id = await publisher.register("orders-value", writer)
        value = await Encoder(publisher).encode_confluent(
            {**order_record(), "Channel__c": "web"}, schema_id, writer
        )
    async with client(url) as consumer:
        event = await Decoder(SchemaStore(), consumer).decode(value, order)

    assert same_id == schema_id
    assert schema_id not in (ORDER_ID, PROTOBUF_ID)
    subject, content_type, body = recorded.posted[0]
    assert (subject, content_type) == ("orders-value", MEDIA_TYPE)
    assert orjson.loads(body["schema"]) == evolved
    assert event.schema_id == str(schema_id)
    assert event.framing == "confluent"
    assert event.record["Order_Number__c"] == "00001042"
    assert "Channel__c" not in event.record
    assert recorded.requests[f"/schemas/ids/{schema_id}"] == 1


async def test_incompatible_schema_is_refused_with_the_registry_reason(
    server: tuple[RecordedRegistry, str], order: KnownSchema
) -> None:
    _, url = server
    async with client(url) as registry:
        with pytest.raises(ValidationError) as caught:
            await registry.register("orders-incompatible-value", order)

    assert "incompatible with an earlier schema" in caught.value.reason
    assert "error code 409" in caught.value.reason


async def test_shared_http_client_is_left_open(
    server: tuple[RecordedRegistry, str],
) -> None:
    _, url = server
    async with httpx.AsyncClient() as http:
        async with RegistryClient(
            url, username=USER, password=PASSWORD, client=http
        ) as registry:
            schema = await registry.schema(ORDER_ID)

        assert not http.is_closed
    assert schema.schema_id == str(ORDER_ID)
