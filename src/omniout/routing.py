"""Routes, compiled: from a decoded event to the request that delivers it.

A :class:`Route` is built once from its settings when the config loads: the
condition and mapping are compiled, the URL template is checked. Per event it
answers three questions without touching the network: does the event match,
what is its request id, and what request carries it.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from omniout.config import RouteSettings
from omniout.deliver.limits import (
    DEFAULT_MAX_REQUEST_BYTES,
    DEFAULT_MAX_RESPONSE_BYTES,
    limit_key,
)
from omniout.deliver.policy import RetryPolicy
from omniout.deliver.request import OutboundRequest
from omniout.errors import ConfigError, MappingError, PayloadTooLargeError
from omniout.mapping import Expression, Mapping
from omniout.mapping.cdc import CDC_BINDINGS
from omniout.payload import JsonFormat, PayloadFormat, WsdlFormat, payload_format

__all__ = ["Route", "UrlTemplate", "compile_routes"]

_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_.]*)\}")
_DOT_SEGMENTS = frozenset({".", ".."})


class UrlTemplate:
    """A URL whose ``{Field}`` placeholders come from the event.

    Values are percent-encoded whole (``/``, ``@``, ``?`` and ``#`` too), and
    placeholders may only stand after the authority, so event data can never
    change the scheme, host or port of a request (RFC 3986 section 3). A
    value of ``.`` or ``..`` is refused: clients remove dot segments from a
    path, encoded or not (section 5.2.4), so it would climb out of it.
    """

    __slots__ = ("_parts", "fields", "origin")

    def __init__(self, template: str) -> None:
        scheme_end = template.find("://") + 3
        path_start = template.find("/", scheme_end)
        authority = template if path_start < 0 else template[:path_start]
        if "{" in authority:
            raise ValueError("placeholders may only follow the host and port")
        # scheme://host:port without user info or query: a metrics label.
        host = authority[scheme_end:].partition("?")[0].rpartition("@")[2]
        self.origin = authority[:scheme_end] + host
        self._parts = _PLACEHOLDER.split(template)
        self.fields = tuple(self._parts[1::2])

    def render(self, event: dict[str, Any]) -> str:
        if not self.fields:
            return self._parts[0]
        out = list(self._parts)
        for index in range(1, len(out), 2):
            value = _lookup(event, out[index])
            if value is None:
                raise MappingError(f"URL placeholder {{{out[index]}}} has no value")
            text = str(value)
            if text in _DOT_SEGMENTS:
                raise MappingError(f"URL placeholder {{{out[index]}}} is {text!r}")
            out[index] = quote(text, safe="")
        return "".join(out)


@dataclass(frozen=True, slots=True)
class Route:
    """One compiled route; immutable and shared by every event of its topic."""

    name: str
    topic: str
    schema_name: str | None
    request_id_field: str
    condition: Expression | None
    mapping: Mapping
    method: str
    url: UrlTemplate
    headers: tuple[tuple[str, str], ...]
    timeout: float
    policy: RetryPolicy
    pause_when_exhausted: bool
    ordering: str
    dead_letter_topic: str
    credential: str | None = None
    payload: PayloadFormat = dataclasses.field(default_factory=JsonFormat)
    reply_topic: str | None = None
    takes_gap_events: bool = False
    # Whether the condition or mapping reads the CDC field lists.
    uses_changes: bool = False
    # The endpoint limiter's key (omniout.deliver.limits.plan) and size caps.
    limit: str | None = None
    max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES
    max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES
    # Set when the request id is computed (``request_id: {expr: ...}``);
    # ``request_id_field`` then holds the expression's text, for messages.
    request_id_expression: Expression | None = None

    def matches(
        self, event: dict[str, Any], bindings: dict[str, Any] | None = None
    ) -> bool:
        if self.condition is None:
            return True
        try:
            return bool(self.condition.evaluate(event, bindings))
        except MappingError as exc:
            raise MappingError(exc.reason, route=self.name, row="condition") from None

    def request_id(self, event: dict[str, Any]) -> str:
        """The event's request id; an empty one raises MappingError."""
        if self.request_id_expression is None:
            value = _lookup(event, self.request_id_field)
            what = f"request id field {self.request_id_field!r}"
        else:
            try:
                value = self.request_id_expression.evaluate(event)
            except MappingError as exc:
                raise MappingError(
                    exc.reason, route=self.name, row="request_id"
                ) from None
            what = f"request id expression {self.request_id_field!r}"
        if value is None or value == "":
            raise MappingError(f"{what} is empty", route=self.name)
        if isinstance(value, dict | list):
            raise MappingError(f"{what} gives no single value", route=self.name)
        return str(value)

    def request(
        self,
        event: dict[str, Any],
        request_id: str,
        bindings: dict[str, Any] | None = None,
    ) -> OutboundRequest:
        """The HTTP request for one event; raises MappingError.

        A body longer than ``max_request_bytes`` raises its subclass
        ``PayloadTooLargeError``; nothing is sent.
        """
        payload = self.mapping.apply(event, bindings)
        body = None
        if self.method not in ("GET", "DELETE"):
            try:
                body = self.payload.encode(payload)
            except MappingError as exc:
                raise MappingError(exc.reason, route=self.name) from None
            if len(body) > self.max_request_bytes:
                raise PayloadTooLargeError(
                    len(body), self.max_request_bytes, route=self.name
                )
        headers = (
            *self.headers,
            *self.payload.headers,
            ("Idempotency-Key", request_id),
        )
        return OutboundRequest(
            method=self.method,
            url=self.url.render(event),
            headers=headers,
            body=body,
            timeout=self.timeout,
            credential=self.credential,
            limit=self.limit,
            max_response_bytes=self.max_response_bytes,
        )


def compile_routes(
    routes: list[RouteSettings], *, file: str = "config"
) -> list[Route]:
    """Compile every route; the first error raises ConfigError with its key."""
    return [_compile(index, settings, file) for index, settings in enumerate(routes)]


def _compile(index: int, settings: RouteSettings, file: str) -> Route:
    key = f"routes[{index}]"
    try:
        mapping = Mapping(settings.mapping, route=settings.name)
    except MappingError as exc:
        row = f".{exc.row}" if exc.row else ""
        raise ConfigError(file, f"{key}.mapping{row}", exc.reason) from None
    condition = None
    if settings.condition is not None:
        try:
            condition = Expression(settings.condition)
        except MappingError as exc:
            raise ConfigError(file, f"{key}.condition", exc.reason) from None
    endpoint = settings.endpoint
    payload = payload_format(
        endpoint.format, endpoint.soap, file=file, key=f"{key}.endpoint.soap"
    )
    # A WSDL port's address serves when the route gives no URL of its own.
    wsdl = payload.address if isinstance(payload, WsdlFormat) else None
    address = endpoint.url or wsdl
    if address is None:
        raise ConfigError(file, f"{key}.endpoint.url", "the WSDL port has no address")
    try:
        url = UrlTemplate(address)
    except ValueError as exc:
        raise ConfigError(file, f"{key}.endpoint.url", str(exc)) from None
    policy = settings.retry.policy()
    if payload.classifier is not None:
        policy = dataclasses.replace(policy, response_classifier=payload.classifier)
    mentioned = mapping.variables | (condition.variables if condition else set())
    request_id, computed = settings.request_id, None
    if not isinstance(request_id, str):
        try:
            computed = Expression(request_id.expr)
        except MappingError as exc:
            raise ConfigError(file, f"{key}.request_id.expr", exc.reason) from None
        request_id = request_id.expr
    return Route(
        name=settings.name,
        topic=settings.topic,
        schema_name=settings.schema_name,
        request_id_field=request_id,
        request_id_expression=computed,
        condition=condition,
        mapping=mapping,
        method=endpoint.method,
        url=url,
        headers=tuple(endpoint.headers.items()),
        timeout=endpoint.timeout,
        policy=policy,
        pause_when_exhausted=settings.retry.on_exhausted == "pause",
        ordering=settings.ordering,
        dead_letter_topic=settings.dlq_topic,
        credential=endpoint.credential,
        payload=payload,
        reply_topic=settings.reply_topic,
        takes_gap_events=settings.gap_events == "deliver",
        uses_changes=not mentioned.isdisjoint(CDC_BINDINGS),
        limit=limit_key(settings),
        max_request_bytes=endpoint.max_request_bytes,
        max_response_bytes=endpoint.max_response_bytes,
    )


def _lookup(event: dict[str, Any], path: str) -> Any:
    value: Any = event
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value
