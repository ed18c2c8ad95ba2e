from __future__ import annotations

from aiokafka import TopicPartition

from omniout.consume.offsets import CommitPolicy, OffsetTracker

TP = TopicPartition("orders", 0)


def test_commits_the_first_offset_not_yet_finished() -> None:
    tracker = OffsetTracker()
    for offset in (10, 11, 12, 13):
        tracker.started(TP, offset)

    tracker.finished(TP, 12)
    assert tracker.committable() == {}

    tracker.finished(TP, 10)
    assert tracker.committable() == {TP: 11}

    tracker.finished(TP, 11)
    assert tracker.committable() == {TP: 13}


def test_gaps_in_offsets_do_not_hold_back_commits() -> None:
    tracker = OffsetTracker()
    for offset in (5, 9):
        tracker.started(TP, offset)
    tracker.finished(TP, 9)
    tracker.finished(TP, 5)

    assert tracker.committable() == {TP: 10}
    assert tracker.in_flight(TP) == 0


def test_committed_offsets_are_not_offered_again() -> None:
    tracker = OffsetTracker()
    tracker.started(TP, 0)
    tracker.finished(TP, 0)
    tracker.committed(tracker.committable())

    assert tracker.committable() == {}


def test_forgotten_partitions_are_neither_tracked_nor_committed() -> None:
    tracker = OffsetTracker()
    other = TopicPartition("orders", 1)
    tracker.started(TP, 0)
    tracker.started(other, 0)
    tracker.finished(other, 0)

    tracker.forget([other])

    assert tracker.committable() == {}
    assert tracker.in_flight() == 1


def test_commit_policy_waits_for_the_interval() -> None:
    now = [100.0]
    policy = CommitPolicy(1.0, lambda: now[0])
    assert not policy.due()

    now[0] = 101.0
    assert policy.due()

    policy.reset()
    assert not policy.due()
