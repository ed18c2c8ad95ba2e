"""The admin port of a running service: liveness, readiness and metrics."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.integration.admin import closed_port, serving, with_admin
from tests.integration.conftest import TopicFactory
from tests.integration.engine import order, produce, produce_orders, settings
from tests.integration.receiver import Receiver

pytestmark = pytest.mark.integration


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a Prometheus text page, by name and sorted labels."""
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = tuple(sorted(sample.labels.items()))
            found[sample.name, labels] = sample.value
    return found


async def test_ready_only_after_joining_and_metrics_count_what_was_sent(
    kafka: str, new_topic: TopicFactory, tmp_path: Path
) -> None:
    topic = await new_topic("admin")
    events = [order(n, Order_Id__c=f"801{n}") for n in range(1, 4)]
    free = order(0, Order_Id__c="8010")  # a total of 0: the condition skips it
    await produce_orders(kafka, topic, [*events, free], key_field="Order_Id__c")
    await produce(kafka, topic, [(None, b"not avro")])

    async with Receiver() as receiver:
        route = settings(
            kafka, topic, receiver.url + "/o", tmp_path, condition="Total_Amount__c > 0"
        )
        config = with_admin(route)
        async with (
            serving(config) as url,
            httpx.AsyncClient(base_url=url) as admin,
        ):
            first = await admin.get("/readyz")
            answers = [first]
            deadline = time.monotonic() + 20
            while answers[-1].status_code != 200 and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
                answers.append(await admin.get("/readyz"))
            alive = await admin.get("/healthz")
            await receiver.wait_for(len(events))
            text = await _settled_metrics(admin, consumed=5.0, topic=topic)

    assert first.status_code == 503
    assert first.json()["ready"] is False
    assert first.json()["reasons"]["group"] == "not joined"
    assert answers[-1].status_code == 200
    assert answers[-1].json() == {"ready": True}
    assert alive.status_code == 200
    found = samples(text)
    route_label = (("route", "orders"),)
    endpoint = (("endpoint", receiver.url), ("route", "orders"))
    assert found["omniout_events_consumed_total", (("topic", topic),)] == 5
    assert found["omniout_events_delivered_total", route_label] == 3
    assert found["omniout_events_filtered_total", route_label] == 1
    dead = (("kind", "decode"), ("route", "orders"))
    assert found["omniout_events_dead_lettered_total", dead] == 1
    assert found["omniout_delivery_attempts_count", endpoint] == 3
    assert found["omniout_delivery_attempts_sum", endpoint] == 3
    assert found["omniout_delivery_duration_seconds_count", endpoint] == 3
    assert found["omniout_events_in_flight", ()] == 0
    assert found["omniout_consumer_lag", (("partition", "0"), ("topic", topic))] == 0
    assert found["omniout_commit_duration_seconds_count", ()] >= 1


async def _settled_metrics(
    admin: httpx.AsyncClient, *, consumed: float, topic: str
) -> str:
    """The metrics page once every record is done and committed."""
    lag = f'omniout_consumer_lag{{partition="0",topic="{topic}"}} 0.0'
    deadline = time.monotonic() + 20
    while True:
        answer = await admin.get("/metrics")
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("text/plain")
        text = answer.text
        consumed_line = f'omniout_events_consumed_total{{topic="{topic}"}} {consumed}'
        if (consumed_line in text and lag in text) or time.monotonic() > deadline:
            return text
        await asyncio.sleep(0.1)


async def test_not_ready_while_no_broker_answers(
    kafka: str, new_topic: TopicFactory, tmp_path: Path
) -> None:
    topic = await new_topic("admin-down")
    nowhere = f"127.0.0.1:{closed_port()}"
    config = with_admin(
        settings(kafka, topic, "http://127.0.0.1:9/o", tmp_path), bootstrap=nowhere
    )

    async with serving(config) as url, httpx.AsyncClient(base_url=url) as admin:
        deadline = time.monotonic() + 10
        ready = await admin.get("/readyz")
        while "unreachable" not in ready.text and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
            ready = await admin.get("/readyz")
        alive = await admin.get("/healthz")

    assert ready.status_code == 503
    reasons = ready.json()["reasons"]
    assert reasons["broker"].startswith("unreachable: ")
    assert nowhere in reasons["broker"] or "Unable to bootstrap" in reasons["broker"]
    assert reasons["group"] == "not joined"
    assert "ledger" not in reasons
    assert alive.status_code == 200
    assert alive.json() == {"status": "alive"}
