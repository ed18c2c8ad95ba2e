"""A route's mapping: the decoded event in, the outbound payload out.

A mapping is data, written in the config in one of two forms:

* one JSONata expression that builds the whole payload, or
* a table of rows ``output.path: expression`` (or ``output.path: {expr,
  default, map}``, see :mod:`omniout.mapping.rows`), read like a
  data-mapping sheet; a row whose value stays empty is left out.

With no mapping, the decoded event itself is the payload. Per-event
bindings (``$nowMillis``, the CDC field lists) come in with each call.
"""

from __future__ import annotations

from collections.abc import Mapping as MappingType
from typing import Any

from omniout.errors import MappingError
from omniout.mapping.expression import Expression
from omniout.mapping.rows import Row, RowSettings, map_key

__all__ = ["Mapping", "RowSpec"]

RowSpec = str | RowSettings


class Mapping:
    """A compiled mapping; build once when the config loads."""

    def __init__(
        self, spec: str | MappingType[str, RowSpec] | None, *, route: str = ""
    ) -> None:
        self.route = route
        self._whole: Expression | None = None
        self._rows: list[Row] = []
        if isinstance(spec, str):
            self._whole = self._compile(spec, row="")
        elif spec is not None:
            self._rows = [self._row(path, row) for path, row in spec.items()]
        expressions = [r.expression for r in self._rows]
        if self._whole is not None:
            expressions.append(self._whole)
        self.variables: frozenset[str] = frozenset().union(
            *(e.variables for e in expressions)
        )

    def _row(self, path: str, spec: RowSpec) -> Row:
        if isinstance(spec, str):
            return Row(tuple(path.split(".")), self._compile(spec, row=path))
        values = None
        if spec.map is not None:
            values = {map_key(key): value for key, value in spec.map.items()}
        return Row(
            tuple(path.split(".")),
            self._compile(spec.expr, row=path),
            default=spec.default,
            values=values,
        )

    def _compile(self, source: str, *, row: str) -> Expression:
        try:
            return Expression(source)
        except MappingError as exc:
            raise MappingError(exc.reason, route=self.route, row=row) from None

    def apply(
        self, event: dict[str, Any], bindings: dict[str, Any] | None = None
    ) -> Any:
        """The payload for one event; raises MappingError naming the row."""
        if self._whole is not None:
            return self._evaluate(self._whole, event, bindings, row="")
        if not self._rows:
            return event
        payload: dict[str, Any] = {}
        for row in self._rows:
            found = self._evaluate(row.expression, event, bindings, row=row.name)
            value = row.finish(found)
            if value is not None and not _put(payload, row.path, value):
                raise MappingError(
                    "an earlier row put a value that is not an object on this path",
                    route=self.route,
                    row=row.name,
                )
        return payload

    def _evaluate(
        self,
        expression: Expression,
        event: Any,
        bindings: dict[str, Any] | None,
        *,
        row: str,
    ) -> Any:
        try:
            return expression.evaluate(event, bindings)
        except MappingError as exc:
            raise MappingError(exc.reason, route=self.route, row=row) from None


def _put(target: dict[str, Any], path: tuple[str, ...], value: Any) -> bool:
    """Set ``value`` at ``path``; False where a non-object is in the way."""
    for part in path[:-1]:
        target = target.setdefault(part, {})
        if not isinstance(target, dict):
            return False
    target[path[-1]] = value
    return True
