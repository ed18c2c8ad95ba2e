"""The demo behind ``make run`` (deploy/demo/run.sh) on the local stack.

The script runs as it does for a newcomer, except that its receiver and
admin port listen on free ports, and its topic (with its reply topic),
consumer group and ledger are this test's own (set through the environment,
which wins over deploy/demo/config.yaml), so that exactly the four sample
orders are delivered.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import socket
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from tests.integration.conftest import KAFKA
from tests.integration.processes import child_env

pytestmark = pytest.mark.integration

ROOT = Path(__file__).parents[2]
ORDERS = {f"000001{n:02d}" for n in (1, 2, 3, 4)}
PRIORITY = {"00000101", "00000103"}
ACTION = '"urn:omniout:demo:erp/SubmitOrder"'
_TOKEN = re.compile(r"^POST /oauth/token: issued token #(\d+) to omniout-demo ")
_PUT = re.compile(r"^PUT /orders/(\d{8}) Idempotency-Key=(\S+) token=#(\d+)$")
_SOAP = re.compile(r"^POST /soap/erp Idempotency-Key=(\S+) SOAPAction=(\S+)$")
_NUMBER = re.compile(r'<Order number="(\d{8})">')
_DELIVERED = re.compile(r"Delivered with HTTP 200 .* route=(\S+) .* request_id=(\S+)")
_REPLY = re.compile(
    r"^reply    \| (\S+) (\S+) delivered: HTTP 200, 1 attempt\(s\), "
    r"[\d.]+ ms, answer (.+)$"
)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


@dataclass
class Shown:
    """What the demo's output shows: tokens, deliveries, replies, log lines."""

    published: bool = False
    tokens: list[int] = field(default_factory=list)
    # order number -> (Idempotency-Key, token number)
    puts: dict[str, tuple[str, int]] = field(default_factory=dict)
    # order number -> (Idempotency-Key, SOAPAction)
    soap: dict[str, tuple[str, str]] = field(default_factory=dict)
    # (route, request id) -> the answer as the reply shows it
    replies: dict[tuple[str, str], str] = field(default_factory=dict)
    delivered: set[tuple[str, str]] = field(default_factory=set)

    @property
    def done(self) -> bool:
        """Every order delivered on each of its routes, and replied to."""
        wanted = {("order-to-oms", key) for key, _ in self.puts.values()}
        wanted |= {("priority-to-erp", key) for key, _ in self.soap.values()}
        return (
            self.published
            and set(self.puts) == ORDERS
            and set(self.soap) == PRIORITY
            and wanted <= self.delivered
            and wanted <= set(self.replies)
        )


def shown(lines: list[str]) -> Shown:
    """Read the output so far.

    The receiver's lines are read in their own order: omniout's log lines
    may come between them, never within one of the receiver's lines.
    """
    result = Shown(published=any(line.startswith("Published ") for line in lines))
    received = [line[11:] for line in lines if line.startswith("receiver | ")]
    for i, line in enumerate(received):
        if m := _TOKEN.match(line):
            result.tokens.append(int(m.group(1)))
        elif m := _PUT.match(line):
            result.puts[m.group(1)] = (m.group(2), int(m.group(3)))
        elif (m := _SOAP.match(line)) and (
            number := _NUMBER.search(" ".join(received[i + 1 : i + 3]))
        ):
            result.soap[number.group(1)] = (m.group(1), m.group(2))
    for line in lines:
        if m := _REPLY.match(line):
            result.replies[(m.group(1), m.group(2))] = m.group(3)
        elif m := _DELIVERED.search(line):
            result.delivered.add((m.group(1), m.group(2)))
    return result


async def test_the_demo_delivers_with_a_token_and_soap_shows_replies_and_stops(
    tmp_path: Path,
) -> None:
    port = free_port()
    topic = f"demo-test-{uuid.uuid4().hex[:10]}"
    env = child_env(
        DEMO_RECEIVER_PORT=str(port),
        DEMO_TOPIC=topic,
        OMNIOUT_KAFKA__GROUP_ID=topic,
        OMNIOUT_LEDGER__URL=f"sqlite:///{tmp_path / 'demo-ledger.db'}",
        OMNIOUT_ADMIN__PORT="0",
    )
    env.pop("DEMO_CLIENT_SECRET", None)  # the script's demo value applies
    demo = await asyncio.create_subprocess_exec(
        "bash",
        "deploy/demo/run.sh",
        cwd=ROOT,
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        start_new_session=True,  # its own process group, as in a terminal
    )
    lines: list[str] = []
    try:
        await asyncio.wait_for(_read_until_done(demo, lines), 60)
        async with httpx.AsyncClient() as client:
            anonymous = await client.put(f"http://127.0.0.1:{port}/orders/1", json={})
        # Ctrl-C in a terminal sends SIGINT to the whole foreground group.
        os.killpg(demo.pid, signal.SIGINT)
        rest, _ = await asyncio.wait_for(demo.communicate(), 30)
        lines += rest.decode().splitlines()
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(demo.pid, signal.SIGKILL)
        await demo.wait()
        await _delete_topics(topic, f"{topic}.replies")

    text = "\n".join(lines)
    seen = shown(lines)
    assert demo.returncode == 0, text
    assert f"Published 4 event(s) to {topic}" in text
    # One token was issued, and every order went with it; without one the
    # order API refuses.
    assert seen.tokens == [1], text
    assert {token for _, token in seen.puts.values()} == {1}, text
    assert anonymous.status_code == 401
    # The priority orders went to the ERP too, as SOAP with their action,
    # under the same request id as their order delivery.
    assert {action for _, action in seen.soap.values()} == {ACTION}, text
    assert all(seen.soap[n][0] == seen.puts[n][0] for n in PRIORITY), text
    # Each delivery has its reply, with the endpoint's answer.
    answers: dict[str, list[str]] = {"order-to-oms": [], "priority-to-erp": []}
    for (route, _), answer in seen.replies.items():
        answers[route].append(answer)
    assert len(answers["order-to-oms"]) == 4, text
    assert all('"reference":"R-' in a for a in answers["order-to-oms"]), text
    assert len(answers["priority-to-erp"]) == 2, text
    assert all('{"SubmitOrderResponse":{"Ticket":"T-' in a
               for a in answers["priority-to-erp"]), text
    assert "Stopped; offsets committed" in text
    assert not listening(port), text
    await _group_gone(demo.pid)
    await _none_left(f"DEMO_TOPIC={topic}".encode())


async def _delete_topics(*names: str) -> None:
    """Delete the topics the demo created, on the shared broker."""
    admin = AIOKafkaAdminClient(bootstrap_servers=KAFKA)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        if gone := [name for name in names if name in existing]:
            await admin.delete_topics(gone)
    except KafkaError:
        pass  # a leftover topic with a unique name harms no other test
    finally:
        await admin.close()


async def _group_gone(group: int, within: float = 10) -> None:
    """Wait until no process of ``group`` is left, zombies included.

    The receiver's log filter is a child that the script does not reap;
    once orphaned it is reaped by init, a moment after the script ends.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while loop.time() < deadline:
        try:
            os.killpg(group, 0)
        except ProcessLookupError:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"processes of group {group} are still running")


async def _none_left(marker: bytes, within: float = 10) -> None:
    """Wait until no process has ``marker`` in its environment.

    The receiver and the reply reader run in sessions of their own, so the
    script's process group does not hold them; their environment does.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while loop.time() < deadline:
        left = [pid for pid in _pids() if marker in _environment(pid)]
        if not left:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"processes {left} of the demo are still running")


def _pids() -> list[int]:
    return [int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit()]


def _environment(pid: int) -> list[bytes]:
    try:
        return Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    except OSError:  # gone meanwhile, or not ours
        return []


async def _read_until_done(
    demo: asyncio.subprocess.Process, lines: list[str]
) -> None:
    """Read the demo's output until every order is delivered and replied to."""
    assert demo.stdout is not None
    async for raw in demo.stdout:
        lines.append(raw.decode().rstrip())
        if shown(lines).done:
            return
    raise AssertionError("the demo ended early:\n" + "\n".join(lines))
