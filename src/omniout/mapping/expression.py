"""JSONata expressions, compiled once and evaluated per event.

The engine is jsonatapy (a Rust implementation), kept behind this one small
wrapper so that it can be swapped for another implementation of the language.
"""

from __future__ import annotations

from typing import Any

import jsonatapy

from omniout.errors import MappingError

__all__ = ["Expression"]


class Expression:
    """A compiled JSONata expression; cheap to evaluate many times."""

    __slots__ = ("_compiled", "source")

    def __init__(self, source: str) -> None:
        """Compile ``source``; a syntax error raises MappingError."""
        self.source = source
        try:
            self._compiled = jsonatapy.compile(source)
        except ValueError as exc:
            raise MappingError(f"invalid expression {source!r}: {exc}") from None

    def evaluate(self, data: Any, bindings: dict[str, Any] | None = None) -> Any:
        """Evaluate against ``data``; a runtime error raises MappingError."""
        try:
            return self._compiled.evaluate(data, bindings)
        except (ValueError, TypeError) as exc:
            raise MappingError(f"{self.source!r} failed: {exc}") from None

    def __repr__(self) -> str:
        return f"Expression({self.source!r})"
