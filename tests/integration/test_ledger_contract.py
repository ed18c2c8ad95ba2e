"""Every ledger keeps the same contract, on SQLite and on a real PostgreSQL.

Each test gets a fresh table: a new SQLite file, or a randomly named table in
the local stack's PostgreSQL that is dropped afterwards.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import psycopg
import pytest

from omniout.errors import LedgerError
from omniout.ledger import (
    LedgerEntry,
    LedgerWriter,
    Outcome,
    PostgresLedger,
    SqliteLedger,
    open_ledger,
)
from tests.integration.conftest import POSTGRES

pytestmark = pytest.mark.integration

AnyLedger = SqliteLedger | PostgresLedger


class Backend:
    """Makes ledger objects on one store and table; cleans up after the test."""

    def __init__(self, kind: str, tmp_path: Path) -> None:
        self.kind = kind
        self.table = f"omniout_test_{uuid.uuid4().hex[:12]}"
        self.path = str(tmp_path / "ledger.db")
        self.made: list[AnyLedger] = []

    def new(self) -> AnyLedger:
        ledger: AnyLedger
        if self.kind == "sqlite":
            ledger = SqliteLedger(self.path, table=self.table)
        else:
            ledger = PostgresLedger(POSTGRES, table=self.table)
        self.made.append(ledger)
        return ledger

    async def opened(self) -> AnyLedger:
        ledger = self.new()
        await ledger.open()
        return ledger

    async def clean_up(self) -> None:
        for ledger in self.made:
            await ledger.close()
        if self.kind == "postgres":
            async with await psycopg.AsyncConnection.connect(POSTGRES) as conn:
                await conn.execute(f"DROP TABLE IF EXISTS {self.table}")
                await conn.commit()


@pytest.fixture(params=["sqlite", "postgres"])
async def backend(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[Backend]:
    made = Backend(request.param, tmp_path)
    try:
        yield made
    finally:
        await made.clean_up()


@pytest.fixture
async def ledger(backend: Backend) -> AnyLedger:
    return await backend.opened()


def entry(
    request_id: str,
    *,
    route: str = "orders-to-erp",
    outcome: Outcome = "delivered",
    status: int | None = 200,
    attempts: int = 1,
    at: float = 1_764_000_000.0,
    offset: int = 7,
) -> LedgerEntry:
    return LedgerEntry(
        route=route,
        request_id=request_id,
        outcome=outcome,
        http_status=status,
        attempts=attempts,
        first_attempt_at=at,
        last_attempt_at=at + 0.25,
        topic="orders",
        partition=2,
        offset=offset,
    )


async def test_an_empty_ledger_reports_nothing_delivered(ledger: AnyLedger) -> None:
    assert await ledger.delivered("orders-to-erp", ["a", "b"]) == set()
    assert await ledger.delivered("orders-to-erp", []) == set()


async def test_recorded_deliveries_are_reported_for_their_route_only(
    ledger: AnyLedger,
) -> None:
    await ledger.record([entry("a"), entry("b"), entry("c", route="other")])

    assert await ledger.delivered("orders-to-erp", ["a", "b", "c", "d"]) == {"a", "b"}
    assert await ledger.delivered("other", ["a", "c"]) == {"c"}


async def test_an_entry_reads_back_with_every_field(ledger: AnyLedger) -> None:
    written = entry("a", status=None, attempts=3, at=1_764_000_123.456, offset=2**40)
    await ledger.record([written])

    assert await ledger.get("orders-to-erp", "a") == written
    assert await ledger.get("orders-to-erp", "missing") is None


async def test_dead_lettered_entries_do_not_count_as_delivered(
    ledger: AnyLedger,
) -> None:
    await ledger.record(
        [entry("a"), entry("b", outcome="dead-lettered", status=400, attempts=1)]
    )

    assert await ledger.delivered("orders-to-erp", ["a", "b"]) == {"a"}


async def test_a_later_outcome_replaces_the_earlier_one(ledger: AnyLedger) -> None:
    dead = entry("a", outcome="dead-lettered", status=503, attempts=5)
    await ledger.record([dead, entry("b")])
    redriven = entry("a", status=201, attempts=1, at=1_764_100_000.0)

    await ledger.record([redriven, entry("b", outcome="dead-lettered", status=410)])

    assert await ledger.delivered("orders-to-erp", ["a", "b"]) == {"a"}
    assert await ledger.get("orders-to-erp", "a") == redriven


async def test_the_last_entry_for_a_key_in_one_batch_wins(ledger: AnyLedger) -> None:
    await ledger.record([entry("a"), entry("a", outcome="dead-lettered", status=400)])

    assert await ledger.delivered("orders-to-erp", ["a"]) == set()


async def test_forget_removes_entries_so_they_are_sent_again(
    ledger: AnyLedger,
) -> None:
    await ledger.record([entry("a"), entry("b"), entry("a", route="other")])

    forgotten = await ledger.forget("orders-to-erp", ["a", "never-seen"])

    assert forgotten == 1
    assert await ledger.delivered("orders-to-erp", ["a", "b"]) == {"b"}
    assert await ledger.delivered("other", ["a"]) == {"a"}
    assert await ledger.forget("orders-to-erp", []) == 0


async def test_prune_deletes_entries_older_than_the_cutoff(ledger: AnyLedger) -> None:
    await ledger.record(
        [entry("old", at=1000.0), entry("edge", at=1999.75), entry("new", at=3000.0)]
    )

    pruned = await ledger.prune(older_than=2000.0)

    assert pruned == 1
    assert await ledger.delivered("orders-to-erp", ["old", "edge", "new"]) == {
        "edge",
        "new",
    }
    assert await ledger.prune(older_than=2000.0) == 0


async def test_many_entries_are_recorded_in_one_batch(ledger: AnyLedger) -> None:
    ids = [f"req-{n:05d}" for n in range(3000)]

    await ledger.record([entry(i, offset=n) for n, i in enumerate(ids)])

    asked = [*ids, "unknown-1", "unknown-2"]
    assert await ledger.delivered("orders-to-erp", asked) == set(ids)
    assert await ledger.forget("orders-to-erp", ids[:1500]) == 1500
    assert await ledger.delivered("orders-to-erp", ids) == set(ids[1500:])


async def test_open_twice_is_idempotent(backend: Backend) -> None:
    first = await backend.opened()
    await first.record([entry("a")])
    await first.open()

    second = await backend.opened()

    assert await first.delivered("orders-to-erp", ["a"]) == {"a"}
    assert await second.delivered("orders-to-erp", ["a"]) == {"a"}


async def test_two_ledger_objects_see_each_others_writes(backend: Backend) -> None:
    one, two = await backend.opened(), await backend.opened()

    await one.record([entry("from-one")])
    await two.record([entry("from-two")])
    await two.forget("orders-to-erp", ["from-one"])

    ids = ["from-one", "from-two"]
    assert await one.delivered("orders-to-erp", ids) == {"from-two"}
    assert await two.delivered("orders-to-erp", ids) == {"from-two"}


async def test_concurrent_batches_are_all_committed(backend: Backend) -> None:
    one, two = await backend.opened(), await backend.opened()
    batches = [
        [entry(f"req-{n}-{k}") for k in range(50)] + [entry("shared", attempts=n)]
        for n in range(8)
    ]

    await asyncio.gather(
        *((one if n % 2 else two).record(b) for n, b in enumerate(batches))
    )

    expected = {e.request_id for batch in batches for e in batch}
    assert await one.delivered("orders-to-erp", expected) == expected


async def test_entries_through_a_writer_are_durable(backend: Backend) -> None:
    ledger = await backend.opened()
    writer = LedgerWriter(ledger, max_batch=64, max_delay=0.005)

    await asyncio.gather(*(writer.record(entry(f"req-{n}")) for n in range(500)))
    await writer.close()

    reader = await backend.opened()
    ids = {f"req-{n}" for n in range(500)}
    assert await reader.delivered("orders-to-erp", ids) == ids


async def test_ping_answers_while_open_and_fails_once_closed(
    ledger: AnyLedger,
) -> None:
    await ledger.ping()
    await ledger.close()

    with pytest.raises(LedgerError, match="not open"):
        await ledger.ping()
    with pytest.raises(LedgerError, match="not open"):
        await ledger.delivered("orders-to-erp", ["a"])


async def test_an_unreachable_postgres_fails_without_showing_the_password() -> None:
    # Port 1 on the loopback refuses connections at once.
    ledger = PostgresLedger(
        "postgresql://omniout:hunter2-secret@127.0.0.1:1/omniout", timeout=2
    )

    with pytest.raises(LedgerError) as raised:
        await ledger.open()

    assert "hunter2-secret" not in str(raised.value)
    assert "omniout@127.0.0.1:1/omniout" in str(raised.value)
    assert isinstance(raised.value.__cause__, psycopg.OperationalError)
    assert "hunter2-secret" not in str(raised.value.__cause__)


async def test_a_driver_message_quoting_the_password_is_scrubbed() -> None:
    # libpq quotes a bad option value; here that value equals the password.
    dsn = "postgresql://omniout:hunter2@127.0.0.1:1/omniout?sslmode=hunter2"
    ledger = PostgresLedger(dsn, timeout=2)

    with pytest.raises(LedgerError, match="sslmode") as raised:
        await ledger.open()

    assert "hunter2" not in str(raised.value)
    assert raised.value.__cause__ is None
    assert raised.value.__suppress_context__


async def test_a_postgres_error_is_raised_as_ledger_error(
    postgres_dsn: str,
) -> None:
    table = f"omniout_test_{uuid.uuid4().hex[:12]}"
    ledger = PostgresLedger(postgres_dsn, table=table)
    await ledger.open()
    try:
        async with await psycopg.AsyncConnection.connect(postgres_dsn) as conn:
            await conn.execute(f"DROP TABLE {table}")
            await conn.commit()

        with pytest.raises(LedgerError, match="does not exist") as raised:
            await ledger.record([entry("a")])
    finally:
        await ledger.close()

    assert isinstance(raised.value.__cause__, psycopg.errors.UndefinedTable)


async def test_an_unusable_sqlite_path_fails_as_ledger_error(tmp_path: Path) -> None:
    ledger = SqliteLedger(str(tmp_path))  # a directory, not a database file

    with pytest.raises(LedgerError, match="cannot open"):
        await ledger.open()


async def test_a_sqlite_url_opens_a_working_ledger(tmp_path: Path) -> None:
    ledger = open_ledger(f"sqlite:///{tmp_path}/nested/ledger.db")
    await ledger.open()
    try:
        await ledger.record([entry("a")])
        assert await ledger.delivered("orders-to-erp", ["a"]) == {"a"}
    finally:
        await ledger.close()

    assert (tmp_path / "nested" / "ledger.db").exists()
