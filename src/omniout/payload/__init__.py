"""Payload formats: how a mapped payload becomes a request body.

A format gives the body's bytes, the headers that describe them, and,
where the answers have a shape of their own (SOAP faults), a response
classifier for the retry policy. JSON is the default; ``soap`` wraps the
payload in a SOAP 1.1 or 1.2 envelope, built by lxml from the payload's
conventions or, with a WSDL, by zeep from the operation's input type.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

import orjson

from omniout.deliver.policy import ResponseClassifier
from omniout.errors import MappingError
from omniout.payload.settings import SoapSettings
from omniout.payload.soap import SoapFormat
from omniout.payload.wsdl import load_operation
from omniout.payload.wsdl_format import WsdlFormat

__all__ = [
    "JsonFormat",
    "PayloadFormat",
    "SoapFormat",
    "SoapSettings",
    "WsdlFormat",
    "payload_format",
]


class PayloadFormat(Protocol):
    """Turns payloads into bodies; built once per route."""

    @property
    def headers(self) -> tuple[tuple[str, str], ...]: ...

    @property
    def classifier(self) -> ResponseClassifier | None: ...

    # Reads an answer for the reply topic; None where the generic reading
    # (omniout.replies.read_body) is all there is.
    @property
    def reply_reader(self) -> Callable[[bytes], Any] | None: ...

    def encode(self, payload: Any) -> bytes: ...


class JsonFormat:
    """``application/json`` bodies, written by orjson."""

    __slots__ = ()

    headers = (("Content-Type", "application/json"),)
    classifier = None
    reply_reader = None

    def encode(self, payload: Any) -> bytes:
        try:
            return orjson.dumps(payload)
        except TypeError as exc:
            raise MappingError(f"the payload is not JSON: {exc}") from None


def payload_format(
    kind: str, soap: SoapSettings | None, *, file: str = "config", key: str = "soap"
) -> PayloadFormat:
    """The format an endpoint names (``json`` or ``soap``).

    A ``soap`` section with a ``wsdl`` reads the WSDL now; a problem with
    it raises ConfigError(file, ``key``.wsdl/service/port/operation).
    """
    if kind != "soap":
        return JsonFormat()
    soap = soap or SoapSettings()
    if soap.wsdl is None:
        return SoapFormat(soap)
    operation = load_operation(
        soap.wsdl, soap.operation or "", soap.service, soap.port, file=file, key=key
    )
    return WsdlFormat(operation, require_ack=soap.profile == "outbound-messaging")
