"""Reading and preparing events for ``omniout publish`` (no broker)."""

from __future__ import annotations

import io
import uuid
from pathlib import Path
from typing import Any

import pytest

from omniout.decode import KnownSchema, SchemaStore
from omniout.publish import PublishError, open_input, prepare, read_events

SCHEMAS = Path(__file__).parents[2] / "schemas"


@pytest.fixture(scope="module")
def orders() -> KnownSchema:
    schema = SchemaStore.load(SCHEMAS).by_name("com.sforce.eventbus.Order_Completed__e")
    assert schema is not None
    return schema


def event(**fields: Any) -> dict[str, Any]:
    return {"CreatedById": "005000000000001AAA", **fields}


def test_blank_lines_are_skipped_and_line_numbers_kept() -> None:
    lines = ['{"a": 1}\n', "\n", "   \n", '{"a": 2}\n']

    assert read_events(lines) == [(1, {"a": 1}), (4, {"a": 2})]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{nope", "line 2: not JSON"),
        ('"text"', "line 2: an event must be a JSON object"),
    ],
)
def test_a_line_that_is_no_json_object_is_named(line: str, message: str) -> None:
    with pytest.raises(PublishError, match=message):
        read_events(["{}", line])


def test_input_that_is_not_utf8_is_refused(tmp_path: Path) -> None:
    source = tmp_path / "latin1.jsonl"
    source.write_bytes('{"a": "Ä"}\n'.encode("latin-1"))

    with pytest.raises(PublishError, match="not UTF-8"):
        open_input(str(source), io.StringIO())


def test_dash_and_no_file_mean_standard_input() -> None:
    stdin = io.StringIO("{}\n")

    assert open_input("-", stdin) is stdin
    assert open_input(None, stdin) is stdin


def test_missing_uuid_and_date_are_filled_and_given_ones_kept(
    orders: KnownSchema,
) -> None:
    given = event(EventUuid="7f0e8e43-1f0c-4bb6-9a59-8d2f4a0e0f11", CreatedDate=5)
    events = [(1, event()), (2, given)]

    records = prepare(events, orders, clock=lambda: 1_700_000_000.5)

    filled = events[0][1]
    assert uuid.UUID(filled["EventUuid"]).version == 4
    assert filled["CreatedDate"] == 1_700_000_000_500
    assert given["CreatedDate"] == 5
    assert [r.request_id for r in records] == [
        filled["EventUuid"],
        given["EventUuid"],
    ]


def test_the_key_comes_from_the_named_field(orders: KnownSchema) -> None:
    records = prepare(
        [(1, event(Order_Id__c="801A")), (2, event(Order_Id__c="801B"))],
        orders,
        key_field="Order_Id__c",
    )

    assert [r.key for r in records] == [b"801A", b"801B"]


def test_no_key_field_means_no_key(orders: KnownSchema) -> None:
    assert [r.key for r in prepare([(1, event())], orders)] == [None]


def test_an_empty_key_names_its_line(orders: KnownSchema) -> None:
    events = [(1, event(Order_Id__c="801A")), (7, event())]

    with pytest.raises(PublishError, match="line 7: key field 'Order_Id__c'"):
        prepare(events, orders, key_field="Order_Id__c")


def test_a_key_field_outside_the_schema_is_refused(orders: KnownSchema) -> None:
    with pytest.raises(PublishError, match="key field 'Id' is not in schema"):
        prepare([(1, event())], orders, key_field="Id")


def test_an_invalid_event_names_its_line_and_field(orders: KnownSchema) -> None:
    events = [(1, event()), (3, event(Total_Amount__c="abc"))]

    with pytest.raises(PublishError, match="line 3: field 'Total_Amount__c'"):
        prepare(events, orders)


def test_without_a_schema_id_values_are_single_object(orders: KnownSchema) -> None:
    [record] = prepare([(1, event())], orders)

    assert record.value[:10] == b"\xc3\x01" + orders.fingerprint


def test_a_schema_id_frames_every_value_confluent(orders: KnownSchema) -> None:
    events = [(1, event()), (2, event())]

    single = prepare(events, orders)
    confluent = prepare(events, orders, schema_id=258)

    for plain, framed in zip(single, confluent, strict=True):
        assert framed.value[:5] == b"\x00\x00\x00\x01\x02"
        assert framed.value[5:] == plain.value[10:]
