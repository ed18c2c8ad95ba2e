"""Timing loops shared by the benchmarks that time one call at a time."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

__all__ = ["per_await", "per_call"]


def per_call(run: Callable[[], object], events: int) -> float:
    """Seconds per call, best of three passes."""
    best = float("inf")
    for _ in range(3):
        began = time.perf_counter()
        for _ in range(events):
            run()
        best = min(best, (time.perf_counter() - began) / events)
    return best


def per_await(run: Callable[[], Awaitable[object]], events: int) -> float:
    """Seconds per awaited call, best of three passes, in a new event loop."""

    async def loop() -> float:
        best = float("inf")
        for _ in range(3):
            began = time.perf_counter()
            for _ in range(events):
                await run()
            best = min(best, (time.perf_counter() - began) / events)
        return best

    return asyncio.run(loop())
