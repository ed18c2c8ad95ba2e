"""Requests per second through the HTTP clients omniout could deliver with.

Compares, with a fixed number of requests in flight against one local aiohttp
server running in a subprocess (so client and server do not share a core's
event loop):

- aiohttp ``ClientSession``: the baseline;
- httpx ``AsyncClient`` on its default (httpcore) transport;
- httpx ``AsyncClient`` on ``httpx_aiohttp.AiohttpTransport``;
- omniout's ``Deliverer.send`` (httpx on the aiohttp transport, plus
  omniout's own conversion and error mapping).

Each round runs every client once, in a rotated order, after a warm-up; the
median round is reported with the client-side CPU time per request. All
traffic stays on 127.0.0.1.

Run: .venv/bin/python benchmarks/bench_http_client.py [--requests 5000]
     [--concurrency 64] [--rounds 3] [--time-limit 30]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass

import aiohttp
import httpx
from httpx_aiohttp import AiohttpTransport
from loopback import hook_app, serve, subprocess_server

from omniout.deliver import Deliverer, OutboundRequest

BODY = b'{"event": "OrderPlaced", "id": "a1b2c3", "total": 12.5}'
HEADERS = {"Content-Type": "application/json", "Idempotency-Key": "bench"}
WARM_UP = 200

Post = Callable[[], Awaitable[int]]
ClientFactory = Callable[[str, int], AbstractAsyncContextManager[Post]]


@dataclass(frozen=True, slots=True)
class Round:
    done: int
    seconds: float
    cpu: float

    @property
    def rate(self) -> float:
        return self.done / self.seconds


# The server: a subprocess answering every POST with a small JSON body.


@asynccontextmanager
async def server() -> AsyncIterator[str]:
    async with subprocess_server(__file__) as base:
        yield f"{base}/hook"


# The clients: each yields a function that sends one POST and reads the answer.


@asynccontextmanager
async def plain_aiohttp(url: str, concurrency: int) -> AsyncIterator[Post]:
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def post() -> int:
            async with session.post(url, data=BODY, headers=HEADERS) as response:
                await response.read()
                return response.status

        yield post


def _limits(concurrency: int) -> httpx.Limits:
    return httpx.Limits(
        max_connections=concurrency, max_keepalive_connections=concurrency
    )


@asynccontextmanager
async def _httpx(client: httpx.AsyncClient, url: str) -> AsyncIterator[Post]:
    async with client:

        async def post() -> int:
            response = await client.post(url, content=BODY, headers=HEADERS)
            return response.status_code

        yield post


def httpx_default(url: str, concurrency: int) -> AbstractAsyncContextManager[Post]:
    return _httpx(httpx.AsyncClient(limits=_limits(concurrency)), url)


def httpx_on_aiohttp(url: str, concurrency: int) -> AbstractAsyncContextManager[Post]:
    transport = AiohttpTransport(limits=_limits(concurrency))
    return _httpx(httpx.AsyncClient(transport=transport), url)


@asynccontextmanager
async def omniout_deliverer(url: str, concurrency: int) -> AsyncIterator[Post]:
    request = OutboundRequest("POST", url, tuple(HEADERS.items()), BODY, 10.0)
    async with Deliverer(max_connections=concurrency) as deliverer:

        async def post() -> int:
            return (await deliverer.send(request)).status

        yield post


CLIENTS: dict[str, ClientFactory] = {
    "aiohttp ClientSession (baseline)": plain_aiohttp,
    "httpx, default transport": httpx_default,
    "httpx + AiohttpTransport": httpx_on_aiohttp,
    "omniout Deliverer.send": omniout_deliverer,
}


# The load: `concurrency` workers share a budget of requests and a deadline.


async def drive(post: Post, count: int, concurrency: int, deadline: float) -> int:
    remaining = count
    done = 0

    async def worker() -> None:
        nonlocal remaining, done
        while remaining > 0 and time.monotonic() < deadline:
            remaining -= 1
            status = await post()
            if status != 200:
                raise RuntimeError(f"unexpected status {status}")
            done += 1

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return done


async def one_round(
    factory: ClientFactory, url: str, count: int, concurrency: int, limit: float
) -> Round:
    async with factory(url, concurrency) as post:
        await drive(post, WARM_UP, concurrency, time.monotonic() + limit)
        cpu, began = time.process_time(), time.perf_counter()
        done = await drive(post, count, concurrency, time.monotonic() + limit)
        seconds = time.perf_counter() - began
        return Round(done, seconds, time.process_time() - cpu)


async def bench(args: argparse.Namespace) -> None:
    names = list(CLIENTS)
    results: dict[str, list[Round]] = {name: [] for name in names}
    async with server() as url:
        for number in range(args.rounds):
            shift = number % len(names)
            for name in names[shift:] + names[:shift]:
                results[name].append(
                    await one_round(
                        CLIENTS[name],
                        url,
                        args.requests,
                        args.concurrency,
                        args.time_limit,
                    )
                )
    report(results, args)


def report(results: dict[str, list[Round]], args: argparse.Namespace) -> None:
    print(
        f"{args.requests} POSTs per round, {args.concurrency} in flight, "
        f"{args.rounds} rounds, median round shown; server in a subprocess"
    )
    baseline = 0.0
    for name, rounds in results.items():
        middle = sorted(rounds, key=lambda r: r.rate)[len(rounds) // 2]
        baseline = baseline or middle.rate
        spread = statistics.pstdev(r.rate for r in rounds)
        cpu_us = middle.cpu / middle.done * 1e6
        every = ", ".join(f"{r.rate:.0f}" for r in rounds)
        print(
            f"  {name:34} {middle.rate:8.0f} req/s  (±{spread:5.0f})  "
            f"x{middle.rate / baseline:4.2f}  {cpu_us:6.0f} µs client CPU/req"
            f"{'' if middle.done == args.requests else '  (hit time limit)'}"
            f"\n  {'':34} rounds: {every}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--time-limit", type=float, default=30.0)
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    asyncio.run(serve(hook_app()) if args.serve else bench(args))


if __name__ == "__main__":
    main()
