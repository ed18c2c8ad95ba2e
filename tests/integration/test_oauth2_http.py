"""OAuth2 client credentials against a real token endpoint and resource.

The token server issues tokens that live two seconds, so renewal before
expiry is seen within a short test; every request goes over 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from omniout.config import load_settings
from omniout.deadletter import DeadLetter, dead_letter_headers
from omniout.deliver import Deliverer, OutboundRequest, RetryPolicy
from omniout.deliver.auth import open_credentials
from omniout.errors import DeliveryError
from omniout.routing import Route, compile_routes
from tests.doc_examples import example
from tests.integration.token_server import TokenServer

pytestmark = pytest.mark.integration

CLIENT_ID = "omniout-prod"
SECRET = "cs-9f8e7d6c5b4a-never-shown"
QUICK = RetryPolicy(max_attempts=2, initial_backoff=0.01, jitter=0.0)
EVENT = {"EventUuid": "evt-1", "Order_Number__c": "00000123"}


@pytest.fixture
async def server() -> AsyncIterator[TokenServer]:
    async with TokenServer(CLIENT_ID, SECRET, expires_in=2) as started:
        yield started


def open_route(
    server: TokenServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    client_auth: str = "body",
    secret: str = SECRET,
) -> tuple[Route, Deliverer]:
    """The README's OAuth2 example, pointed at the test server."""
    monkeypatch.setenv("IDP_URL", server.url)
    monkeypatch.setenv("ERP_URL", server.url)
    monkeypatch.setenv("ERP_CLIENT_SECRET", secret)
    path = example("oauth2", tmp_path)
    path.write_text(
        path.read_text().replace("client_auth: body", f"client_auth: {client_auth}")
    )
    settings = load_settings(path)
    credentials = open_credentials(settings.credentials, file=str(path))
    route = compile_routes(settings.routes, file=str(path))[0]
    return route, Deliverer(credentials=credentials)


def request(route: Route, number: int = 1) -> OutboundRequest:
    event = {**EVENT, "EventUuid": f"evt-{number}"}
    return route.request(event, route.request_id(event))


@pytest.mark.parametrize("client_auth", ["header", "body"])
async def test_client_secret_in_basic_header_or_body_gets_a_token(
    server: TokenServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    client_auth: str,
) -> None:
    route, deliverer = open_route(server, tmp_path, monkeypatch, client_auth)
    async with deliverer:
        result = await deliverer.deliver(request(route), QUICK)

    assert result.response.status == 200
    assert [f.client_auth for f in server.fetches] == [client_auth]
    form = server.fetches[0].form
    assert form["scope"] == "orders.write accounts.read"
    assert form["audience"] == "https://erp.example/api"
    assert ("client_secret" in form) == (client_auth == "body")


async def test_one_token_serves_many_deliveries(
    server: TokenServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    route, deliverer = open_route(server, tmp_path, monkeypatch)
    async with deliverer:
        for number in range(40):
            await deliverer.deliver(request(route, number), QUICK)

    assert len(server.fetches) == 1
    assert server.api_statuses == [200] * 40
    assert len(set(server.api_tokens)) == 1


async def test_concurrent_deliveries_on_a_cold_cache_share_one_fetch(
    server: TokenServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    route, deliverer = open_route(server, tmp_path, monkeypatch)
    async with deliverer:
        await asyncio.gather(
            *(deliverer.deliver(request(route, n), QUICK) for n in range(32))
        )

    assert len(server.fetches) == 1
    assert server.api_statuses == [200] * 32


async def test_tokens_are_renewed_before_they_expire(
    server: TokenServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    route, deliverer = open_route(server, tmp_path, monkeypatch)
    sent = 0
    async with deliverer:
        # Deliver steadily for longer than one token lives (2 s).
        until = time.monotonic() + 2.6
        while time.monotonic() < until:
            await deliverer.deliver(request(route, sent), QUICK)
            sent += 1
            await asyncio.sleep(0.02)

    assert len(server.fetches) >= 2
    # No request ever carried an expired token, so none was refused.
    assert server.api_statuses == [200] * sent
    assert len(set(server.api_tokens)) == len(server.fetches)


async def test_a_401_renews_the_token_once_and_resends(
    server: TokenServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    route, deliverer = open_route(server, tmp_path, monkeypatch)
    async with deliverer:
        await deliverer.deliver(request(route, 1), QUICK)
        server.revoke_all()
        result = await deliverer.deliver(request(route, 2), QUICK)

    assert result.response.status == 200
    assert result.attempts == 1
    assert len(server.fetches) == 2
    assert server.api_statuses == [200, 401, 200]


async def test_concurrent_401s_for_one_token_cause_one_renewal(
    server: TokenServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    route, deliverer = open_route(server, tmp_path, monkeypatch)
    async with deliverer:
        await deliverer.deliver(request(route, 0), QUICK)
        server.revoke_all()
        await asyncio.gather(
            *(deliverer.deliver(request(route, n), QUICK) for n in range(1, 17))
        )

    assert len(server.fetches) == 2
    assert server.api_statuses.count(200) == 17


async def test_a_second_401_is_the_endpoints_answer(
    server: TokenServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    route, deliverer = open_route(server, tmp_path, monkeypatch)
    server.refuse_all = True
    async with deliverer:
        with pytest.raises(DeliveryError) as caught:
            await deliverer.deliver(request(route), QUICK)

    assert caught.value.status == 401
    assert not caught.value.retriable
    assert server.api_statuses == [401, 401]
    assert len(server.fetches) == 2


async def test_the_client_secret_never_shows_in_logs_or_errors(
    server: TokenServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    route, deliverer = open_route(
        server, tmp_path, monkeypatch, client_auth="body", secret=SECRET + "-wrong"
    )
    async with deliverer:
        with pytest.raises(DeliveryError) as caught:
            await deliverer.deliver(request(route), QUICK)
    error = caught.value

    # The token endpoint refused, and its body echoed the secret back.
    assert error.retriable
    assert error.attempts == 2
    assert "answered HTTP 401 (invalid_client)" in error.reason
    letter = DeadLetter(record=_Record(), error=error, route=route.name)
    headers = b"".join(value for _, value in dead_letter_headers(letter))
    for text in (error.reason, error.excerpt, repr(error), caplog.text, str(headers)):
        assert SECRET not in text
    assert "token endpoint" in caplog.text


async def test_a_token_endpoint_that_is_down_fails_the_attempt_as_retriable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with TokenServer(CLIENT_ID, SECRET, expires_in=60) as down:
        pass
    route, deliverer = open_route(down, tmp_path, monkeypatch)
    async with deliverer:
        with pytest.raises(DeliveryError) as caught:
            await deliverer.deliver(request(route), QUICK)

    assert caught.value.retriable
    assert caught.value.reason.startswith("retry budget spent after 2 attempts")
    assert "token endpoint http://127.0.0.1:" in caught.value.reason
    assert "connection failed" in caught.value.reason


class _Record:
    topic = "/event/Order_Completed__e"
    partition = 0
    offset = 7
    timestamp = 0
    key = None
    value = b"\x00"
    headers: tuple[tuple[str, bytes], ...] = ()
