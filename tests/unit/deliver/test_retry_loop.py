"""The retry loop, driven by a scripted endpoint and a fake clock.

No network here: ``send`` is a script of answers and failures, and ``sleep``
advances a fake clock instead of waiting, so every schedule is exact.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from omniout.deliver import (
    AttemptInfo,
    OutboundRequest,
    Response,
    RetryPolicy,
    deliver_with_retries,
)
from omniout.errors import DeliveryError

REQUEST = OutboundRequest("POST", "http://127.0.0.1:1/hook", (), b"{}", 2.0)
START = 1_740_830_400.0  # 2025-03-01T12:00:00Z
FAST = RetryPolicy(initial_backoff=1.0, multiplier=2.0, max_backoff=60.0, jitter=0.0)

Step = Response | DeliveryError


def answer(status: int, body: bytes = b"", **headers: str) -> Response:
    pairs = tuple((name.replace("_", "-"), value) for name, value in headers.items())
    return Response(status, pairs, body, 0.01)


def refused() -> DeliveryError:
    return DeliveryError("connection failed: refused", retriable=True)


class FakeClock:
    """Wall and monotonic time that move only when the loop sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def time(self) -> float:
        return START + self.now

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class Script:
    """An endpoint that plays its steps in order, repeating the last."""

    def __init__(self, steps: Sequence[Step]) -> None:
        self.steps = list(steps)
        self.calls = 0

    async def send(self, request: OutboundRequest) -> Response:
        assert request is REQUEST
        step = self.steps[min(self.calls, len(self.steps) - 1)]
        self.calls += 1
        if isinstance(step, DeliveryError):
            raise step
        return step


async def run(
    steps: Sequence[Step],
    policy: RetryPolicy = FAST,
    clock: FakeClock | None = None,
    infos: list[AttemptInfo] | None = None,
) -> tuple[Script, FakeClock]:
    script, clock = Script(steps), clock or FakeClock()
    await deliver_with_retries(
        script.send,
        REQUEST,
        policy,
        sleep=clock.sleep,
        on_attempt=None if infos is None else infos.append,
        clock=clock,
        rand=lambda: 0.5,
    )
    return script, clock


async def failure(
    steps: Sequence[Step], policy: RetryPolicy = FAST
) -> tuple[DeliveryError, FakeClock]:
    clock = FakeClock()
    with pytest.raises(DeliveryError) as caught:
        await run(steps, policy, clock)
    return caught.value, clock


async def test_first_answer_2xx_is_delivered_without_sleeping() -> None:
    clock, script = FakeClock(), Script([answer(201, b"ok")])
    result = await deliver_with_retries(
        script.send, REQUEST, FAST, sleep=clock.sleep, clock=clock
    )
    assert (result.response.status, result.response.body) == (201, b"ok")
    assert result.attempts == script.calls == 1
    assert result.first_attempt_at == result.last_attempt_at == START
    assert clock.sleeps == []


async def test_backoff_doubles_then_stays_at_the_cap() -> None:
    policy = RetryPolicy(
        max_attempts=7, initial_backoff=1.0, max_backoff=5.0, jitter=0.0
    )
    error, clock = await failure([answer(503)], policy)
    assert clock.sleeps == [1.0, 2.0, 4.0, 5.0, 5.0, 5.0]
    assert error.attempts == 7


async def test_jitter_draw_shortens_each_pause() -> None:
    policy = RetryPolicy(max_attempts=4, initial_backoff=2.0, jitter=1.0)
    _, clock = await failure([answer(503)], policy)
    assert clock.sleeps == [1.0, 2.0, 4.0]


async def test_retried_answers_then_2xx_reports_every_attempt() -> None:
    infos: list[AttemptInfo] = []
    steps: list[Step] = [answer(503), refused(), answer(200, b"fine")]
    script, _ = await run(steps, infos=infos)
    assert script.calls == 3
    assert [(i.attempt, i.status, i.error, i.sleep) for i in infos] == [
        (1, 503, None, 1.0),
        (2, None, "connection failed: refused", 2.0),
        (3, 200, None, None),
    ]
    assert [i.started_at for i in infos] == [START, START + 1.0, START + 3.0]


async def test_result_carries_first_and_last_attempt_times() -> None:
    clock = FakeClock()
    script = Script([answer(500), answer(500), answer(204)])
    result = await deliver_with_retries(
        script.send, REQUEST, FAST, sleep=clock.sleep, clock=clock
    )
    assert result.attempts == 3
    assert result.first_attempt_at == START
    assert result.last_attempt_at == START + 3.0


async def test_retry_after_seconds_sets_the_pause() -> None:
    _, clock = await run([answer(429, retry_after="30"), answer(200)])
    assert clock.sleeps == [30.0]


async def test_retry_after_http_date_is_read_against_the_clock() -> None:
    later = "Sat, 01 Mar 2025 12:00:45 GMT"
    _, clock = await run([answer(503, retry_after=later), answer(200)])
    assert clock.sleeps == [45.0]


async def test_retry_after_is_capped_at_max_backoff() -> None:
    _, clock = await run([answer(503, retry_after="86400"), answer(200)])
    assert clock.sleeps == [60.0]


async def test_garbage_retry_after_falls_back_to_backoff() -> None:
    _, clock = await run([answer(503, retry_after="later"), answer(200)])
    assert clock.sleeps == [1.0]


async def test_retry_after_on_a_permanent_answer_is_ignored() -> None:
    error, clock = await failure([answer(400, retry_after="5")])
    assert clock.sleeps == []
    assert error.retry_after is None


async def test_permanent_answer_fails_at_once_with_excerpt() -> None:
    error, clock = await failure([answer(400, b'{"error": "bad field"}')])
    assert clock.sleeps == []
    assert not error.retriable
    assert error.status == 400
    assert str(error) == "HTTP 400 Bad Request (permanent)"
    assert error.excerpt == '{"error": "bad field"}'
    assert error.attempts == 1


async def test_unknown_status_is_described_by_number() -> None:
    error, _ = await failure([answer(499)])
    assert str(error) == "HTTP 499 (permanent)"


async def test_unsendable_request_fails_at_once() -> None:
    unsendable = DeliveryError("request cannot be sent: InvalidURL", retriable=False)
    error, clock = await failure([unsendable])
    assert clock.sleeps == []
    assert not error.retriable
    assert error.status is None
    assert str(error) == "request cannot be sent: InvalidURL (permanent)"
    assert error.__cause__ is unsendable


async def test_spent_attempts_fail_retriable_with_last_status() -> None:
    policy = RetryPolicy(max_attempts=5, initial_backoff=1.0, jitter=0.0)
    steps = [answer(500), answer(502), answer(503, b"x" * 2000, retry_after="3")]
    error, clock = await failure(steps, policy)
    assert error.retriable
    assert error.status == 503
    assert str(error) == (
        "retry budget spent after 5 attempts: HTTP 503 Service Unavailable"
    )
    assert error.excerpt == "x" * 512
    assert error.retry_after == 3.0
    assert error.attempts == 5
    assert error.first_attempt_at == START
    assert error.last_attempt_at == START + sum(clock.sleeps)


async def test_spent_attempts_after_connection_failures_have_no_status() -> None:
    policy = RetryPolicy(max_attempts=3, jitter=0.0)
    error, _ = await failure([refused()], policy)
    assert error.retriable
    assert error.status is None
    assert str(error) == (
        "retry budget spent after 3 attempts: connection failed: refused"
    )


async def test_single_attempt_budget_reads_naturally() -> None:
    error, _ = await failure([answer(503)], RetryPolicy(max_attempts=1))
    assert str(error).startswith("retry budget spent after 1 attempt: ")


async def test_no_attempt_starts_after_the_elapsed_budget() -> None:
    policy = RetryPolicy(
        max_attempts=100, max_elapsed=10.0, initial_backoff=1.0, jitter=0.0
    )
    error, clock = await failure([answer(503)], policy)
    # Attempts at 0, 1, 3 and 7 s; the next would start at 15 s.
    assert clock.sleeps == [1.0, 2.0, 4.0]
    assert error.attempts == 4
    assert error.retriable


async def test_excerpt_replaces_undecodable_bytes() -> None:
    error, _ = await failure([answer(400, b"bad \xff byte")])
    assert error.excerpt == "bad \ufffd byte"


async def test_excerpt_is_512_characters_of_multibyte_text() -> None:
    error, _ = await failure([answer(422, "é€😀".encode() * 400)])
    assert error.excerpt == ("é€😀" * 400)[:512]


async def test_unexpected_exception_from_send_is_not_retried() -> None:
    async def broken(request: OutboundRequest) -> Response:
        raise KeyError("bug")

    clock = FakeClock()
    with pytest.raises(KeyError):
        await deliver_with_retries(
            broken, REQUEST, FAST, sleep=clock.sleep, clock=clock
        )
    assert clock.sleeps == []


async def test_cancellation_during_a_pause_propagates() -> None:
    pausing = asyncio.Event()

    async def forever(seconds: float) -> None:
        pausing.set()
        await asyncio.Event().wait()

    script = Script([answer(503)])
    task = asyncio.create_task(
        deliver_with_retries(script.send, REQUEST, FAST, sleep=forever)
    )
    await pausing.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert script.calls == 1


def test_response_header_lookup_returns_first_value() -> None:
    response = answer(200, x_tag="a")
    response = Response(200, (*response.headers, ("x-tag", "b")), b"", 0.0)
    assert response.header("x-tag") == "a"
    assert response.header("x-missing") is None
