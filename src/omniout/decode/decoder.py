"""Turns a Kafka record value into an Avro record.

The framing (see :mod:`omniout.decode.framing`) names the writer's schema:
a registry id is looked up in the schema registry, a fingerprint in the local
:class:`~omniout.decode.schemas.SchemaStore`. The body is read with the
writer's schema and resolved against the route's reader schema (Avro
specification, "Schema Resolution"), so producers may add fields with
defaults, or drop fields the reader has defaults for.

Cost: everything derived from a schema (parsing, logical types removed,
fingerprint) is computed once per schema, in its ``KnownSchema``; when writer
and reader have the same fingerprint the resolution step is skipped. fastavro
walks the resolution per record, so an evolved writer costs a little more.
The registry lookup is the only await, and it suspends only the first time
an id is seen.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any, cast

from fastavro import schemaless_reader
from fastavro.read import SchemaResolutionError

from omniout.decode.framing import Framing, Header, read_header
from omniout.decode.registry import RegistryLookup
from omniout.decode.schemas import KnownSchema, Schema, SchemaStore
from omniout.errors import DecodeError, UnknownSchemaError

__all__ = ["DecodedEvent", "Decoder"]

# What fastavro raises on bytes that do not fit the schema: a body cut short
# (EOFError), invalid UTF-8, a union or enum index out of range, a varint too
# long, and writer/reader schemas that cannot be resolved.
_BODY_ERRORS = (
    EOFError,
    ValueError,
    IndexError,
    KeyError,
    TypeError,
    OverflowError,
    SchemaResolutionError,
)


@dataclass(frozen=True, slots=True)
class DecodedEvent:
    """One decoded event.

    ``record`` has the reader's shape, with plain Avro values (timestamps as
    epoch milliseconds; see :mod:`omniout.decode.schemas`). ``schema_name``
    and ``schema_id`` name the writer's schema: the registry id as a decimal
    string, or the CRC-64-AVRO fingerprint as hex (its bytes as framed).
    ``writer`` is that schema itself (CDC field bitmaps count its fields).
    """

    record: dict[str, Any]
    schema_name: str
    schema_id: str
    framing: Framing
    writer: KnownSchema | None = None


class Decoder:
    """Decodes both framings; safe to share between concurrent events.

    Without a registry, Confluent-framed values fail with
    ``UnknownSchemaError``.
    """

    def __init__(
        self, store: SchemaStore, registry: RegistryLookup | None = None
    ) -> None:
        self._store = store
        self._registry = registry

    async def decode(
        self, value: bytes | None, reader: KnownSchema | None = None
    ) -> DecodedEvent:
        """Decode ``value``; ``reader`` None means the writer's own schema.

        Raises ``DecodeError`` (with a reason for the dead-letter topic) for
        bytes that are not an Avro event (a null value included),
        ``UnknownSchemaError`` when the writer's schema cannot be found, and
        ``RegistryUnavailableError`` when the registry cannot answer now
        (retry; do not dead-letter).
        """
        if value is None:
            raise DecodeError("value is null (a tombstone?), not an Avro event")
        header = read_header(value)
        if header.registry_id is None:
            writer = self._local(header.fingerprint)
        else:
            writer = await self._registered(header.registry_id)
        record = _read_body(value, header, writer, reader)
        return DecodedEvent(
            record, writer.name, writer.schema_id, header.framing, writer
        )

    def _local(self, fingerprint: bytes) -> KnownSchema:
        writer = self._store.by_fingerprint(fingerprint)
        if writer is None:
            raise UnknownSchemaError(
                f"no local schema has CRC-64-AVRO fingerprint {fingerprint.hex()}"
            )
        return writer

    async def _registered(self, registry_id: int) -> KnownSchema:
        if self._registry is None:
            raise UnknownSchemaError(
                f"schema id {registry_id} needs a schema registry, "
                "and none is configured"
            )
        return await self._registry.schema(registry_id)


def _read_body(
    value: bytes, header: Header, writer: KnownSchema, reader: KnownSchema | None
) -> dict[str, Any]:
    # BytesIO shares the buffer of a bytes object until written to, so seeking
    # past the header is cheaper than wrapping a memoryview slice (a copy).
    buffer = io.BytesIO(value)
    buffer.seek(header.body_offset)
    try:
        record = schemaless_reader(buffer, writer.plain, _resolving(writer, reader))
    except _BODY_ERRORS as exc:
        raise DecodeError(_unreadable(writer, reader, exc)) from exc
    left_over = len(value) - buffer.tell()
    if left_over:
        raise DecodeError(
            f"{left_over} bytes left over after a {writer.name} record "
            f"(schema {writer.schema_id})"
        )
    return cast(dict[str, Any], record)  # a record schema reads as a dict


def _resolving(writer: KnownSchema, reader: KnownSchema | None) -> Schema | None:
    """The reader schema to resolve against, None when there is nothing to do."""
    if reader is None or reader.fingerprint == writer.fingerprint:
        return None
    return reader.plain


def _unreadable(
    writer: KnownSchema, reader: KnownSchema | None, exc: Exception
) -> str:
    written = f"{writer.name} (schema {writer.schema_id})"
    if isinstance(exc, SchemaResolutionError) and reader is not None:
        return f"{written} cannot be read as {reader.name}: {exc}"
    if isinstance(exc, EOFError):
        return f"body does not decode as {written}: it ends too early"
    return f"body does not decode as {written}: {type(exc).__name__}: {exc}"
