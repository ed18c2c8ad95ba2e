"""A route's mapping: the decoded event in, the outbound payload out.

A mapping is data, written in the config in one of two forms:

* one JSONata expression that builds the whole payload, or
* a table of rows ``output.path: expression``, read like a data-mapping sheet;
  a row whose value is empty (``null`` or no match) is left out.

With no mapping, the decoded event itself is the payload.
"""

from __future__ import annotations

from collections.abc import Mapping as MappingType
from typing import Any

from omniout.errors import MappingError
from omniout.mapping.expression import Expression

__all__ = ["Mapping"]


class Mapping:
    """A compiled mapping; build once when the config loads."""

    def __init__(
        self, spec: str | MappingType[str, str] | None, *, route: str = ""
    ) -> None:
        self.route = route
        self._whole: Expression | None = None
        self._rows: list[tuple[tuple[str, ...], Expression]] = []
        if isinstance(spec, str):
            self._whole = self._compile(spec, row="")
        elif spec is not None:
            for path, source in spec.items():
                self._rows.append(
                    (tuple(path.split(".")), self._compile(source, row=path))
                )

    def _compile(self, source: str, *, row: str) -> Expression:
        try:
            return Expression(source)
        except MappingError as exc:
            raise MappingError(exc.reason, route=self.route, row=row) from None

    def apply(self, event: dict[str, Any]) -> Any:
        """The payload for one event; raises MappingError naming the row."""
        if self._whole is not None:
            return self._evaluate(self._whole, event, row="")
        if not self._rows:
            return event
        payload: dict[str, Any] = {}
        for path, expression in self._rows:
            value = self._evaluate(expression, event, row=".".join(path))
            if value is not None:
                _put(payload, path, value)
        return payload

    def _evaluate(self, expression: Expression, event: Any, *, row: str) -> Any:
        try:
            return expression.evaluate(event)
        except MappingError as exc:
            raise MappingError(exc.reason, route=self.route, row=row) from None


def _put(target: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    for part in path[:-1]:
        target = target.setdefault(part, {})
    target[path[-1]] = value
