"""Reading and writing the Confluent and single-object framings."""

from __future__ import annotations

import pytest

from omniout.decode.framing import confluent_header, read_header, single_object_header
from omniout.errors import DecodeError


def test_confluent_header_carries_a_big_endian_registry_id() -> None:
    header = read_header(bytes.fromhex("00000001f4") + b"body")

    assert header.framing == "confluent"
    assert header.registry_id == 500
    assert header.body_offset == 5


def test_confluent_header_round_trips() -> None:
    assert read_header(confluent_header(70_000)).registry_id == 70_000


@pytest.mark.parametrize("registry_id", [-1, 2**32])
def test_confluent_header_refuses_ids_outside_four_bytes(registry_id: int) -> None:
    with pytest.raises(ValueError, match="does not fit in 4 bytes"):
        confluent_header(registry_id)


def test_single_object_header_carries_the_fingerprint_bytes() -> None:
    fingerprint = bytes.fromhex("8f5c393f1ad57572")

    header = read_header(single_object_header(fingerprint) + b"\x02")

    assert header.framing == "single-object"
    assert header.fingerprint == fingerprint
    assert header.registry_id is None
    assert header.body_offset == 10


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (b"", "value is empty (a tombstone?), not an Avro event"),
        (b"abc", "value is 3 bytes, shorter than any Avro framing"),
        (b'{"a":1}', "unknown framing: first byte 0x7b, expected 0x00"),
        (b"\xc3\x02" + bytes(10), "single-object marker 0xc3 followed by 0x02"),
        (b"\xc3\x01\x00\x00\x00\x00",
         "value is 6 bytes, shorter than the 10-byte single-object header"),
    ],
)
def test_unframed_values_are_refused_with_a_reason(value: bytes, reason: str) -> None:
    with pytest.raises(DecodeError) as caught:
        read_header(value)

    assert reason in caught.value.reason
    assert caught.value.kind == "decode"
