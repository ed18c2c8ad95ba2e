"""How ``omniout check`` previews a route: its bindings and its body."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import orjson
from lxml import etree

from omniout.decode import SchemaStore
from omniout.deliver.request import OutboundRequest
from omniout.errors import MappingError
from omniout.mapping.cdc import change_bindings, field_table, refuse_gap
from omniout.payload.xml import SAFE_PARSER
from omniout.routing import Route

__all__ = ["preview_bindings", "preview_body"]


def preview_bindings(
    route: Route, sample: dict[str, Any], schemas: Path
) -> dict[str, Any]:
    """The bindings the pipeline would give ``sample`` on ``route``.

    Raises GapEventError for a gap event the route does not take, and
    MappingError when the route reads the CDC field lists but its schema is
    not in ``schemas`` (the bitmaps count that schema's fields).
    """
    if not route.takes_gap_events:
        refuse_gap(sample)
    bindings: dict[str, Any] = {"nowMillis": int(time.time() * 1000)}
    if not route.uses_changes:
        return bindings
    found = SchemaStore.load(schemas).by_name(route.schema_name or "")
    if found is None:
        raise MappingError(
            f"the route reads the CDC field lists, and its schema "
            f"{route.schema_name!r} is not in {schemas}"
        )
    bindings.update(change_bindings(sample, field_table(found.plain)))
    return bindings


def preview_body(request: OutboundRequest) -> str:
    """The body indented for reading: JSON as JSON, a SOAP envelope as XML."""
    body = request.body or b""
    media = next(
        (v for k, v in request.headers if k.lower() == "content-type"), ""
    ).lower()
    if "json" in media:
        return orjson.dumps(orjson.loads(body), option=orjson.OPT_INDENT_2).decode()
    if "xml" in media:
        root = etree.fromstring(body, SAFE_PARSER)
        text = etree.tostring(
            root, pretty_print=True, xml_declaration=True, encoding="utf-8"
        )
        return text.decode().rstrip("\n")
    return body.decode("utf-8", errors="replace")
