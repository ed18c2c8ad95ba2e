"""One CLIENT span per HTTP attempt, and its trace context on the request.

:class:`TracedAttempts` sits between the retry loop and the client for one
delivery: it wraps each ``send`` in a span (method, URL without credentials
or query values, status, retry number, the pause waited before it) and adds
the span's context to the request in the service's formats (``traceparent``
by default, ``X-B3-*`` with ``OTEL_PROPAGATORS=b3multi``), so the receiver's
spans join the event's trace. It learns the pause from the retry loop's
attempt hook.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from opentelemetry.semconv.attributes.error_attributes import ERROR_TYPE
from opentelemetry.semconv.attributes.http_attributes import (
    HTTP_REQUEST_METHOD,
    HTTP_REQUEST_RESEND_COUNT,
    HTTP_RESPONSE_STATUS_CODE,
)
from opentelemetry.semconv.attributes.server_attributes import (
    SERVER_ADDRESS,
    SERVER_PORT,
)
from opentelemetry.semconv.attributes.url_attributes import URL_FULL
from opentelemetry.trace import SpanKind, Status, StatusCode, Tracer

from omniout.deliver.request import OutboundRequest, Response
from omniout.deliver.retry import AttemptHook, AttemptInfo, SendFn
from omniout.errors import DeliveryError
from omniout.telemetry.propagation import http_trace_headers, propagator_of

__all__ = ["RETRY_AFTER", "RETRY_WAITED", "TracedAttempts", "safe_url"]

RETRY_WAITED = "omniout.retry.waited"
RETRY_AFTER = "omniout.retry.retry_after"

_REDACTED = "REDACTED"
_DEFAULT_PORTS = {"http": 80, "https": 443}


class TracedAttempts:
    """The attempts of one delivery; use :meth:`send` and :meth:`report`."""

    __slots__ = (
        "_number",
        "_on_attempt",
        "_propagator",
        "_retry_after",
        "_send",
        "_tracer",
        "_waited",
    )

    def __init__(
        self, tracer: Tracer, send: SendFn, on_attempt: AttemptHook | None
    ) -> None:
        self._tracer = tracer
        self._propagator = propagator_of(tracer)
        self._send = send
        self._on_attempt = on_attempt
        self._number = 0
        self._waited: float | None = None
        self._retry_after: float | None = None

    async def send(self, request: OutboundRequest) -> Response:
        """One attempt inside its span; raises what the client raises."""
        self._number += 1
        with self._tracer.start_as_current_span(
            request.method,
            kind=SpanKind.CLIENT,
            record_exception=False,
            set_status_on_exception=False,
        ) as span:
            # Spans that are not recorded (tracing off, or not sampled) are
            # on the hot path too: their attributes are not worth computing.
            if span.is_recording():
                span.set_attributes(self._attributes(request))
            carrier = http_trace_headers(self._propagator)
            if carrier:
                request = replace(
                    request, headers=(*request.headers, *carrier.items())
                )
            try:
                response = await self._send(request)
            except DeliveryError as exc:
                span.set_status(Status(StatusCode.ERROR, exc.reason))
                span.set_attribute(ERROR_TYPE, type(exc).__qualname__)
                span.record_exception(exc)
                raise
            span.set_attribute(HTTP_RESPONSE_STATUS_CODE, response.status)
            if response.status >= 400:
                # Semantic conventions: a client span with a 4xx or 5xx
                # answer is an error, its type the status code.
                span.set_status(Status(StatusCode.ERROR))
                span.set_attribute(ERROR_TYPE, str(response.status))
            return response

    def report(self, info: AttemptInfo) -> None:
        """The retry loop's hook: remember the pause, then pass it on."""
        self._waited = info.sleep
        self._retry_after = info.retry_after
        if self._on_attempt is not None:
            self._on_attempt(info)

    def _attributes(self, request: OutboundRequest) -> dict[str, Any]:
        attributes = _url_attributes(request.url)
        attributes[HTTP_REQUEST_METHOD] = request.method
        if self._number > 1:
            attributes[HTTP_REQUEST_RESEND_COUNT] = self._number - 1
            if self._waited is not None:
                attributes[RETRY_WAITED] = round(self._waited, 6)
            if self._retry_after is not None:
                attributes[RETRY_AFTER] = self._retry_after
        return attributes


def _url_attributes(url: str) -> dict[str, Any]:
    parts = urlsplit(url)
    attributes: dict[str, Any] = {URL_FULL: safe_url(url)}
    if parts.hostname:
        attributes[SERVER_ADDRESS] = parts.hostname
    try:
        port = parts.port or _DEFAULT_PORTS.get(parts.scheme)
    except ValueError:  # a port that is not a number: leave it out
        port = None
    if port is not None:
        attributes[SERVER_PORT] = port
    return attributes


def safe_url(url: str) -> str:
    """``url`` without user info and with every query value redacted.

    Credentials in the authority and tokens in query strings are common, and
    a span is no place for them; the names of query parameters stay.
    """
    parts = urlsplit(url)
    netloc = parts.netloc.rpartition("@")[2]
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        query = urlencode([(name, _REDACTED) for name, _ in pairs])
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))
