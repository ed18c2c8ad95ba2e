"""Prometheus metrics of one service, served on the admin port's ``/metrics``.

prometheus_client is used directly, not through the OpenTelemetry metrics
SDK and its Prometheus exporter: that exporter is still a pre-release
package pinned to one SDK version, and it registers on the process-wide
registry, so two services in one process (as in the tests) would collide.
Here each :class:`Metrics` owns its registry. Updating a counter or a
histogram is a lock and an addition, cheap enough for every event.

Gauges that are read rather than counted (events in flight, consumer lag)
are computed when scraped, from callbacks the consumer installs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

__all__ = ["LagSource", "Metrics"]

# Seconds from the first attempt to the outcome: from a fast local receiver
# to a delivery that waited through several backoffs.
_LATENCY_BUCKETS = (
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600
)
_ATTEMPT_BUCKETS = (1, 2, 3, 4, 5, 6, 8, 10, 15, 20)
_COMMIT_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5)

# (topic, partition) -> records behind the end of the partition.
LagSource = Callable[[], Mapping[tuple[str, int], int]]


class Metrics:
    """The service's counters, histograms and gauges, in their own registry."""

    def __init__(self) -> None:
        # The *_created series (when each counter was made) double the page
        # for no use here. prometheus_client has one switch per process.
        disable_created_metrics()  # type: ignore[no-untyped-call]
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.consumed = Counter(
            "omniout_events_consumed", "Records fetched from Kafka.", ["topic"],
            registry=r,
        )
        self.delivered = Counter(
            "omniout_events_delivered", "Events an endpoint accepted.", ["route"],
            registry=r,
        )
        self.retried = Counter(
            "omniout_delivery_retries",
            "Attempts that failed and were followed by another.",
            ["route"],
            registry=r,
        )
        self.dead_lettered = Counter(
            "omniout_events_dead_lettered",
            "Events written to a dead-letter topic, by failure kind.",
            ["route", "kind"],
            registry=r,
        )
        self.duplicates = Counter(
            "omniout_events_duplicate",
            "Events not sent because the ledger has them as delivered.",
            ["route"],
            registry=r,
        )
        self.filtered = Counter(
            "omniout_events_filtered",
            "Events a route's condition did not match.",
            ["route"],
            registry=r,
        )
        self.delivery_seconds = Histogram(
            "omniout_delivery_duration_seconds",
            "Seconds from the first attempt to the outcome of a delivery.",
            ["route", "endpoint"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.attempts = Histogram(
            "omniout_delivery_attempts",
            "HTTP attempts per delivery outcome.",
            ["route", "endpoint"],
            buckets=_ATTEMPT_BUCKETS,
            registry=r,
        )
        self.commit_seconds = Histogram(
            "omniout_commit_duration_seconds",
            "Seconds an offset commit took.",
            buckets=_COMMIT_BUCKETS,
            registry=r,
        )
        # Per limit key (omniout.deliver.limits): where a slow or strictly
        # limited endpoint holds its events back.
        self.limit_wait_seconds = Counter(
            "omniout_limit_wait_seconds",
            "Seconds attempts spent waiting for an endpoint limiter.",
            ["limit"],
            registry=r,
        )
        self.limit_waiting = Gauge(
            "omniout_limit_waiting",
            "Attempts waiting for an endpoint limiter now.",
            ["limit"],
            registry=r,
        )
        self.in_flight = Gauge(
            "omniout_events_in_flight",
            "Records fetched and not yet done.",
            registry=r,
        )
        self._lag = _LagCollector()
        r.register(self._lag)

    def watch_in_flight(self, count: Callable[[], int]) -> None:
        """Read the in-flight gauge from ``count`` at every scrape."""
        self.in_flight.set_function(count)

    def watch_lag(self, source: LagSource | None) -> None:
        """Report consumer lag from ``source`` at every scrape (None: stop)."""
        self._lag.source = source


class _LagCollector(Collector):
    def __init__(self) -> None:
        self.source: LagSource | None = None

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily(
            "omniout_consumer_lag",
            "Records between the group's position and the end of a partition.",
            labels=["topic", "partition"],
        )
        if self.source is not None:
            for (topic, partition), lag in sorted(self.source().items()):
                family.add_metric([topic, str(partition)], lag)
        yield family

    def describe(self) -> Iterator[GaugeMetricFamily]:
        yield GaugeMetricFamily(
            "omniout_consumer_lag", "", labels=["topic", "partition"]
        )
