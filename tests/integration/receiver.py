"""A real HTTP receiver for the tests, whose answers a test scripts.

Each request is recorded (time, method, path, headers, body); the answer comes
from a function the test sets, so one receiver can fail for a while and then
recover, answer 429 with Retry-After, or hang past the client's timeout.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import orjson
from aiohttp import web

__all__ = ["Delivery", "Receiver"]


@dataclass(frozen=True, slots=True)
class Delivery:
    at: float
    method: str
    path: str
    headers: dict[str, str]  # names in lower case
    body: bytes

    @property
    def key(self) -> str:
        return self.headers.get("idempotency-key", "")

    def json(self) -> object:
        return orjson.loads(self.body)


Answer = Callable[[Delivery], Awaitable[web.StreamResponse]]


async def accept(delivery: Delivery) -> web.StreamResponse:
    return web.json_response({"ok": True})


class Receiver:
    """Start with ``async with Receiver() as receiver``; ``receiver.url``."""

    def __init__(self) -> None:
        self.deliveries: list[Delivery] = []
        self.answer: Answer = accept
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        delivery = Delivery(
            at=time.monotonic(),
            method=request.method,
            path=request.path_qs,
            headers={k.lower(): v for k, v in request.headers.items()},
            body=await request.read(),
        )
        self.deliveries.append(delivery)
        return await self.answer(delivery)

    async def __aenter__(self) -> Receiver:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def keys(self) -> list[str]:
        return [d.key for d in self.deliveries]

    async def wait_for(self, count: int, within: float = 60) -> None:
        """Wait until ``count`` distinct idempotency keys have arrived."""
        deadline = time.monotonic() + within
        while len(set(self.keys())) < count:
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"{len(set(self.keys()))} of {count} events arrived in {within}s"
                )
            await asyncio.sleep(0.05)

    async def wait_for_requests(self, count: int, within: float = 20) -> None:
        """Wait for ``count`` requests, repeated idempotency keys included."""
        deadline = time.monotonic() + within
        while len(self.deliveries) < count:
            assert time.monotonic() < deadline, f"{len(self.deliveries)} of {count}"
            await asyncio.sleep(0.05)
