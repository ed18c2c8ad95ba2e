"""open_ledger picks the store from the URL; names never show a password."""

from __future__ import annotations

import pytest

from omniout.ledger import PostgresLedger, SqliteLedger, open_ledger


@pytest.mark.parametrize(
    ("url", "path"),
    [
        ("sqlite:///omniout-ledger.db", "omniout-ledger.db"),
        ("sqlite:///data/ledger.db", "data/ledger.db"),
        ("sqlite:////var/lib/omniout/ledger.db", "/var/lib/omniout/ledger.db"),
        ("ledger.db", "ledger.db"),
        ("/srv/omniout/ledger.db", "/srv/omniout/ledger.db"),
    ],
)
def test_sqlite_urls_and_plain_paths_open_a_sqlite_ledger(url: str, path: str) -> None:
    ledger = open_ledger(url)

    assert isinstance(ledger, SqliteLedger)
    assert ledger.path == path


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://omniout@127.0.0.1:5432/omniout",
        "postgres://omniout@127.0.0.1/omniout?sslmode=disable",
    ],
)
def test_postgres_urls_open_a_postgres_ledger(url: str) -> None:
    assert isinstance(open_ledger(url), PostgresLedger)


def test_a_table_name_is_passed_to_the_store() -> None:
    ledger = open_ledger("sqlite:///x.db", table="custom_deliveries")

    assert "custom_deliveries" in repr(ledger)


@pytest.mark.parametrize(
    "url", ["mysql://root:topsecret@127.0.0.1/db", "sqlite:///", "sqlite://x.db", ""]
)
def test_unsupported_urls_are_refused_without_echoing_them(url: str) -> None:
    with pytest.raises(ValueError, match="none of sqlite") as raised:
        open_ledger(url)

    assert "topsecret" not in str(raised.value)


@pytest.mark.parametrize(
    "table", ["", "1st", "deliveries; DROP TABLE x", "a-b", "x" * 64]
)
def test_table_names_that_are_not_plain_identifiers_are_refused(table: str) -> None:
    with pytest.raises(ValueError, match="table name"):
        SqliteLedger("ledger.db", table=table)
    with pytest.raises(ValueError, match="table name"):
        PostgresLedger("postgresql://127.0.0.1/omniout", table=table)
