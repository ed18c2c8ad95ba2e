"""Encodes records in either framing, for the publish command.

Records have the shape the decoder returns: plain Avro values, so a
``timestamp-millis`` field takes epoch milliseconds as an int (see
:mod:`omniout.decode.schemas`). Each record is validated first, and a
record that does not fit fails with ``ValidationError`` naming the field,
e.g. ``field 'Total_Amount__c': expected double or null, got 'abc'``.
Fields the schema does not have are refused at the top level of the record
(a typo would otherwise be dropped silently); nested records are not
checked for extra fields.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from typing import Any

from fastavro import schemaless_writer
from fastavro.validation import ValidationError as AvroValidationError
from fastavro.validation import ValidationErrorData, validate

from omniout.decode.framing import confluent_header, single_object_header
from omniout.decode.registry import RegistryLookup
from omniout.decode.schemas import KnownSchema
from omniout.errors import ValidationError

__all__ = ["Encoder"]

_SHOWN = 60


class Encoder:
    """Validates and encodes records; safe to share.

    With a registry, :meth:`encode_confluent` first checks that the id
    really names the schema given, since a wrong id would make every
    consumer read the body with the wrong schema.
    """

    def __init__(self, registry: RegistryLookup | None = None) -> None:
        self._registry = registry

    def encode_single_object(
        self, record: Mapping[str, Any], schema: KnownSchema
    ) -> bytes:
        """``C3 01``, the schema's fingerprint, then the Avro body.

        Raises ``ValidationError`` when the record does not fit ``schema``.
        """
        return single_object_header(schema.fingerprint) + _body(record, schema)

    def encode_registered(
        self, record: Mapping[str, Any], schema_id: int, schema: KnownSchema
    ) -> bytes:
        """The Confluent framing for an id that is known to name ``schema``.

        For a caller that has just registered ``schema`` and been given
        ``schema_id``: asking the registry again would prove nothing. Raises
        ``ValidationError`` when the record does not fit ``schema``.
        """
        return confluent_header(schema_id) + _body(record, schema)

    async def encode_confluent(
        self, record: Mapping[str, Any], schema_id: int, schema: KnownSchema
    ) -> bytes:
        """``00``, the 4-byte registry id, then the Avro body.

        Raises ``ValidationError`` when the record does not fit ``schema``
        or the registry has another schema under ``schema_id``; the
        registry's own errors as :meth:`RegistryLookup.schema` raises them.
        """
        body = _body(record, schema)
        if self._registry is not None:
            registered = await self._registry.schema(schema_id)
            _check_same(schema_id, registered, schema)
        return confluent_header(schema_id) + body


def _body(record: Mapping[str, Any], schema: KnownSchema) -> bytes:
    if not isinstance(record, Mapping):
        raise ValidationError(
            f"a {schema.name} record must be an object, not a "
            f"{type(record).__name__}"
        )
    _check_known_fields(record, schema)
    try:
        validate(record, schema.plain, raise_errors=True)
    except AvroValidationError as exc:
        raise ValidationError(_reason(exc.errors, schema.name)) from exc
    buffer = io.BytesIO()
    schemaless_writer(buffer, schema.plain, record)
    return buffer.getvalue()


def _check_known_fields(record: Mapping[str, Any], schema: KnownSchema) -> None:
    known = {field["name"] for field in schema.plain["fields"]}
    unknown = sorted(name for name in record if name not in known)
    if unknown:
        label = "field" if len(unknown) == 1 else "fields"
        names = ", ".join(map(repr, unknown))
        raise ValidationError(f"{label} {names}: not in schema {schema.name}")


def _check_same(schema_id: int, registered: KnownSchema, given: KnownSchema) -> None:
    if registered.fingerprint != given.fingerprint:
        raise ValidationError(
            f"schema id {schema_id} in the registry is {registered.name} "
            f"(fingerprint {registered.fingerprint.hex()}), not the given "
            f"{given.name} (fingerprint {given.fingerprint.hex()})"
        )


def _reason(errors: Sequence[ValidationErrorData], top_name: str) -> str:
    """One field's failure, with every type its union would have taken.

    fastavro lists a union's failed branches in order; for a record branch
    they come from inside the record, so the last field named is the
    deepest and most telling one.
    """
    last = errors[-1]
    expected = [_type_name(e.schema) for e in errors if e.field == last.field]
    # Name the real types before null: "double or null" reads as intended.
    ordered = sorted(dict.fromkeys(expected), key=lambda name: name == "null")
    return (
        f"field {_field_label(last.field, top_name)!r}: "
        f"expected {' or '.join(ordered)}, got {_shown(last.datum)}"
    )


def _field_label(path: str | None, top_name: str) -> str:
    """``Record.field`` as fastavro reports it, short for the top record."""
    if not path:
        return "(the record)"
    record_name, _, field = path.rpartition(".")
    if record_name == top_name:
        return field
    return f"{record_name.rpartition('.')[2]}.{field}"


def _type_name(schema: Any) -> str:
    if isinstance(schema, str):
        return schema.rpartition(".")[2]
    if isinstance(schema, list):
        return " or ".join(_type_name(branch) for branch in schema)
    kind = schema.get("type")
    if kind in ("record", "enum", "fixed"):
        return f"{kind} {_type_name(schema['name'])}"
    if kind == "array":
        return f"array of {_type_name(schema['items'])}"
    if kind == "map":
        return f"map of {_type_name(schema['values'])}"
    return _type_name(kind)


def _shown(datum: object) -> str:
    if datum is None:
        return "null (or no value)"
    text = repr(datum)
    return text if len(text) <= _SHOWN else text[: _SHOWN - 3] + "..."
