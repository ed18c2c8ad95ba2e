"""The demo behind ``make run`` (deploy/demo/run.sh) on the local stack.

The script runs as it does for a newcomer, except that its receiver and
admin port listen on free ports, and its consumer group and ledger are this
test's own (set through the environment, which wins over
deploy/demo/config.yaml). The demo
topic is shared, so the group may also deliver orders of earlier runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import socket
import uuid
from pathlib import Path

import pytest

from tests.integration.processes import child_env

pytestmark = pytest.mark.integration

ROOT = Path(__file__).parents[2]
_PUT = re.compile(r"^receiver \| PUT /orders/(\d{8}) Idempotency-Key=(\S+)$")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


async def test_the_demo_shows_each_delivery_and_ctrl_c_stops_it_all(
    tmp_path: Path,
) -> None:
    port = free_port()
    env = child_env(
        DEMO_RECEIVER_PORT=str(port),
        OMNIOUT_KAFKA__GROUP_ID=f"demo-test-{uuid.uuid4().hex[:10]}",
        OMNIOUT_LEDGER__URL=f"sqlite:///{tmp_path / 'demo-ledger.db'}",
        OMNIOUT_ADMIN__PORT="0",
    )
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
        await asyncio.wait_for(_read_until_delivered(demo, lines), 60)
        listened = listening(port)
        # Ctrl-C in a terminal sends SIGINT to the whole foreground group.
        os.killpg(demo.pid, signal.SIGINT)
        rest, _ = await asyncio.wait_for(demo.communicate(), 30)
        lines += rest.decode().splitlines()
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(demo.pid, signal.SIGKILL)
        await demo.wait()

    text = "\n".join(lines)
    assert listened, text
    assert demo.returncode == 0, text
    assert "Published 4 event(s) to event.Order_Completed__e" in text
    puts = [m.groups() for line in lines if (m := _PUT.match(line))]
    numbers = {number for number, _ in puts}
    assert numbers >= {f"000001{n:02d}" for n in (1, 2, 3, 4)}, text
    assert all(_delivered(lines, key) for _, key in puts), text
    assert "Stopped; offsets committed" in text
    assert not listening(port), text
    await _group_gone(demo.pid)


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


def _delivered(lines: list[str], key: str) -> bool:
    """omniout logged the delivery that the receiver printed."""
    return any(
        "Delivered with HTTP 200" in line
        and "route=order-to-oms" in line
        and f"request_id={key}" in line
        for line in lines
    )


async def _read_until_delivered(
    demo: asyncio.subprocess.Process, lines: list[str]
) -> None:
    """Read the demo's output until the orders it published are delivered.

    That is: the receiver printed order 00000104 after the publish step, and
    omniout logged a delivery for every order the receiver printed.
    """
    assert demo.stdout is not None
    async for raw in demo.stdout:
        lines.append(raw.decode().rstrip())
        after = next(
            (i for i, line in enumerate(lines) if line.startswith("Published ")), None
        )
        if after is None:
            continue
        puts = [m for line in lines[after:] if (m := _PUT.match(line))]
        last = any(m.group(1) == "00000104" for m in puts)
        if last and all(_delivered(lines, m.group(2)) for m in puts):
            return
    raise AssertionError("the demo ended early:\n" + "\n".join(lines))
