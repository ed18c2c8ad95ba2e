"""Basic, bearer, API key and HMAC credentials, checked by a real receiver.

Each test loads one of the README's examples as the service does (config
file, secrets from the environment or a file, compiled routes) and delivers
to an aiohttp receiver on 127.0.0.1 that checks what arrived.
"""

from __future__ import annotations

import base64
import hmac
import logging
import time
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from aiohttp import web

from omniout.config import Settings, load_settings
from omniout.deliver import Deliverer, RetryPolicy
from omniout.deliver.auth import open_credentials
from omniout.errors import DeliveryError
from omniout.routing import Route, compile_routes
from tests.doc_examples import example
from tests.integration.receiver import Delivery, Receiver

pytestmark = pytest.mark.integration

QUICK = RetryPolicy(max_attempts=2, initial_backoff=0.01, jitter=0.0)
EVENT = {"EventUuid": "0b6c2a53-cf6d-4c2e-9a51-3f1e0c9d2b77", "Order_Number__c": "7"}
# A Standard Webhooks secret: whsec_ and 24 random bytes in base64.
WEBHOOK_SECRET = "whsec_" + base64.b64encode(b"0123456789abcdef01234567").decode()


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async with Receiver() as started:
        yield started


def load(name: str, tmp_path: Path) -> tuple[Settings, list[Route], Deliverer]:
    path = example(name, tmp_path)
    settings = load_settings(path)
    credentials = open_credentials(settings.credentials, file=str(path))
    routes = compile_routes(settings.routes, file=str(path))
    return settings, routes, Deliverer(credentials=credentials)


async def deliver(deliverer: Deliverer, route: Route, event: dict[str, str]) -> None:
    request = route.request(event, route.request_id(event))
    await deliverer.deliver(request, QUICK)


async def test_basic_sends_the_username_and_password(
    receiver: Receiver, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ERP_URL", receiver.url)
    monkeypatch.setenv("ERP_PASSWORD", "pä:ss wörd")
    _, routes, deliverer = load("basic", tmp_path)
    async with deliverer:
        await deliver(deliverer, routes[0], EVENT)

    arrived = receiver.deliveries[0]
    assert arrived.path == "/orders/7"
    scheme, _, encoded = arrived.headers["authorization"].partition(" ")
    assert scheme == "Basic"
    assert base64.b64decode(encoded).decode() == "omniout:pä:ss wörd"


async def test_bearer_sends_the_token_from_a_file(
    receiver: Receiver, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "billing-token").write_text("tkn-4f1e.b77\n")
    monkeypatch.setenv("SECRETS_DIR", str(tmp_path))
    monkeypatch.setenv("BILLING_URL", receiver.url)
    _, routes, deliverer = load("bearer", tmp_path)
    async with deliverer:
        await deliver(deliverer, routes[0], EVENT)

    assert receiver.deliveries[0].headers["authorization"] == "Bearer tkn-4f1e.b77"


async def test_api_keys_go_in_a_header_or_the_query(
    receiver: Receiver,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("CRM_URL", receiver.url)
    monkeypatch.setenv("MAPS_URL", receiver.url)
    monkeypatch.setenv("CRM_API_KEY", "crm-key-1")
    monkeypatch.setenv("MAPS_API_KEY", "maps/key+2")
    _, routes, deliverer = load("api_key", tmp_path)
    async with deliverer:
        for route in routes:
            await deliver(deliverer, route, EVENT)

    header, query = receiver.deliveries
    assert header.path == "/contacts"
    assert header.headers["x-api-key"] == "crm-key-1"
    parts = urlsplit(query.path)
    assert parts.path == "/geocode"
    assert parse_qs(parts.query) == {"format": ["json"], "key": ["maps/key+2"]}
    assert "x-api-key" not in query.headers
    # No log line holds the URL's key, whatever the level.
    assert "Delivery attempt 1" in caplog.text
    assert "maps%2Fkey%2B2" not in caplog.text
    assert "maps/key+2" not in caplog.text


def expected_signature(secret: str, msg_id: str, timestamp: str, body: bytes) -> str:
    # The receiver's check shown in README.md.
    key = base64.b64decode(secret.removeprefix("whsec_"))
    content = f"{msg_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, content, "sha256").digest()).decode()


async def test_hmac_signatures_verify_with_the_shared_secret(
    receiver: Receiver, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FULFILMENT_URL", receiver.url)
    monkeypatch.setenv("FULFILMENT_WEBHOOK_SECRET", WEBHOOK_SECRET)
    _, routes, deliverer = load("hmac", tmp_path)
    async with deliverer:
        before = int(time.time())
        await deliver(deliverer, routes[0], EVENT)
        await deliver(deliverer, routes[0], {**EVENT, "Order_Number__c": "8"})
        after = int(time.time())

    for arrived in receiver.deliveries:
        headers = arrived.headers
        assert arrived.path == "/webhooks/orders"
        assert headers["webhook-id"] == EVENT["EventUuid"] == arrived.key
        assert before <= int(headers["webhook-timestamp"]) <= after
        signature = expected_signature(
            WEBHOOK_SECRET,
            headers["webhook-id"],
            headers["webhook-timestamp"],
            arrived.body,
        )
        assert hmac.compare_digest(headers["webhook-signature"], signature)
    first, second = receiver.deliveries
    assert first.headers["webhook-signature"] != second.headers["webhook-signature"]


async def test_every_attempt_is_signed_with_the_same_webhook_id(
    receiver: Receiver, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def fail_once(delivery: Delivery) -> web.StreamResponse:
        return web.Response(status=503 if len(receiver.deliveries) == 1 else 200)

    receiver.answer = fail_once
    monkeypatch.setenv("FULFILMENT_URL", receiver.url)
    monkeypatch.setenv("FULFILMENT_WEBHOOK_SECRET", WEBHOOK_SECRET)
    _, routes, deliverer = load("hmac", tmp_path)
    async with deliverer:
        await deliver(deliverer, routes[0], EVENT)

    first, second = receiver.deliveries
    assert first.headers["webhook-id"] == second.headers["webhook-id"]
    for arrived in (first, second):
        headers = arrived.headers
        assert headers["webhook-signature"] == expected_signature(
            WEBHOOK_SECRET,
            headers["webhook-id"],
            headers["webhook-timestamp"],
            arrived.body,
        )


async def test_a_request_id_with_a_line_break_is_never_sent(
    receiver: Receiver, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FULFILMENT_URL", receiver.url)
    monkeypatch.setenv("FULFILMENT_WEBHOOK_SECRET", WEBHOOK_SECRET)
    _, routes, deliverer = load("hmac", tmp_path)
    hostile = {**EVENT, "EventUuid": "evt-1\r\nX-Injected: yes"}
    async with deliverer:
        with pytest.raises(DeliveryError) as caught:
            await deliver(deliverer, routes[0], hostile)

    assert not caught.value.retriable
    assert caught.value.reason.startswith("request cannot be sent")
    assert receiver.deliveries == []
