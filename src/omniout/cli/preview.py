"""How ``omniout check`` previews a route: its bindings and its body."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import orjson
from lxml import etree

from omniout.decode import SchemaStore
from omniout.deliver.auth.settings import (
    ApiKeySettings,
    BasicSettings,
    BearerSettings,
    HmacSettings,
    JwtBearerSettings,
    NoAuthSettings,
    OAuth2Settings,
)
from omniout.deliver.request import OutboundRequest
from omniout.errors import MappingError
from omniout.mapping.cdc import change_bindings, field_table, refuse_gap
from omniout.payload.xml import SAFE_PARSER
from omniout.routing import Route

__all__ = ["preview_bindings", "preview_body", "preview_credential"]

_MASK = "********"


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


def preview_credential(name: str, settings: object) -> list[str]:
    """What the credential ``name`` adds to a request, every secret masked.

    The credential is applied as the request goes out, so the preview
    describes it from its settings rather than showing a live value.
    """
    if isinstance(settings, BasicSettings):
        lines = [f"Authorization: Basic {_MASK}"]
    elif isinstance(settings, BearerSettings):
        lines = [f"Authorization: Bearer {_MASK}"]
    elif isinstance(settings, ApiKeySettings):
        where = "header" if settings.placement == "header" else "query parameter"
        lines = [f"{settings.name}: {_MASK} (as a {where})"]
    elif isinstance(settings, OAuth2Settings):
        jwt = settings.client_auth == "private_key_jwt"
        signed = ", by a signed JWT" if jwt else ""
        lines = [
            f"Authorization: Bearer {_MASK} "
            f"(a token from {settings.token_url}, client {settings.client_id!r}"
            f"{signed})"
        ]
    elif isinstance(settings, JwtBearerSettings):
        lines = [
            f"Authorization: Bearer {_MASK} "
            f"(a token from {settings.token_url} by a signed JWT, "
            f"client {settings.client_id!r}, user {settings.subject!r})"
        ]
    elif isinstance(settings, HmacSettings):
        lines = [
            "webhook-id: the request id",
            "webhook-timestamp: the time of sending",
            f"webhook-signature: v1,{_MASK}",
        ]
    elif isinstance(settings, NoAuthSettings):
        lines = []
    else:
        raise TypeError(f"unknown credential settings {type(settings).__name__}")
    tls = getattr(settings, "tls", None)
    if tls is not None and tls.client_cert is not None:
        lines.append(f"(client certificate {tls.client_cert})")
    return [f"{line}  [credential {name!r}]" for line in lines]
