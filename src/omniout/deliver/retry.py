"""The retry loop: attempts, pauses and the final verdict for one delivery.

tenacity drives the loop; this module supplies what it asks for: the attempt
(which never raises for an HTTP answer, it returns an outcome), the wait
(exponential backoff with jitter, at least ``Retry-After``), the stop (attempt
count or elapsed budget) and the hook that reports every attempt. The HTTP
side comes in as a plain ``send`` callable, so the loop is tested without a
network.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Protocol

from tenacity import AsyncRetrying, RetryCallState, retry_if_result

from omniout.deliver.policy import (
    RetryPolicy,
    Verdict,
    backoff_delay,
    classify,
    parse_retry_after,
)
from omniout.deliver.request import OutboundRequest, Response
from omniout.errors import DeliveryError

__all__ = [
    "AttemptHook",
    "AttemptInfo",
    "Clock",
    "DeliveryResult",
    "SendFn",
    "SleepFn",
    "deliver_with_retries",
]

logger = logging.getLogger(__name__)

EXCERPT_CHARS = 512


@dataclass(frozen=True, slots=True)
class AttemptInfo:
    """What one attempt did, for logs, metrics and spans.

    ``status`` is set when the endpoint answered, ``error`` (the reason) when
    it did not. ``sleep`` is the pause before the next attempt, ``None`` on
    the last one. ``started_at`` is epoch seconds, ``elapsed`` seconds.
    """

    attempt: int
    status: int | None
    error: str | None
    retry_after: float | None
    sleep: float | None
    started_at: float
    elapsed: float


@dataclass(frozen=True, slots=True)
class DeliveryResult:
    """A delivery the endpoint accepted (2xx), and how long it took to get there."""

    response: Response
    attempts: int
    first_attempt_at: float
    last_attempt_at: float


class Clock(Protocol):
    """Wall time for timestamps and HTTP dates, monotonic time for budgets.

    The ``time`` module is one.
    """

    def time(self) -> float: ...

    def monotonic(self) -> float: ...


SendFn = Callable[[OutboundRequest], Awaitable[Response]]
SleepFn = Callable[[float], Awaitable[None]]
AttemptHook = Callable[[AttemptInfo], None]


@dataclass(frozen=True, slots=True)
class _Outcome:
    attempt: int
    verdict: Verdict
    started_at: float
    elapsed: float
    response: Response | None = None
    error: DeliveryError | None = None
    retry_after: float | None = None
    detail: str | None = None


async def deliver_with_retries(
    send: SendFn,
    request: OutboundRequest,
    policy: RetryPolicy,
    *,
    sleep: SleepFn = asyncio.sleep,
    on_attempt: AttemptHook | None = None,
    clock: Clock = time,
    rand: Callable[[], float] = random.random,
) -> DeliveryResult:
    """Send ``request`` until it is accepted, refused for good, or out of budget.

    ``send`` makes one attempt and raises only ``DeliveryError``. Returns on a
    2xx; raises ``DeliveryError`` (``retriable=False``) on a permanent answer
    and (``retriable=True``) when ``policy`` allows no further attempt.
    ``on_attempt`` is called once per attempt, in order; what it raises
    propagates. Other exceptions from ``send``, cancellation included, pass
    through at once.
    """
    run = _Run(send, request, policy, clock, rand, on_attempt)
    # Most deliveries are settled by their first attempt, so only one that
    # asks to be retried pays for setting up tenacity's loop; the loop then
    # starts from that first outcome, as if it had made the attempt itself.
    first = await run.attempt()
    if not _wants_retry(first):
        return run.finish(first)
    retrying = AsyncRetrying(
        sleep=sleep,
        stop=run.should_stop,
        wait=run.pause,
        retry=retry_if_result(_wants_retry),
        before_sleep=run.report_retry,
        retry_error_callback=run.last_outcome,
    )
    final: _Outcome = await retrying(run.attempt_after, first)
    return run.finish(final)


def _wants_retry(outcome: _Outcome) -> bool:
    return outcome.verdict == "retry"


class _Run:
    """The state of one delivery across its attempts."""

    __slots__ = (
        "_clock",
        "_first_at",
        "_last",
        "_on_attempt",
        "_policy",
        "_rand",
        "_replayed",
        "_request",
        "_send",
        "_start",
    )

    def __init__(
        self,
        send: SendFn,
        request: OutboundRequest,
        policy: RetryPolicy,
        clock: Clock,
        rand: Callable[[], float],
        on_attempt: AttemptHook | None,
    ) -> None:
        self._send = send
        self._request = request
        self._policy = policy
        self._clock = clock
        self._rand = rand
        self._on_attempt = on_attempt
        self._first_at = 0.0
        self._start = 0.0
        self._last: _Outcome | None = None
        self._replayed = False

    async def attempt(self) -> _Outcome:
        """Make the next attempt and judge it; never raises ``DeliveryError``."""
        number = 1 if self._last is None else self._last.attempt + 1
        started_at = self._clock.time()
        began = self._clock.monotonic()
        if number == 1:
            self._first_at, self._start = started_at, began
        try:
            response = await self._send(self._request)
        except DeliveryError as exc:
            verdict: Verdict = "retry" if exc.retriable else "permanent"
            elapsed = self._clock.monotonic() - began
            self._last = _Outcome(number, verdict, started_at, elapsed, error=exc)
        else:
            self._last = self._judge(number, started_at, response)
        return self._last

    async def attempt_after(self, first: _Outcome) -> _Outcome:
        """tenacity's attempt: ``first`` on its first call, a new one after."""
        if not self._replayed:
            self._replayed = True
            return first
        return await self.attempt()

    def _judge(self, number: int, started_at: float, response: Response) -> _Outcome:
        verdict = classify(response.status, self._policy)
        detail = None
        if self._policy.response_classifier is not None:
            classified = self._policy.response_classifier(response, verdict)
            verdict, detail = classified.verdict, classified.detail
        retry_after = None
        header = response.header("retry-after")
        if verdict == "retry" and header is not None:
            retry_after = parse_retry_after(header, self._clock.time())
        return _Outcome(
            number,
            verdict,
            started_at,
            response.elapsed,
            response=response,
            retry_after=retry_after,
            detail=detail,
        )

    def last_outcome(self, _state: RetryCallState | None = None) -> _Outcome:
        """The latest attempt's outcome; tenacity's answer when it gives up."""
        if self._last is None:
            raise RuntimeError("no attempt was made")
        return self._last

    def pause(self, _state: RetryCallState) -> float:
        """Seconds to sleep before the next attempt (tenacity's wait)."""
        last = self.last_outcome()
        return backoff_delay(self._policy, last.attempt, last.retry_after, self._rand())

    def should_stop(self, state: RetryCallState) -> bool:
        """Whether the budget forbids another attempt after the coming pause."""
        if self.last_outcome().attempt >= self._policy.max_attempts:
            return True
        spent = self._clock.monotonic() - self._start
        # No attempt may start after max_elapsed: count the pause before it.
        return spent + state.upcoming_sleep > self._policy.max_elapsed

    def report_retry(self, state: RetryCallState) -> None:
        """Report an attempt that will be followed by another (before_sleep)."""
        self._report(self.last_outcome(), state.upcoming_sleep)

    def finish(self, final: _Outcome) -> DeliveryResult:
        """Report the last attempt, then return the result or raise the failure."""
        self._report(final, None)
        if final.verdict == "done" and final.response is not None:
            return DeliveryResult(
                final.response, final.attempt, self._first_at, final.started_at
            )
        raise self._failure(final) from final.error

    def _failure(self, final: _Outcome) -> DeliveryError:
        what = _describe(final)
        if final.verdict == "permanent":
            reason, retriable = f"{what} (permanent)", False
        else:
            plural = "s" if final.attempt != 1 else ""
            reason = f"retry budget spent after {final.attempt} attempt{plural}: {what}"
            retriable = True
        response = final.response
        return DeliveryError(
            reason,
            retriable=retriable,
            status=None if response is None else response.status,
            excerpt=_excerpt(final),
            retry_after=final.retry_after,
            attempts=final.attempt,
            first_attempt_at=self._first_at,
            last_attempt_at=final.started_at,
        )

    def _report(self, outcome: _Outcome, sleep: float | None) -> None:
        status = None if outcome.response is None else outcome.response.status
        error = None if outcome.error is None else outcome.error.reason
        logger.debug(
            "Delivery attempt %d: %s (%s), next in %s s",
            outcome.attempt,
            _describe(outcome),
            outcome.verdict,
            "-" if sleep is None else f"{sleep:.3f}",
        )
        if self._on_attempt is not None:
            self._on_attempt(
                AttemptInfo(
                    outcome.attempt,
                    status,
                    error,
                    outcome.retry_after,
                    sleep,
                    outcome.started_at,
                    outcome.elapsed,
                )
            )


def _describe(outcome: _Outcome) -> str:
    if outcome.response is None:
        return "no answer" if outcome.error is None else outcome.error.reason
    status = outcome.response.status
    try:
        text = f"HTTP {status} {HTTPStatus(status).phrase}"
    except ValueError:
        text = f"HTTP {status}"
    return text if outcome.detail is None else f"{text}, {outcome.detail}"


def _excerpt(outcome: _Outcome) -> str:
    if outcome.response is None:
        return "" if outcome.error is None else outcome.error.excerpt
    # A UTF-8 character is at most 4 bytes: this prefix holds 512 characters.
    head = outcome.response.body[: EXCERPT_CHARS * 4]
    return head.decode("utf-8", errors="replace")[:EXCERPT_CHARS]
