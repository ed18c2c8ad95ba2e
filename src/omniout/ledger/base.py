"""What the delivery ledger stores and the interface every ledger offers.

The ledger remembers each (route, request id) that reached an outcome. Before
an event is sent, its route asks which of its request ids are already
delivered; a redelivered event (after a crash, a rebalance or an offset reset)
is then suppressed instead of being sent a second time. After an outcome the
route records it, and only then is the event done.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol, cast

__all__ = [
    "COLUMNS",
    "Ledger",
    "LedgerEntry",
    "LedgerRow",
    "Outcome",
    "check_table_name",
    "entry_from_row",
    "entry_to_row",
    "index_statement",
    "select_statement",
    "table_statement",
    "upsert_statement",
]

Outcome = Literal["delivered", "dead-lettered"]

# The column order shared by both stores. ``partition`` and ``offset`` are SQL
# keywords (OFFSET is reserved in PostgreSQL), hence the prefix.
COLUMNS = (
    "route",
    "request_id",
    "outcome",
    "http_status",
    "attempts",
    "first_attempt_at",
    "last_attempt_at",
    "topic",
    "kafka_partition",
    "kafka_offset",
)

LedgerRow = tuple[str, str, str, int | None, int, float, float, str, int, int]

_TABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    """The outcome of one request id on one route.

    Times are epoch seconds. ``topic``, ``partition`` and ``offset`` name the
    Kafka record the outcome was reached for, so that an operator can find it.
    """

    route: str
    request_id: str
    outcome: Outcome
    http_status: int | None
    attempts: int
    first_attempt_at: float
    last_attempt_at: float
    topic: str
    partition: int
    offset: int


class Ledger(Protocol):
    """A durable record of outcomes per (route, request id).

    Every method may be called concurrently from many tasks. Every failure of
    the underlying database is raised as ``omniout.errors.LedgerError``; the
    event in hand is then not done and is tried again later.
    """

    async def open(self) -> None:
        """Connect and create the schema if it is missing; idempotent."""
        ...

    async def close(self) -> None:
        """Release connections; the ledger may not be used afterwards."""
        ...

    async def delivered(self, route: str, request_ids: Collection[str]) -> set[str]:
        """Return the ids among ``request_ids`` recorded as delivered on ``route``."""
        ...

    async def record(self, entries: Sequence[LedgerEntry]) -> None:
        """Write ``entries`` in one transaction, replacing earlier outcomes.

        Returns once the transaction is committed. Entries with the same
        (route, request id) are applied in order, so the last one wins.
        """
        ...

    async def forget(self, route: str, request_ids: Collection[str]) -> int:
        """Delete the entries of ``request_ids`` on ``route``; return how many.

        Used before a forced redelivery, so that the ids are sent again.
        """
        ...

    async def prune(self, older_than: float) -> int:
        """Delete entries last attempted before ``older_than``; return how many."""
        ...

    async def ping(self) -> None:
        """Return when the database answers; raise ``LedgerError`` otherwise."""
        ...


def check_table_name(table: str) -> str:
    """Return ``table`` if it is a plain SQL identifier, else raise ValueError.

    Table names are put into SQL text, so only ASCII letters, digits and
    underscores are accepted, at most 63 of them (PostgreSQL's limit).
    """
    if not _TABLE_NAME.fullmatch(table):
        raise ValueError(f"not a plain SQL table name: {table!r}")
    return table


def entry_to_row(entry: LedgerEntry) -> LedgerRow:
    """The values of ``entry`` in ``COLUMNS`` order."""
    return (
        entry.route,
        entry.request_id,
        entry.outcome,
        entry.http_status,
        entry.attempts,
        entry.first_attempt_at,
        entry.last_attempt_at,
        entry.topic,
        entry.partition,
        entry.offset,
    )


def entry_from_row(row: Sequence[object]) -> LedgerEntry:
    """The entry stored as ``row`` (values in ``COLUMNS`` order)."""
    route, request_id, outcome, status, attempts, first, last, topic, part, off = row
    return LedgerEntry(
        route=cast(str, route),
        request_id=cast(str, request_id),
        outcome=cast(Outcome, outcome),
        http_status=cast("int | None", status),
        attempts=cast(int, attempts),
        first_attempt_at=cast(float, first),
        last_attempt_at=cast(float, last),
        topic=cast(str, topic),
        partition=cast(int, part),
        offset=cast(int, off),
    )


def upsert_statement(table: str, placeholder: str) -> str:
    """An INSERT of one row that replaces the row with the same key.

    The syntax is the same in SQLite (3.24 and later) and PostgreSQL; only
    the parameter placeholder differs (``?`` or ``%s``).
    """
    values = ", ".join([placeholder] * len(COLUMNS))
    updates = ", ".join(f"{name} = excluded.{name}" for name in COLUMNS[2:])
    return (
        f"INSERT INTO {table} ({', '.join(COLUMNS)}) VALUES ({values}) "
        f"ON CONFLICT (route, request_id) DO UPDATE SET {updates}"
    )


def select_statement(table: str, placeholder: str) -> str:
    """A SELECT of the one row of a (route, request id), in ``COLUMNS`` order."""
    return (
        f"SELECT {', '.join(COLUMNS)} FROM {table} "
        f"WHERE route = {placeholder} AND request_id = {placeholder}"
    )


def table_statement(
    table: str,
    *,
    text: str,
    integer: str,
    real: str,
    bigint: str,
    options: str = "",
) -> str:
    """The CREATE TABLE IF NOT EXISTS of the ledger, in a store's own types.

    Both stores hold the same columns and constraints; only the names of the
    types differ, and SQLite adds table ``options`` after the parenthesis.
    """
    return f"""
        CREATE TABLE IF NOT EXISTS {table} (
            route            {text} NOT NULL,
            request_id       {text} NOT NULL,
            outcome          {text} NOT NULL
                CHECK (outcome IN ('delivered', 'dead-lettered')),
            http_status      {integer},
            attempts         {integer} NOT NULL,
            first_attempt_at {real} NOT NULL,
            last_attempt_at  {real} NOT NULL,
            topic            {text} NOT NULL,
            kafka_partition  {integer} NOT NULL,
            kafka_offset     {bigint} NOT NULL,
            PRIMARY KEY (route, request_id)
        ){options}
    """


def index_statement(table: str) -> str:
    """The index that lets ``prune`` find old entries without a full scan."""
    return (
        f"CREATE INDEX IF NOT EXISTS {table}_last_attempt_at "
        f"ON {table} (last_attempt_at)"
    )
