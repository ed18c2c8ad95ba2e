"""The demo receiver over real HTTP: tokens, the order API, the SOAP endpoint.

The server is the receiver's own application on 127.0.0.1 (a free port),
spoken to with httpx, and what it prints is what `make run` shows.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from aiohttp import web

from omniout.demo.receiver import make_app
from omniout.demo.tokens import TokenIssuer
from omniout.payload.faults import parse_fault

pytestmark = pytest.mark.integration

ENVELOPE = (
    b'<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/">'
    b'<soap:Body><SubmitOrder xmlns="urn:erp"><Order number="1"/></SubmitOrder>'
    b"</soap:Body></soap:Envelope>"
)


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    app = make_app(TokenIssuer("omniout-demo", "demo-secret", 300))
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    port = runner.addresses[0][1]
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            yield http
    finally:
        await runner.cleanup()


async def token(client: httpx.AsyncClient) -> str:
    answer = await client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "scope": "orders.write"},
        auth=("omniout-demo", "demo-secret"),
    )
    assert answer.status_code == 200, answer.text
    assert answer.headers["cache-control"] == "no-store"
    value: str = answer.json()["access_token"]
    return value


async def test_the_order_api_takes_only_a_token_it_issued(
    client: httpx.AsyncClient, capsys: pytest.CaptureFixture[str]
) -> None:
    bearer = {"Authorization": f"Bearer {await token(client)}"}

    missing = await client.put("/orders/00000101", json={})
    made_up = await client.put(
        "/orders/00000101", json={}, headers={"Authorization": "Bearer nope"}
    )
    accepted = await client.put(
        "/orders/00000101", json={"n": 1}, headers=bearer | {"Idempotency-Key": "k1"}
    )

    out = capsys.readouterr().out
    assert missing.status_code == 401
    assert missing.headers["www-authenticate"] == 'Bearer realm="orders"'
    assert made_up.status_code == 401
    assert 'error="invalid_token"' in made_up.headers["www-authenticate"]
    assert accepted.json() == {"received": True, "reference": "R-000001"}
    issued = "POST /oauth/token: issued token #1 to omniout-demo (scope orders.write)"
    assert issued in out
    assert "PUT /orders/00000101: refused with 401, no bearer token" in out
    assert 'PUT /orders/00000101 Idempotency-Key=k1 token=#1\n  {"n":1}' in out


async def test_a_wrong_client_secret_gets_no_token(client: httpx.AsyncClient) -> None:
    answer = await client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=("omniout-demo", "guess"),
    )

    assert answer.status_code == 401
    assert answer.json()["error"] == "invalid_client"


async def test_a_repeated_idempotency_key_gets_the_first_answer_again(
    client: httpx.AsyncClient, capsys: pytest.CaptureFixture[str]
) -> None:
    headers = {
        "Authorization": f"Bearer {await token(client)}",
        "Idempotency-Key": "k1",
    }

    first = await client.put("/orders/1", json={}, headers=headers)
    again = await client.put("/orders/1", json={}, headers=headers)

    assert first.json() == again.json() == {"received": True, "reference": "R-000001"}
    assert "(repeat, answered as before)" in capsys.readouterr().out


async def test_the_soap_endpoint_answers_an_envelope_and_faults_a_bad_one(
    client: httpx.AsyncClient, capsys: pytest.CaptureFixture[str]
) -> None:
    headers = {"Content-Type": "text/xml; charset=utf-8", "Idempotency-Key": "k2"}
    action = {"SOAPAction": '"urn:erp/SubmitOrder"'}

    good = await client.post("/soap/erp", content=ENVELOPE, headers=headers | action)
    bad = await client.post("/soap/erp", content=b"<Order/>", headers=action)
    unnamed = await client.post("/soap/erp", content=ENVELOPE)

    out = capsys.readouterr().out
    assert good.status_code == 200
    assert good.headers["content-type"] == "text/xml; charset=utf-8"
    assert b"<Ticket>T-000001</Ticket>" in good.content
    assert bad.status_code == unnamed.status_code == 500
    assert parse_fault(bad.content) is not None
    assert 'POST /soap/erp Idempotency-Key=k2 SOAPAction="urn:erp/SubmitOrder"' in out
    assert "  answered 200: SubmitOrderResponse with ticket T-000001" in out
    assert "answered 500: fault Client: no SOAPAction header" in out


async def test_other_paths_answer_as_a_webhook(client: httpx.AsyncClient) -> None:
    answer = await client.post("/partner/webhook", json={"event": "x"})

    assert answer.json() == {"received": True, "reference": "R-000001"}


async def test_requests_without_an_idempotency_key_are_never_repeats(
    client: httpx.AsyncClient,
) -> None:
    first = await client.post("/partner/webhook", json={})
    second = await client.post("/partner/webhook", json={})

    assert first.json()["reference"] == "R-000001"
    assert second.json()["reference"] == "R-000002"
