"""Delivery over real HTTP: a Deliverer against aiohttp servers on 127.0.0.1.

Every endpoint here is a real server on an ephemeral port; pauses between
attempts are real sleeps, kept short by the policies.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from urllib.parse import unquote

import pytest
from aiohttp import web

from omniout.config import RouteSettings
from omniout.deliver import (
    AttemptInfo,
    Deliverer,
    OutboundRequest,
    RetryPolicy,
)
from omniout.errors import DeliveryError
from omniout.routing import compile_routes

pytestmark = pytest.mark.integration

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Serve = Callable[[Handler], Awaitable[str]]

QUICK = RetryPolicy(max_attempts=5, initial_backoff=0.01, jitter=0.0)


@pytest.fixture
async def serve() -> AsyncIterator[Serve]:
    """Start an HTTP server for a handler; return the URL of its /hook path."""
    runners: list[web.AppRunner] = []

    async def start(handler: Handler) -> str:
        app = web.Application()
        app.router.add_route("*", "/{path:.*}", handler)
        runner = web.AppRunner(app)
        await runner.setup()
        runners.append(runner)
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        port = runner.addresses[0][1]
        return f"http://127.0.0.1:{port}/hook"

    yield start
    for runner in runners:
        await runner.cleanup()


@pytest.fixture
async def deliverer() -> AsyncIterator[Deliverer]:
    async with Deliverer(max_connections=8) as opened:
        yield opened


def post(url: str, body: bytes = b'{"id": 1}', timeout: float = 2.0) -> OutboundRequest:
    headers = (("Content-Type", "application/json"),)
    return OutboundRequest("POST", url, headers, body, timeout)


def scripted(*statuses: int) -> tuple[Handler, list[float]]:
    """A handler answering with ``statuses`` in turn (repeating the last)."""
    arrivals: list[float] = []

    async def handler(request: web.Request) -> web.Response:
        arrivals.append(time.monotonic())
        status = statuses[min(len(arrivals), len(statuses)) - 1]
        return web.Response(status=status, text=f"answer {len(arrivals)}")

    return handler, arrivals


async def test_2xx_on_the_first_attempt_is_delivered(
    serve: Serve, deliverer: Deliverer
) -> None:
    handler, arrivals = scripted(202)
    result = await deliverer.deliver(post(await serve(handler)), QUICK)
    assert result.response.status == 202
    assert result.response.body == b"answer 1"
    assert result.response.header("content-type") == "text/plain; charset=utf-8"
    assert result.attempts == len(arrivals) == 1
    assert result.first_attempt_at == result.last_attempt_at


async def test_two_503s_then_200_takes_three_attempts(
    serve: Serve, deliverer: Deliverer
) -> None:
    handler, arrivals = scripted(503, 503, 200)
    infos: list[AttemptInfo] = []
    result = await deliverer.deliver(
        post(await serve(handler)), QUICK, on_attempt=infos.append
    )
    assert result.response.body == b"answer 3"
    assert result.attempts == len(arrivals) == 3
    assert [info.status for info in infos] == [503, 503, 200]
    assert [info.sleep for info in infos] == [0.01, 0.02, None]
    assert result.last_attempt_at > result.first_attempt_at


async def test_429_with_retry_after_one_second_is_waited_for(
    serve: Serve, deliverer: Deliverer
) -> None:
    arrivals: list[float] = []

    async def handler(request: web.Request) -> web.Response:
        arrivals.append(time.monotonic())
        if len(arrivals) == 1:
            return web.Response(status=429, headers={"Retry-After": "1"})
        return web.Response(status=200)

    infos: list[AttemptInfo] = []
    result = await deliverer.deliver(
        post(await serve(handler)), QUICK, on_attempt=infos.append
    )
    assert result.attempts == 2
    assert infos[0].retry_after == 1.0
    assert infos[0].sleep == 1.0
    assert arrivals[1] - arrivals[0] >= 0.9


async def test_endpoint_that_hangs_past_the_timeout_then_recovers(
    serve: Serve, deliverer: Deliverer
) -> None:
    release = asyncio.Event()
    calls: list[float] = []

    async def handler(request: web.Request) -> web.Response:
        calls.append(time.monotonic())
        if len(calls) == 1:
            await release.wait()
        return web.Response(status=200, text="late but fine")

    infos: list[AttemptInfo] = []
    try:
        result = await deliverer.deliver(
            post(await serve(handler), timeout=0.3), QUICK, on_attempt=infos.append
        )
    finally:
        release.set()
    assert result.response.body == b"late but fine"
    assert result.attempts == 2
    assert infos[0].error == "timed out after 0.3s"
    assert infos[0].status is None
    assert 0.25 <= infos[0].elapsed < 1.0


async def test_send_times_out_as_a_retriable_delivery_error(
    serve: Serve, deliverer: Deliverer
) -> None:
    release = asyncio.Event()

    async def handler(request: web.Request) -> web.Response:
        await release.wait()
        return web.Response(status=200)

    url = await serve(handler)
    try:
        with pytest.raises(DeliveryError) as caught:
            await deliverer.send(post(url, timeout=0.2))
    finally:
        release.set()
    assert caught.value.retriable
    assert str(caught.value) == "timed out after 0.2s"


async def test_400_fails_permanently_with_an_excerpt_of_the_body(
    serve: Serve, deliverer: Deliverer
) -> None:
    async def handler(request: web.Request) -> web.Response:
        return web.json_response({"error": "field 'amount' is required"}, status=400)

    with pytest.raises(DeliveryError) as caught:
        await deliverer.deliver(post(await serve(handler)), QUICK)
    error = caught.value
    assert not error.retriable
    assert error.status == 400
    assert "field 'amount' is required" in error.excerpt
    assert str(error) == "HTTP 400 Bad Request (permanent)"
    assert error.attempts == 1


async def test_always_503_spends_the_budget(serve: Serve, deliverer: Deliverer) -> None:
    handler, arrivals = scripted(503)
    policy = RetryPolicy(max_attempts=3, initial_backoff=0.01, jitter=0.0)
    with pytest.raises(DeliveryError) as caught:
        await deliverer.deliver(post(await serve(handler)), policy)
    error = caught.value
    assert error.retriable
    assert error.attempts == len(arrivals) == 3
    assert error.status == 503
    assert error.excerpt == "answer 3"
    assert str(error).startswith("retry budget spent after 3 attempts: HTTP 503")
    assert error.first_attempt_at is not None
    assert error.last_attempt_at is not None
    assert error.last_attempt_at > error.first_attempt_at


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


async def test_connection_refused_is_retried_then_fails(deliverer: Deliverer) -> None:
    url = f"http://127.0.0.1:{closed_port()}/hook"
    policy = RetryPolicy(max_attempts=3, initial_backoff=0.01, jitter=0.0)
    infos: list[AttemptInfo] = []
    with pytest.raises(DeliveryError) as caught:
        await deliverer.deliver(post(url), policy, on_attempt=infos.append)
    error = caught.value
    assert error.retriable
    assert error.status is None
    assert error.attempts == len(infos) == 3
    assert all(
        info.error and info.error.startswith("connection failed: ") for info in infos
    )
    assert "retry budget spent after 3 attempts: connection failed" in str(error)


async def test_headers_and_body_arrive_as_sent(
    serve: Serve, deliverer: Deliverer
) -> None:
    seen: list[tuple[str, str, web.Request, bytes]] = []

    async def handler(request: web.Request) -> web.Response:
        seen.append((request.method, request.path_qs, request, await request.read()))
        return web.Response(status=204)

    body = b'{"name": "Zo\xc3\xab"}\x00\xff'
    headers = (
        ("Content-Type", "application/vnd.acme+json"),
        ("Idempotency-Key", "evt-42"),
        ("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"),
        ("X-Tag", "a"),
        ("X-Tag", "b"),
    )
    url = await serve(handler) + "?topic=orders&p=1"
    request = OutboundRequest("PUT", url, headers, body, 2.0)
    result = await deliverer.deliver(request, QUICK)
    assert result.response.status == 204
    method, path_qs, received, received_body = seen[0]
    assert (method, path_qs, received_body) == ("PUT", "/hook?topic=orders&p=1", body)
    assert received.headers["Content-Type"] == "application/vnd.acme+json"
    assert received.headers["Idempotency-Key"] == "evt-42"
    assert received.headers["traceparent"] == headers[2][1]
    assert ", ".join(received.headers.getall("X-Tag")) == "a, b"
    assert received.headers["Content-Length"] == str(len(body))
    assert received.headers["User-Agent"] == "omniout"


async def test_no_body_and_no_content_type_are_added(
    serve: Serve, deliverer: Deliverer
) -> None:
    seen: list[tuple[str, web.Request, bytes]] = []

    async def handler(request: web.Request) -> web.Response:
        seen.append((request.method, request, await request.read()))
        return web.Response(status=200)

    request = OutboundRequest("DELETE", await serve(handler), (), None, 2.0)
    await deliverer.deliver(request, QUICK)
    method, received, body = seen[0]
    assert (method, body) == ("DELETE", b"")
    assert "Content-Type" not in received.headers


async def test_cookies_from_one_answer_are_not_sent_again(
    serve: Serve, deliverer: Deliverer
) -> None:
    cookies: list[str | None] = []

    async def handler(request: web.Request) -> web.Response:
        cookies.append(request.headers.get("Cookie"))
        return web.Response(status=200, headers={"Set-Cookie": "session=s3cr3t"})

    url = await serve(handler)
    await deliverer.deliver(post(url), QUICK)
    await deliverer.deliver(post(url), QUICK)
    assert cookies == [None, None]


async def test_header_with_line_break_is_refused_without_sending(
    serve: Serve, deliverer: Deliverer
) -> None:
    handler, arrivals = scripted(200)
    headers = (("X-Note", "a\r\nInjected: yes"),)
    request = OutboundRequest("POST", await serve(handler), headers, b"", 2.0)
    with pytest.raises(DeliveryError) as caught:
        await deliverer.deliver(request, QUICK)
    assert not caught.value.retriable
    assert caught.value.attempts == 1
    assert arrivals == []


async def test_send_returns_non_2xx_answers_without_raising(
    serve: Serve, deliverer: Deliverer
) -> None:
    handler, _ = scripted(500)
    response = await deliverer.send(post(await serve(handler)))
    assert response.status == 500
    assert response.body == b"answer 1"
    assert response.elapsed > 0


async def test_many_concurrent_deliveries_share_a_small_pool(
    serve: Serve, deliverer: Deliverer
) -> None:
    async def handler(request: web.Request) -> web.Response:
        await asyncio.sleep(0.01)
        return web.Response(body=await request.read())

    url = await serve(handler)
    bodies = [str(n).encode() for n in range(64)]
    results = await asyncio.gather(
        *(deliverer.deliver(post(url, body), QUICK) for body in bodies)
    )
    assert [result.response.body for result in results] == bodies


@pytest.mark.parametrize(
    "hostile",
    [
        "../admin",
        "..%2Fadmin",
        "%2e%2e",
        "@evil.example",
        "x%0d%0aHost: evil.example",
        "a?x=1",
        "a#top",
        "x:1@evil.example/",
    ],
)
async def test_event_data_in_the_url_arrives_as_one_path_segment(
    serve: Serve, deliverer: Deliverer, hostile: str
) -> None:
    seen: list[tuple[str, str, str]] = []

    async def handler(request: web.Request) -> web.Response:
        seen.append((request.host, request.raw_path, request.query_string))
        return web.Response(status=204)

    hook = await serve(handler)
    base = hook.removesuffix("/hook")
    settings = RouteSettings.model_validate(
        {
            "name": "orders",
            "topic": "Order_Completed__e",
            "endpoint": {"url": f"{base}/orders/{{Order_Number__c}}"},
        }
    )
    route = compile_routes([settings])[0]
    event = {"Order_Number__c": hostile}

    await deliverer.deliver(route.request(event, "evt-1"), QUICK)

    # The client may decode what a path segment allows (":", "@", "="), but
    # never "/", "?" or "#": the value stays one segment of the same path.
    [(host, raw_path, query)] = seen
    assert (host, query) == (base.removeprefix("http://"), "")
    root, orders, segment = raw_path.split("/")
    assert (root, orders, unquote(segment)) == ("", "orders", hostile)
