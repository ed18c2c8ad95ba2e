"""Readiness: every reason the service is not ready, and none when it is."""

from __future__ import annotations

import asyncio

from omniout.admin import Readiness
from omniout.errors import LedgerError


async def answers() -> None:
    return None


async def refuses() -> None:
    raise LedgerError("database is locked")


async def hangs() -> None:
    await asyncio.sleep(10)


async def test_a_starting_service_is_not_ready_for_every_reason() -> None:
    readiness = Readiness()
    readiness.broker_error = "unreachable: Unable to bootstrap"

    assert await readiness.reasons() == {
        "broker": "unreachable: Unable to bootstrap",
        "ledger": "not open yet",
        "group": "not joined",
    }


async def test_ready_when_joined_and_both_probes_answer() -> None:
    readiness = Readiness()
    readiness.broker = answers
    readiness.ledger = answers
    readiness.joined = asyncio.Event()
    readiness.joined.set()

    assert await readiness.reasons() == {}


async def test_a_failing_or_silent_probe_and_a_stop_make_it_not_ready() -> None:
    readiness = Readiness(probe_timeout=0.01)
    readiness.broker = hangs
    readiness.ledger = refuses
    readiness.joined = asyncio.Event()
    readiness.joined.set()
    readiness.stopping = asyncio.Event()
    readiness.stopping.set()

    assert await readiness.reasons() == {
        "service": "stopping",
        "broker": "no answer within 0.01s",
        "ledger": "unreachable: LedgerError",
    }
