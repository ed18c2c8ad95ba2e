"""Concurrency and rate limits per endpoint, seen by real receivers.

The engine runs the documented examples against a real broker; the
receivers record when each request arrived and how many were open at once.
Timing is asserted on the receivers' own observations with wide margins.
"""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from pathlib import Path

import pytest
from aiohttp import web

from omniout.config import ProcessingSettings, load_settings
from omniout.deliver import Deliverer, OutboundRequest, RetryPolicy
from omniout.deliver.limits import open_limiters
from omniout.routing import compile_routes
from tests.doc_examples import example
from tests.integration.conftest import TopicFactory
from tests.integration.engine import (
    committed_and_end,
    order,
    produce_orders,
    running,
    settings,
    wait_until,
)
from tests.integration.example_engine import (
    example_settings,
    running_with_admin,
    scrape,
)
from tests.integration.receiver import Delivery, Receiver

pytestmark = pytest.mark.integration

ONCE = RetryPolicy(max_attempts=1)


class Overlap:
    """An answer that holds each request a while, counting those open."""

    def __init__(self, hold: float) -> None:
        self.hold = hold
        self.open = 0
        self.peak = 0

    async def __call__(self, delivery: Delivery) -> web.StreamResponse:
        self.open += 1
        self.peak = max(self.peak, self.open)
        try:
            await asyncio.sleep(self.hold)
        finally:
            self.open -= 1
        return web.json_response({"ok": True})


def waited(page: str, key: str) -> float:
    found = re.search(rf'omniout_limit_wait_seconds_total{{limit="{key}"}} (\S+)', page)
    return float(found.group(1)) if found else 0.0


async def test_a_shared_concurrency_limit_holds_while_an_unlimited_route_runs_free(
    kafka: str,
    new_topic: TopicFactory,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    topic = await new_topic("limits-concurrency")
    events = [order(n) for n in range(20)]
    await produce_orders(kafka, topic, events, key_field="Order_Number__c")
    erp_answer, audit_answer = Overlap(0.05), Overlap(0.3)

    async with Receiver() as erp, Receiver() as audit:
        erp.answer, audit.answer = erp_answer, audit_answer
        monkeypatch.setenv("ERP_URL", erp.url)
        monkeypatch.setenv("AUDIT_URL", audit.url)
        config = example_settings("limits-shared", kafka, topic, tmp_path)
        async with running_with_admin(config) as admin:
            await audit.wait_for(20)

            async def all_sent() -> bool:
                return len(erp.deliveries) >= 40

            await wait_until(all_sent)
            page = await scrape(admin)

    paths = Counter(d.path for d in erp.deliveries)
    assert paths == {"/orders": 20, "/invoices": 20}
    assert erp_answer.peak == 2
    # Unlimited, audit had many requests open at once, and was done long
    # before 40 ERP requests could pass two at a time (at least 1 s).
    assert audit_answer.peak > 2
    audit_span = max(d.at for d in audit.deliveries) - min(
        d.at for d in audit.deliveries
    )
    erp_span = max(d.at for d in erp.deliveries) - min(d.at for d in erp.deliveries)
    assert erp_span > 0.9
    assert audit_span < erp_span / 2
    assert waited(page, "erp") > 0.5
    assert waited(page, "audit") == 0.0


async def test_a_rate_limit_spreads_the_arrivals_at_the_receiver(
    kafka: str,
    new_topic: TopicFactory,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    topic = await new_topic("limits-rate")
    events = [order(n) for n in range(30)]
    await produce_orders(kafka, topic, events, key_field="Order_Number__c")

    async with Receiver() as crm:
        monkeypatch.setenv("CRM_URL", crm.url)
        config = example_settings("limits-rate", kafka, topic, tmp_path)
        async with running_with_admin(config) as admin:
            await crm.wait_for(30)
            page = await scrape(admin)

    arrivals = sorted(d.at for d in crm.deliveries)
    assert len(arrivals) == 30
    # 10 per second, evenly spaced: the 30th goes 2.9 s after the first.
    assert arrivals[-1] - arrivals[0] >= 2.0
    # No second holds more than 10, give or take one of network jitter.
    assert max(sum(a <= t < a + 1.0 for t in arrivals) for a in arrivals) <= 11
    assert waited(page, "crm-sync") > 1.0


async def test_waiting_for_a_slot_does_not_count_against_the_timeout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    held = Overlap(0.25)
    async with Receiver() as erp, Receiver() as audit:
        erp.answer = held
        monkeypatch.setenv("ERP_URL", erp.url)
        monkeypatch.setenv("AUDIT_URL", audit.url)
        path = example("limits-shared", tmp_path)
        settings = load_settings(path)
        route = compile_routes(settings.routes)[0]
        limits = open_limiters(settings.routes, file=str(path))
        # Six attempts two at a time take 0.75 s; each may take 0.4 s.
        request = OutboundRequest(
            "POST", f"{erp.url}/orders", (), b"{}", 0.4, limit=route.limit
        )
        async with Deliverer(limits=limits) as deliverer:
            results = await asyncio.gather(
                *(deliverer.deliver(request, ONCE) for _ in range(6))
            )

    assert [r.response.status for r in results] == [200] * 6
    assert held.peak == 2
    # The last two were sent about 0.5 s after the first: they waited for
    # longer than the timeout, and yet did not time out.
    arrivals = sorted(d.at for d in erp.deliveries)
    assert arrivals[-1] - arrivals[0] >= 0.4
    assert max(r.response.elapsed for r in results) < 0.4


async def test_an_attempt_waiting_for_its_turn_holds_no_pooled_connection(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with Receiver() as crm, Receiver() as other:
        monkeypatch.setenv("CRM_URL", crm.url)
        path = example("limits-rate", tmp_path)
        settings = load_settings(path)
        route = compile_routes(settings.routes)[0]
        limits = open_limiters(settings.routes, file=str(path))
        limited = OutboundRequest(
            "POST", f"{crm.url}/sync", (), b"{}", 2.0, limit=route.limit
        )
        free = OutboundRequest("POST", f"{other.url}/x", (), b"{}", 2.0)
        # One connection in the pool: 9 attempts wait for their turn (up to
        # 0.9 s) while the unlimited request goes through.
        async with Deliverer(max_connections=1, limits=limits) as deliverer:
            waiting = [
                asyncio.create_task(deliverer.deliver(limited, ONCE))
                for _ in range(10)
            ]
            await asyncio.sleep(0.05)
            answer = await asyncio.wait_for(deliverer.deliver(free, ONCE), 0.5)
            pending = sum(not task.done() for task in waiting)
            for task in waiting:
                task.cancel()
            await asyncio.gather(*waiting, return_exceptions=True)

    assert answer.response.status == 200
    assert pending >= 5
    assert len(other.deliveries) == 1


async def test_stopping_cancels_waits_and_leaves_waiting_events_uncommitted(
    kafka: str, new_topic: TopicFactory, tmp_path: Path
) -> None:
    topic = await new_topic("limits-stop")
    events = [order(n) for n in range(3)]
    await produce_orders(kafka, topic, events, key_field="Order_Number__c")

    async with Receiver() as receiver:
        config = settings(
            kafka,
            topic,
            receiver.url,
            tmp_path,
            endpoint={"rate_limit": {"requests": 1, "per": 60}},
        )
        config = config.model_copy(
            update={"processing": ProcessingSettings(shutdown_timeout=0.5)}
        )
        loop = asyncio.get_running_loop()
        async with running(config):
            await receiver.wait_for(1)
            await asyncio.sleep(0.3)
            stopped_at = loop.time()
        stop_seconds = loop.time() - stopped_at

    # The two waiting for their turn (up to two minutes) were cancelled
    # after the drain timeout: not sent, not committed, consumed again later.
    assert len(receiver.deliveries) == 1
    assert stop_seconds < 5
    positions = await committed_and_end(kafka, config.kafka.group_id, topic)
    assert positions[0] == (1, 3)
