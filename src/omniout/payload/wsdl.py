"""A WSDL's operation, loaded once: what a route needs to speak it.

``load_operation`` reads a local WSDL file with zeep when the config is
compiled and picks one operation of one port: the binding gives the SOAP
version and the ``SOAPAction``, the port its address, the operation its
input and output elements. zeep's type system checks the payload's shape
(unknown or missing elements) when the envelope is built; the WSDL's
embedded XML Schema, compiled with lxml, checks the values (an ``xs:int``
that is not a number, a pattern that does not match), which zeep does not.

Nothing is fetched over the network: a WSDL or schema that imports
another by an ``http(s)`` location is refused, so that a service never
depends on a remote host to start.
"""

from __future__ import annotations

import copy
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from lxml import etree
from zeep import Settings
from zeep.exceptions import Error as ZeepError
from zeep.transports import Transport
from zeep.wsdl import Document
from zeep.wsdl.bindings.soap import Soap12Binding, SoapBinding

from omniout.errors import ConfigError

__all__ = ["WsdlOperation", "load_operation"]

logger = logging.getLogger(__name__)

_WSDL = "http://schemas.xmlsoap.org/wsdl/"
_XSD = "http://www.w3.org/2001/XMLSchema"
# DTDs and entities are refused in the WSDL as in any XML from outside.
_ZEEP_SETTINGS = Settings(forbid_dtd=True, forbid_entities=True, strict=True)


@dataclass(frozen=True, slots=True)
class WsdlOperation:
    """One operation of one SOAP port, as the WSDL describes it.

    ``operation`` is zeep's bound operation (its ``input`` serialises a
    payload, its ``output`` reads an answer); ``schema`` validates the
    input element's values, or is None where the WSDL's types could not be
    compiled on their own (see ``_schema``).
    """

    name: str
    version: str
    action: str
    address: str | None
    input_element: etree.QName
    output_element: etree.QName | None
    operation: Any
    schema: etree.XMLSchema | None


class _LocalTransport(Transport):
    """zeep's transport, limited to local files."""

    def load(self, url: str) -> bytes:
        if urlparse(url).scheme in ("http", "https", "ftp"):
            raise OSError(f"refusing to fetch {url} (only local files are read)")
        content: bytes = super().load(url)  # type: ignore[no-untyped-call]
        return content


def load_operation(
    path: Path,
    operation: str,
    service: str | None = None,
    port: str | None = None,
    *,
    file: str,
    key: str,
) -> WsdlOperation:
    """Read ``path`` and find the operation; raise ConfigError(file, key…).

    Without ``service`` or ``port`` the WSDL must hold exactly one SOAP
    port (of one service) to choose from.
    """
    where = str(path)
    chosen = _port(_document(path, file, key), service, port, file, key, where)
    binding = chosen.binding
    bound = _operation(binding, chosen.name, operation, file, key, where)
    action = bound.soapaction or ""
    if any(c in action for c in '"\r\n\\'):
        raise ConfigError(
            file, f"{key}.operation", f"{where}: the soapAction of {operation!r}"
            " holds quotes, backslashes or line breaks"
        )
    output = bound.output.body if bound.output is not None else None
    address = chosen.binding_options.get("address")
    return WsdlOperation(
        name=operation,
        version="1.2" if isinstance(binding, Soap12Binding) else "1.1",
        action=action,
        address=address if str(address).startswith(("http://", "https://")) else None,
        input_element=etree.QName(bound.input.body.qname),
        output_element=etree.QName(output.qname) if output is not None else None,
        operation=bound,
        schema=_schema(path),
    )


def _document(path: Path, file: str, key: str) -> Any:
    if not path.is_file():
        raise ConfigError(file, f"{key}.wsdl", f"{path}: no such file")
    try:
        return Document(
            str(path),
            _LocalTransport(),  # type: ignore[no-untyped-call, arg-type]
            settings=_ZEEP_SETTINGS,
        )
    except (ZeepError, etree.XMLSyntaxError, OSError, ValueError) as exc:
        reason = f"{path}: not a usable WSDL: {exc}"
        raise ConfigError(file, f"{key}.wsdl", reason) from None


def _operation(
    binding: Any, port: str, operation: str, file: str, key: str, where: str
) -> Any:
    try:
        bound = binding.get(operation)
    except ValueError:
        known = ", ".join(sorted(binding.all())) or "none"
        raise ConfigError(
            file,
            f"{key}.operation",
            f"{where}: port {port!r} has no operation {operation!r}"
            f" (it has: {known})",
        ) from None
    if bound.input is None or bound.input.body is None:
        raise ConfigError(
            file, f"{key}.operation", f"{where}: {operation!r} has no input body"
        )
    return bound


def _port(
    document: Any,
    service: str | None,
    port: str | None,
    file: str,
    key: str,
    where: str,
) -> Any:
    services = document.services
    if service is not None and service not in services:
        known = ", ".join(sorted(services)) or "none"
        raise ConfigError(
            file, f"{key}.service", f"{where}: no service {service!r} ({known})"
        )
    candidates = [
        found
        for name, value in services.items()
        if service in (None, name)
        for found in value.ports.values()
        if isinstance(found.binding, SoapBinding) and port in (None, found.name)
    ]
    if not candidates:
        what = f"no SOAP port {port!r}" if port else "no SOAP port"
        where_key = f"{key}.port" if port else f"{key}.wsdl"
        raise ConfigError(file, where_key, f"{where}: {what}")
    if len(candidates) > 1:
        names = ", ".join(sorted(found.name for found in candidates))
        raise ConfigError(
            file, f"{key}.port", f"{where}: choose one of the ports {names}"
        )
    return candidates[0]


def _schema(path: Path) -> etree.XMLSchema | None:
    """The WSDL's one embedded schema, compiled by lxml, or None.

    A WSDL whose types are split over several schemas that import each
    other by namespace, or that lxml cannot compile, is checked by zeep's
    shape checks alone; this is said at start-up.
    """
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    root = etree.parse(str(path), parser).getroot()
    schemas = root.findall(f"{{{_WSDL}}}types/{{{_XSD}}}schema")
    if len(schemas) != 1:
        logger.info(
            "WSDL %s has %d schemas: values are not validated", path, len(schemas)
        )
        return None
    found = schemas[0]
    # The schema's QName attributes (type="tns:Order") use prefixes declared
    # on the WSDL's root: the copy declares every prefix in scope.
    nsmap: Any = found.nsmap
    alone = etree.Element(found.tag, dict(found.attrib), nsmap=nsmap)
    alone.extend(copy.deepcopy(child) for child in found)
    text = etree.tostring(alone)
    try:
        return etree.XMLSchema(etree.fromstring(text, parser, base_url=str(path)))
    except etree.XMLSchemaParseError as exc:
        logger.info("WSDL %s: values are not validated: %s", path, exc)
        return None

