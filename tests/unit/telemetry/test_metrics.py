"""The metrics registry: names, labels and gauges read at scrape time."""

from __future__ import annotations

from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from omniout.telemetry.metrics import Metrics


def test_gauges_are_read_from_their_sources_when_scraped() -> None:
    metrics = Metrics()
    lag = {("orders", 1): 7, ("orders", 0): 0}
    metrics.watch_in_flight(lambda: 3)
    metrics.watch_lag(lambda: lag)

    page = generate_latest(metrics.registry).decode()
    lag[("orders", 1)] = 2
    later = generate_latest(metrics.registry).decode()

    assert "omniout_events_in_flight 3.0" in page
    assert 'omniout_consumer_lag{partition="1",topic="orders"} 7.0' in page
    assert 'omniout_consumer_lag{partition="0",topic="orders"} 0.0' in page
    assert 'omniout_consumer_lag{partition="1",topic="orders"} 2.0' in later


def test_every_metric_of_the_readme_is_exposed() -> None:
    metrics = Metrics()
    metrics.consumed.labels("t").inc()
    for counter in (
        metrics.delivered,
        metrics.retried,
        metrics.duplicates,
        metrics.filtered,
    ):
        counter.labels("orders").inc()
    metrics.dead_lettered.labels("orders", "decode").inc()
    metrics.delivery_seconds.labels("orders", "http://h").observe(0.1)
    metrics.attempts.labels("orders", "http://h").observe(2)
    metrics.commit_seconds.observe(0.002)
    metrics.limit_wait_seconds.labels("orders").inc(0.5)
    metrics.limit_waiting.labels("orders").set(1)

    page = generate_latest(metrics.registry).decode()

    names = {family.name for family in text_string_to_metric_families(page)}
    assert names == {
        "omniout_events_consumed",
        "omniout_events_delivered",
        "omniout_delivery_retries",
        "omniout_events_dead_lettered",
        "omniout_events_duplicate",
        "omniout_events_filtered",
        "omniout_delivery_duration_seconds",
        "omniout_delivery_attempts",
        "omniout_commit_duration_seconds",
        "omniout_events_in_flight",
        "omniout_consumer_lag",
        "omniout_limit_wait_seconds",
        "omniout_limit_waiting",
    }
    assert 'omniout_events_consumed_total{topic="t"} 1.0' in page
    assert "_created" not in page
