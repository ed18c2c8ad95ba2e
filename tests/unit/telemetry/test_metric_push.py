"""The Prometheus registry read as OTLP metrics, and when they are pushed."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
from opentelemetry.exporter.otlp.proto.common.metrics_encoder import encode_metrics
from opentelemetry.sdk.metrics.export import (
    Histogram,
    MetricExporter,
    MetricExportResult,
    MetricsData,
    Sum,
)
from opentelemetry.sdk.resources import Resource

from omniout.errors import ConfigError
from omniout.telemetry.metric_push import (
    MetricPush,
    pushing_metrics,
    setup_metric_push,
    snapshot,
)
from omniout.telemetry.metrics import Metrics

RESOURCE = Resource({"service.name": "omniout-test"})


def by_name(data: MetricsData) -> dict[str, Any]:
    (scope,) = data.resource_metrics[0].scope_metrics
    return {metric.name: metric.data for metric in scope.metrics}


def test_counters_histograms_and_gauges_keep_their_values_and_labels() -> None:
    metrics = Metrics()
    metrics.delivered.labels("orders").inc(3)
    metrics.attempts.labels("orders", "http://x:80").observe(1)
    metrics.attempts.labels("orders", "http://x:80").observe(3)
    metrics.watch_in_flight(lambda: 5)
    metrics.watch_lag(lambda: {("orders", 0): 12})

    data = snapshot(metrics.registry, RESOURCE, 100, 200)

    found = by_name(data)
    delivered = found["omniout_events_delivered"]
    assert isinstance(delivered, Sum)
    assert delivered.is_monotonic
    (point,) = delivered.data_points
    assert (point.attributes, point.value) == ({"route": "orders"}, 3.0)
    assert (point.start_time_unix_nano, point.time_unix_nano) == (100, 200)
    attempts = found["omniout_delivery_attempts"]
    assert isinstance(attempts, Histogram)
    (histogram,) = attempts.data_points
    assert histogram.attributes == {"route": "orders", "endpoint": "http://x:80"}
    assert (histogram.count, histogram.sum) == (2, 4.0)
    assert list(histogram.explicit_bounds) == [1, 2, 3, 4, 5, 6, 8, 10, 15, 20]
    assert list(histogram.bucket_counts) == [1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0]
    assert [p.value for p in found["omniout_events_in_flight"].data_points] == [5]
    (lag,) = found["omniout_consumer_lag"].data_points
    assert (lag.attributes, lag.value) == ({"topic": "orders", "partition": "0"}, 12)
    assert data.resource_metrics[0].resource is RESOURCE


def test_a_snapshot_encodes_to_an_otlp_request() -> None:
    metrics = Metrics()
    metrics.commit_seconds.observe(0.002)

    request = encode_metrics(snapshot(metrics.registry, RESOURCE, 1, 2))

    (metric,) = [
        m
        for m in request.resource_metrics[0].scope_metrics[0].metrics
        if m.name == "omniout_commit_duration_seconds"
    ]
    (point,) = metric.histogram.data_points
    assert point.count == 1
    assert not point.HasField("min")


@pytest.mark.parametrize(
    ("environ", "key"),
    [
        ({"OTEL_METRICS_EXPORTER": "zipkin"}, "OTEL_METRICS_EXPORTER"),
        ({"OTEL_METRICS_EXPORTER": "otlp"}, "OTEL_METRICS_EXPORTER"),
        (
            {
                "OTEL_METRICS_EXPORTER": "otlp",
                "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318",
                "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL": "http/json",
            },
            "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL",
        ),
        (
            {
                "OTEL_METRICS_EXPORTER": "otlp",
                "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318",
                "OTEL_METRIC_EXPORT_INTERVAL": "soon",
            },
            "OTEL_METRIC_EXPORT_INTERVAL",
        ),
    ],
)
def test_bad_push_settings_are_config_errors(
    environ: dict[str, str], key: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        setup_metric_push(environ=environ)

    assert caught.value.key == key


@pytest.mark.parametrize("kind", ["", "none", "prometheus"])
def test_nothing_is_pushed_unless_asked_for(kind: str) -> None:
    environ = {
        "OTEL_METRICS_EXPORTER": kind,
        "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318",
    }

    assert setup_metric_push(environ=environ) is None


class _Recording(MetricExporter):
    def __init__(self, results: list[MetricExportResult | None]) -> None:
        super().__init__()
        self.results = results
        self.sent: list[MetricsData] = []
        self.closed = False

    def export(
        self, metrics_data: MetricsData, timeout_millis: float = 10_000, **_: Any
    ) -> MetricExportResult:
        self.sent.append(metrics_data)
        result = self.results.pop(0) if self.results else MetricExportResult.SUCCESS
        if result is None:
            raise ConnectionError("receiver down")
        return result

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        return True

    def shutdown(self, timeout_millis: float = 30_000, **_: Any) -> None:
        self.closed = True


async def test_failed_pushes_are_logged_and_the_last_push_comes_at_the_end(
    caplog: pytest.LogCaptureFixture,
) -> None:
    failures: Sequence[MetricExportResult | None] = [None, MetricExportResult.FAILURE]
    exporter = _Recording(list(failures))
    push = MetricPush(exporter, 3600, RESOURCE)
    metrics = Metrics()

    with caplog.at_level("DEBUG", logger="omniout.telemetry.metric_push"):
        assert not await push.push(metrics.registry)
        assert not await push.push(metrics.registry)
        async with pushing_metrics(push, metrics):
            metrics.delivered.labels("orders").inc()

    levels = [r.levelname for r in caplog.records if "push failed" in r.message]
    assert levels == ["WARNING", "DEBUG"]
    assert len(exporter.sent) == 3
    last = by_name(exporter.sent[-1])["omniout_events_delivered"]
    assert [p.value for p in last.data_points] == [1.0]
    assert exporter.closed


@pytest.mark.parametrize(("protocol", "module"), [("grpc", "grpc"), ("", "http")])
def test_the_protocol_picks_the_metric_exporter(
    protocol: str, module: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4317")
    environ = {
        "OTEL_METRICS_EXPORTER": "otlp",
        "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4317",
        "OTEL_EXPORTER_OTLP_PROTOCOL": protocol,
    }

    push = setup_metric_push(environ=environ)

    assert push is not None
    exporter = push._exporter
    assert type(exporter).__module__.startswith(
        f"opentelemetry.exporter.otlp.proto.{module}."
    )
    exporter.shutdown()
