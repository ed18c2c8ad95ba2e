"""Request and answer size caps, against a real receiver and a real broker."""

from __future__ import annotations

import asyncio
import gzip
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web

from omniout.config import load_settings
from omniout.deliver import Deliverer, OutboundRequest, RetryPolicy
from omniout.errors import DeliveryError
from omniout.routing import Route, compile_routes
from tests.doc_examples import example
from tests.integration.conftest import TopicFactory
from tests.integration.engine import headers, order, produce_orders, read_all
from tests.integration.example_engine import example_settings, running_with_admin
from tests.integration.receiver import Delivery, Receiver

pytestmark = pytest.mark.integration

# Three attempts allowed: an oversize answer must not use more than one.
THRICE = RetryPolicy(max_attempts=3, initial_backoff=0.01, jitter=0.0)
TOO_LARGE = "HTTP 200 answer is larger than max_response_bytes (1024) (permanent)"


def warehouse(tmp_path: Path) -> Route:
    return compile_routes(load_settings(example("limits-sizes", tmp_path)).routes)[0]


async def sized(delivery: Delivery) -> web.StreamResponse:
    size = int(delivery.path.rpartition("/")[2])
    return web.Response(body=b"x" * size, content_type="text/plain")


async def chunked(delivery: Delivery) -> web.StreamResponse:
    async def parts() -> AsyncIterator[bytes]:
        for _ in range(64):
            yield b"y" * 100

    # A body of unknown length goes out in chunks, with no Content-Length.
    return web.Response(body=parts())


async def deliver(route: Route, url: str) -> tuple[int, bytes]:
    request = OutboundRequest(
        "POST", url, (), b"{}", 2.0, max_response_bytes=route.max_response_bytes
    )
    async with Deliverer() as deliverer:
        result = await deliverer.deliver(request, THRICE)
    return result.response.status, result.response.body


@pytest.mark.parametrize("size", [0, 1000, 1024])
async def test_an_answer_within_max_response_bytes_is_read_whole(
    size: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with Receiver() as receiver:
        receiver.answer = sized
        monkeypatch.setenv("WAREHOUSE_URL", receiver.url)
        route = warehouse(tmp_path)

        status, body = await deliver(route, f"{receiver.url}/{size}")

    assert (status, body) == (200, b"x" * size)


async def test_a_declared_oversize_answer_fails_once_and_for_good(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with Receiver() as receiver:
        receiver.answer = sized
        monkeypatch.setenv("WAREHOUSE_URL", receiver.url)
        route = warehouse(tmp_path)

        with pytest.raises(DeliveryError) as caught:
            await deliver(route, f"{receiver.url}/1025")

    assert caught.value.reason == TOO_LARGE
    assert caught.value.retriable is False
    assert caught.value.attempts == 1
    assert len(receiver.deliveries) == 1


async def test_a_streamed_answer_is_cut_off_at_the_bound(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with Receiver() as receiver:
        receiver.answer = chunked
        monkeypatch.setenv("WAREHOUSE_URL", receiver.url)
        route = warehouse(tmp_path)

        with pytest.raises(DeliveryError) as caught:
            await deliver(route, f"{receiver.url}/stream")

    assert caught.value.reason == TOO_LARGE
    assert caught.value.attempts == 1


async def test_the_bound_counts_the_bytes_after_decompression(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    packed = gzip.compress(b"z" * 50_000)

    async def compressed(delivery: Delivery) -> web.StreamResponse:
        return web.Response(body=packed, headers={"Content-Encoding": "gzip"})

    async with Receiver() as receiver:
        receiver.answer = compressed
        monkeypatch.setenv("WAREHOUSE_URL", receiver.url)
        route = warehouse(tmp_path)

        with pytest.raises(DeliveryError) as caught:
            await deliver(route, f"{receiver.url}/gzip")

    assert len(packed) < 1024
    assert caught.value.reason == TOO_LARGE


async def test_oversize_payloads_and_answers_are_dead_lettered_with_reasons(
    kafka: str,
    new_topic: TopicFactory,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    topic = await new_topic("limits-sizes")
    small = order(1)
    large = order(2, Line_Items_Json__c="L" * 2000)
    chatty = order(3, Order_Number__c="CHATTY")
    await produce_orders(kafka, topic, [small, large, chatty], "Order_Number__c")

    async def answer(delivery: Delivery) -> web.StreamResponse:
        if b"CHATTY" in delivery.body:
            return web.Response(body=b"c" * 5000, content_type="text/plain")
        return web.json_response({"ok": True})

    async with Receiver() as receiver:
        receiver.answer = answer
        monkeypatch.setenv("WAREHOUSE_URL", receiver.url)
        config = example_settings("limits-sizes", kafka, topic, tmp_path)
        async with running_with_admin(config):
            letters = await read_all(kafka, f"{topic}.dlq", expected=2)
            await receiver.wait_for(2)
            await asyncio.sleep(0.3)

    assert sorted(receiver.keys()) == sorted([small["EventUuid"], chatty["EventUuid"]])
    found = {headers(r)["omniout.request-id"]: headers(r) for r in letters}
    payload, reply = found[large["EventUuid"]], found[chatty["EventUuid"]]
    assert payload["omniout.failure.kind"] == "payload-too-large"
    assert payload["omniout.failure.reason"] == (
        "route 'warehouse': payload is 2359 bytes, more than max_request_bytes (2048)"
    )
    assert payload["omniout.attempts"] == "0"
    assert reply["omniout.failure.kind"] == "delivery"
    assert reply["omniout.failure.reason"] == TOO_LARGE
    assert reply["omniout.attempts"] == "1"
