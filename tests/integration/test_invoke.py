"""Synchronous invoke: ``POST /invoke/{route}`` and ``omniout invoke``."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import httpx
import orjson
import pytest
import yaml
from aiohttp import web

from tests.integration.admin import serving, wait_ready, with_admin
from tests.integration.conftest import TopicFactory
from tests.integration.engine import (
    ORDER_SCHEMA,
    SCHEMAS,
    encode,
    ledger_delivered,
    order,
    produce,
    settings,
)
from tests.integration.receiver import Delivery, Receiver

pytestmark = pytest.mark.integration

OMNIOUT = str(Path(sys.executable).with_name("omniout"))


async def receipt(delivery: Delivery) -> web.StreamResponse:
    return web.json_response(
        {"receipt": "r-1"}, status=201, headers={"X-Receipt": "r-1"}
    )


async def refuse(delivery: Delivery) -> web.StreamResponse:
    return web.json_response({"error": "unknown currency"}, status=400)


async def slow(delivery: Delivery) -> web.StreamResponse:
    await asyncio.sleep(1)
    return web.json_response({})


async def delivered(ledger_url: str, request_id: str) -> bool:
    return request_id in await ledger_delivered(ledger_url, "orders", [request_id])


async def test_post_invoke_returns_the_answer_and_the_ledger_records_it(
    kafka: str, new_topic: TopicFactory, tmp_path: Path
) -> None:
    topic = await new_topic("invoke")
    event = order(7)

    async with Receiver() as receiver:
        receiver.answer = receipt
        config = with_admin(settings(kafka, topic, receiver.url + "/o", tmp_path))
        async with serving(config) as url, httpx.AsyncClient(base_url=url) as admin:
            await wait_ready(admin)
            answer = await admin.post("/invoke/orders?timeout=5", json=event)
            receiver.answer = refuse
            refused = await admin.post("/invoke/orders?timeout=5", json=order(8))
            receiver.answer = slow
            late = await admin.post("/invoke/orders?timeout=0.2", json=order(9))
            unknown = await admin.post("/invoke/nope", json=event)
            bad_timeout = await admin.post("/invoke/orders?timeout=x", json=event)
            not_json = await admin.post("/invoke/orders", content=b"{")
            no_id = await admin.post("/invoke/orders", json={"Total_Amount__c": 1})
            # The invoked event comes from Kafka too: the ledger suppresses it.
            await produce(kafka, topic, [(None, encode(event))])
            duplicates = await _duplicates(admin)

    assert answer.status_code == 200
    body = answer.json()
    assert body["outcome"] == "delivered"
    assert body["request_id"] == event["EventUuid"]
    assert body["status"] == 201
    assert ["x-receipt", "r-1"] in body["headers"]
    assert orjson.loads(body["body"]) == {"receipt": "r-1"}
    assert len(body["trace_id"]) == 32
    assert receiver.deliveries[0].key == event["EventUuid"]
    assert await delivered(config.ledger.url, event["EventUuid"])

    assert refused.status_code == 502
    failure = refused.json()
    assert failure["outcome"] == "failed"
    assert failure["status"] == 400
    assert failure["error"] == "HTTP 400 Bad Request (permanent)"
    assert failure["retriable"] is False
    assert orjson.loads(failure["body"]) == {"error": "unknown currency"}
    assert not await delivered(config.ledger.url, failure["request_id"])

    assert late.status_code == 504
    assert late.json()["error"] == "no outcome within 0.2s"
    assert unknown.status_code == 404
    assert "no route named 'nope'" in unknown.json()["error"]
    assert bad_timeout.status_code == 400
    assert not_json.status_code == 400
    assert no_id.status_code == 422
    assert no_id.json() == {
        "error": "route 'orders': request id field 'EventUuid' is empty",
        "kind": "mapping",
    }
    assert duplicates == 1
    assert receiver.keys().count(event["EventUuid"]) == 1


async def _duplicates(admin: httpx.AsyncClient, within: float = 20) -> float:
    line = 'omniout_events_duplicate_total{route="orders"} '
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while loop.time() < deadline:
        text = (await admin.get("/metrics")).text
        found = [ln for ln in text.splitlines() if ln.startswith(line)]
        if found:
            return float(found[0].removeprefix(line))
        await asyncio.sleep(0.1)
    return 0.0


def write_config(tmp_path: Path, url: str) -> Path:
    config = {
        "schemas_dir": str(SCHEMAS),
        "ledger": {"url": f"sqlite:///{tmp_path / 'ledger.db'}"},
        "routes": [
            {
                "name": "orders",
                "topic": "orders",
                "schema": ORDER_SCHEMA,
                "endpoint": {"url": url, "timeout": 2},
                "retry": {"max_attempts": 3, "initial_backoff": 0.05},
            }
        ],
    }
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


async def omniout(*args: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        OMNIOUT,
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=30)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_the_invoke_command_prints_the_answer_or_fails_with_the_error(
    tmp_path: Path,
) -> None:
    event = order(11)
    event_file = tmp_path / "order.json"
    event_file.write_bytes(orjson.dumps(event))

    async with Receiver() as receiver:
        config = write_config(tmp_path, receiver.url + "/orders")
        receiver.answer = receipt
        ok = await omniout(
            "invoke", "-c", str(config), "orders", "--event", str(event_file),
            "--timeout", "5",
        )
        receiver.answer = refuse
        event_file.write_bytes(orjson.dumps(order(12)))
        refused = await omniout(
            "invoke", "-c", str(config), "orders", "--event", str(event_file)
        )
        unknown = await omniout(
            "invoke", "-c", str(config), "nope", "--event", str(event_file)
        )

    code, out, err = ok
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == "HTTP 201 Created"
    assert "x-receipt: r-1" in lines
    assert orjson.loads(lines[-1]) == {"receipt": "r-1"}
    assert await delivered(f"sqlite:///{tmp_path / 'ledger.db'}", event["EventUuid"])

    code, out, err = refused
    assert code == 1
    assert out.splitlines()[0] == "HTTP 400 Bad Request"
    assert "omniout: error: HTTP 400 Bad Request (permanent)" in err

    code, out, err = unknown
    assert code == 2
    assert "no route named 'nope'" in err
    assert len(receiver.deliveries) == 2
