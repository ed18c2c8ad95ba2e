"""RegistryClient against a real schema registry: the local stack's Apicurio
Registry, through its Confluent-compatible API.

The address is ``OMNIOUT_TEST_REGISTRY`` (default: the local stack's, see
deploy/local/stack.sh). The registry outlives a test run, so every test uses
subjects of its own; schema ids are shared, since the registry gives one
schema text one id whatever the subject.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from omniout.config import load_settings
from omniout.decode import (
    Decoder,
    Encoder,
    KnownSchema,
    RegistryClient,
    SchemaStore,
    known_schema,
)
from omniout.decode.framing import confluent_header
from omniout.errors import UnknownSchemaError, ValidationError
from tests.integration.engine import order_schema

pytestmark = pytest.mark.integration

REGISTRY = os.environ.get(
    "OMNIOUT_TEST_REGISTRY", "http://127.0.0.1:8081/apis/ccompat/v7"
).rstrip("/")
MEDIA_TYPE = "application/vnd.schemaregistry.v1+json"
LARGEST_ID = 2**31 - 1  # ids are signed 32-bit integers in the registry
CONFIG = """
schema_registry_url: http://127.0.0.1:8081/apis/ccompat/v7
routes:
  - name: orders
    topic: event.Order_Completed__e
    schema: com.sforce.eventbus.Order_Completed__e
    endpoint:
      url: http://127.0.0.1:9000/orders
"""


@pytest.fixture
def order() -> KnownSchema:
    return order_schema()


@pytest.fixture
def subject() -> str:
    return f"orders-{uuid.uuid4().hex[:12]}-value"


def order_record() -> dict[str, Any]:
    return {
        "CreatedDate": 1_733_260_800_123,
        "CreatedById": "005Hs00000ABCDEF",
        "EventUuid": "6a1f0a2e-3b4c-4d5e-8f60-718293a4b5c6",
        "Order_Id__c": "801Hs00000XYZ123",
        "Order_Number__c": "00001042",
        "Account_Id__c": None,
        "Total_Amount__c": 1249.5,
        "Currency_Iso_Code__c": "EUR",
        "Completed_At__c": 1_733_260_799_000,
        "Requested_Ship_Date__c": None,
        "Is_Priority__c": True,
        "Line_Items_Json__c": '[{"sku": "A-1", "qty": 2}]',
        "Correlation_Id__c": None,
    }


def with_field(schema: KnownSchema, field: dict[str, Any]) -> KnownSchema:
    """``schema`` with one more field at the end."""
    source = orjson.loads(schema.source)
    source["fields"].append(field)
    return known_schema(orjson.dumps(source).decode())


async def require_backward_compatibility(subject: str) -> None:
    # The registry checks nothing by default (compatibility NONE).
    async with httpx.AsyncClient() as http:
        response = await http.put(
            f"{REGISTRY}/config/{subject}",
            content=orjson.dumps({"compatibility": "BACKWARD"}),
            headers={"Content-Type": MEDIA_TYPE},
        )
    assert response.status_code == 200, response.text


async def versions(subject: str) -> list[int]:
    async with httpx.AsyncClient() as http:
        response = await http.get(f"{REGISTRY}/subjects/{subject}/versions")
    response.raise_for_status()
    return list(orjson.loads(response.content))


async def test_registered_schema_frames_an_event_that_decodes(
    order: KnownSchema, subject: str
) -> None:
    async with RegistryClient(REGISTRY) as publisher:
        schema_id = await publisher.register(subject, order)
        same_id = await publisher.register(subject, order)
        value = await Encoder(publisher).encode_confluent(
            order_record(), schema_id, order
        )
    # A consumer of its own, so that the schema comes from the registry.
    async with RegistryClient(REGISTRY) as consumer:
        fetched = await consumer.schema(schema_id)
        event = await Decoder(SchemaStore(), consumer).decode(value, order)

    assert same_id == schema_id
    assert value[:5] == confluent_header(schema_id)
    assert fetched.fingerprint == order.fingerprint
    assert event.framing == "confluent"
    assert event.schema_id == str(schema_id)
    assert event.schema_name == "com.sforce.eventbus.Order_Completed__e"
    assert event.record == order_record()
    assert await versions(subject) == [1]


async def test_evolved_schema_with_an_optional_field_decodes_as_the_reader(
    order: KnownSchema, subject: str
) -> None:
    evolved = with_field(
        order, {"name": "Channel__c", "type": ["null", "string"], "default": None}
    )
    await require_backward_compatibility(subject)
    async with RegistryClient(REGISTRY) as publisher:
        first_id = await publisher.register(subject, order)
        evolved_id = await publisher.register(subject, evolved)
        value = await Encoder(publisher).encode_confluent(
            {**order_record(), "Channel__c": "web"}, evolved_id, evolved
        )
    async with RegistryClient(REGISTRY) as consumer:
        decoder = Decoder(SchemaStore(), consumer)
        as_reader = await decoder.decode(value, order)
        as_written = await decoder.decode(value)

    assert evolved_id != first_id
    assert await versions(subject) == [1, 2]
    assert as_reader.schema_id == str(evolved_id)
    assert as_reader.record == order_record()
    assert as_written.record == {**order_record(), "Channel__c": "web"}


async def test_incompatible_change_is_refused_with_the_registry_reason(
    order: KnownSchema, subject: str
) -> None:
    # A new field without a default: the new schema cannot read old events.
    incompatible = with_field(order, {"name": "Region__c", "type": "string"})
    await require_backward_compatibility(subject)
    async with RegistryClient(REGISTRY) as publisher:
        await publisher.register(subject, order)
        with pytest.raises(ValidationError) as caught:
            await publisher.register(subject, incompatible)

    reason = caught.value.reason
    assert reason.startswith(
        f"schema registry refused com.sforce.eventbus.Order_Completed__e "
        f"for subject {subject!r}: Incompatible artifact"
    )
    assert "Region__c" in reason
    assert await versions(subject) == [1]


async def test_unknown_id_is_an_unknown_schema_error() -> None:
    async with RegistryClient(REGISTRY) as consumer:
        with pytest.raises(UnknownSchemaError) as caught:
            await Decoder(SchemaStore(), consumer).decode(
                confluent_header(LARGEST_ID) + b"\x00"
            )

    assert caught.value.reason == (
        f"schema id {LARGEST_ID} is not in the schema registry"
    )


async def test_id_above_the_registry_range_is_an_unknown_schema_error() -> None:
    # The registry cannot parse such an id and answers a bare 404, which
    # alone would mean "wrong URL, try again".
    async with httpx.AsyncClient() as http:
        bare = await http.get(f"{REGISTRY}/schemas/ids/{LARGEST_ID + 1}")
    async with RegistryClient(REGISTRY) as consumer:
        with pytest.raises(UnknownSchemaError) as caught:
            await Decoder(SchemaStore(), consumer).decode(
                confluent_header(LARGEST_ID + 1) + b"\x00"
            )

    assert bare.status_code == 404
    assert orjson.loads(bare.content).get("error_code") != 40403
    assert caught.value.reason == (
        f"schema id {LARGEST_ID + 1} is above {LARGEST_ID}, "
        "the largest id a schema registry gives"
    )


async def test_the_config_key_points_the_service_at_the_registry(
    order: KnownSchema,
    subject: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The environment wins over the file, as for every setting.
    monkeypatch.setenv("OMNIOUT_SCHEMA_REGISTRY_URL", REGISTRY)
    config = tmp_path / "omniout.yaml"
    config.write_text(CONFIG)
    settings = load_settings(config)
    assert settings.schema_registry_url is not None
    async with RegistryClient(REGISTRY) as publisher:
        schema_id = await publisher.register(subject, order)
        value = await Encoder(publisher).encode_confluent(
            order_record(), schema_id, order
        )
    # As the service builds its decoder from the settings.
    async with RegistryClient(settings.schema_registry_url) as consumer:
        event = await Decoder(SchemaStore(), consumer).decode(value, order)

    assert event.record == order_record()
