"""LedgerWriter groups concurrent entries and reports each batch's fate."""

from __future__ import annotations

import asyncio

import pytest

from omniout.errors import LedgerError
from omniout.ledger import LedgerEntry, LedgerWriter
from tests.unit.ledger.memory import MemoryLedger


def entry(number: int) -> LedgerEntry:
    return LedgerEntry(
        route="orders",
        request_id=f"req-{number}",
        outcome="delivered",
        http_status=200,
        attempts=1,
        first_attempt_at=1000.0,
        last_attempt_at=1000.5,
        topic="orders",
        partition=0,
        offset=number,
    )


def ids(batch: list[LedgerEntry]) -> list[str]:
    return [e.request_id for e in batch]


async def test_concurrent_records_are_written_in_one_batch() -> None:
    ledger = MemoryLedger()
    writer = LedgerWriter(ledger, max_batch=256, max_delay=0.01)

    await asyncio.gather(*(writer.record(entry(n)) for n in range(100)))

    assert len(ledger.batches) == 1
    assert ids(ledger.batches[0]) == [f"req-{n}" for n in range(100)]


async def test_a_full_batch_is_written_without_waiting_for_the_delay() -> None:
    ledger = MemoryLedger()
    writer = LedgerWriter(ledger, max_batch=4, max_delay=30)

    await asyncio.wait_for(
        asyncio.gather(*(writer.record(entry(n)) for n in range(8))), timeout=5
    )

    assert [len(batch) for batch in ledger.batches] == [4, 4]


async def test_a_partial_batch_is_written_after_the_delay() -> None:
    ledger = MemoryLedger()
    writer = LedgerWriter(ledger, max_batch=4, max_delay=0.02)
    loop = asyncio.get_running_loop()
    started = loop.time()

    await asyncio.gather(*(writer.record(entry(n)) for n in range(10)))

    assert [len(batch) for batch in ledger.batches] == [4, 4, 2]
    assert loop.time() - started >= 0.02
    assert ids(ledger.batches[2]) == ["req-8", "req-9"]


async def test_entries_arriving_during_a_write_form_the_next_batch() -> None:
    ledger = MemoryLedger()
    ledger.gate = asyncio.Event()
    writer = LedgerWriter(ledger, max_batch=256, max_delay=0)
    first = asyncio.create_task(writer.record(entry(0)))
    await asyncio.sleep(0.01)  # the first batch is now held at the gate
    later = [asyncio.create_task(writer.record(entry(n))) for n in range(1, 50)]
    await asyncio.sleep(0.01)

    ledger.gate.set()
    await asyncio.gather(first, *later)

    assert [len(batch) for batch in ledger.batches] == [1, 49]


async def test_a_failed_write_raises_in_every_waiter_of_its_batch() -> None:
    ledger = MemoryLedger()
    ledger.failures.append(LedgerError("database is locked"))
    writer = LedgerWriter(ledger, max_batch=256, max_delay=0.01)

    results = await asyncio.gather(
        *(writer.record(entry(n)) for n in range(5)), return_exceptions=True
    )

    assert all(isinstance(result, LedgerError) for result in results)
    assert all("database is locked" in str(result) for result in results)
    assert len({id(result) for result in results}) == 5
    assert ledger.batches == []


async def test_a_failed_write_chains_the_ledgers_error() -> None:
    ledger = MemoryLedger()
    cause = LedgerError("disk I/O error")
    ledger.failures.append(cause)
    writer = LedgerWriter(ledger, max_delay=0)

    with pytest.raises(LedgerError) as raised:
        await writer.record(entry(1))

    assert raised.value.__cause__ is cause


async def test_an_unexpected_exception_reaches_waiters_as_ledger_error() -> None:
    ledger = MemoryLedger()
    ledger.failures.append(RuntimeError("driver bug"))
    writer = LedgerWriter(ledger, max_delay=0)

    with pytest.raises(LedgerError, match="driver bug"):
        await writer.record(entry(1))


async def test_the_writer_keeps_working_after_a_failed_write() -> None:
    ledger = MemoryLedger()
    ledger.failures.append(LedgerError("connection lost"))
    writer = LedgerWriter(ledger, max_delay=0)
    with pytest.raises(LedgerError):
        await writer.record(entry(1))

    await writer.record(entry(2))

    assert [ids(batch) for batch in ledger.batches] == [["req-2"]]


async def test_close_writes_waiting_entries_without_waiting_for_the_delay() -> None:
    ledger = MemoryLedger()
    writer = LedgerWriter(ledger, max_batch=256, max_delay=60)
    waiting = [asyncio.create_task(writer.record(entry(n))) for n in range(3)]
    await asyncio.sleep(0)

    await asyncio.wait_for(writer.close(), timeout=5)

    assert all(task.done() and task.exception() is None for task in waiting)
    assert [ids(batch) for batch in ledger.batches] == [["req-0", "req-1", "req-2"]]


async def test_record_after_close_is_refused() -> None:
    ledger = MemoryLedger()
    writer = LedgerWriter(ledger)
    await writer.close()

    with pytest.raises(LedgerError, match="closed"):
        await writer.record(entry(1))

    assert ledger.batches == []


async def test_a_cancelled_waiter_does_not_disturb_the_others() -> None:
    ledger = MemoryLedger()
    writer = LedgerWriter(ledger, max_batch=256, max_delay=0.02)
    cancelled = asyncio.create_task(writer.record(entry(0)))
    others = [asyncio.create_task(writer.record(entry(n))) for n in (1, 2)]
    await asyncio.sleep(0)

    cancelled.cancel()
    await asyncio.gather(*others)

    assert cancelled.cancelled()
    # The entry was handed over before the cancel; writing it is harmless.
    assert ids(ledger.batches[0]) == ["req-0", "req-1", "req-2"]


@pytest.mark.parametrize(
    ("max_batch", "max_delay"), [(0, 0.005), (-1, 0.005), (10, -0.1)]
)
async def test_nonsensical_limits_are_rejected(
    max_batch: int, max_delay: float
) -> None:
    with pytest.raises(ValueError, match="max_"):
        LedgerWriter(MemoryLedger(), max_batch=max_batch, max_delay=max_delay)
