"""The delivery ledger: which request ids each route has already delivered.

``open_ledger`` picks the store from a URL; ``LedgerWriter`` groups the
entries of concurrently finishing events into one transaction, and
``LedgerLookup`` the questions of concurrently starting events into one query.
"""

from __future__ import annotations

from omniout.ledger.base import Ledger, LedgerEntry, Outcome
from omniout.ledger.batcher import LedgerWriter
from omniout.ledger.lookup import LedgerLookup
from omniout.ledger.postgres import PostgresLedger
from omniout.ledger.sqlite import SqliteLedger

__all__ = [
    "Ledger",
    "LedgerEntry",
    "LedgerLookup",
    "LedgerWriter",
    "Outcome",
    "PostgresLedger",
    "SqliteLedger",
    "open_ledger",
]

_SQLITE = "sqlite:///"
_POSTGRES = ("postgresql://", "postgres://")


def open_ledger(url: str, *, table: str | None = None) -> Ledger:
    """A ledger for ``url``, not yet opened (call ``await ledger.open()``).

    ``sqlite:///`` is followed by the file's path, as in SQLAlchemy:
    ``sqlite:///data/ledger.db`` is relative to the working directory,
    ``sqlite:////var/lib/omniout/ledger.db`` absolute. A URL without a scheme
    is a path too. ``postgresql://`` and ``postgres://`` URLs go to libpq as
    they are. ``table`` replaces the store's default table name. Anything
    else raises ValueError (whose message leaves out the URL, which may hold
    a password).
    """
    if url.startswith(_POSTGRES):
        if table is None:
            return PostgresLedger(url)
        return PostgresLedger(url, table=table)
    path = _sqlite_path(url)
    if path is None:
        scheme = url.partition("://")[0] if "://" in url else ""
        raise ValueError(
            f"ledger URL with scheme {scheme!r} is none of sqlite:///PATH, "
            "a file path, postgresql://... or postgres://..."
        )
    if table is None:
        return SqliteLedger(path)
    return SqliteLedger(path, table=table)


def _sqlite_path(url: str) -> str | None:
    if url.startswith(_SQLITE):
        return url.removeprefix(_SQLITE) or None
    if "://" in url or not url:
        return None
    return url
