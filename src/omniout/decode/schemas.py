"""Avro schemas as omniout knows them, and the local ``schemas/`` folder.

A :class:`KnownSchema` is one record schema, parsed once, with the two keys
an event can name it by: its full name and its CRC-64-AVRO fingerprint (the
Avro specification, "Schema Fingerprints": the 64-bit Rabin fingerprint of the
schema's Parsing Canonical Form, written little-endian, as in single-object
encoding).

Logical types: records handed to the mapping layer carry plain Avro values,
because mappings and JSON payloads want epoch milliseconds, not ``datetime``
objects. So the schema kept for reading and writing, ``KnownSchema.plain``,
has every ``logicalType`` removed except ``decimal`` (whose raw bytes mean
nothing without the scale, so ``decimal.Decimal`` is the more useful value).
Concretely: ``timestamp-millis`` and ``timestamp-micros`` stay ``int``
(epoch milli- and microseconds), ``date`` stays ``int`` days, ``time-*``
stay ``int``, ``uuid`` stays ``str``. The Parsing Canonical Form drops
logical types anyway, so fingerprints are unaffected.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeAlias, cast

import orjson
from fastavro import parse_schema
from fastavro.schema import (
    SchemaParseException,
    fingerprint,
    to_parsing_canonical_form,
)

from omniout.errors import ConfigError

__all__ = [
    "KnownSchema",
    "Schema",
    "SchemaStore",
    "known_schema",
    "schema_fingerprint",
]

logger = logging.getLogger(__name__)

Schema: TypeAlias = dict[str, Any]
"""A record schema as fastavro parses it."""

_KEPT_LOGICAL_TYPES = frozenset({"decimal"})


@dataclass(frozen=True, slots=True)
class KnownSchema:
    """One parsed record schema and the keys it is found by.

    ``schema_id`` is how events name it: the registry id as a decimal string,
    or the fingerprint as hex. ``source`` is the schema's JSON text as given,
    for registering it. ``plain`` is what fastavro reads and writes with
    (logical types removed, see the module docstring).
    """

    name: str
    schema_id: str
    fingerprint: bytes
    source: str
    plain: Schema


def known_schema(source: str, *, schema_id: str | None = None) -> KnownSchema:
    """Parse the JSON text of a record schema.

    ``schema_id`` defaults to the hex fingerprint. Raises ``ValueError``
    with a readable reason when the text is not a valid Avro record schema;
    callers turn it into the error their context needs.
    """
    try:
        raw = orjson.loads(source)
    except orjson.JSONDecodeError as exc:
        raise ValueError(f"not JSON: {exc}") from exc
    if not isinstance(raw, dict) or raw.get("type") != "record":
        raise ValueError(f"expected a record schema, got {_kind(raw)}")
    try:
        # A record schema parses to a dict.
        plain = cast(Schema, parse_schema(_without_logical_types(raw)))
        digest = schema_fingerprint(plain)
    except (SchemaParseException, ValueError, TypeError, KeyError) as exc:
        raise ValueError(f"not a valid Avro schema: {exc!r}") from exc
    return KnownSchema(
        name=plain["name"],
        schema_id=schema_id if schema_id is not None else digest.hex(),
        fingerprint=digest,
        source=source,
        plain=plain,
    )


def schema_fingerprint(schema: Any) -> bytes:
    """The 8-byte CRC-64-AVRO fingerprint of any schema, as framed.

    ``schema`` is a raw (JSON-loaded) or parsed schema. The Parsing
    Canonical Form and the Rabin fingerprint are fastavro's; the bytes are
    the fingerprint little-endian, as in single-object encoding.
    """
    canonical = to_parsing_canonical_form(schema)
    return bytes.fromhex(fingerprint(canonical, "CRC-64-AVRO"))


def _kind(raw: object) -> str:
    if isinstance(raw, dict):
        return repr(raw.get("type"))
    return f"a JSON {type(raw).__name__}"


def _without_logical_types(node: Any) -> Any:
    """Return a copy of a raw schema with logical types removed (see above)."""
    if isinstance(node, list):
        return [_without_logical_types(item) for item in node]
    if not isinstance(node, dict):
        return node
    keep_logical = node.get("logicalType") in _KEPT_LOGICAL_TYPES
    return {
        key: _without_logical_types(value)
        for key, value in node.items()
        if key != "logicalType" or keep_logical
    }


class SchemaStore:
    """The local schemas, by full name and by fingerprint.

    Immutable once built; lookups never block and never raise.
    """

    def __init__(self, schemas: tuple[KnownSchema, ...] = ()) -> None:
        self._by_name = {schema.name: schema for schema in schemas}
        self._by_fingerprint = {schema.fingerprint: schema for schema in schemas}

    @classmethod
    def load(cls, folder: str | Path = "schemas") -> SchemaStore:
        """Read every ``*.avsc`` file in ``folder`` (not its subfolders).

        Reads files synchronously: call it at start-up. Raises
        ``ConfigError`` naming the file for a missing folder, a file that
        is not a valid record schema, or two files defining one name.
        """
        directory = Path(folder)
        if not directory.is_dir():
            raise ConfigError(str(directory), "", "no such folder of Avro schemas")
        schemas: dict[str, KnownSchema] = {}
        for path in sorted(directory.glob("*.avsc")):
            schema = _load_file(path)
            if schema.name in schemas:
                raise ConfigError(str(path), "name", f"{schema.name} is defined twice")
            schemas[schema.name] = schema
        logger.info("Loaded %d Avro schemas from %s", len(schemas), directory)
        return cls(tuple(schemas.values()))

    def by_name(self, name: str) -> KnownSchema | None:
        """The schema with this full name, e.g. ``com.example.Order``."""
        return self._by_name.get(name)

    def by_fingerprint(self, digest: bytes) -> KnownSchema | None:
        """The schema with this 8-byte CRC-64-AVRO fingerprint."""
        return self._by_fingerprint.get(digest)

    def __iter__(self) -> Iterator[KnownSchema]:
        return iter(self._by_name.values())

    def __len__(self) -> int:
        return len(self._by_name)


def _load_file(path: Path) -> KnownSchema:
    try:
        source = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(str(path), "", f"cannot read: {exc}") from exc
    try:
        return known_schema(source)
    except ValueError as exc:
        raise ConfigError(str(path), "", str(exc)) from exc
