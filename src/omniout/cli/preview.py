"""How ``omniout check`` shows a previewed request body."""

from __future__ import annotations

import orjson
from lxml import etree

from omniout.deliver.request import OutboundRequest
from omniout.payload.xml import SAFE_PARSER

__all__ = ["preview_body"]


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
