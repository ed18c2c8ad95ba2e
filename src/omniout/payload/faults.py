"""SOAP answers: the fault in a response, and whether to try again.

SOAP 1.1 (section 4.4.1) and 1.2 (Part 1, section 5.4.6) agree on the
split this service needs: a fault of the sender (1.1 ``Client``, 1.2
``Sender``, and a version or ``mustUnderstand`` mismatch) means the same
message will fail again, so it is permanent whatever the HTTP status; a
fault of the receiver (``Server``, ``Receiver``) may pass, so it is
retried, even on a 200. Both bindings send faults with HTTP 500, which on
its own would be retried: reading the fault is what makes a 500 carrying a
``Client`` fault permanent.
"""

from __future__ import annotations

from dataclasses import dataclass

from lxml import etree

from omniout.deliver.policy import Classified, Verdict
from omniout.deliver.request import Response
from omniout.payload.xml import SAFE_PARSER

__all__ = ["Fault", "SoapClassifier", "find_ack", "parse_fault"]

SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP12 = "http://www.w3.org/2003/05/soap-envelope"

# Bodies larger than this are not read for a fault: the HTTP status decides.
MAX_FAULT_BYTES = 1 << 20

_PERMANENT = frozenset(
    {"Client", "Sender", "VersionMismatch", "MustUnderstand", "DataEncodingUnknown"}
)
_TRANSIENT = frozenset({"Server", "Receiver"})


@dataclass(frozen=True, slots=True)
class Fault:
    """A SOAP fault: ``code`` is the local name (``Client``, ``Receiver``)."""

    code: str
    reason: str
    subcode: str = ""

    @property
    def verdict(self) -> Verdict | None:
        if self.code in _PERMANENT:
            return "permanent"
        if self.code in _TRANSIENT:
            return "retry"
        return None


def _document(body: bytes) -> etree._Element | None:
    if len(body) > MAX_FAULT_BYTES or not body.lstrip().startswith(b"<"):
        return None
    try:
        return etree.fromstring(body, SAFE_PARSER)
    except etree.XMLSyntaxError:
        return None


def parse_fault(body: bytes) -> Fault | None:
    """The fault in a SOAP 1.1 or 1.2 envelope, or None if there is none."""
    root = _document(body)
    if root is None:
        return None
    fault = root.find(f"{{{SOAP11}}}Body/{{{SOAP11}}}Fault")
    if fault is not None:
        code = _local(fault.findtext("faultcode") or "")
        # 1.1 codes may be refined with dots: Client.Authentication.
        return Fault(code.split(".")[0], fault.findtext("faultstring") or "", code)
    fault = root.find(f"{{{SOAP12}}}Body/{{{SOAP12}}}Fault")
    if fault is None:
        return None
    code = fault.findtext(f"{{{SOAP12}}}Code/{{{SOAP12}}}Value") or ""
    sub = fault.findtext(f"{{{SOAP12}}}Code/{{{SOAP12}}}Subcode/{{{SOAP12}}}Value")
    reason = fault.findtext(f"{{{SOAP12}}}Reason/{{{SOAP12}}}Text") or ""
    return Fault(_local(code), reason, _local(sub or ""))


def find_ack(body: bytes) -> bool:
    """Whether the answer holds an ``Ack`` element whose text is ``true``."""
    root = _document(body)
    if root is None:
        return False
    return any(
        (element.text or "").strip() == "true"
        for element in root.iter("{*}Ack")
    )


def _local(qualified: str) -> str:
    return qualified.strip().rpartition(":")[2]


@dataclass(frozen=True, slots=True)
class SoapClassifier:
    """A response classifier for SOAP routes (see ``RetryPolicy``).

    With ``require_ack``, a 2xx answer without ``<Ack>true</Ack>`` is
    retried, as Outbound Messaging does.
    """

    require_ack: bool = False

    def __call__(self, response: Response, verdict: Verdict) -> Classified:
        fault = parse_fault(response.body)
        if fault is not None:
            detail = f"SOAP fault {fault.code}: {fault.reason}"[:300]
            return Classified(fault.verdict or verdict, detail)
        if verdict == "done" and self.require_ack and not find_ack(response.body):
            return Classified("retry", "the answer holds no <Ack>true</Ack>")
        return Classified(verdict)
