"""The whole service with a named credential: Kafka in, OAuth2 out.

The config's credential is opened by the service itself at start-up, as in
production; the token endpoint and the resource are one real aiohttp server.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from omniout.config import Settings
from omniout.deliver.auth.settings import OAuth2Settings
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
from tests.integration.token_server import TokenServer

pytestmark = pytest.mark.integration

SECRET = "engine-client-secret-7c1d"


def with_oauth2(
    kafka: str, topic: str, server: TokenServer, tmp_path: Path, **route: object
) -> Settings:
    config = settings(
        kafka,
        topic,
        server.url + "/api/orders",
        tmp_path,
        endpoint={"credential": "erp"},
        **route,
    )
    credential = OAuth2Settings.model_validate(
        {
            "type": "oauth2_client_credentials",
            "token_url": server.url + "/oauth2/token",
            "client_id": "omniout",
            "client_secret": {"env": "ENGINE_CLIENT_SECRET"},
        }
    )
    return config.model_copy(update={"credentials": {"erp": credential}})


async def test_events_are_delivered_with_one_token(
    kafka: str,
    new_topic: TopicFactory,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ENGINE_CLIENT_SECRET", SECRET)
    topic = await new_topic("orders-oauth")
    events = [order(n) for n in range(20)]
    await produce_orders(kafka, topic, events, key_field="Order_Number__c")

    async with TokenServer("omniout", SECRET, expires_in=300) as server:
        config = with_oauth2(kafka, topic, server, tmp_path)
        async with running(config):

            async def all_arrived() -> bool:
                return server.api_statuses.count(200) >= len(events)

            await wait_until(all_arrived)

    assert len(server.fetches) == 1
    assert server.api_statuses == [200] * len(events)


async def test_a_refused_client_dead_letters_without_the_secret(
    kafka: str,
    new_topic: TopicFactory,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ENGINE_CLIENT_SECRET", SECRET + "-old")
    topic = await new_topic("orders-oauth-bad")
    await produce_orders(kafka, topic, [order(1)], key_field="Order_Number__c")

    async with TokenServer("omniout", SECRET, expires_in=300) as server:
        config = with_oauth2(
            kafka, topic, server, tmp_path, retry={"max_attempts": 2}
        )
        async with running(config):
            letters = await read_all(kafka, f"{topic}.dlq", expected=1)

    [letter] = letters
    found = headers(letter)
    assert "token endpoint" in found["omniout.failure.reason"]
    assert "HTTP 401 (invalid_client)" in found["omniout.failure.reason"]
    assert found["omniout.attempts"] == "2"
    assert all(SECRET not in value for value in found.values())
    assert server.api_statuses == []
