"""Schema fingerprints against the Avro specification, and loading schemas/."""

from __future__ import annotations

import struct
from pathlib import Path

import orjson
import pytest

from omniout.decode import SchemaStore, known_schema, schema_fingerprint
from omniout.decode.framing import single_object_header
from omniout.errors import ConfigError

from .samples import ACCOUNT, ORDER, SCHEMAS

# Apache Avro, share/test/data/schema-tests.txt: schema text and its
# CRC-64-AVRO fingerprint as a signed 64-bit integer (Java's long).
SPEC_VECTORS = [
    ('"null"', 7195948357588979594),
    ('{"type":"boolean"}', -6970731678124411036),
    ('"int"', 8247732601305521295),
    ('"long"', -3434872931120570953),
    ('"string"', -8142146995180207161),
    ('[ "int" , {"type":"boolean"} ]', 5392556393470105090),
    ('{"fields":[], "type":"record", "name":"foo", "namespace":"x.y"}',
     5916914534497305771),
    ('{"fields":[{"type":{"type":"boolean"}, "name":"f1"}], '
     '"type":"record", "name":"foo"}', 7843277075252814651),
    ('{"namespace":"x.y.z", "type":"enum", "name":"foo", "doc":"foo bar", '
     '"symbols":["A1", "A2"]}', -4448647247586288245),
    ('{"name":"PigValue","type":"record","fields":[{"name":"value", '
     '"type":["null", "int", "long", "PigValue"]}]}', -1759257747318642341),
]


@pytest.mark.parametrize(("text", "expected"), SPEC_VECTORS)
def test_fingerprint_matches_the_avro_specification(text: str, expected: int) -> None:
    # Single-object encoding writes the 64-bit fingerprint little-endian.
    assert schema_fingerprint(orjson.loads(text)) == struct.pack("<q", expected)


def test_int_single_object_header_matches_the_avro_reference_bytes() -> None:
    header = single_object_header(schema_fingerprint("int"))

    assert header == bytes.fromhex("c3018f5c393f1ad57572")


def test_record_schema_is_keyed_by_full_name_and_fingerprint() -> None:
    schema = known_schema(
        '{"fields":[], "type":"record", "name":"foo", "namespace":"x.y"}'
    )

    assert schema.name == "x.y.foo"
    assert schema.fingerprint == struct.pack("<q", 5916914534497305771)
    assert schema.schema_id == schema.fingerprint.hex()


def test_registry_id_replaces_the_fingerprint_as_schema_id() -> None:
    schema = known_schema('{"type":"record","name":"r","fields":[]}', schema_id="7")

    assert schema.schema_id == "7"


def test_logical_types_are_removed_except_decimal() -> None:
    schema = known_schema(
        '{"type":"record","name":"r","fields":['
        '{"name":"at","type":{"type":"long","logicalType":"timestamp-millis"}},'
        '{"name":"id","type":{"type":"string","logicalType":"uuid"}},'
        '{"name":"amount","type":{"type":"bytes","logicalType":"decimal",'
        '"precision":9,"scale":2}}]}'
    )

    types = {field["name"]: field["type"] for field in schema.plain["fields"]}
    assert "logicalType" not in types["at"]
    assert "logicalType" not in types["id"]
    assert types["amount"]["logicalType"] == "decimal"


def test_logical_types_do_not_change_the_fingerprint() -> None:
    plain = known_schema('{"type":"record","name":"r","fields":[{"name":"at",'
                         '"type":"long"}]}')
    annotated = known_schema('{"type":"record","name":"r","fields":[{"name":"at",'
                             '"type":{"type":"long","logicalType":"date"}}]}')

    assert plain.fingerprint == annotated.fingerprint


def test_store_loads_every_schema_in_the_folder(store: SchemaStore) -> None:
    assert sorted(schema.name for schema in store) == [ACCOUNT, ORDER]
    for schema in store:
        assert store.by_name(schema.name) is schema
        assert store.by_fingerprint(schema.fingerprint) is schema


def test_store_fingerprint_is_that_of_the_file_canonical_form() -> None:
    text = (SCHEMAS / "Order_Completed__e.avsc").read_text()
    store = SchemaStore.load(SCHEMAS)

    expected = schema_fingerprint(orjson.loads(text))
    assert store.by_fingerprint(expected) is store.by_name(ORDER)


def test_store_misses_return_none(store: SchemaStore) -> None:
    assert store.by_name("com.example.Nope") is None
    assert store.by_fingerprint(bytes(8)) is None


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("{not json", "not JSON"),
        ('"string"', "expected a record schema, got a JSON str"),
        ('{"type":"enum","name":"e","symbols":["A"]}',
         "expected a record schema, got 'enum'"),
        ('{"type":"record","name":"r","fields":[{"name":"a","type":"Nope"}]}',
         "not a valid Avro schema"),
        ('{"type":"record","name":"r","fields":[{"name":"a","type":"int",'
         '"default":"x"}]}', "not a valid Avro schema"),
    ],
)
def test_bad_schema_file_is_a_config_error_naming_the_file(
    tmp_path: Path, text: str, reason: str
) -> None:
    path = tmp_path / "Bad.avsc"
    path.write_text(text)

    with pytest.raises(ConfigError) as caught:
        SchemaStore.load(tmp_path)

    assert caught.value.file == str(path)
    assert reason in caught.value.reason


def test_two_files_with_one_name_are_a_config_error(tmp_path: Path) -> None:
    text = '{"type":"record","name":"r","namespace":"x","fields":[]}'
    (tmp_path / "a.avsc").write_text(text)
    (tmp_path / "b.avsc").write_text(text)

    with pytest.raises(ConfigError, match=r"x\.r is defined twice") as caught:
        SchemaStore.load(tmp_path)

    assert caught.value.file == str(tmp_path / "b.avsc")


def test_missing_folder_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such folder"):
        SchemaStore.load(tmp_path / "absent")


def test_files_without_the_avsc_suffix_are_ignored(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("not a schema")
    (tmp_path / "r.avsc").write_text('{"type":"record","name":"r","fields":[]}')

    assert [schema.name for schema in SchemaStore.load(tmp_path)] == ["r"]
