"""Running the engine on a documented config example, against a test topic.

The example is loaded from the docs as the service loads a file
(``load_settings``: variables expanded, limits checked); only what ties it
to this test run is replaced: the topic and reader schema of every route,
the broker, the ledger file and an admin port on an ephemeral port.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp

from omniout.config import (
    AdminSettings,
    KafkaSettings,
    LedgerSettings,
    ProcessingSettings,
    Settings,
    load_settings,
)
from omniout.service import serve
from tests.doc_examples import example
from tests.integration.engine import ORDER_SCHEMA, SCHEMAS

__all__ = ["example_settings", "running_with_admin", "scrape"]


def example_settings(name: str, kafka: str, topic: str, tmp_path: Path) -> Settings:
    loaded = load_settings(example(name, tmp_path))
    routes = [
        route.model_copy(update={"topic": topic, "schema_name": ORDER_SCHEMA})
        for route in loaded.routes
    ]
    group = f"g-{uuid.uuid4().hex[:8]}"
    return loaded.model_copy(
        update={
            "kafka": KafkaSettings(bootstrap_servers=kafka, group_id=group),
            "schemas_dir": SCHEMAS,
            "ledger": LedgerSettings(url=f"sqlite:///{tmp_path / 'ledger.db'}"),
            "processing": ProcessingSettings(commit_interval=0.2, shutdown_timeout=5),
            "admin": AdminSettings(port=0),
            "routes": routes,
        }
    )


@contextlib.asynccontextmanager
async def running_with_admin(config: Settings) -> AsyncIterator[str]:
    """Run the service; yield its admin URL; stop it gracefully at the end."""
    stopping = asyncio.Event()
    admin: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    task = asyncio.create_task(
        serve(
            config,
            config_file="test.yaml",
            stopping=stopping,
            on_admin=admin.set_result,
        )
    )
    try:
        yield await asyncio.wait_for(admin, 10)
    finally:
        stopping.set()
        await asyncio.wait_for(task, timeout=30)


async def scrape(admin_url: str) -> str:
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{admin_url}/metrics") as answer,
    ):
        return await answer.text()
