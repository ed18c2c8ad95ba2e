"""Which routes share which limiter, checked and built once at start-up.

A route's limit key is its endpoint's ``limit_key`` or, by default, the
route's own name: limits written on a route apply to that route alone unless
routes name one key on purpose, and then they share one budget. Two routes
that merely post to the same host are not joined silently; an operator
who knows the partner counts them together says so with the key.

A limit (``max_concurrency``, ``rate_limit``) may be written on any of the
routes that share a key, and must be the same wherever it is written:
:func:`plan_limits` raises ``ConfigError`` otherwise, naming the second
route's key.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from omniout.deliver.limits.limiter import EndpointLimiter
from omniout.deliver.limits.settings import RateLimitSettings
from omniout.errors import ConfigError

if TYPE_CHECKING:
    from omniout.config import RouteSettings
    from omniout.telemetry.metrics import Metrics

__all__ = ["LimitPlan", "limit_key", "open_limiters", "plan_limits"]

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class LimitPlan:
    """What the limiter of one key enforces, and the routes that share it."""

    key: str
    routes: tuple[str, ...]
    max_concurrency: int | None = None
    rate_limit: RateLimitSettings | None = None


def limit_key(route: RouteSettings) -> str:
    return route.endpoint.limit_key or route.name


def plan_limits(
    routes: Sequence[RouteSettings], *, file: str = "config"
) -> dict[str, LimitPlan]:
    """Limit plans by key; keys without any limit are left out."""
    plans: dict[str, LimitPlan] = {}
    for index, route in enumerate(routes):
        key, endpoint = limit_key(route), route.endpoint
        plan = plans.get(key, LimitPlan(key, ()))
        where = f"routes[{index}].endpoint"
        concurrency = _agree(
            plan, "max_concurrency", plan.max_concurrency,
            endpoint.max_concurrency, file, where,
        )
        rate = _agree(
            plan, "rate_limit", plan.rate_limit, endpoint.rate_limit, file, where
        )
        plans[key] = LimitPlan(key, (*plan.routes, route.name), concurrency, rate)
    return {
        key: plan
        for key, plan in plans.items()
        if plan.max_concurrency is not None or plan.rate_limit is not None
    }


def open_limiters(
    routes: Sequence[RouteSettings],
    *,
    file: str = "config",
    metrics: Metrics | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> dict[str, EndpointLimiter]:
    """One limiter per limited key, for the deliverer's ``limits``."""
    limiters: dict[str, EndpointLimiter] = {}
    for key, plan in plan_limits(routes, file=file).items():
        observer = None if metrics is None else _MetricsObserver(metrics, key)
        rate = None if plan.rate_limit is None else plan.rate_limit.schedule()
        limiters[key] = EndpointLimiter(
            key,
            max_concurrency=plan.max_concurrency,
            rate=rate,
            observer=observer,
            clock=clock,
            sleep=sleep,
        )
    return limiters


def _agree(
    plan: LimitPlan,
    name: str,
    known: T | None,
    written: T | None,
    file: str,
    where: str,
) -> T | None:
    if written is None:
        return known
    if known is not None and known != written:
        routes = ", ".join(repr(r) for r in plan.routes)
        reason = (
            f"limit key {plan.key!r} is shared with route(s) {routes}, "
            f"which set a different {name}"
        )
        raise ConfigError(file, f"{where}.{name}", reason)
    return written


class _MetricsObserver:
    """Feeds the limit-wait counter and gauge of one key."""

    __slots__ = ("_seconds", "_waiting")

    def __init__(self, metrics: Metrics, key: str) -> None:
        self._seconds = metrics.limit_wait_seconds.labels(key)
        self._waiting = metrics.limit_waiting.labels(key)

    def began(self) -> None:
        self._waiting.inc()

    def ended(self, seconds: float) -> None:
        self._waiting.dec()
        self._seconds.inc(seconds)
