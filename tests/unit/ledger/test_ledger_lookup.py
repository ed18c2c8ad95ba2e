"""LedgerLookup answers concurrent questions with few queries."""

from __future__ import annotations

import asyncio

import pytest

from omniout.errors import LedgerError
from omniout.ledger import LedgerLookup
from tests.unit.ledger.memory import MemoryLedger


async def test_questions_asked_together_share_one_query_per_route() -> None:
    ledger = MemoryLedger({"oms": {"r1", "r3"}, "tax": {"r2"}})
    lookup = LedgerLookup(ledger)

    answers = await asyncio.gather(
        lookup.is_delivered("oms", "r1"),
        lookup.is_delivered("oms", "r2"),
        lookup.is_delivered("oms", "r3"),
        lookup.is_delivered("tax", "r2"),
        lookup.is_delivered("tax", "r1"),
    )

    assert list(answers) == [True, False, True, True, False]
    assert sorted(route for route, _ in ledger.queries) == ["oms", "tax"]


async def test_the_same_id_asked_twice_is_queried_once() -> None:
    ledger = MemoryLedger({"oms": {"r1"}})
    lookup = LedgerLookup(ledger)

    answers = await asyncio.gather(
        lookup.is_delivered("oms", "r1"), lookup.is_delivered("oms", "r1")
    )

    assert list(answers) == [True, True]
    assert ledger.queries == [("oms", ["r1"])]


async def test_a_large_batch_is_split_into_queries_of_max_batch_ids() -> None:
    ledger = MemoryLedger({"oms": {"r0", "r9"}})
    lookup = LedgerLookup(ledger, max_batch=4)

    answers = await asyncio.gather(
        *(lookup.is_delivered("oms", f"r{n}") for n in range(10))
    )

    assert [n for n, found in enumerate(answers) if found] == [0, 9]
    assert [len(ids) for _, ids in ledger.queries] == [4, 4, 2]


async def test_a_failed_query_fails_its_questions_and_the_next_batch_works() -> None:
    ledger = MemoryLedger({"oms": {"r1"}})
    ledger.failures.append(LedgerError("database is locked"))
    lookup = LedgerLookup(ledger)

    results = await asyncio.gather(
        lookup.is_delivered("oms", "r1"),
        lookup.is_delivered("oms", "r2"),
        return_exceptions=True,
    )

    assert all(isinstance(r, LedgerError) for r in results)
    assert results[0] is not results[1]
    assert await lookup.is_delivered("oms", "r1") is True


async def test_an_unexpected_error_reaches_the_caller_as_ledger_error() -> None:
    ledger = MemoryLedger({})
    ledger.failures.append(OSError("disk gone"))
    lookup = LedgerLookup(ledger)

    with pytest.raises(LedgerError, match="disk gone"):
        await lookup.is_delivered("oms", "r1")


async def test_questions_asked_while_a_query_runs_go_in_the_next_batch() -> None:
    ledger = MemoryLedger({"oms": {"late"}})
    ledger.gate = asyncio.Event()
    lookup = LedgerLookup(ledger)

    first = asyncio.create_task(lookup.is_delivered("oms", "early"))
    await ledger.querying.wait()
    late = asyncio.create_task(lookup.is_delivered("oms", "late"))
    await asyncio.sleep(0)
    ledger.gate.set()

    assert await first is False
    assert await late is True
    assert ledger.queries == [("oms", ["early"]), ("oms", ["late"])]


def test_max_batch_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_batch"):
        LedgerLookup(MemoryLedger({}), max_batch=0)
