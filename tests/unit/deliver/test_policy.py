"""Retry policy: status classification, Retry-After parsing, backoff delays."""

from __future__ import annotations

import calendar
from typing import Any

import pytest

from omniout.deliver.policy import (
    RetryPolicy,
    Verdict,
    backoff_delay,
    classify,
    parse_retry_after,
)

DEFAULT = RetryPolicy()
NOW = float(calendar.timegm((2025, 3, 1, 12, 0, 0)))


@pytest.mark.parametrize(
    ("status", "verdict"),
    [
        (200, "done"),
        (201, "done"),
        (204, "done"),
        (299, "done"),
        (301, "permanent"),
        (304, "permanent"),
        (400, "permanent"),
        (401, "permanent"),
        (404, "permanent"),
        (409, "permanent"),
        (422, "permanent"),
        (408, "retry"),
        (425, "retry"),
        (429, "retry"),
        (500, "retry"),
        (502, "retry"),
        (503, "retry"),
        (504, "retry"),
        (599, "retry"),
        (600, "permanent"),
        (100, "permanent"),
    ],
)
def test_default_policy_classifies_status(status: int, verdict: Verdict) -> None:
    assert classify(status, DEFAULT) == verdict


def test_permanent_statuses_override_retrying_a_5xx() -> None:
    policy = RetryPolicy(permanent_statuses=frozenset({501}))
    assert classify(501, policy) == "permanent"
    assert classify(500, policy) == "retry"


def test_retry_statuses_can_make_a_4xx_retriable() -> None:
    policy = RetryPolicy(retry_statuses=frozenset({409, 503}))
    assert classify(409, policy) == "retry"
    assert classify(500, policy) == "permanent"


def test_permanent_wins_when_a_status_is_in_both_sets() -> None:
    policy = RetryPolicy(permanent_statuses=frozenset({429}))
    assert classify(429, policy) == "permanent"


def test_a_2xx_is_done_even_if_listed_as_permanent() -> None:
    policy = RetryPolicy(permanent_statuses=frozenset({202}))
    assert classify(202, policy) == "done"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"max_attempts": 0}, "max_attempts"),
        ({"max_elapsed": 0.0}, "max_elapsed"),
        ({"initial_backoff": -1.0}, "backoff"),
        ({"max_backoff": -1.0}, "backoff"),
        ({"multiplier": 0.5}, "multiplier"),
        ({"jitter": 1.5}, "jitter"),
        ({"jitter": -0.1}, "jitter"),
    ],
)
def test_policy_rejects_out_of_range_fields(
    kwargs: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        RetryPolicy(**kwargs)


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("0", 0.0),
        ("1", 1.0),
        ("120", 120.0),
        ("  30 ", 30.0),
        ("-5", 0.0),
    ],
)
def test_retry_after_reads_delay_seconds(value: str, seconds: float) -> None:
    assert parse_retry_after(value, NOW) == seconds


@pytest.mark.parametrize(
    "value",
    [
        "Sat, 01 Mar 2025 12:01:30 GMT",  # IMF-fixdate
        "Saturday, 01-Mar-25 12:01:30 GMT",  # obsolete RFC 850 form
        "Sat Mar  1 12:01:30 2025",  # obsolete asctime form, no zone
    ],
)
def test_retry_after_reads_every_http_date_form(value: str) -> None:
    assert parse_retry_after(value, NOW) == pytest.approx(90.0)


def test_retry_after_date_in_the_past_means_now() -> None:
    assert parse_retry_after("Sat, 01 Mar 2025 11:00:00 GMT", NOW) == 0.0


@pytest.mark.parametrize(
    "value", ["", "soon", "1.5", "1_000", "12s", "\u00b2", "Sat, 99 Foo 2025"]
)
def test_retry_after_garbage_gives_none(value: str) -> None:
    assert parse_retry_after(value, NOW) is None


NO_JITTER = RetryPolicy(
    initial_backoff=1.0, multiplier=2.0, max_backoff=10.0, jitter=0.0
)


def test_backoff_grows_exponentially_until_the_cap() -> None:
    delays = [backoff_delay(NO_JITTER, n, None, 0.99) for n in range(1, 8)]
    assert delays == [1.0, 2.0, 4.0, 8.0, 10.0, 10.0, 10.0]


def test_backoff_survives_huge_attempt_numbers() -> None:
    policy = RetryPolicy(multiplier=10.0, max_backoff=60.0, jitter=0.0)
    assert backoff_delay(policy, 100_000, None, 0.0) == 60.0


def test_default_backoff_is_capped_at_two_hours() -> None:
    assert backoff_delay(RetryPolicy(jitter=0.0), 20, None, 0.0) == 7200.0


def test_full_jitter_shortens_by_the_random_fraction() -> None:
    policy = RetryPolicy(initial_backoff=4.0, jitter=1.0)
    assert backoff_delay(policy, 1, None, 0.0) == 4.0
    assert backoff_delay(policy, 1, None, 0.25) == 3.0
    assert backoff_delay(policy, 1, None, 0.999) == pytest.approx(0.004)


def test_partial_jitter_keeps_a_floor() -> None:
    policy = RetryPolicy(initial_backoff=4.0, jitter=0.5)
    assert backoff_delay(policy, 1, None, 0.999) == pytest.approx(2.002)


def test_jitter_applies_after_the_cap() -> None:
    policy = RetryPolicy(initial_backoff=1.0, max_backoff=8.0, jitter=1.0)
    assert backoff_delay(policy, 10, None, 0.5) == 4.0


def test_retry_after_longer_than_backoff_wins() -> None:
    assert backoff_delay(NO_JITTER, 1, 7.0, 0.0) == 7.0


def test_backoff_longer_than_retry_after_wins() -> None:
    assert backoff_delay(NO_JITTER, 4, 1.0, 0.0) == 8.0


def test_retry_after_is_capped_at_max_backoff() -> None:
    assert backoff_delay(NO_JITTER, 1, 86_400.0, 0.0) == 10.0


def test_retry_after_is_not_shortened_by_jitter() -> None:
    policy = RetryPolicy(initial_backoff=1.0, jitter=1.0)
    assert backoff_delay(policy, 1, 5.0, 0.9) == 5.0
