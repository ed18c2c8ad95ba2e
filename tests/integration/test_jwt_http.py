"""Signed JWT credentials against a real token endpoint and resource.

Both README examples run as written: the JWT bearer grant with an encrypted
RSA key in a file, and ``private_key_jwt`` with an EC key in a variable.
The token endpoint verifies every assertion with the public key and issues
tokens that live two seconds, so renewal is seen within a short test.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from omniout.config import load_settings
from omniout.deadletter import DeadLetter, dead_letter_headers
from omniout.deliver import Deliverer, OutboundRequest, RetryPolicy
from omniout.deliver.auth import Credential, open_credentials
from omniout.errors import DeliveryError
from omniout.routing import Route, compile_routes
from tests.doc_examples import example
from tests.integration.assertion_server import (
    AssertionServer,
    Grant,
    PrivateKey,
    ec_key,
    pem,
    rsa_key,
)

pytestmark = pytest.mark.integration

KEY_PASSWORD = "kp-5e4d3c2b1a-never-shown"
QUICK = RetryPolicy(max_attempts=2, initial_backoff=0.01, jitter=0.0)
EVENT = {"EventUuid": "evt-1", "Order_Number__c": "00000123"}
FLOWS: list[Grant] = ["jwt_bearer", "private_key_jwt"]


@pytest.fixture(scope="module")
def keys() -> dict[Grant, PrivateKey]:
    return {"jwt_bearer": rsa_key(), "private_key_jwt": ec_key()}


@dataclass
class Setup:
    server: AssertionServer
    route: Route
    deliverer: Deliverer
    credentials: dict[str, Credential]
    secrets: tuple[str, ...]  # what must never show: PEM lines, password


def start(grant: Grant, key: PrivateKey) -> AssertionServer:
    public = key.public_key()
    if grant == "jwt_bearer":
        return AssertionServer(
            public,
            grant=grant,
            client_id="3MVG9omniout.consumer.key",
            subject="integration@omniout.example",
            audience="https://login.salesforce.com",
            token_path="/services/oauth2/token",
            expires_in=2,
        )
    return AssertionServer(
        public,
        grant=grant,
        client_id="omniout-prod",
        subject="omniout-prod",
        audience=None,
        token_path="/oauth2/token",
        expires_in=2,
    )


def open_example(
    server: AssertionServer,
    key: PrivateKey,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Setup:
    """The README example of the server's grant, pointed at the server."""
    if server.grant == "jwt_bearer":
        text = pem(key, KEY_PASSWORD)
        (tmp_path / "crm-jwt.key").write_text(text)
        for name in ("CRM_LOGIN_URL", "CRM_URL"):
            monkeypatch.setenv(name, server.url)
        monkeypatch.setenv("SECRETS_DIR", str(tmp_path))
        monkeypatch.setenv("CRM_KEY_PASSWORD", KEY_PASSWORD)
        path = example("jwt-bearer", tmp_path)
    else:
        text = pem(key)
        monkeypatch.setenv("ERP_SIGNING_KEY", text)
        for name in ("IDP_URL", "ERP_URL"):
            monkeypatch.setenv(name, server.url)
        path = example("private-key-jwt", tmp_path)
    settings = load_settings(path)
    credentials = open_credentials(settings.credentials, file=str(path))
    route = compile_routes(settings.routes, file=str(path))[0]
    lines = [line for line in text.splitlines() if "-----" not in line]
    secrets = (*lines, KEY_PASSWORD)
    deliverer = Deliverer(credentials=credentials)
    return Setup(server, route, deliverer, credentials, secrets)


@pytest.fixture(params=FLOWS)
async def setup(
    request: pytest.FixtureRequest,
    keys: dict[Grant, PrivateKey],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[Setup]:
    grant: Grant = request.param
    async with start(grant, keys[grant]) as server:
        yield open_example(server, keys[grant], tmp_path, monkeypatch)


def event(route: Route, number: int = 1) -> OutboundRequest:
    values = {**EVENT, "EventUuid": f"evt-{number}"}
    return route.request(values, route.request_id(values))


async def test_a_signed_assertion_gets_a_token_the_endpoint_accepts(
    setup: Setup,
) -> None:
    async with setup.deliverer:
        result = await setup.deliverer.deliver(event(setup.route), QUICK)
    server = setup.server

    assert result.response.status == 200
    assert server.refusals == []
    [seen] = server.accepted
    assert seen.claims["exp"] - seen.claims["iat"] == 120
    if server.grant == "jwt_bearer":
        assert seen.header["alg"] == "RS256"
        assert "kid" not in seen.header
        assert seen.claims["sub"] == "integration@omniout.example"
        assert seen.claims["aud"] == "https://login.salesforce.com"
    else:
        assert seen.header["alg"] == "ES256"
        assert seen.header["kid"] == "omniout-2026-01"
        assert seen.claims["sub"] == seen.claims["iss"] == "omniout-prod"
        assert seen.claims["aud"] == server.token_url
        assert server.fetches[0].form["scope"] == "orders.write"


async def test_one_token_serves_many_deliveries_and_one_assertion_is_signed(
    setup: Setup,
) -> None:
    async with setup.deliverer:
        for number in range(40):
            await setup.deliverer.deliver(event(setup.route, number), QUICK)
    server = setup.server

    assert len(server.fetches) == len(server.accepted) == 1
    assert server.api_statuses == [200] * 40
    assert len(set(server.api_tokens)) == 1


async def test_concurrent_deliveries_on_a_cold_cache_share_one_assertion(
    setup: Setup,
) -> None:
    async with setup.deliverer:
        await asyncio.gather(
            *(setup.deliverer.deliver(event(setup.route, n), QUICK) for n in range(32))
        )

    assert len(setup.server.accepted) == 1
    assert setup.server.api_statuses == [200] * 32


async def test_tokens_are_renewed_before_expiry_each_with_a_new_jti(
    setup: Setup,
) -> None:
    sent = 0
    async with setup.deliverer:
        # Deliver steadily for longer than one token lives (2 s).
        until = time.monotonic() + 2.6
        while time.monotonic() < until:
            await setup.deliverer.deliver(event(setup.route, sent), QUICK)
            sent += 1
            await asyncio.sleep(0.02)
    server = setup.server

    assert len(server.accepted) >= 2
    assert server.refusals == []
    # No request ever carried an expired token, so none was refused.
    assert server.api_statuses == [200] * sent
    assert len(set(server.jtis)) == len(server.accepted)


async def test_a_401_signs_a_new_assertion_and_resends_once(setup: Setup) -> None:
    async with setup.deliverer:
        await setup.deliverer.deliver(event(setup.route, 1), QUICK)
        setup.server.revoke_all()
        result = await setup.deliverer.deliver(event(setup.route, 2), QUICK)
    server = setup.server

    assert result.response.status == 200
    assert result.attempts == 1
    assert server.api_statuses == [200, 401, 200]
    assert len(server.accepted) == 2
    assert len(set(server.jtis)) == 2


async def test_the_key_never_shows_in_logs_or_reprs(
    setup: Setup, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with setup.deliverer:
        await setup.deliverer.deliver(event(setup.route), QUICK)
    sent = [
        value
        for fetch in setup.server.fetches
        for name, value in fetch.form.items()
        if name in ("assertion", "client_assertion")
    ]

    assert "Fetched a token for credential" in caplog.text
    texts = [caplog.text, repr(setup.credentials), repr(setup.deliverer)]
    for secret in (*setup.secrets, *sent):
        assert all(secret not in text for text in texts)


async def test_a_refused_assertion_fails_retriably_and_is_never_quoted(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    keys: dict[Grant, PrivateKey],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    # The server knows another public key, so the signature cannot verify.
    async with start("jwt_bearer", rsa_key()) as server:
        setup = open_example(server, keys["jwt_bearer"], tmp_path, monkeypatch)
        async with setup.deliverer:
            with pytest.raises(DeliveryError) as caught:
                await setup.deliverer.deliver(event(setup.route), QUICK)
    error = caught.value
    sent = [fetch.form["assertion"] for fetch in server.fetches]

    assert error.retriable
    assert error.attempts == 2
    assert "answered HTTP 400 (invalid_grant)" in error.reason
    assert server.refusals == ["signature does not verify"] * 2
    # Each attempt signed its own assertion.
    assert len(set(sent)) == 2
    letter = DeadLetter(record=_Record(), error=error, route=setup.route.name)
    headers = str(b"".join(value for _, value in dead_letter_headers(letter)))
    texts = [error.reason, error.excerpt, repr(error), caplog.text, headers]
    for secret in (*setup.secrets, *sent):
        assert all(secret not in text for text in texts)


class _Record:
    topic = "/event/Order_Completed__e"
    partition = 0
    offset = 7
    timestamp = 0
    key = None
    value = b"\x00"
    headers: tuple[tuple[str, bytes], ...] = ()
