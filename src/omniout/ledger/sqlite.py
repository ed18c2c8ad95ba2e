"""The embedded ledger: one SQLite file beside the service.

It suits a single replica, or replicas that each own a volume. The database
runs in WAL mode with ``synchronous=NORMAL``: a commit survives a crash of the
process, but the last commits before a power loss may be rolled back (see
https://www.sqlite.org/pragma.html#pragma_synchronous). Such an entry is then
missing, and its event may be sent again with the same Idempotency-Key.

One connection serves every task. Its operations are serialised by a lock,
because SQLite has one transaction per connection: without the lock, a
rollback of one batch would also undo another task's uncommitted rows.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections.abc import AsyncIterator, Collection, Iterator, Sequence
from pathlib import Path

import aiosqlite

from omniout.errors import LedgerError
from omniout.ledger.base import (
    LedgerEntry,
    check_table_name,
    entry_from_row,
    entry_to_row,
    index_statement,
    select_statement,
    table_statement,
    upsert_statement,
)

__all__ = ["SqliteLedger"]

logger = logging.getLogger(__name__)

# SQLite limits the number of parameters of one statement (32766 since 3.32,
# 999 before), so long lists of ids are sent in chunks.
_CHUNK = 500


class SqliteLedger:
    """A ``Ledger`` in the SQLite file at ``path`` (created if missing)."""

    def __init__(
        self, path: str, *, table: str = "deliveries", busy_timeout: float = 5.0
    ) -> None:
        self._path = path
        self._table = check_table_name(table)
        self._busy_ms = int(busy_timeout * 1000)
        self._upsert = upsert_statement(self._table, "?")
        self._select = select_statement(self._table, "?")
        self._db: aiosqlite.Connection | None = None
        self._lock = asyncio.Lock()

    @property
    def path(self) -> str:
        """The database file (as given)."""
        return self._path

    def __repr__(self) -> str:
        return f"SqliteLedger({self._path!r}, table={self._table!r})"

    async def open(self) -> None:
        """Open the file and create the table and index if they are missing."""
        async with self._lock:
            if self._db is not None:
                return
            with self._failures("open"):
                await asyncio.to_thread(_make_parent, self._path)
                db = await aiosqlite.connect(self._path, isolation_level=None)
                try:
                    await self._prepare(db)
                except BaseException:
                    await db.close()
                    raise
            self._db = db
        logger.info("Opened SQLite ledger %s", self._path)

    async def close(self) -> None:
        """Close the connection; a second call does nothing."""
        async with self._lock:
            db, self._db = self._db, None
            if db is not None:
                with self._failures("close"):
                    await db.close()

    async def delivered(self, route: str, request_ids: Collection[str]) -> set[str]:
        """Return the ids among ``request_ids`` delivered on ``route``."""
        found: set[str] = set()
        async with self._lock:
            db = self._connection()
            with self._failures("read"):
                for chunk in _chunks(list(request_ids)):
                    sql = (
                        f"SELECT request_id FROM {self._table} WHERE route = ? "
                        f"AND outcome = 'delivered' AND request_id IN "
                        f"({_marks(chunk)})"
                    )
                    rows = await db.execute_fetchall(sql, (route, *chunk))
                    found.update(row[0] for row in rows)
        return found

    async def record(self, entries: Sequence[LedgerEntry]) -> None:
        """Upsert ``entries`` in one transaction; return once it is committed."""
        if not entries:
            return
        rows = [entry_to_row(entry) for entry in entries]
        async with self._lock:
            db = self._connection()
            with self._failures("record"):
                async with _transaction(db):
                    await db.executemany(self._upsert, rows)

    async def forget(self, route: str, request_ids: Collection[str]) -> int:
        """Delete the entries of ``request_ids`` on ``route``; return how many."""
        count = 0
        async with self._lock:
            db = self._connection()
            with self._failures("forget"):
                async with _transaction(db):
                    for chunk in _chunks(list(request_ids)):
                        sql = (
                            f"DELETE FROM {self._table} WHERE route = ? "
                            f"AND request_id IN ({_marks(chunk)})"
                        )
                        cursor = await db.execute(sql, (route, *chunk))
                        count += cursor.rowcount
        return count

    async def prune(self, older_than: float) -> int:
        """Delete entries last attempted before ``older_than``; return how many."""
        sql = f"DELETE FROM {self._table} WHERE last_attempt_at < ?"
        async with self._lock:
            db = self._connection()
            with self._failures("prune"):
                async with _transaction(db):
                    cursor = await db.execute(sql, (older_than,))
        return cursor.rowcount

    async def ping(self) -> None:
        """Return when the file answers a query."""
        async with self._lock:
            db = self._connection()
            with self._failures("ping"):
                await db.execute_fetchall("SELECT 1")

    async def get(self, route: str, request_id: str) -> LedgerEntry | None:
        """The entry of ``request_id`` on ``route``, if any (for inspection)."""
        async with self._lock:
            db = self._connection()
            with self._failures("read"):
                params = (route, request_id)
                rows = list(await db.execute_fetchall(self._select, params))
        return entry_from_row(rows[0]) if rows else None

    async def _prepare(self, db: aiosqlite.Connection) -> None:
        # busy_timeout first: switching to WAL needs a lock that another
        # process may hold for a moment.
        await db.execute(f"PRAGMA busy_timeout = {self._busy_ms}")
        await db.execute("PRAGMA journal_mode = WAL")
        await db.execute("PRAGMA synchronous = NORMAL")
        await db.execute(_schema(self._table))
        await db.execute(index_statement(self._table))

    def _connection(self) -> aiosqlite.Connection:
        if self._db is None:
            raise LedgerError(f"SQLite ledger {self._path} is not open")
        return self._db

    @contextlib.contextmanager
    def _failures(self, action: str) -> Iterator[None]:
        """Raise the errors of SQLite and of the file system as LedgerError."""
        try:
            yield
        except (sqlite3.Error, OSError) as exc:
            raise LedgerError(
                f"SQLite ledger {self._path}: cannot {action}: {exc}"
            ) from exc


@contextlib.asynccontextmanager
async def _transaction(db: aiosqlite.Connection) -> AsyncIterator[None]:
    """BEGIN IMMEDIATE ... COMMIT, rolled back on any failure.

    IMMEDIATE takes the write lock at the start, so that a writer in another
    process makes this one wait (up to busy_timeout) instead of failing late.
    """
    await db.execute("BEGIN IMMEDIATE")
    try:
        yield
        await db.execute("COMMIT")
    except BaseException:
        if db.in_transaction:
            with contextlib.suppress(sqlite3.Error):
                await db.execute("ROLLBACK")
        raise


def _schema(table: str) -> str:
    # WITHOUT ROWID stores the rows in the primary key's own B-tree, the one
    # every lookup goes through (https://www.sqlite.org/withoutrowid.html).
    return table_statement(
        table,
        text="TEXT",
        integer="INTEGER",
        real="REAL",
        bigint="INTEGER",
        options=" WITHOUT ROWID",
    )


def _make_parent(path: str) -> None:
    if path not in ("", ":memory:"):
        Path(path).parent.mkdir(parents=True, exist_ok=True)


def _chunks(ids: list[str]) -> Iterator[list[str]]:
    for start in range(0, len(ids), _CHUNK):
        yield ids[start : start + _CHUNK]


def _marks(chunk: Sequence[str]) -> str:
    return ", ".join("?" * len(chunk))
