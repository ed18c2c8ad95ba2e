"""Guardrails per endpoint: attempts in flight, request rate, body sizes.

Limits are modelled on the CRM platform's callout limits. They are read
from each route's endpoint settings, checked when the config loads, and
built into one :class:`EndpointLimiter` per limit key per process (see
:mod:`omniout.deliver.limits.plan` for what a key is). The deliverer waits
on a limiter before each attempt, outside the attempt's timeout and
without holding a connection, and reads answers through
:func:`read_bounded`. The request size is checked by the route, when the
payload is mapped.
"""

from __future__ import annotations

from omniout.deliver.limits.body import read_bounded, too_large_reason
from omniout.deliver.limits.limiter import EndpointLimiter, WaitObserver
from omniout.deliver.limits.plan import (
    LimitPlan,
    limit_key,
    open_limiters,
    plan_limits,
)
from omniout.deliver.limits.rate import RateSchedule
from omniout.deliver.limits.settings import (
    DEFAULT_MAX_REQUEST_BYTES,
    DEFAULT_MAX_RESPONSE_BYTES,
    RateLimitSettings,
)

__all__ = [
    "DEFAULT_MAX_REQUEST_BYTES",
    "DEFAULT_MAX_RESPONSE_BYTES",
    "EndpointLimiter",
    "LimitPlan",
    "RateLimitSettings",
    "RateSchedule",
    "WaitObserver",
    "limit_key",
    "open_limiters",
    "plan_limits",
    "read_bounded",
    "too_large_reason",
]
