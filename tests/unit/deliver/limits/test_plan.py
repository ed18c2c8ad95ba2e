"""Limit keys, shared limits and the size caps, as the config is loaded."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from prometheus_client import generate_latest

from omniout.config import RouteSettings, load_settings
from omniout.deliver.limits import open_limiters, plan_limits
from omniout.errors import ConfigError, PayloadTooLargeError
from omniout.routing import compile_routes
from omniout.telemetry.metrics import Metrics


def route(name: str, **endpoint: Any) -> RouteSettings:
    return RouteSettings.model_validate(
        {
            "name": name,
            "topic": "/event/Order_Completed__e",
            "endpoint": {"url": "https://erp.example/orders", **endpoint},
        }
    )


def test_limits_belong_to_the_route_unless_a_key_is_shared() -> None:
    routes = [
        route("orders", max_concurrency=2),
        route("refunds", max_concurrency=2),
        route("audit"),
    ]

    plans = plan_limits(routes)

    assert sorted(plans) == ["orders", "refunds"]
    assert plans["orders"].routes == ("orders",)


def test_routes_naming_one_key_share_one_limiter() -> None:
    rate = {"requests": 5, "per": 1}
    routes = [
        route("orders", limit_key="erp", max_concurrency=4),
        route("refunds", limit_key="erp", rate_limit=rate),
        route("cancels", limit_key="erp", max_concurrency=4),
    ]

    plans = plan_limits(routes)
    limiters = open_limiters(routes)

    assert list(plans) == list(limiters) == ["erp"]
    plan = plans["erp"]
    assert plan.routes == ("orders", "refunds", "cancels")
    assert plan.max_concurrency == 4
    assert plan.rate_limit is not None
    assert (plan.rate_limit.requests, plan.rate_limit.per) == (5, 1.0)
    assert [r.limit for r in compile_routes(routes)] == ["erp", "erp", "erp"]


def test_a_shared_key_with_different_limits_is_a_config_error() -> None:
    routes = [
        route("orders", limit_key="erp", max_concurrency=4),
        route("refunds", limit_key="erp", max_concurrency=8),
    ]

    with pytest.raises(ConfigError) as caught:
        plan_limits(routes, file="omniout.yaml")

    assert caught.value.key == "routes[1].endpoint.max_concurrency"
    assert "'orders'" in caught.value.reason


def test_loading_a_file_checks_shared_limits(tmp_path: Path) -> None:
    path = tmp_path / "omniout.yaml"
    path.write_text(
        "routes:\n"
        "  - {name: a, topic: t, endpoint: {url: 'http://h/a', limit_key: k,"
        " rate_limit: {requests: 1, per: 1}}}\n"
        "  - {name: b, topic: t, endpoint: {url: 'http://h/b', limit_key: k,"
        " rate_limit: {requests: 2, per: 1}}}\n"
    )

    with pytest.raises(ConfigError, match=r"routes\[1\].endpoint.rate_limit"):
        load_settings(path)


@pytest.mark.parametrize(
    ("endpoint", "key"),
    [
        ({"max_concurrency": 0}, "max_concurrency"),
        ({"rate_limit": {"requests": 0, "per": 1}}, "rate_limit.requests"),
        ({"rate_limit": {"requests": 1, "per": 0}}, "rate_limit.per"),
        ({"rate_limit": {"requests": 1}}, "rate_limit.per"),
        ({"limit_key": "a b"}, "limit_key"),
        ({"max_response_bytes": 0}, "max_response_bytes"),
    ],
)
def test_bad_limits_name_their_key(
    tmp_path: Path, endpoint: dict[str, Any], key: str
) -> None:
    path = tmp_path / "omniout.yaml"
    fields = ", ".join(f"{k}: {v}" for k, v in endpoint.items())
    path.write_text(
        f"routes:\n  - {{name: a, topic: t, endpoint: {{url: 'http://h', {fields}}}}}\n"
    )

    with pytest.raises(ConfigError) as caught:
        load_settings(path)

    assert caught.value.key == f"routes[0].endpoint.{key}"


def test_a_payload_over_max_request_bytes_is_refused_before_sending() -> None:
    mapping = {"note": "Order_Number__c"}
    small, large = compile_routes(
        [
            RouteSettings.model_validate(
                {
                    "name": name,
                    "topic": "t",
                    "mapping": mapping,
                    "endpoint": {"url": "http://h", "max_request_bytes": cap},
                }
            )
            for name, cap in (("small", 40), ("large", 41))
        ]
    )
    event = {"Order_Number__c": "x" * 30}  # {"note":"x...x"}: 41 bytes

    with pytest.raises(PayloadTooLargeError) as caught:
        small.request(event, "r1")
    request = large.request(event, "r1")

    assert caught.value.kind == "payload-too-large"
    assert caught.value.reason == (
        "route 'small': payload is 41 bytes, more than max_request_bytes (40)"
    )
    assert request.body is not None
    assert len(request.body) == 41
    assert request.max_response_bytes == 1024 * 1024


async def test_waiting_is_counted_per_limit_key_in_the_metrics() -> None:
    metrics = Metrics()
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    routes = [route("orders", rate_limit={"requests": 2, "per": 1}), route("audit")]
    limiters = open_limiters(routes, metrics=metrics, clock=lambda: 0.0, sleep=sleep)
    for _ in range(3):
        await limiters["orders"].acquire()
        limiters["orders"].release()

    page = generate_latest(metrics.registry).decode()
    assert slept == [0.5, 1.0]
    assert 'omniout_limit_wait_seconds_total{limit="orders"} 1.5' in page
    assert 'omniout_limit_waiting{limit="orders"} 0.0' in page
    assert 'limit="audit"' not in page
