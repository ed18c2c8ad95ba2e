"""SOAP 1.1 and 1.2 messages: the envelope around a mapped payload.

The payload (a dict, see :mod:`omniout.payload.xml` for the conventions)
becomes the content of the Body, optionally wrapped in an ``operation``
element, which takes the payload's top-level ``@name`` keys as its
attributes. The envelope, the headers and the serialisation are those of the
two HTTP bindings: SOAP 1.1 is ``text/xml`` with a ``SOAPAction`` header
(SOAP 1.1 section 6.1.1), SOAP 1.2 is ``application/soap+xml`` with the
action as a media type parameter (RFC 3902).
"""

from __future__ import annotations

from typing import Any

from lxml import etree

from omniout.errors import MappingError
from omniout.payload.faults import SOAP11, SOAP12, SoapClassifier
from omniout.payload.settings import SoapSettings
from omniout.payload.xml import default_namespace, fill, set_attributes

__all__ = ["SoapFormat"]

_PREFIX = {"1.1": ("soap", SOAP11), "1.2": ("env", SOAP12)}


class SoapFormat:
    """Builds SOAP requests for one endpoint; shared by all its events."""

    __slots__ = ("_namespace", "_prefix", "classifier", "headers", "settings")

    reply_reader = None

    def __init__(self, settings: SoapSettings) -> None:
        self.settings = settings
        self._prefix, self._namespace = _PREFIX[settings.version]
        self.headers = _headers(settings)
        self.classifier = SoapClassifier(
            require_ack=settings.profile == "outbound-messaging"
        )

    def encode(self, payload: Any) -> bytes:
        """The envelope for ``payload``; raises MappingError if it cannot be."""
        envelope = self.envelope(payload)
        return etree.tostring(envelope, xml_declaration=True, encoding="utf-8")

    def envelope(self, payload: Any) -> etree._Element:
        env = self._namespace
        root = etree.Element(etree.QName(env, "Envelope"), nsmap={self._prefix: env})
        body = etree.SubElement(root, etree.QName(env, "Body"))
        namespace = self.settings.body_namespace
        target, declared = body, None
        if self.settings.operation:
            operation = self.settings.operation
            tag = f"{{{namespace}}}{operation}" if namespace else operation
            nsmap = default_namespace(namespace)
            target, declared = etree.SubElement(body, tag, nsmap=nsmap), namespace
        if not isinstance(payload, dict):
            raise MappingError(
                f"a SOAP body is built from an object, not {type(payload).__name__}"
            )
        if self.settings.operation:
            set_attributes(target, payload)
        fill(target, payload, namespace, declared)
        return root


def _headers(settings: SoapSettings) -> tuple[tuple[str, str], ...]:
    if settings.version == "1.1":
        return (
            ("Content-Type", "text/xml; charset=utf-8"),
            # The value is a quoted URI; "" means "the request URI".
            ("SOAPAction", f'"{settings.action}"'),
        )
    media = "application/soap+xml; charset=utf-8"
    if settings.action:
        media += f'; action="{settings.action}"'
    return (("Content-Type", media),)
