"""One CLIENT span per attempt, with traceparent on the request it sends."""

from __future__ import annotations

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import (
    InMemorySpanExporter,
)
from opentelemetry.trace import SpanKind, StatusCode

from omniout.deliver import (
    OutboundRequest,
    Response,
    RetryPolicy,
    deliver_with_retries,
)
from omniout.deliver.tracing import TracedAttempts, safe_url
from omniout.errors import DeliveryError

URL = "https://user:secret@api.example.test:8443/hooks/orders?token=abc&v=2"
REQUEST = OutboundRequest("POST", URL, (("Idempotency-Key", "k-1"),), b"{}", 2.0)
POLICY = RetryPolicy(initial_backoff=0.01, max_backoff=0.01, jitter=0.0)


@pytest.fixture
def exported() -> InMemorySpanExporter:
    return InMemorySpanExporter()


def tracer_for(exporter: InMemorySpanExporter) -> TracerProvider:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider


async def no_sleep(seconds: float) -> None:
    return None


async def test_each_attempt_is_a_client_span_and_carries_its_traceparent(
    exported: InMemorySpanExporter,
) -> None:
    sent: list[OutboundRequest] = []
    answers = [
        Response(200, (), b"", 0.01),
        Response(503, (("retry-after", "0"),), b"", 0.01),
    ]

    async def send(request: OutboundRequest) -> Response:
        sent.append(request)
        return answers.pop()

    tracer = tracer_for(exported).get_tracer("test")
    attempts = TracedAttempts(tracer, send, None)
    result = await deliver_with_retries(
        attempts.send, REQUEST, POLICY, sleep=no_sleep, on_attempt=attempts.report
    )

    first, second = exported.get_finished_spans()
    assert result.attempts == 2
    assert first.kind is SpanKind.CLIENT
    assert first.name == "POST"
    assert first.attributes is not None
    assert second.attributes is not None
    assert first.attributes["http.response.status_code"] == 503
    assert first.status.status_code is StatusCode.ERROR
    assert first.attributes["error.type"] == "503"
    assert "http.request.resend_count" not in first.attributes
    assert second.attributes["http.request.resend_count"] == 1
    # The backoff (0.01 s) is longer than Retry-After (0 s), so it counts.
    assert second.attributes["omniout.retry.waited"] == 0.01
    assert second.attributes["omniout.retry.retry_after"] == 0.0
    assert second.status.status_code is StatusCode.UNSET
    assert first.attributes["url.full"] == (
        "https://api.example.test:8443/hooks/orders?token=REDACTED&v=REDACTED"
    )
    assert first.attributes["server.address"] == "api.example.test"
    assert first.attributes["server.port"] == 8443
    for request, span in zip(sent, (first, second), strict=True):
        headers = dict(request.headers)
        span_id = format(span.context.span_id, "016x")
        assert headers["traceparent"].split("-")[2] == span_id
        assert headers["Idempotency-Key"] == "k-1"


async def test_an_attempt_without_an_answer_records_the_error(
    exported: InMemorySpanExporter,
) -> None:
    async def send(request: OutboundRequest) -> Response:
        raise DeliveryError("connection failed: refused", retriable=False)

    tracer = tracer_for(exported).get_tracer("test")
    attempts = TracedAttempts(tracer, send, None)
    with pytest.raises(DeliveryError):
        await attempts.send(REQUEST)

    (span,) = exported.get_finished_spans()
    assert span.status.status_code is StatusCode.ERROR
    assert span.status.description == "connection failed: refused"
    assert [event.name for event in span.events] == ["exception"]


@pytest.mark.parametrize(
    ("url", "safe"),
    [
        ("http://127.0.0.1:9000/a", "http://127.0.0.1:9000/a"),
        ("https://u:p@h/a?x=1#frag", "https://h/a?x=REDACTED"),
        ("https://h/a?flag", "https://h/a?flag=REDACTED"),
    ],
)
def test_urls_in_spans_hold_no_credentials_or_query_values(url: str, safe: str) -> None:
    assert safe_url(url) == safe
