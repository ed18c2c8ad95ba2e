"""Decoding both framings, schema evolution, and undecodable values."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import orjson
import pytest

from omniout.decode import Decoder, Encoder, KnownSchema, SchemaStore, known_schema
from omniout.decode.framing import confluent_header, single_object_header
from omniout.errors import DecodeError, UnknownSchemaError

from .samples import ACCOUNT, ORDER, FakeRegistry, account_record, order_record

SAMPLES = {ORDER: order_record, ACCOUNT: account_record}


def as_registered(schema: KnownSchema, registry_id: int) -> KnownSchema:
    return known_schema(schema.source, schema_id=str(registry_id))


def complete(record: dict[str, Any], schema: KnownSchema) -> dict[str, Any]:
    """The record as read back: unset optional fields come back as None."""
    names = [field["name"] for field in schema.plain["fields"]]
    return {name: record.get(name) for name in names}


def evolved(schema: KnownSchema, *fields: dict[str, Any]) -> KnownSchema:
    """``schema`` with ``fields`` appended, as a producer would evolve it."""
    raw = orjson.loads(schema.source)
    raw["fields"].extend(fields)
    return known_schema(orjson.dumps(raw).decode())


@pytest.mark.parametrize("name", [ORDER, ACCOUNT])
async def test_single_object_round_trip(store: SchemaStore, name: str) -> None:
    schema = store.by_name(name)
    assert schema is not None
    record = SAMPLES[name]()

    event = await Decoder(store).decode(Encoder().encode_single_object(record, schema))

    assert event.record == complete(record, schema)
    assert event.schema_name == name
    assert event.schema_id == schema.fingerprint.hex()
    assert event.framing == "single-object"


@pytest.mark.parametrize("name", [ORDER, ACCOUNT])
async def test_confluent_round_trip(store: SchemaStore, name: str) -> None:
    schema = store.by_name(name)
    assert schema is not None
    registry = FakeRegistry({42: as_registered(schema, 42)})
    record = SAMPLES[name]()

    value = await Encoder(registry).encode_confluent(record, 42, schema)
    event = await Decoder(SchemaStore(), registry).decode(value)

    assert value[:5] == bytes.fromhex("000000002a")
    assert event.record == complete(record, schema)
    assert event.schema_name == name
    assert event.schema_id == "42"
    assert event.framing == "confluent"


async def test_timestamps_stay_epoch_milliseconds_and_uuids_strings(
    store: SchemaStore, order: KnownSchema
) -> None:
    value = Encoder().encode_single_object(order_record(), order)

    record = (await Decoder(store).decode(value)).record

    assert record["CreatedDate"] == 1_733_260_800_123
    assert type(record["CreatedDate"]) is int
    assert type(record["Completed_At__c"]) is int
    assert record["EventUuid"] == "6a1f0a2e-3b4c-4d5e-8f60-718293a4b5c6"


async def test_decimal_comes_back_as_a_decimal() -> None:
    schema = known_schema(
        '{"type":"record","name":"Price","fields":[{"name":"amount","type":'
        '{"type":"bytes","logicalType":"decimal","precision":9,"scale":2}}]}'
    )
    value = Encoder().encode_single_object({"amount": Decimal("12.34")}, schema)

    event = await Decoder(SchemaStore((schema,))).decode(value)

    assert event.record == {"amount": Decimal("12.34")}


async def test_reader_ignores_a_field_the_writer_added(order: KnownSchema) -> None:
    writer = evolved(
        order, {"name": "Discount__c", "type": ["null", "double"], "default": None}
    )
    value = Encoder().encode_single_object(
        {**order_record(), "Discount__c": 5.0}, writer
    )

    event = await Decoder(SchemaStore((writer,))).decode(value, order)

    assert event.record == order_record()
    assert event.schema_id == writer.fingerprint.hex()


async def test_reader_fills_its_own_new_field_from_the_default(
    store: SchemaStore, order: KnownSchema
) -> None:
    reader = evolved(order, {"name": "Channel__c", "type": "string", "default": "web"})
    value = Encoder().encode_single_object(order_record(), order)

    event = await Decoder(store).decode(value, reader)

    assert event.record == {**order_record(), "Channel__c": "web"}
    assert event.schema_name == ORDER


async def test_reader_field_without_default_cannot_be_resolved(
    store: SchemaStore, order: KnownSchema
) -> None:
    reader = evolved(order, {"name": "Channel__c", "type": "string"})
    value = Encoder().encode_single_object(order_record(), order)

    with pytest.raises(DecodeError, match=f"cannot be read as {ORDER}"):
        await Decoder(store).decode(value, reader)


async def test_same_schema_as_reader_decodes_like_no_reader(
    store: SchemaStore, account: KnownSchema
) -> None:
    value = Encoder().encode_single_object(account_record(), account)
    decoder = Decoder(store)

    assert await decoder.decode(value, account) == await decoder.decode(value)


async def test_null_value_is_a_decode_error(store: SchemaStore) -> None:
    with pytest.raises(DecodeError, match="value is null"):
        await Decoder(store).decode(None)


async def test_unknown_fingerprint_is_an_unknown_schema(store: SchemaStore) -> None:
    value = single_object_header(bytes.fromhex("0123456789abcdef")) + b"\x00"

    with pytest.raises(UnknownSchemaError) as caught:
        await Decoder(store).decode(value)

    assert "fingerprint 0123456789abcdef" in caught.value.reason
    assert caught.value.kind == "unknown-schema"


async def test_confluent_value_without_a_registry_is_an_unknown_schema(
    store: SchemaStore,
) -> None:
    with pytest.raises(UnknownSchemaError, match="none is configured"):
        await Decoder(store).decode(confluent_header(7) + b"\x00")


async def test_unknown_registry_id_is_an_unknown_schema(store: SchemaStore) -> None:
    registry = FakeRegistry({})

    with pytest.raises(UnknownSchemaError, match="schema id 9"):
        await Decoder(store, registry).decode(confluent_header(9) + b"\x00")


async def test_registry_is_asked_for_each_confluent_value(
    store: SchemaStore, order: KnownSchema
) -> None:
    # Caching is the registry client's job; the decoder asks it every time.
    registry = FakeRegistry({3: as_registered(order, 3)})
    body = Encoder().encode_single_object(order_record(), order)[10:]
    value = confluent_header(3) + body
    decoder = Decoder(store, registry)

    for _ in range(3):
        await decoder.decode(value)

    assert registry.lookups == 3


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        (lambda value: value[:-4], "it ends too early"),
        (lambda value: value + b"\x00\x01", "2 bytes left over after a"),
    ],
)
async def test_damaged_body_is_a_decode_error_with_a_reason(
    store: SchemaStore, order: KnownSchema, damage: Any, reason: str
) -> None:
    value = damage(Encoder().encode_single_object(order_record(), order))

    with pytest.raises(DecodeError) as caught:
        await Decoder(store).decode(value)

    assert reason in caught.value.reason
    assert ORDER in caught.value.reason
    assert not isinstance(caught.value, UnknownSchemaError)


@pytest.mark.parametrize(
    ("field_type", "body", "reason"),
    [
        # Branch index 7 (zigzag 0x0e) of a two-branch union.
        ('["null","int"]', b"\x0e", "IndexError"),
        # A 2-byte string (zigzag 0x04) that is not UTF-8.
        ('"string"', b"\x04\xff\xfe", "UnicodeDecodeError"),
    ],
)
async def test_body_that_breaks_the_schema_is_a_decode_error(
    field_type: str, body: bytes, reason: str
) -> None:
    schema = known_schema(
        f'{{"type":"record","name":"U","fields":[{{"name":"u","type":{field_type}}}]}}'
    )
    value = single_object_header(schema.fingerprint) + body

    with pytest.raises(DecodeError) as caught:
        await Decoder(SchemaStore((schema,))).decode(value)

    assert caught.value.reason.startswith("body does not decode as U")
    assert reason in caught.value.reason
