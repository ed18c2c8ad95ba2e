"""Dicts to XML elements and back, with the ``@``/``#text``/``#ns`` conventions.

Writing (a mapped payload into a SOAP body)::

    {"Order": {"#ns": "urn:oms", "@id": "801", "Total": {"@currency": "EUR",
     "#text": 12.5}, "Line": [{"Sku": "A"}, {"Sku": "B"}]}}

becomes ``<Order xmlns="urn:oms" id="801"><Total currency="EUR">12.5</Total>
<Line><Sku>A</Sku></Line><Line><Sku>B</Sku></Line></Order>``: a key
``@name`` is an attribute, ``#text`` the element's text, ``#ns`` the
namespace of the element and of its descendants, a list repeats the
element, ``true``/``false`` are the XML Schema booleans and ``null`` is an
empty element with ``xsi:nil="true"``. Elements are built with lxml, so
names and text are checked and escaped by the library, never by hand.

Reading (an endpoint's XML answer, for the reply topic) is the reverse,
with local names only: namespaces are dropped, an element with only text
becomes that text, repeated elements become a list.
"""

from __future__ import annotations

from typing import Any

from lxml import etree

from omniout.errors import MappingError

__all__ = ["SAFE_PARSER", "default_namespace", "fill", "set_attributes", "to_value"]

XSI = "http://www.w3.org/2001/XMLSchema-instance"
_NIL = f"{{{XSI}}}nil"

# An answer is data from outside: no DTDs, no entities, no network, and no
# "huge tree" (lxml's guard against documents built to exhaust memory).
SAFE_PARSER = etree.XMLParser(
    resolve_entities=False,
    no_network=True,
    load_dtd=False,
    huge_tree=False,
    remove_blank_text=True,
)


def fill(
    parent: etree._Element,
    payload: dict[str, Any],
    namespace: str | None,
    declared: str | None = None,
) -> None:
    """Add ``payload``'s keys to ``parent`` as child elements.

    ``namespace`` is the one the children take unless they set their own;
    ``declared`` the default namespace already declared in scope, so that
    each namespace is declared once, where it starts. Raises MappingError
    for a key that is not an XML name or text that XML cannot hold (control
    characters).
    """
    for key, value in payload.items():
        if key[:1] in ("@", "#"):
            continue
        if isinstance(value, list):
            for item in value:
                _child(parent, key, item, namespace, declared)
        else:
            _child(parent, key, value, namespace, declared)


def _child(
    parent: etree._Element,
    name: str,
    value: Any,
    namespace: str | None,
    declared: str | None,
) -> None:
    if isinstance(value, dict) and isinstance(value.get("#ns"), str):
        namespace = value["#ns"] or None
    tag = f"{{{namespace}}}{name}" if namespace else name
    try:
        if namespace == declared:
            element = etree.SubElement(parent, tag)
        else:
            # An element leaving a declared default namespace needs
            # xmlns="", which lxml writes for an empty default only.
            nsmap: Any = {None: namespace or ""}
            element = etree.SubElement(parent, tag, nsmap=nsmap)
        _content(element, value, namespace)
    except ValueError as exc:
        raise MappingError(f"cannot write element {name!r} as XML: {exc}") from None


def default_namespace(uri: str | None) -> Any:
    """An nsmap that makes ``uri`` the default namespace (None: no map).

    lxml declares the default namespace under the prefix ``None``; its type
    stubs allow only string prefixes, hence ``Any``.
    """
    return {None: uri} if uri else None


def set_attributes(element: etree._Element, payload: dict[str, Any]) -> None:
    """Set the ``@name`` keys of ``payload`` as attributes of ``element``.

    Raises MappingError for a name that is not an XML attribute name.
    """
    for key, item in payload.items():
        if key[:1] == "@":
            try:
                element.set(key[1:], _text(item))
            except ValueError as exc:
                raise MappingError(f"cannot write attribute {key!r}: {exc}") from None


def _content(element: etree._Element, value: Any, namespace: str | None) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            if key[:1] == "@":
                element.set(key[1:], _text(item))
        if "#text" in value:
            element.text = _text(value["#text"])
        fill(element, value, namespace, namespace)
    elif value is None:
        element.set(_NIL, "true")
    else:
        element.text = _text(value)


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    if isinstance(value, dict | list):
        raise ValueError("an attribute or text cannot hold an object or list")
    return str(value)


def to_value(element: etree._Element) -> Any:
    """An element as plain data: text, or a dict of its children and ``@``s."""
    out: dict[str, Any] = {}
    for name, value in element.attrib.items():
        out["@" + etree.QName(name).localname] = value
    for child in element:
        if not isinstance(child.tag, str):
            continue  # a comment or processing instruction
        key = etree.QName(child).localname
        value = to_value(child)
        if key not in out:
            out[key] = value
        elif isinstance(out[key], list):
            out[key].append(value)
        else:
            out[key] = [out[key], value]
    text = (element.text or "").strip()
    if not out:
        return text
    if text:
        out["#text"] = text
    return out
