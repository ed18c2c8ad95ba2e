"""Metrics pushed over OTLP, read from the service's Prometheus registry.

With ``OTEL_METRICS_EXPORTER=otlp`` the same counters, histograms and gauges
that ``/metrics`` serves are sent to an OTLP receiver every
``OTEL_METRIC_EXPORT_INTERVAL`` milliseconds (60000 by default), over
``OTEL_EXPORTER_OTLP_(METRICS_)PROTOCOL`` (``http/protobuf`` or ``grpc``) to
``OTEL_EXPORTER_OTLP_METRICS_ENDPOINT`` (a full URL) or
``OTEL_EXPORTER_OTLP_ENDPOINT``. The metrics are defined once, in
:mod:`omniout.telemetry.metrics`: :func:`snapshot` turns what the registry
collects into OTLP data (counters become monotonic cumulative sums, named
without ``_total``; histograms keep their buckets; gauges stay gauges).

Pushing never breaks the work: the registry is read on the event loop (its
gauges read the consumer's state), the export runs in a thread, and a
failed export is logged (a warning at most once a minute) and not retried;
the next push sends the totals again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field

from opentelemetry.sdk.metrics.export import (
    AggregationTemporality,
    Gauge,
    Histogram,
    HistogramDataPoint,
    Metric,
    MetricExporter,
    MetricExportResult,
    MetricsData,
    NumberDataPoint,
    ResourceMetrics,
    ScopeMetrics,
    Sum,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from prometheus_client import CollectorRegistry
from prometheus_client.metrics_core import Metric as Family

from omniout.errors import ConfigError
from omniout.telemetry.metrics import Metrics
from omniout.telemetry.tracing import otlp_protocol, service_resource

__all__ = ["MetricPush", "pushing_metrics", "setup_metric_push", "snapshot"]

logger = logging.getLogger(__name__)

_SCOPE = InstrumentationScope("omniout")
_CUMULATIVE = AggregationTemporality.CUMULATIVE
_WARN_EVERY = 60.0  # seconds between two warnings about failed pushes
_DEFAULT_INTERVAL = 60.0


def snapshot(
    registry: CollectorRegistry, resource: Resource, start_ns: int, now_ns: int
) -> MetricsData:
    """What ``registry`` holds now, as OTLP metrics data.

    ``start_ns`` is when the counting began (the service's start), as the
    cumulative points need. Families of other types than counter, gauge and
    histogram (none of omniout's) are left out.
    """
    metrics: list[Metric] = []
    for family in registry.collect():
        data = _data(family, start_ns, now_ns)
        if data is not None:
            metrics.append(
                Metric(family.name, family.documentation, family.unit or None, data)
            )
    scope = ScopeMetrics(_SCOPE, metrics, "")
    return MetricsData([ResourceMetrics(resource, [scope], "")])


def _data(family: Family, start: int, now: int) -> Sum | Gauge | Histogram | None:
    if family.type == "counter":
        points = _points(family, "_total", start, now)
        return Sum(points, _CUMULATIVE, is_monotonic=True)
    if family.type == "gauge":
        return Gauge(_points(family, "", start, now))
    if family.type == "histogram":
        return Histogram(_histogram_points(family, start, now), _CUMULATIVE)
    return None


def _points(
    family: Family, suffix: str, start: int, now: int
) -> list[NumberDataPoint]:
    name = family.name + suffix
    return [
        NumberDataPoint(dict(s.labels), start, now, s.value)
        for s in family.samples
        if s.name == name
    ]


@dataclass(slots=True)
class _Series:
    """One label set of a histogram, filled from its samples in order."""

    labels: dict[str, str]
    bounds: list[float] = field(default_factory=list)
    cumulative: list[int] = field(default_factory=list)
    total: float = 0.0


def _histogram_points(
    family: Family, start: int, now: int
) -> list[HistogramDataPoint]:
    """One point per label set, from the ``_bucket`` and ``_sum`` series.

    Prometheus buckets are cumulative and end with ``+Inf``; OTLP's count
    each bucket alone and leave the last bound implicit.
    """
    found: dict[tuple[tuple[str, str], ...], _Series] = {}
    for sample in family.samples:
        labels = {k: v for k, v in sample.labels.items() if k != "le"}
        key = tuple(sorted(labels.items()))
        series = found.setdefault(key, _Series(labels))
        suffix = sample.name.removeprefix(family.name)
        if suffix == "_bucket":
            series.bounds.append(float(sample.labels["le"]))
            series.cumulative.append(int(sample.value))
        elif suffix == "_sum":
            series.total = sample.value
    return [_histogram_point(series, start, now) for series in found.values()]


def _histogram_point(series: _Series, start: int, now: int) -> HistogramDataPoint:
    cumulative = series.cumulative
    counts = [b - a for a, b in zip([0, *cumulative], cumulative, strict=False)]
    return HistogramDataPoint(
        attributes=series.labels,
        start_time_unix_nano=start,
        time_unix_nano=now,
        count=cumulative[-1] if cumulative else 0,
        sum=series.total,
        bucket_counts=counts,
        explicit_bounds=series.bounds[:-1],
        # Prometheus keeps no minimum or maximum; OTLP lets them be absent,
        # which protobuf takes None for.
        min=None,  # type: ignore[arg-type]
        max=None,  # type: ignore[arg-type]
    )


class MetricPush:
    """Pushes one registry to one exporter; see :func:`pushing_metrics`."""

    def __init__(
        self, exporter: MetricExporter, interval: float, resource: Resource
    ) -> None:
        self.interval = interval
        self._exporter = exporter
        self._resource = resource
        self._start_ns = time.time_ns()
        self._warned_at = -_WARN_EVERY

    async def push(self, registry: CollectorRegistry) -> bool:
        """Send what ``registry`` holds now; False (and a log line) on failure."""
        data = snapshot(registry, self._resource, self._start_ns, time.time_ns())
        try:
            result = await asyncio.to_thread(self._exporter.export, data)
        except Exception as exc:  # an exporter must never break the work
            logger.debug("Metric export raised: %r", exc)
            result = MetricExportResult.FAILURE
        if result is MetricExportResult.SUCCESS:
            return True
        now = time.monotonic()
        level = logging.DEBUG
        if now - self._warned_at >= _WARN_EVERY:
            level, self._warned_at = logging.WARNING, now
        logger.log(level, "Metric push failed; the next one sends the totals")
        return False

    async def close(self) -> None:
        try:
            await asyncio.to_thread(self._exporter.shutdown)
        except Exception as exc:
            logger.debug("Metric exporter shutdown raised: %r", exc)


def setup_metric_push(
    default_service: str = "omniout", environ: Mapping[str, str] = os.environ
) -> MetricPush | None:
    """A pusher when ``OTEL_METRICS_EXPORTER=otlp``; ConfigError on bad settings.

    Unset, ``prometheus`` or ``none``: nothing is pushed (``/metrics`` serves
    the metrics either way). Unlike the specification's default, pushing
    must be asked for, so that an endpoint set for traces alone (Jaeger
    takes no metrics) gets no metrics.
    """
    kind = environ.get("OTEL_METRICS_EXPORTER", "").strip().lower()
    if kind in ("", "none", "prometheus"):
        return None
    if kind != "otlp":
        raise ConfigError(
            "environment", "OTEL_METRICS_EXPORTER", "must be otlp, prometheus or none"
        )
    protocol = otlp_protocol(environ, "METRICS")
    if not (
        environ.get("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT")
        or environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
    ):
        raise ConfigError(
            "environment",
            "OTEL_METRICS_EXPORTER",
            "otlp needs OTEL_EXPORTER_OTLP_(METRICS_)ENDPOINT",
        )
    interval = _interval(environ)
    logger.info("Pushing metrics over OTLP (%s) every %gs", protocol, interval)
    return MetricPush(_exporter(protocol), interval, service_resource(default_service))


def _interval(environ: Mapping[str, str]) -> float:
    value = environ.get("OTEL_METRIC_EXPORT_INTERVAL", "").strip()
    if not value:
        return _DEFAULT_INTERVAL
    try:
        milliseconds = float(value)
    except ValueError:
        milliseconds = 0.0
    if milliseconds <= 0:
        raise ConfigError(
            "environment", "OTEL_METRIC_EXPORT_INTERVAL", "must be milliseconds > 0"
        )
    return milliseconds / 1000


def _exporter(protocol: str) -> MetricExporter:
    # Imported here, as for traces: only the chosen exporter is loaded.
    if protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import (
            OTLPMetricExporter as GrpcExporter,
        )

        return GrpcExporter()
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import (
        OTLPMetricExporter as HttpExporter,
    )

    return HttpExporter()


@contextlib.asynccontextmanager
async def pushing_metrics(
    push: MetricPush | None, metrics: Metrics
) -> AsyncIterator[None]:
    """Push ``metrics`` every interval while the block runs, and once at its end.

    The last push sends what the final commits counted; it waits at most
    the exporter's timeout.
    """
    if push is None:
        yield
        return
    stopped = asyncio.Event()

    async def loop() -> None:
        # The push after ``stopped`` is set is the last one; a push is never
        # cut short, so two never overlap.
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(push.interval):
                    await stopped.wait()
            await push.push(metrics.registry)
            if stopped.is_set():
                return

    task = asyncio.create_task(loop())
    try:
        yield
    finally:
        stopped.set()
        await task
        await push.close()

