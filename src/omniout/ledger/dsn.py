"""Naming a PostgreSQL server without its password.

A DSN may carry a password, in a URL (``postgresql://user:secret@host/db``)
or as a keyword (``password=secret``). Messages name the server as
``user@host:port/dbname`` and have any password in them replaced by ``***``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import psycopg
from psycopg.conninfo import conninfo_to_dict

__all__ = ["describe_dsn", "scrub"]

# The password of a URL runs to the last "@" before the path.
_URL_PASSWORD = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://[^/@:]*:([^/]*)@")
_KEYWORD_PASSWORD = re.compile(r"\bpassword\s*=\s*('(?:[^'\\]|\\.)*'|\S+)")


def describe_dsn(dsn: str) -> tuple[str, list[str]]:
    """A password-free name of the server, and the secrets to scrub.

    The secrets come from the parsed DSN and from the text itself, so that a
    malformed DSN does not leak its password either. A URL password with a
    bare ``@`` is cut there by libpq, so its pieces are secrets as well.
    """
    secrets = _secrets_in_text(dsn)
    try:
        info = conninfo_to_dict(dsn)
    except psycopg.Error:
        return "(unparsable DSN)", _longest_first(secrets)
    secrets = _longest_first([*secrets, str(info.get("password") or "")])
    user = info.get("user")
    where = "{}{}:{}/{}".format(
        f"{user}@" if user else "",
        info.get("host") or "localhost",
        info.get("port") or "5432",
        info.get("dbname") or "",
    )
    return scrub(where, secrets), secrets


def _secrets_in_text(dsn: str) -> list[str]:
    secrets: list[str] = []
    if match := _URL_PASSWORD.search(dsn):
        secrets += [match.group(1), *match.group(1).split("@")]
    if match := _KEYWORD_PASSWORD.search(dsn):
        secrets.append(match.group(1).strip("'"))
    return secrets


def _longest_first(secrets: list[str]) -> list[str]:
    return sorted({secret for secret in secrets if secret}, key=len, reverse=True)


def scrub(text: str, secrets: Sequence[str]) -> str:
    """``text`` with every one of ``secrets`` replaced by ``***``."""
    for secret in secrets:
        text = text.replace(secret, "***")
    return text
