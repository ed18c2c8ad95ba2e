"""One row of a mapping table: where the value goes and how it is found.

A row is written either as a plain expression (``total.amount:
Total_Amount__c``) or as a mapping with the expression, a default and a
value map for picklist translation::

    tier:
      expr: Customer_Tier__c
      map: {Gold: G, Silver: S}
      default: X

The expression is evaluated first; its value is looked up in ``map`` (when
given); an empty value (null or no match), or a value the map does not
hold, becomes ``default``. A row that still has no value is left out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict

from omniout.mapping.expression import Expression

__all__ = ["Row", "RowSettings", "map_key"]

MapKey = str | bool | int | float


class RowSettings(BaseModel):
    """The long form of a row, as read from the config."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    expr: str
    default: Any = None
    map: dict[MapKey, Any] | None = None


@dataclass(frozen=True, slots=True)
class Row:
    """A compiled row; ``values`` has its keys normalised by ``map_key``."""

    path: tuple[str, ...]
    expression: Expression
    default: Any = None
    values: dict[str, Any] | None = None

    @property
    def name(self) -> str:
        return ".".join(self.path)

    def finish(self, value: Any) -> Any:
        """The row's output for the expression's ``value``."""
        if self.values is not None and value is not None:
            value = self.values.get(map_key(value), None)
        return self.default if value is None else value


def map_key(value: Any) -> str:
    """The text a value is looked up by in a value map.

    YAML reads ``true:`` and ``1:`` as a boolean and a number, and Avro
    numbers arrive as doubles, so ``True``, ``"true"`` and ``1.0`` must meet
    the keys ``true`` and ``1``.
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
