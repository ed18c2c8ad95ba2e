"""A PostgreSQL server is named, and messages scrubbed, without its password."""

from __future__ import annotations

import pytest

from omniout.ledger import PostgresLedger
from omniout.ledger.dsn import describe_dsn, scrub

SECRETS = ("pa55", "word", "p@ss", "p%40ss")


@pytest.mark.parametrize(
    ("dsn", "shown"),
    [
        ("postgresql://omniout:pa55word@db.local:6432/ledger",
         "omniout@db.local:6432/ledger"),
        ("postgres://omniout:p%40ss@127.0.0.1/x", "omniout@127.0.0.1:5432/x"),
        ("host=db.local user=omniout password='pa55 word'",
         "omniout@db.local:5432/"),
        ("postgresql://omniout:pa55@word@db.local/x", "omniout@***@db.local:5432/x"),
        ("password=pa55word host=db.local 'broken", "(unparsable DSN)"),
        ("postgresql://db.local/ledger", "db.local:5432/ledger"),
    ],
)
def test_a_server_is_named_without_its_password(dsn: str, shown: str) -> None:
    where, _ = describe_dsn(dsn)

    assert where == shown
    assert shown in repr(PostgresLedger(dsn))


@pytest.mark.parametrize(
    "dsn",
    [
        "postgresql://omniout:pa55word@db.local/x",
        "host=db.local password=pa55word",
        "password=pa55word host=db.local 'broken",
    ],
)
def test_a_message_quoting_the_password_is_scrubbed(dsn: str) -> None:
    _, secrets = describe_dsn(dsn)

    text = scrub('invalid sslmode value: "pa55word"', secrets)

    assert text == 'invalid sslmode value: "***"'


def test_a_dsn_without_password_has_no_secrets() -> None:
    assert describe_dsn("postgresql://omniout@127.0.0.1/omniout")[1] == []


def test_no_part_of_a_password_survives_in_the_name() -> None:
    for dsn in ("postgresql://u:pa55@word@h/x", "postgresql://u:p%40ss@h/x"):
        where, _ = describe_dsn(dsn)
        assert not any(secret in where for secret in SECRETS)
