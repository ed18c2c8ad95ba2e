"""Change data capture: the field bitmaps of a change event, as names.

A change event's header lists ``changedFields``, ``nulledFields`` and
``diffFields`` as bitmaps over the positions of the record's fields in the
writer's Avro schema (the Pub/Sub API's "Event Deserialization
Considerations"). Each list holds:

* at most one entry ``0x…``: bit *n* (the least significant is 0) set means
  the top-level field at position *n* (``ChangeEventHeader`` is 0);
* entries ``p-0x…``: a bitmap over the fields of the record held by the
  compound field at position *p* (an address, a person name), whose names
  expand as ``Parent.Child``.

The field table of a schema is built once per schema; expanding one event
is a few integer operations per entry. The pipeline expands once per
record, and only for topics where a route mentions ``$changed``,
``$nulled`` or ``$diffed``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from omniout.errors import GapEventError, MappingError

__all__ = [
    "CDC_BINDINGS",
    "FieldTable",
    "FieldTables",
    "change_bindings",
    "expand",
    "field_table",
    "is_gap",
    "refuse_gap",
]

HEADER = "ChangeEventHeader"

# Binding name -> header field that it expands.
CDC_BINDINGS = {
    "changed": "changedFields",
    "nulled": "nulledFields",
    "diffed": "diffFields",
}


@dataclass(frozen=True, slots=True)
class FieldTable:
    """Top-level field names in schema order; children of compound fields."""

    names: tuple[str, ...]
    children: dict[int, tuple[str, ...]]


class FieldTables:
    """Field tables by schema fingerprint; each is built on first use."""

    def __init__(self) -> None:
        self._tables: dict[bytes, FieldTable] = {}

    def get(self, fingerprint: bytes, schema: dict[str, Any]) -> FieldTable:
        table = self._tables.get(fingerprint)
        if table is None:
            table = self._tables[fingerprint] = field_table(schema)
        return table


def field_table(schema: dict[str, Any]) -> FieldTable:
    """The field table of a parsed record schema.

    A record type used twice (``ShippingAddress`` reuses ``Address``) is
    written out once and named after that, so named records are collected
    as the walk goes.
    """
    named: dict[str, dict[str, Any]] = {}
    fields = schema.get("fields", [])
    children: dict[int, tuple[str, ...]] = {}
    for index, field in enumerate(fields):
        record = _record_of(field["type"], named)
        if record is not None:
            children[index] = tuple(f["name"] for f in record["fields"])
    return FieldTable(tuple(f["name"] for f in fields), children)


def _record_of(kind: Any, named: dict[str, dict[str, Any]]) -> dict[str, Any] | None:
    if isinstance(kind, str):
        return named.get(kind)
    if isinstance(kind, dict) and kind.get("type") == "record":
        named[kind["name"]] = kind
        return kind
    if isinstance(kind, list):
        for branch in kind:
            found = _record_of(branch, named)
            if found is not None:
                return found
    return None


def expand(table: FieldTable, entries: list[str]) -> list[str]:
    """The field names that the bitmap ``entries`` mark, in schema order.

    Raises MappingError for an entry that is not a bitmap, names a parent
    that is not a compound field, or sets a bit past the last field.
    """
    names: list[str] = []
    for entry in entries:
        parent, _, bits = entry.rpartition("-")
        if not parent:
            names.extend(_marked(table.names, bits, entry))
            continue
        try:
            index = int(parent)
        except ValueError:
            raise MappingError(f"CDC bitmap {entry!r} is malformed") from None
        children = table.children.get(index)
        if children is None:
            raise MappingError(
                f"CDC bitmap {entry!r}: field {index} is not a compound field"
            )
        prefix = table.names[index]
        names.extend(f"{prefix}.{name}" for name in _marked(children, bits, entry))
    return names


def _marked(names: tuple[str, ...], bits: str, entry: str) -> list[str]:
    if not bits.lower().startswith("0x"):
        raise MappingError(f"CDC bitmap {entry!r} is malformed")
    try:
        value = int(bits, 16)
    except ValueError:
        raise MappingError(f"CDC bitmap {entry!r} is malformed") from None
    if value >> len(names):
        raise MappingError(
            f"CDC bitmap {entry!r} marks a field past the last of {len(names)}"
        )
    return [name for position, name in enumerate(names) if value >> position & 1]


def change_bindings(event: dict[str, Any], table: FieldTable) -> dict[str, Any]:
    """``changed``, ``nulled`` and ``diffed`` for one change event.

    An event without a change event header binds three empty lists, so a
    route over a mixed topic needs no guard.
    """
    header = event.get(HEADER)
    if not isinstance(header, dict):
        return {name: [] for name in CDC_BINDINGS}
    return {
        name: expand(table, header.get(field) or [])
        for name, field in CDC_BINDINGS.items()
    }


def is_gap(event: dict[str, Any]) -> bool:
    """Whether ``event`` is a change event of a ``GAP_*`` type."""
    header = event.get(HEADER)
    if not isinstance(header, dict):
        return False
    return str(header.get("changeType") or "").startswith("GAP_")


def refuse_gap(event: dict[str, Any]) -> None:
    """Raise GapEventError for a gap event (``GAP_*``, ``GAP_OVERFLOW``).

    A gap event says that changes happened which the platform could not
    capture: it carries no field values, only the ids to re-read (none at
    all for ``GAP_OVERFLOW``).
    """
    header = event.get(HEADER)
    if not isinstance(header, dict):
        return
    change = str(header.get("changeType") or "")
    if not change.startswith("GAP_"):
        return
    entity = header.get("entityName") or "record"
    ids = header.get("recordIds") or []
    if change == "GAP_OVERFLOW":
        reason = (
            f"GAP_OVERFLOW for {entity}: too many changes to capture; "
            "re-read the changed records"
        )
    else:
        reason = (
            f"{change} for {entity} {', '.join(map(str, ids))}: the change "
            "was not captured; re-read the record by id"
        )
    raise GapEventError(reason, change_type=change)
