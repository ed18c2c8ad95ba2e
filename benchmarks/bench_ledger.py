"""How much the ledger's group commit and batched lookups gain.

Writes N entries four ways into a fresh table each time, and prints the rate:

- one-by-one: a single writer, one ``Ledger.record`` transaction per entry;
- concurrent: W writers, still one transaction per entry;
- LedgerWriter: W writers through ``LedgerWriter`` (one transaction per batch),
  with the default max_delay and with none.

Then it asks, from W concurrent tasks, whether N request ids (half of them
recorded) are delivered: one ``Ledger.delivered`` query per id, and through
``LedgerLookup`` (one query per batch of questions asked together).

It runs on SQLite in a temporary directory and, when it answers, on the
PostgreSQL of the local stack (``deploy/local/stack.sh start postgres``)::

    .venv/bin/python benchmarks/bench_ledger.py [-n 5000] [--writers 64]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

import psycopg

from omniout.errors import LedgerError
from omniout.ledger import (
    Ledger,
    LedgerEntry,
    LedgerLookup,
    LedgerWriter,
    PostgresLedger,
    SqliteLedger,
)

POSTGRES = os.environ.get(
    "OMNIOUT_BENCH_POSTGRES", "postgresql://omniout@127.0.0.1:5432/omniout"
)

Mode = Callable[[Ledger, Sequence[LedgerEntry], int], Awaitable[None]]


def entries(count: int) -> list[LedgerEntry]:
    now = time.time()
    return [
        LedgerEntry(
            route="bench",
            request_id=f"bench-{uuid.uuid4().hex}",
            outcome="delivered",
            http_status=200,
            attempts=1,
            first_attempt_at=now,
            last_attempt_at=now,
            topic="bench",
            partition=n % 12,
            offset=n,
        )
        for n in range(count)
    ]


async def one_by_one(ledger: Ledger, batch: Sequence[LedgerEntry], _: int) -> None:
    for entry in batch:
        await ledger.record([entry])


async def concurrent(
    ledger: Ledger, batch: Sequence[LedgerEntry], writers: int
) -> None:
    async def write(share: Sequence[LedgerEntry]) -> None:
        for entry in share:
            await ledger.record([entry])

    await asyncio.gather(*(write(batch[w::writers]) for w in range(writers)))


def through_writer(max_delay: float) -> Mode:
    async def run(
        ledger: Ledger, batch: Sequence[LedgerEntry], writers: int
    ) -> None:
        writer = LedgerWriter(ledger, max_delay=max_delay)

        async def write(share: Sequence[LedgerEntry]) -> None:
            for entry in share:
                await writer.record(entry)

        await asyncio.gather(*(write(batch[w::writers]) for w in range(writers)))
        await writer.close()

    return run


# Each writer waits for its entry before it sends the next (as an event slot
# does in the service), so with fewer writers than max_batch every batch waits
# out max_delay; the max_delay=0 row shows what that wait costs.
MODES: dict[str, Mode] = {
    "one-by-one": one_by_one,
    "concurrent": concurrent,
    "LedgerWriter": through_writer(0.005),
    "LedgerWriter, max_delay=0": through_writer(0.0),
}


async def measure(
    make: Callable[[str], Ledger], mode: Mode, count: int, writers: int
) -> float:
    """Entries per second of ``mode`` on a fresh table; checks they all landed."""
    table = f"bench_{uuid.uuid4().hex[:12]}"
    ledger = make(table)
    await ledger.open()
    try:
        batch = entries(count)
        started = time.perf_counter()
        await mode(ledger, batch, writers)
        elapsed = time.perf_counter() - started
        ids = [entry.request_id for entry in batch]
        if len(await ledger.delivered("bench", ids)) != count:
            raise SystemExit("not every entry was recorded")
    finally:
        await ledger.close()
        if isinstance(ledger, PostgresLedger):
            await drop(table)
    return count / elapsed


Ask = Callable[[str], Awaitable[bool]]


async def measure_lookups(
    make: Callable[[str], Ledger], count: int, askers: int
) -> dict[str, float]:
    """Questions per second, one query each and through LedgerLookup."""
    table = f"bench_{uuid.uuid4().hex[:12]}"
    ledger = make(table)
    await ledger.open()
    try:
        recorded = entries(count // 2)
        await ledger.record(recorded)
        ids = [e.request_id for e in recorded] + [
            f"unknown-{n}" for n in range(count - len(recorded))
        ]
        lookup = LedgerLookup(ledger)

        async def single(request_id: str) -> bool:
            return request_id in await ledger.delivered("bench", (request_id,))

        async def batched(request_id: str) -> bool:
            return await lookup.is_delivered("bench", request_id)

        rates = {}
        for label, ask in (("one query each", single), ("LedgerLookup", batched)):
            rates[label] = await _ask_all(ask, ids, askers, len(recorded))
    finally:
        await ledger.close()
        if isinstance(ledger, PostgresLedger):
            await drop(table)
    return rates


async def _ask_all(ask: Ask, ids: list[str], askers: int, expected: int) -> float:
    found = 0

    async def asker(share: list[str]) -> None:
        nonlocal found
        for request_id in share:
            delivered = await ask(request_id)
            found += delivered

    started = time.perf_counter()
    await asyncio.gather(*(asker(ids[a::askers]) for a in range(askers)))
    elapsed = time.perf_counter() - started
    if found != expected:
        raise SystemExit(f"lookups found {found} delivered ids, not {expected}")
    return len(ids) / elapsed


async def drop(table: str) -> None:
    async with await psycopg.AsyncConnection.connect(POSTGRES) as conn:
        await conn.execute(f"DROP TABLE IF EXISTS {table}")
        await conn.commit()


async def postgres_answers() -> bool:
    ledger = PostgresLedger(POSTGRES, table="bench_probe", timeout=2)
    try:
        await ledger.open()
    except LedgerError as exc:
        print(f"PostgreSQL skipped: {exc}")
        return False
    await ledger.close()
    await drop("bench_probe")
    return True


async def bench(name: str, make: Callable[[str], Ledger], count: int, w: int) -> None:
    rates = {label: await measure(make, m, count, w) for label, m in MODES.items()}
    for label, rate in rates.items():
        print(f"{name:<10} {label:<26} {rate:>8,.0f} entries/s")
    ratio = rates["LedgerWriter"] / rates["one-by-one"]
    print(f"{name:<10} ratio LedgerWriter / one-by-one: {ratio:.1f}x")
    ratio = rates["LedgerWriter, max_delay=0"] / rates["one-by-one"]
    print(f"{name:<10} ratio LedgerWriter(max_delay=0) / one-by-one: {ratio:.1f}x")
    lookups = await measure_lookups(make, count, w)
    for label, rate in lookups.items():
        print(f"{name:<10} lookup, {label:<18} {rate:>8,.0f} questions/s")
    ratio = lookups["LedgerLookup"] / lookups["one query each"]
    print(f"{name:<10} ratio LedgerLookup / one query each: {ratio:.1f}x")


async def main() -> None:
    parser = argparse.ArgumentParser(description="Ledger group-commit benchmark")
    parser.add_argument("-n", "--entries", type=int, default=5000)
    parser.add_argument("--writers", type=int, default=64)
    args = parser.parse_args()
    print(f"{args.entries} entries, {args.writers} concurrent writers")
    with tempfile.TemporaryDirectory() as folder:

        def sqlite(table: str) -> Ledger:
            return SqliteLedger(str(Path(folder) / f"{table}.db"), table=table)

        await bench("SQLite", sqlite, args.entries, args.writers)
    if await postgres_answers():

        def postgres(table: str) -> Ledger:
            return PostgresLedger(POSTGRES, table=table)

        await bench("PostgreSQL", postgres, args.entries, args.writers)


if __name__ == "__main__":
    asyncio.run(main())
