"""The guardrail keys of an endpoint's settings, and their defaults.

The size defaults follow the CRM platform's own callout limits: a
synchronous callout's request body may be 6 MB, and 1 MiB of answer is more
than any acknowledgement needs while small enough that a few hundred events
in flight cannot exhaust memory.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from omniout.deliver.limits.rate import RateSchedule

__all__ = [
    "DEFAULT_MAX_REQUEST_BYTES",
    "DEFAULT_MAX_RESPONSE_BYTES",
    "LIMIT_KEY_PATTERN",
    "RateLimitSettings",
]

MIB = 1024 * 1024
DEFAULT_MAX_REQUEST_BYTES = 6 * MIB
DEFAULT_MAX_RESPONSE_BYTES = MIB
LIMIT_KEY_PATTERN = r"^[A-Za-z0-9_.-]+$"


class RateLimitSettings(BaseModel):
    """``requests`` per ``per`` seconds, at most ``burst`` at once."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    requests: int = Field(ge=1)
    per: float = Field(gt=0)
    burst: int = Field(default=1, ge=1)

    def schedule(self) -> RateSchedule:
        """A fresh schedule for one process's limiter."""
        return RateSchedule(self.requests, self.per, self.burst)
