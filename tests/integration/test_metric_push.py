"""Metrics pushed over OTLP/HTTP while the service delivers, and once at stop.

The receiver is an OTLP/HTTP metrics endpoint served by aiohttp in the test:
it decodes each ``ExportMetricsServiceRequest`` as a collector would. Jaeger
takes traces only, so it cannot stand in here.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
    ExportMetricsServiceResponse,
)

from tests.integration.conftest import TopicFactory
from tests.integration.engine import (
    order,
    produce_orders,
    running,
    settings,
    wait_until,
)
from tests.integration.receiver import Receiver

pytestmark = pytest.mark.integration


class MetricsReceiver:
    """``POST /v1/metrics``; ``requests`` holds what arrived, decoded."""

    def __init__(self) -> None:
        self.requests: list[ExportMetricsServiceRequest] = []
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def _export(self, request: web.Request) -> web.Response:
        pushed = ExportMetricsServiceRequest()
        pushed.ParseFromString(await request.read())
        self.requests.append(pushed)
        return web.Response(
            body=ExportMetricsServiceResponse().SerializeToString(),
            content_type="application/x-protobuf",
        )

    async def __aenter__(self) -> MetricsReceiver:
        app = web.Application()
        app.router.add_post("/v1/metrics", self._export)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}"
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def points(self, index: int, name: str) -> list[Any]:
        """The data points of metric ``name`` in the ``index``th push."""
        scopes = self.requests[index].resource_metrics[0].scope_metrics
        for metric in scopes[0].metrics:
            if metric.name == name:
                kind = metric.WhichOneof("data")
                return list(getattr(metric, kind).data_points)
        return []

    def service(self, index: int) -> str:
        resource = self.requests[index].resource_metrics[0].resource
        names = [a.value.string_value for a in resource.attributes]
        keys = [a.key for a in resource.attributes]
        return str(names[keys.index("service.name")])


async def test_pushed_metrics_count_the_deliveries_and_the_last_push_has_all(
    kafka: str,
    new_topic: TopicFactory,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    service = f"omniout-test-{uuid.uuid4().hex[:10]}"
    topic = await new_topic("metrics-push")
    await produce_orders(kafka, topic, [order(1), order(2)], "Order_Number__c")

    async with MetricsReceiver() as collector, Receiver() as receiver:
        monkeypatch.setenv("OTEL_SERVICE_NAME", service)
        monkeypatch.delenv("OTEL_EXPORTER_OTLP_ENDPOINT", raising=False)
        monkeypatch.setenv("OTEL_METRICS_EXPORTER", "otlp")
        monkeypatch.setenv(
            "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", collector.url + "/v1/metrics"
        )
        monkeypatch.setenv("OTEL_METRIC_EXPORT_INTERVAL", "200")
        config = settings(kafka, topic, receiver.url + "/orders", tmp_path)

        async def pushed_twice() -> bool:
            return len(collector.requests) >= 2 and len(receiver.deliveries) >= 2

        async with running(config):
            await wait_until(pushed_twice)
            during = len(collector.requests)

    assert len(collector.requests) > during
    delivered = collector.points(-1, "omniout_events_delivered")
    assert [(p.as_double, p.attributes[0].value.string_value) for p in delivered] == [
        (2.0, "orders")
    ]
    (duration,) = collector.points(-1, "omniout_delivery_duration_seconds")
    assert duration.count == 2
    assert sum(duration.bucket_counts) == 2
    assert collector.service(-1) == service
