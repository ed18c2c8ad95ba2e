"""The two ways a Kafka record value frames an Avro body.

Confluent wire format: magic byte ``0x00``, then the registry's schema id as
a 4-byte big-endian integer, then the Avro binary body.

Avro single-object encoding (Avro specification, "Single-object encoding"):
marker ``0xC3 0x01``, then the writer schema's 8-byte CRC-64-AVRO
fingerprint, little-endian, then the Avro binary body.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Literal, TypeAlias

from omniout.errors import DecodeError

__all__ = [
    "Framing",
    "Header",
    "confluent_header",
    "read_header",
    "single_object_header",
]

Framing: TypeAlias = Literal["confluent", "single-object"]

_CONFLUENT_MAGIC = 0x00
_SINGLE_OBJECT_MARKER = b"\xc3\x01"
_CONFLUENT_ID = struct.Struct(">I")
_CONFLUENT_SIZE = 1 + _CONFLUENT_ID.size
_SINGLE_OBJECT_SIZE = len(_SINGLE_OBJECT_MARKER) + 8


@dataclass(frozen=True, slots=True)
class Header:
    """What the framing says: who wrote the body, and where it starts.

    The Confluent framing names the writer by ``registry_id``; single-object
    encoding by ``fingerprint`` (and leaves ``registry_id`` None).
    """

    framing: Framing
    body_offset: int
    registry_id: int | None = None
    fingerprint: bytes = b""


def read_header(value: bytes) -> Header:
    """Read the framing at the start of ``value``.

    Pure and cheap. Raises ``DecodeError`` when ``value`` is too short or
    starts with neither framing.
    """
    if len(value) < _CONFLUENT_SIZE:
        raise DecodeError(_too_short(len(value)))
    if value[0] == _CONFLUENT_MAGIC:
        (registry_id,) = _CONFLUENT_ID.unpack_from(value, 1)
        return Header("confluent", _CONFLUENT_SIZE, registry_id=registry_id)
    if value.startswith(_SINGLE_OBJECT_MARKER):
        return _single_object(value)
    raise DecodeError(_unknown(value))


def _single_object(value: bytes) -> Header:
    if len(value) < _SINGLE_OBJECT_SIZE:
        raise DecodeError(
            f"value is {len(value)} bytes, shorter than the "
            f"{_SINGLE_OBJECT_SIZE}-byte single-object header"
        )
    digest = value[len(_SINGLE_OBJECT_MARKER) : _SINGLE_OBJECT_SIZE]
    return Header("single-object", _SINGLE_OBJECT_SIZE, fingerprint=digest)


def _unknown(value: bytes) -> str:
    if value[0] == _SINGLE_OBJECT_MARKER[0]:
        return (
            f"unknown framing: single-object marker 0xc3 followed by "
            f"0x{value[1]:02x}; only version 0x01 is defined"
        )
    return (
        f"unknown framing: first byte 0x{value[0]:02x}, expected 0x00 "
        "(Confluent wire format) or 0xc3 0x01 (Avro single-object encoding)"
    )


def _too_short(size: int) -> str:
    if size == 0:
        return "value is empty (a tombstone?), not an Avro event"
    return f"value is {size} bytes, shorter than any Avro framing"


def confluent_header(registry_id: int) -> bytes:
    """The 5-byte Confluent prefix; ValueError unless the id fits 4 bytes."""
    if not 0 <= registry_id < 2**32:
        raise ValueError(f"schema id {registry_id} does not fit in 4 bytes")
    return bytes((_CONFLUENT_MAGIC,)) + _CONFLUENT_ID.pack(registry_id)


def single_object_header(digest: bytes) -> bytes:
    """The 10-byte single-object prefix for an 8-byte fingerprint."""
    return _SINGLE_OBJECT_MARKER + digest
