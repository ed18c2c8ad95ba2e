"""Running the service with its admin port open, for tests of that port."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import AsyncIterator

import httpx

from omniout.config import AdminSettings, Settings
from omniout.service import serve

__all__ = ["closed_port", "serving", "wait_ready", "with_admin"]


def with_admin(config: Settings, bootstrap: str | None = None) -> Settings:
    """``config`` with the admin port on a free port of 127.0.0.1."""
    kafka = config.kafka
    if bootstrap is not None:
        kafka = kafka.model_copy(update={"bootstrap_servers": bootstrap})
    return config.model_copy(
        update={"admin": AdminSettings(host="127.0.0.1", port=0), "kafka": kafka}
    )


def closed_port() -> int:
    """A local port that nothing listens on (it was free a moment ago)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


async def wait_ready(admin: httpx.AsyncClient, within: float = 20) -> None:
    deadline = time.monotonic() + within
    while (await admin.get("/readyz")).status_code != 200:
        if time.monotonic() > deadline:
            raise AssertionError(f"not ready in {within}s")
        await asyncio.sleep(0.05)


@contextlib.asynccontextmanager
async def serving(config: Settings) -> AsyncIterator[str]:
    """Run the service; yield its admin URL as soon as the port is bound."""
    stopping = asyncio.Event()
    bound: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    task = asyncio.create_task(
        serve(
            config,
            config_file="test.yaml",
            stopping=stopping,
            on_admin=bound.set_result,
        )
    )
    try:
        waiting: set[asyncio.Future[object]] = {bound, task}  # type: ignore[arg-type]
        await asyncio.wait(waiting, timeout=10, return_when="FIRST_COMPLETED")
        if task.done():
            task.result()  # raises what stopped the service
        yield bound.result()
    finally:
        stopping.set()
        await asyncio.wait_for(task, timeout=30)
