"""Payload formats: how a mapped payload becomes a request body.

A format gives the body's bytes, the headers that describe them, and,
where the answers have a shape of their own (SOAP faults), a response
classifier for the retry policy. JSON is the default; ``soap`` wraps the
payload in a SOAP 1.1 or 1.2 envelope.
"""

from __future__ import annotations

from typing import Any, Protocol

import orjson

from omniout.deliver.policy import ResponseClassifier
from omniout.errors import MappingError
from omniout.payload.settings import SoapSettings
from omniout.payload.soap import SoapFormat

__all__ = [
    "JsonFormat",
    "PayloadFormat",
    "SoapFormat",
    "SoapSettings",
    "payload_format",
]


class PayloadFormat(Protocol):
    """Turns payloads into bodies; built once per route."""

    @property
    def headers(self) -> tuple[tuple[str, str], ...]: ...

    @property
    def classifier(self) -> ResponseClassifier | None: ...

    def encode(self, payload: Any) -> bytes: ...


class JsonFormat:
    """``application/json`` bodies, written by orjson."""

    __slots__ = ()

    headers = (("Content-Type", "application/json"),)
    classifier = None

    def encode(self, payload: Any) -> bytes:
        try:
            return orjson.dumps(payload)
        except TypeError as exc:
            raise MappingError(f"the payload is not JSON: {exc}") from None


def payload_format(kind: str, soap: SoapSettings | None) -> PayloadFormat:
    """The format an endpoint names (``json`` or ``soap``)."""
    if kind == "soap":
        return SoapFormat(soap or SoapSettings())
    return JsonFormat()
