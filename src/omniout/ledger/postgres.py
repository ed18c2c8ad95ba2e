"""The shared ledger: one PostgreSQL table for every replica of a group.

When partitions move between replicas, the new owner sees what the old one
delivered, so a rebalance does not resend. Connections come from a small
psycopg pool in autocommit mode: reads take one round trip, and writes run in
explicit transactions.

The DSN may hold a password. It is never put into an error message: errors
name the server as ``user@host:port/dbname``, and a driver message that quotes
the password is scrubbed (and then not chained, so no traceback shows it).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Collection, Iterator, Sequence
from typing import Any

import psycopg
from psycopg.rows import TupleRow
from psycopg_pool import AsyncConnectionPool

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
from omniout.ledger.dsn import describe_dsn, scrub

__all__ = ["PostgresLedger"]

logger = logging.getLogger(__name__)

_Pool = AsyncConnectionPool[psycopg.AsyncConnection[TupleRow]]


class PostgresLedger:
    """A ``Ledger`` in a PostgreSQL table, shared by many replicas.

    ``timeout`` bounds, in seconds, the wait for a connection: at open, for
    each operation when the pool is exhausted, and for ``ping``.
    """

    def __init__(
        self,
        dsn: str,
        *,
        min_size: int = 1,
        max_size: int = 4,
        table: str = "omniout_deliveries",
        timeout: float = 10.0,
    ) -> None:
        self._dsn = dsn
        self._min_size = min_size
        self._max_size = max_size
        self._table = check_table_name(table)
        self._timeout = timeout
        self._where, self._secrets = describe_dsn(dsn)
        self._upsert = upsert_statement(self._table, "%s")
        self._select = select_statement(self._table, "%s")
        self._pool: _Pool | None = None
        self._opening = asyncio.Lock()

    def __repr__(self) -> str:
        return f"PostgresLedger({self._where!r}, table={self._table!r})"

    async def open(self) -> None:
        """Create the table if it is missing, then fill the pool."""
        async with self._opening:
            if self._pool is not None:
                return
            with self._failures("open"):
                await self._create_schema()
                pool: _Pool = AsyncConnectionPool(
                    self._dsn,
                    kwargs=self._connect_options(),
                    min_size=self._min_size,
                    max_size=self._max_size,
                    open=False,
                    name="omniout-ledger",
                    timeout=self._timeout,
                )
                try:
                    await pool.open(wait=True, timeout=self._timeout)
                except BaseException:
                    await pool.close()
                    raise
            self._pool = pool
        logger.info("Opened PostgreSQL ledger %s table %s", self._where, self._table)

    async def close(self) -> None:
        """Close every connection; a second call does nothing."""
        pool, self._pool = self._pool, None
        if pool is not None:
            with self._failures("close"):
                await pool.close()

    async def delivered(self, route: str, request_ids: Collection[str]) -> set[str]:
        """Return the ids among ``request_ids`` delivered on ``route``."""
        if not request_ids:
            return set()
        sql = (
            f"SELECT request_id FROM {self._table} WHERE route = %s "
            "AND outcome = 'delivered' AND request_id = ANY(%s)"
        )
        rows = await self._fetch(sql, (route, list(request_ids)))
        return {row[0] for row in rows}

    async def record(self, entries: Sequence[LedgerEntry]) -> None:
        """Upsert ``entries`` in one transaction; return once it is committed."""
        if not entries:
            return
        # Concurrent batches lock their rows in key order, so two batches that
        # share keys wait for each other instead of deadlocking. The sort is
        # stable: of two entries with one key, the later still wins.
        rows = sorted(map(entry_to_row, entries), key=lambda row: row[:2])
        pool = self._open_pool()
        with self._failures("record"):
            async with (
                pool.connection() as conn,
                conn.transaction(),
                conn.cursor() as cursor,
            ):
                await cursor.executemany(self._upsert, rows)

    async def forget(self, route: str, request_ids: Collection[str]) -> int:
        """Delete the entries of ``request_ids`` on ``route``; return how many."""
        if not request_ids:
            return 0
        sql = (
            f"DELETE FROM {self._table} WHERE route = %s AND request_id = ANY(%s)"
        )
        return await self._delete("forget", sql, (route, list(request_ids)))

    async def prune(self, older_than: float) -> int:
        """Delete entries last attempted before ``older_than``; return how many."""
        sql = f"DELETE FROM {self._table} WHERE last_attempt_at < %s"
        return await self._delete("prune", sql, (older_than,))

    async def ping(self) -> None:
        """Return when the server answers a query within ``timeout``."""
        pool = self._open_pool()
        with self._failures("ping"):
            async with pool.connection(timeout=self._timeout) as conn:
                await conn.execute("SELECT 1")

    async def get(self, route: str, request_id: str) -> LedgerEntry | None:
        """The entry of ``request_id`` on ``route``, if any (for inspection)."""
        rows = await self._fetch(self._select, (route, request_id))
        return entry_from_row(rows[0]) if rows else None

    async def _fetch(self, sql: str, params: Sequence[Any]) -> list[TupleRow]:
        pool = self._open_pool()
        with self._failures("read"):
            async with pool.connection() as conn:
                cursor = await conn.execute(sql, params)
                return await cursor.fetchall()

    async def _delete(self, action: str, sql: str, params: Sequence[Any]) -> int:
        pool = self._open_pool()
        with self._failures(action):
            async with pool.connection() as conn:
                cursor = await conn.execute(sql, params)
                return cursor.rowcount

    async def _create_schema(self) -> None:
        # Two replicas starting together may both find the table missing; a
        # transaction-scoped advisory lock lets only one create it at a time
        # (CREATE ... IF NOT EXISTS alone can fail on the catalog's unique
        # index in that race).
        async with await psycopg.AsyncConnection.connect(
            self._dsn, **self._connect_options(autocommit=False)
        ) as conn:
            await conn.execute(
                "SELECT pg_advisory_xact_lock(hashtext(%s))", (self._table,)
            )
            await conn.execute(_schema(self._table))
            await conn.execute(index_statement(self._table))
            await conn.commit()

    def _connect_options(self, *, autocommit: bool = True) -> dict[str, Any]:
        options: dict[str, Any] = {"autocommit": autocommit}
        # Without a connect_timeout libpq may wait minutes on an unreachable
        # host; one given in the DSN or environment is left alone.
        given = "connect_timeout" in self._dsn or "PGCONNECT_TIMEOUT" in os.environ
        if not given:
            options["connect_timeout"] = max(2, round(self._timeout))
        return options

    def _open_pool(self) -> _Pool:
        if self._pool is None:
            raise LedgerError(f"PostgreSQL ledger {self._where} is not open")
        return self._pool

    @contextlib.contextmanager
    def _failures(self, action: str) -> Iterator[None]:
        """Raise psycopg's errors as LedgerError, without the password."""
        try:
            yield
        except psycopg.Error as exc:
            text = scrub(str(exc).strip(), self._secrets)
            error = LedgerError(
                f"PostgreSQL ledger {self._where}: cannot {action}: {text}"
            )
            if text != str(exc).strip():
                raise error from None
            raise error from exc


def _schema(table: str) -> str:
    return table_statement(
        table,
        text="text",
        integer="integer",
        real="double precision",
        bigint="bigint",
    )
