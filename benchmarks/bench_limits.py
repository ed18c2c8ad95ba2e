"""What an endpoint limiter that never makes anyone wait costs per attempt.

Two measurements, each limited against unlimited in the same run:

- per attempt: client CPU time of ``Deliverer.send`` to a local aiohttp
  server in a subprocess, once with a request that names no limiter and
  once through a limiter with ``max_concurrency`` equal to the requests in
  flight and a rate far above what the machine can send, so it never
  blocks but runs its whole fast path (semaphore, clock, schedule);
- the limiter alone: ``acquire`` and ``release`` in a tight loop, against
  the same loop awaiting nothing.

Rounds alternate the order of the two cases; the median round is shown.

Run: .venv/bin/python benchmarks/bench_limits.py [--requests 3000]
     [--concurrency 32] [--rounds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from loopback import hook_app, serve, subprocess_server

from omniout.deliver import Deliverer, OutboundRequest
from omniout.deliver.limits import EndpointLimiter, RateSchedule

BODY = b'{"event": "OrderPlaced", "id": "a1b2c3", "total": 12.5}'
HEADERS = (("Content-Type", "application/json"), ("Idempotency-Key", "bench"))
WARM_UP = 200
LOOP_PASSES = 200_000


@asynccontextmanager
async def server() -> AsyncIterator[str]:
    async with subprocess_server(__file__) as base:
        yield f"{base}/hook"


def open_limiter(concurrency: int) -> EndpointLimiter:
    # A billion per second with a burst of as many: the schedule never
    # delays anyone, yet every attempt reads the clock and reserves a turn.
    rate = RateSchedule(10**9, 1.0, burst=10**9)
    return EndpointLimiter("bench", max_concurrency=concurrency, rate=rate)


async def drive(
    deliverer: Deliverer, request: OutboundRequest, count: int, concurrency: int
) -> None:
    remaining = count

    async def worker() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            status = (await deliverer.send(request)).status
            if status != 200:
                raise RuntimeError(f"unexpected status {status}")

    await asyncio.gather(*(worker() for _ in range(concurrency)))


async def attempt_cpu(
    deliverer: Deliverer, request: OutboundRequest, args: argparse.Namespace
) -> float:
    """Client CPU seconds per attempt over one round."""
    count: int = args.requests
    await drive(deliverer, request, WARM_UP, args.concurrency)
    began = time.process_time()
    await drive(deliverer, request, count, args.concurrency)
    return (time.process_time() - began) / count


async def loop_cpu(limiter: EndpointLimiter | None) -> float:
    """CPU seconds per pass of acquire and release (or of nothing)."""

    async def nothing() -> None:
        return None

    began = time.process_time()
    if limiter is None:
        for _ in range(LOOP_PASSES):
            await nothing()
    else:
        for _ in range(LOOP_PASSES):
            await limiter.acquire()
            limiter.release()
    return (time.process_time() - began) / LOOP_PASSES


async def bench(args: argparse.Namespace) -> None:
    cases = ["unlimited", "limited"]
    attempts: dict[str, list[float]] = {case: [] for case in cases}
    passes: dict[str, list[float]] = {case: [] for case in cases}
    limiter = open_limiter(args.concurrency)
    async with server() as url:
        free = OutboundRequest("POST", url, HEADERS, BODY, 10.0)
        limited = OutboundRequest("POST", url, HEADERS, BODY, 10.0, limit="bench")
        requests = {"unlimited": free, "limited": limited}
        async with Deliverer(
            max_connections=args.concurrency, limits={"bench": limiter}
        ) as deliverer:
            for number in range(args.rounds):
                order = cases if number % 2 == 0 else cases[::-1]
                for case in order:
                    cpu = await attempt_cpu(deliverer, requests[case], args)
                    attempts[case].append(cpu)
                    alone = limiter if case == "limited" else None
                    passes[case].append(await loop_cpu(alone))
    report(attempts, passes, args)


def report(
    attempts: dict[str, list[float]],
    passes: dict[str, list[float]],
    args: argparse.Namespace,
) -> None:
    print(
        f"{args.requests} POSTs per round, {args.concurrency} in flight, "
        f"{args.rounds} rounds, median shown; server in a subprocess"
    )
    base = statistics.median(attempts["unlimited"])
    for case, values in attempts.items():
        middle = statistics.median(values)
        print(
            f"  attempt, {case:10} {middle * 1e6:8.1f} µs client CPU"
            f"  x{middle / base:5.3f}"
        )
    loop_base = statistics.median(passes["unlimited"])
    for case, values in passes.items():
        middle = statistics.median(values)
        label = "await of nothing" if case == "unlimited" else "acquire+release"
        print(
            f"  alone,   {label:16} {middle * 1e9:6.0f} ns"
            f"  x{middle / loop_base:5.2f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    asyncio.run(serve(hook_app()) if args.serve else bench(args))


if __name__ == "__main__":
    main()
