"""SOAP messages built from a WSDL operation by zeep.

The mapped payload is the content of the operation's input element, as a
dict of its child elements (``{"Order": {"Number": …, "Line": [...]}}``
for ``<SubmitOrder><Order>…``); zeep's type system serialises it, so
element names, namespaces and order come from the WSDL, not from the
payload. A payload that does not fit (an unknown or missing element, a
value the schema refuses) is a mapping error naming the element, and the
event is dead-lettered. The WSDL itself was read when the route was
compiled (:mod:`omniout.payload.wsdl`); an event only serialises.

Answers are read with the operation's output type for the reply topic,
and SOAP faults are classified as for any SOAP route
(:mod:`omniout.payload.faults`).
"""

from __future__ import annotations

import base64
import datetime
import decimal
from collections.abc import Mapping
from typing import Any

from lxml import etree
from zeep.exceptions import Error as ZeepError
from zeep.helpers import serialize_object
from zeep.xsd import ComplexType

from omniout.errors import MappingError
from omniout.payload.faults import SOAP11, SOAP12, SoapClassifier
from omniout.payload.wsdl import WsdlOperation
from omniout.payload.xml import SAFE_PARSER

__all__ = ["WsdlFormat"]

_MEDIA = {"1.1": "text/xml; charset=utf-8", "1.2": "application/soap+xml"}


class WsdlFormat:
    """Builds the requests of one WSDL operation; shared by all its events."""

    __slots__ = ("_body", "_element", "_schema", "classifier", "headers", "wsdl")

    def __init__(self, wsdl: WsdlOperation, *, require_ack: bool = False) -> None:
        self.wsdl = wsdl
        self.headers = _headers(wsdl)
        self.classifier = SoapClassifier(require_ack=require_ack)
        self._body = f"{{{SOAP12 if wsdl.version == '1.2' else SOAP11}}}Body"
        self._element = wsdl.input_element.localname
        self._schema = wsdl.schema

    @property
    def address(self) -> str | None:
        return self.wsdl.address

    def encode(self, payload: Any) -> bytes:
        """The envelope for ``payload``; raises MappingError if it does not fit."""
        envelope = self.envelope(payload)
        return etree.tostring(envelope, xml_declaration=True, encoding="utf-8")

    def envelope(self, payload: Any) -> etree._Element:
        if not isinstance(payload, dict):
            raise MappingError(
                f"the content of {self._element} is built from an object,"
                f" not {type(payload).__name__}"
            )
        try:
            message = self.wsdl.operation.input.serialize(**payload)
        except (TypeError, ValueError, AttributeError, ZeepError) as exc:
            # zeep names the element for most misfits ("{urn:…}Order() got
            # an unexpected keyword argument 'Extra'", "Missing element
            # Account (…)"), but not for a value of the wrong shape.
            where = misplaced(payload, self.wsdl.operation.input.body)
            detail = f"{where}: {exc}" if where else str(exc)
            raise MappingError(
                f"the payload does not fit {self._element}: {detail}"
            ) from None
        envelope: etree._Element = message.content
        if self._schema is not None:
            self._validate(envelope)
        return envelope

    def _validate(self, envelope: etree._Element) -> None:
        body = envelope.find(self._body)
        element = body[0] if body is not None and len(body) else None
        if element is None or self._schema is None:
            return
        if self._schema.validate(element):
            return
        # lxml-stubs do not declare the error log iterable; it is.
        errors: list[Any] = list(self._schema.error_log)  # type: ignore[call-overload]
        # lxml's message names the element: "Element '{urn:…}Quantity': 'x'
        # is not a valid value of the atomic type 'xs:int'."
        reason = errors[0].message if errors else "refused by the schema"
        raise MappingError(f"the payload does not fit {self._element}: {reason}")

    def reply_reader(self, body: bytes) -> Any:
        """The answer read with the operation's output type, or None.

        None (the caller falls back to the generic reading) for a fault, an
        answer of another element, or one the output type cannot read.
        Values become JSON's: decimals as strings (all their digits kept),
        dates and times in ISO 8601, binary data in base64.
        """
        output = self.wsdl.output_element
        if output is None or self.wsdl.operation.output is None:
            return None
        try:
            root = etree.fromstring(body, SAFE_PARSER)
        except etree.XMLSyntaxError:
            return None
        content = root.find(f"{self._body}/{output}")
        if content is None:
            return None
        try:
            value = self.wsdl.operation.output.deserialize(root)
        except (TypeError, ValueError, AttributeError, ZeepError):
            return None
        plain = serialize_object(value, dict)  # type: ignore[no-untyped-call]
        return {output.localname: _plain(plain)}


def misplaced(payload: dict[str, Any], element: Any) -> str | None:
    """The dotted path of the first value whose shape the type refuses.

    An object where the schema has a simple value, a list where the
    element does not repeat, or text where it has child elements. Called
    only when zeep has refused a payload, to name the element.
    """
    children = dict(getattr(element.type, "elements", ()))
    for key, value in payload.items():
        child = children.get(key)
        if child is None:
            continue
        items = value if isinstance(value, list) else [value]
        if isinstance(value, list) and not child.accepts_multiple:
            return f"{key} (a list, but {key} does not repeat)"
        complex_type = isinstance(child.type, ComplexType)
        for index, item in enumerate(items):
            name = f"{key}[{index}]" if isinstance(value, list) else key
            if complex_type and not isinstance(item, dict):
                return f"{name} (needs child elements)"
            if not complex_type and isinstance(item, dict | list):
                return f"{name} (a simple value, not an object or list)"
            if complex_type:
                found = misplaced(item, child)
                if found:
                    return f"{name}.{found}"
    return None


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, etree._Element):
        return etree.tostring(value, encoding="unicode")
    return value


def _headers(wsdl: WsdlOperation) -> tuple[tuple[str, str], ...]:
    if wsdl.version == "1.1":
        # The value is a quoted URI (SOAP 1.1 section 6.1.1).
        return (("Content-Type", _MEDIA["1.1"]), ("SOAPAction", f'"{wsdl.action}"'))
    media = f"{_MEDIA['1.2']}; charset=utf-8"
    if wsdl.action:
        media += f'; action="{wsdl.action}"'
    return (("Content-Type", media),)
