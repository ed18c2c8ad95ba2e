"""The demo receiver's SOAP 1.1 endpoint: it reads an envelope and answers.

A request is accepted when it carries a ``SOAPAction`` header (SOAP 1.1
section 6.1.1) and a SOAP 1.1 envelope whose Body holds one element, the
operation. The answer is ``<{operation}Response>`` in the operation's
namespace with a ticket number. Anything else is answered with a fault and
HTTP 500, as section 6.2 asks: ``VersionMismatch`` for an envelope in
another namespace (a SOAP 1.2 one, say), ``Client`` for the rest, which
tells the sender not to send the same message again.
"""

from __future__ import annotations

from dataclasses import dataclass

from lxml import etree

from omniout.payload.faults import SOAP11
from omniout.payload.xml import SAFE_PARSER, default_namespace

__all__ = ["CONTENT_TYPE", "SoapAnswer", "answer"]

CONTENT_TYPE = "text/xml; charset=utf-8"
_ENVELOPE = f"{{{SOAP11}}}Envelope"
_BODY = f"{{{SOAP11}}}Body"


@dataclass(frozen=True, slots=True)
class SoapAnswer:
    """What to send back: the HTTP status, the envelope, and a line saying so."""

    status: int
    body: bytes
    summary: str


def answer(body: bytes, action: str | None, ticket: str) -> SoapAnswer:
    """Answer one request: its body and its ``SOAPAction`` header, if any."""
    if action is None:
        return _fault("Client", "no SOAPAction header")
    try:
        root = etree.fromstring(body, SAFE_PARSER)
    except etree.XMLSyntaxError as exc:
        return _fault("Client", f"not well-formed XML: {exc.msg}")
    if etree.QName(root).localname != "Envelope":
        return _fault("Client", "not a SOAP envelope")
    if root.tag != _ENVELOPE:
        return _fault("VersionMismatch", "the envelope is not SOAP 1.1")
    soap_body = root.find(_BODY)
    if soap_body is None:
        return _fault("Client", "the envelope has no Body")
    content = [child for child in soap_body if isinstance(child.tag, str)]
    if len(content) != 1:
        return _fault("Client", "the Body must hold one operation element")
    return _response(etree.QName(content[0]), ticket)


def _response(operation: etree.QName, ticket: str) -> SoapAnswer:
    envelope, soap_body = _envelope()
    namespace = operation.namespace
    name = f"{operation.localname}Response"
    tag = f"{{{namespace}}}{name}" if namespace else name
    nsmap = default_namespace(namespace)
    response = etree.SubElement(soap_body, tag, nsmap=nsmap)
    child = f"{{{namespace}}}Ticket" if namespace else "Ticket"
    etree.SubElement(response, child).text = ticket
    return SoapAnswer(200, _bytes(envelope), f"{name} with ticket {ticket}")


def _fault(code: str, reason: str) -> SoapAnswer:
    envelope, soap_body = _envelope()
    fault = etree.SubElement(soap_body, f"{{{SOAP11}}}Fault")
    # Fault codes are qualified names in the envelope's namespace (4.4.1);
    # faultcode and faultstring themselves are unqualified (4.4).
    etree.SubElement(fault, "faultcode").text = f"soap:{code}"
    etree.SubElement(fault, "faultstring").text = reason
    return SoapAnswer(500, _bytes(envelope), f"fault {code}: {reason}")


def _envelope() -> tuple[etree._Element, etree._Element]:
    envelope = etree.Element(_ENVELOPE, nsmap={"soap": SOAP11})
    return envelope, etree.SubElement(envelope, _BODY)


def _bytes(envelope: etree._Element) -> bytes:
    return etree.tostring(envelope, xml_declaration=True, encoding="utf-8")
