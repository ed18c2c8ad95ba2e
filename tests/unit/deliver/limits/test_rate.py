"""The rate schedule (GCRA), driven by a clock given on every call."""

from __future__ import annotations

import pytest

from omniout.deliver.limits import RateSchedule


def delays(schedule: RateSchedule, times: list[float]) -> list[float]:
    return [round(schedule.reserve(now), 9) for now in times]


def test_requests_at_once_are_spaced_one_interval_apart() -> None:
    schedule = RateSchedule(requests=10, per=1.0)

    assert delays(schedule, [0.0] * 4) == [0.0, 0.1, 0.2, 0.3]


def test_no_window_of_per_seconds_holds_more_than_the_requests() -> None:
    schedule = RateSchedule(requests=5, per=2.0)
    sent = [now + schedule.reserve(now) for now in [0.0] * 30]

    # Less a nanosecond: the sums of 0.4 s steps are not exact in binary.
    for first in sent:
        assert sum(first <= t < first + 2.0 - 1e-9 for t in sent) <= 5


def test_a_burst_goes_at_once_and_the_rest_follow_at_the_rate() -> None:
    schedule = RateSchedule(requests=10, per=1.0, burst=10)

    sent = delays(schedule, [0.0] * 30)

    assert sent[:10] == [0.0] * 10
    assert sent[10:12] == [0.1, 0.2]
    assert sent[-1] == pytest.approx(2.0)


def test_requests_slower_than_the_rate_never_wait() -> None:
    schedule = RateSchedule(requests=10, per=1.0)

    assert delays(schedule, [0.0, 0.1, 0.25, 1.0, 7.5]) == [0.0] * 5


def test_a_quiet_spell_earns_no_more_than_one_burst() -> None:
    schedule = RateSchedule(requests=2, per=1.0, burst=3)
    delays(schedule, [0.0] * 3)

    later = delays(schedule, [100.0] * 5)

    assert later == [0.0, 0.0, 0.0, 0.5, 1.0]


def test_the_latest_reservation_can_be_given_back() -> None:
    schedule = RateSchedule(requests=10, per=1.0)
    schedule.reserve(0.0)
    schedule.reserve(0.0)

    schedule.refund(schedule.tat)

    assert schedule.reserve(0.0) == pytest.approx(0.1)


def test_an_earlier_reservation_stays_spent_when_later_ones_exist() -> None:
    schedule = RateSchedule(requests=10, per=1.0)
    schedule.reserve(0.0)
    granted = schedule.tat
    schedule.reserve(0.0)

    schedule.refund(granted)

    assert schedule.reserve(0.0) == pytest.approx(0.2)


@pytest.mark.parametrize(
    ("requests", "per", "burst"), [(0, 1.0, 1), (1, 0.0, 1), (1, 1.0, 0)]
)
def test_nonsensical_limits_are_refused(
    requests: int, per: float, burst: int
) -> None:
    with pytest.raises(ValueError, match="requests"):
        RateSchedule(requests, per, burst)
