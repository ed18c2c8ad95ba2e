"""Retry policies: which answers to try again, and how long to wait between.

Everything here is pure and cheap, so the retry loop, the config checker and
the tests share one definition of "retriable" and one backoff formula.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC
from email.utils import parsedate_to_datetime
from typing import Literal

from omniout.deliver.request import Response

__all__ = [
    "DEFAULT_RETRY_STATUSES",
    "Classified",
    "ResponseClassifier",
    "RetryPolicy",
    "Verdict",
    "backoff_delay",
    "classify",
    "parse_retry_after",
]

Verdict = Literal["done", "retry", "permanent"]


@dataclass(frozen=True, slots=True)
class Classified:
    """A classifier's verdict, and what it saw (for the failure reason)."""

    verdict: Verdict
    detail: str | None = None


# Reads an answer after its status was classified and may change the
# verdict: a SOAP fault in a 500 that says "your message is wrong" is
# permanent. Called once per answer; it must be pure and quick.
ResponseClassifier = Callable[[Response, Verdict], Classified]

# 408 Request Timeout, 425 Too Early and 429 Too Many Requests say "not now"
# rather than "never" (RFC 9110 §15.5.9, RFC 8470 §5.2, RFC 6585 §4); every
# 5xx is the server's fault and may pass.
DEFAULT_RETRY_STATUSES = frozenset({408, 425, 429, *range(500, 600)})

# delay-seconds is 1*DIGIT (RFC 9110 §10.2.3); a minus sign is not in the
# grammar, but some servers send one, and it can only mean "now".
_DELAY_SECONDS = re.compile(r"-?[0-9]+")


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how patiently one route retries one event.

    ``max_attempts`` counts every request, the first included; no attempt
    starts after ``max_elapsed`` seconds from the first. The pause after
    attempt *n* is ``initial_backoff * multiplier ** (n - 1)``, capped at
    ``max_backoff``, shortened by a random fraction of up to ``jitter`` of
    itself (1.0 is "full jitter"), and never shorter than the answer's
    ``Retry-After`` (itself capped at ``max_backoff``). ``permanent_statuses``
    wins over ``retry_statuses``, which wins over the default split;
    ``response_classifier``, when set, has the last word on each answer.
    Raises ``ValueError`` when a field is out of range.
    """

    max_attempts: int = 10
    max_elapsed: float = 24 * 3600.0
    initial_backoff: float = 1.0
    # Two hours, like the CRM platform's Outbound Messaging between retries.
    max_backoff: float = 7200.0
    multiplier: float = 2.0
    jitter: float = 1.0
    retry_statuses: frozenset[int] = DEFAULT_RETRY_STATUSES
    permanent_statuses: frozenset[int] = frozenset()
    response_classifier: ResponseClassifier | None = None

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.max_elapsed <= 0:
            raise ValueError("max_elapsed must be positive")
        if self.initial_backoff < 0 or self.max_backoff < 0:
            raise ValueError("backoff must not be negative")
        if self.multiplier < 1:
            raise ValueError("multiplier must be at least 1")
        if not 0.0 <= self.jitter <= 1.0:
            raise ValueError("jitter must be between 0 and 1")


def classify(status: int, policy: RetryPolicy) -> Verdict:
    """Sort an HTTP status into done, worth retrying, or permanent."""
    if 200 <= status <= 299:
        return "done"
    if status in policy.permanent_statuses:
        return "permanent"
    if status in policy.retry_statuses:
        return "retry"
    # Redirects are not followed: a webhook that moved is a config error.
    return "permanent"


def backoff_delay(
    policy: RetryPolicy, attempt: int, retry_after: float | None, rand: float
) -> float:
    """Seconds to wait after failed attempt number ``attempt`` (1-based).

    ``rand`` is a uniform draw from [0, 1); with ``policy.jitter`` 0 it has
    no effect.
    """
    delay = _exponential(policy, attempt) * (1.0 - policy.jitter * rand)
    if retry_after is not None:
        delay = max(delay, retry_after)
    return min(delay, policy.max_backoff)


def _exponential(policy: RetryPolicy, attempt: int) -> float:
    try:
        grown = policy.initial_backoff * policy.multiplier ** (attempt - 1)
    except OverflowError:
        return policy.max_backoff
    return min(grown, policy.max_backoff)


def parse_retry_after(value: str, now: float) -> float | None:
    """Seconds to wait from a ``Retry-After`` value (RFC 9110 §10.2.3).

    The value is delay-seconds or an HTTP-date, read against ``now`` (epoch
    seconds). A negative delay or a past date gives 0; anything else that is
    not one of the two forms gives ``None``.
    """
    text = value.strip()
    if _DELAY_SECONDS.fullmatch(text):
        return max(0.0, float(int(text)))
    try:
        when = parsedate_to_datetime(text)
    except (ValueError, TypeError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        # asctime dates carry no zone; HTTP dates are always UTC (§5.6.7).
        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - now)
