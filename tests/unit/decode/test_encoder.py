"""Encoding for the publish command: framing bytes and validation reasons."""

from __future__ import annotations

from typing import Any

import pytest

from omniout.decode import Encoder, KnownSchema, known_schema
from omniout.errors import UnknownSchemaError, ValidationError

from .samples import FakeRegistry, account_record, order_record


def test_single_object_value_starts_with_marker_and_fingerprint(
    order: KnownSchema,
) -> None:
    value = Encoder().encode_single_object(order_record(), order)

    assert value[:2] == b"\xc3\x01"
    assert value[2:10] == order.fingerprint


async def test_confluent_value_starts_with_magic_and_id(order: KnownSchema) -> None:
    value = await Encoder().encode_confluent(order_record(), 258, order)

    assert value[:5] == b"\x00\x00\x00\x01\x02"


async def test_both_framings_share_one_body(order: KnownSchema) -> None:
    encoder = Encoder()

    single = encoder.encode_single_object(order_record(), order)
    confluent = await encoder.encode_confluent(order_record(), 1, order)

    assert single[10:] == confluent[5:]


def test_a_registered_id_frames_without_asking_the_registry(
    order: KnownSchema,
) -> None:
    # No registry at all: the id is taken as the caller's registration gave it.
    value = Encoder().encode_registered(order_record(), 258, order)
    single = Encoder().encode_single_object(order_record(), order)

    assert value[:5] == b"\x00\x00\x00\x01\x02"
    assert value[5:] == single[10:]


def test_a_registered_id_still_validates_the_record(order: KnownSchema) -> None:
    with pytest.raises(ValidationError, match="Total_Amount__c"):
        Encoder().encode_registered(
            {**order_record(), "Total_Amount__c": "abc"}, 1, order
        )


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"Total_Amount__c": "abc"},
         "field 'Total_Amount__c': expected double or null, got 'abc'"),
        ({"CreatedDate": None},
         "field 'CreatedDate': expected long, got null (or no value)"),
        ({"Is_Priority__c": "yes"},
         "field 'Is_Priority__c': expected boolean or null, got 'yes'"),
        ({"Totl_Amount__c": 1.0},
         "field 'Totl_Amount__c': not in schema com.sforce.eventbus."),
    ],
)
def test_order_that_does_not_fit_names_the_field(
    order: KnownSchema, change: dict[str, Any], reason: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        Encoder().encode_single_object({**order_record(), **change}, order)

    assert caught.value.reason.startswith(reason)
    assert caught.value.kind == "validation"


def test_missing_required_field_names_the_field(order: KnownSchema) -> None:
    record = order_record()
    del record["CreatedById"]

    with pytest.raises(ValidationError, match="field 'CreatedById': expected string"):
        Encoder().encode_single_object(record, order)


@pytest.mark.parametrize(
    ("path", "value", "reason"),
    [
        (("ChangeEventHeader", "changeType"), "NOPE",
         "field 'ChangeEventHeader.changeType': expected enum ChangeType, got 'NOPE'"),
        (("ChangeEventHeader", "recordIds"), [1],
         "field 'ChangeEventHeader.recordIds': expected string, got 1"),
        (("BillingAddress", "Latitude"), "north",
         "field 'Address.Latitude': expected double or null, got 'north'"),
        (("Name",), 5,
         "field 'Name': expected string or record PersonName or null, got 5"),
    ],
)
def test_nested_field_that_does_not_fit_is_named_with_its_record(
    account: KnownSchema, path: tuple[str, ...], value: object, reason: str
) -> None:
    record = account_record()
    target = record
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value

    with pytest.raises(ValidationError) as caught:
        Encoder().encode_single_object(record, account)

    assert caught.value.reason == reason


def test_long_values_are_cut_short_in_the_reason(order: KnownSchema) -> None:
    with pytest.raises(ValidationError) as caught:
        Encoder().encode_single_object(
            {**order_record(), "Total_Amount__c": "x" * 500}, order
        )

    assert caught.value.reason.endswith("...")
    assert len(caught.value.reason) < 150


def test_record_that_is_not_an_object_is_refused(order: KnownSchema) -> None:
    not_a_record: Any = [order_record()]

    with pytest.raises(ValidationError, match="must be an object, not a list"):
        Encoder().encode_single_object(not_a_record, order)


async def test_confluent_id_must_name_the_given_schema_in_the_registry(
    order: KnownSchema, account: KnownSchema
) -> None:
    registry = FakeRegistry({5: known_schema(account.source, schema_id="5")})

    with pytest.raises(ValidationError, match="schema id 5 in the registry is"):
        await Encoder(registry).encode_confluent(order_record(), 5, order)


async def test_confluent_id_unknown_to_the_registry_is_refused(
    order: KnownSchema,
) -> None:
    with pytest.raises(UnknownSchemaError):
        await Encoder(FakeRegistry({})).encode_confluent(order_record(), 5, order)


async def test_invalid_record_is_refused_before_the_registry_is_asked(
    order: KnownSchema,
) -> None:
    registry = FakeRegistry({})

    with pytest.raises(ValidationError):
        await Encoder(registry).encode_confluent({"CreatedDate": "now"}, 5, order)

    assert registry.lookups == 0
