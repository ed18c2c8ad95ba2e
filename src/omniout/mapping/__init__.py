"""Declarative mappings from decoded events to outbound payloads."""

from __future__ import annotations

from omniout.mapping.expression import Expression
from omniout.mapping.mapping import Mapping

__all__ = ["Expression", "Mapping"]
