"""JSONata expressions, compiled once and evaluated per event.

The engine is jsonatapy (a Rust implementation), kept behind this one small
wrapper so that it can be swapped for another implementation of the language.
The helper functions of :mod:`omniout.mapping.functions` are registered on
each expression as it is compiled.
"""

from __future__ import annotations

import re
from typing import Any

import jsonatapy

from omniout.errors import MappingError
from omniout.mapping.cdc import CDC_BINDINGS
from omniout.mapping.functions import HELPERS

__all__ = ["BOUND", "Expression"]

# The variables the pipeline binds per event (see omniout.pipeline).
BOUND = frozenset({"nowMillis", *CDC_BINDINGS})

_VARIABLE = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")


class Expression:
    """A compiled JSONata expression; cheap to evaluate many times.

    ``variables`` holds every ``$name`` the source mentions (functions and
    bindings alike), so callers can tell which per-event bindings it needs.
    """

    __slots__ = ("_compiled", "reads_bindings", "source", "variables")

    def __init__(self, source: str) -> None:
        """Compile ``source``; a syntax error raises MappingError."""
        self.source = source
        try:
            self._compiled = jsonatapy.compile(source)
        except ValueError as exc:
            raise MappingError(f"invalid expression {source!r}: {exc}") from None
        for name, function in HELPERS.items():
            self._compiled.register(name, function)
        self.variables = frozenset(_VARIABLE.findall(source))
        # Handing bindings to the engine costs a conversion per call, so an
        # expression that names none of them is evaluated without.
        self.reads_bindings = not self.variables.isdisjoint(BOUND)

    def evaluate(self, data: Any, bindings: dict[str, Any] | None = None) -> Any:
        """Evaluate against ``data``; a runtime error raises MappingError."""
        if not self.reads_bindings:
            bindings = None
        try:
            return self._compiled.evaluate(data, bindings)
        except (ValueError, TypeError) as exc:
            raise MappingError(f"{self.source!r} failed: {exc}") from None

    def __repr__(self) -> str:
        return f"Expression({self.source!r})"
