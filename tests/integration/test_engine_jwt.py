"""The whole service with a JWT bearer credential: Kafka in, signed JWT out.

The service opens the credential itself at start-up, reading an encrypted
RSA key from a file; the token endpoint verifies each assertion with the
public key, and the resource checks the tokens it issued.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from omniout.config import Settings
from omniout.deliver.auth.settings import JwtBearerSettings
from tests.integration.assertion_server import (
    AssertionServer,
    PublicKey,
    pem,
    rsa_key,
)
from tests.integration.conftest import TopicFactory
from tests.integration.engine import (
    headers,
    order,
    produce_orders,
    read_all,
    running,
    settings,
    wait_until,
)

pytestmark = pytest.mark.integration

PASSWORD = "engine-key-pass-4f2e"
KEY = rsa_key()
PEM = pem(KEY, PASSWORD)


def server(public_key: PublicKey | None = None) -> AssertionServer:
    return AssertionServer(
        public_key or KEY.public_key(),
        grant="jwt_bearer",
        client_id="omniout-app",
        subject="integration@omniout.example",
        audience="https://login.salesforce.com",
        token_path="/services/oauth2/token",
        expires_in=300,
    )


def with_jwt_bearer(
    kafka: str, topic: str, token: AssertionServer, tmp_path: Path, **route: object
) -> Settings:
    (tmp_path / "crm.key").write_text(PEM)
    config = settings(
        kafka,
        topic,
        token.url + "/api/accounts",
        tmp_path,
        endpoint={"credential": "crm"},
        **route,
    )
    credential = JwtBearerSettings.model_validate(
        {
            "type": "oauth2_jwt_bearer",
            "token_url": token.token_url,
            "audience": "https://login.salesforce.com",
            "client_id": "omniout-app",
            "subject": "integration@omniout.example",
            "private_key": {"file": str(tmp_path / "crm.key")},
            "key_password": {"env": "ENGINE_KEY_PASSWORD"},
        }
    )
    return config.model_copy(update={"credentials": {"crm": credential}})


async def test_events_are_delivered_with_one_signed_assertion(
    kafka: str,
    new_topic: TopicFactory,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ENGINE_KEY_PASSWORD", PASSWORD)
    topic = await new_topic("orders-jwt")
    events = [order(n) for n in range(20)]
    await produce_orders(kafka, topic, events, key_field="Order_Number__c")

    async with server() as token:
        config = with_jwt_bearer(kafka, topic, token, tmp_path)
        async with running(config):

            async def all_arrived() -> bool:
                return token.api_statuses.count(200) >= len(events)

            await wait_until(all_arrived)

    assert len(token.accepted) == len(token.fetches) == 1
    assert token.api_statuses == [200] * len(events)


async def test_a_refused_assertion_dead_letters_without_the_key(
    kafka: str,
    new_topic: TopicFactory,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ENGINE_KEY_PASSWORD", PASSWORD)
    topic = await new_topic("orders-jwt-bad")
    await produce_orders(kafka, topic, [order(1)], key_field="Order_Number__c")

    # The token endpoint holds the public key of another pair.
    async with server(rsa_key().public_key()) as token:
        config = with_jwt_bearer(
            kafka, topic, token, tmp_path, retry={"max_attempts": 2}
        )
        async with running(config):
            letters = await read_all(kafka, f"{topic}.dlq", expected=1)

    [letter] = letters
    found = headers(letter)
    assert "HTTP 400 (invalid_grant)" in found["omniout.failure.reason"]
    assert found["omniout.attempts"] == "2"
    secrets = [line for line in PEM.splitlines() if "-----" not in line]
    secrets += [PASSWORD, *(fetch.form["assertion"] for fetch in token.fetches)]
    assert all(s not in value for s in secrets for value in found.values())
    assert token.api_statuses == []
