"""Secret values: read once at start-up, masked wherever they are printed.

A :class:`Secret` holds a password, token or key. Its ``repr``, ``str`` and
format are a fixed mask, so a secret that reaches a log line, an exception
message or a span attribute by accident shows as ``********``; the value is
read only by calling :meth:`Secret.reveal`, at the one place that sends it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import NoReturn

from omniout.errors import ConfigError

__all__ = ["MASK", "Secret", "read_secret"]

MASK = "********"


class Secret:
    """A string that never shows itself; compare and send it via ``reveal``."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The secret itself; call only where it is put on the wire."""
        return self._value

    def __repr__(self) -> str:
        return f"Secret({MASK!r})"

    def __str__(self) -> str:
        return MASK

    def __format__(self, spec: str) -> str:
        return MASK

    def __reduce__(self) -> NoReturn:
        # Pickling would write the value out in the clear.
        raise TypeError("a Secret cannot be pickled")


def read_secret(
    *,
    env: str | None,
    file: Path | None,
    config_file: str,
    key: str,
    environ: Mapping[str, str] = os.environ,
) -> Secret:
    """Read the secret that a config reference names, once, at start-up.

    ``env`` names an environment variable, ``file`` a file whose content
    (without trailing line breaks) is the secret; exactly one is set. A
    variable that is not set, a file that cannot be read and an empty value
    raise ``ConfigError`` naming ``key``; the message never quotes a value.
    """
    if env is not None:
        value = environ.get(env)
        if value is None:
            reason = f"environment variable {env} is not set"
            raise ConfigError(config_file, key, reason)
        where = f"environment variable {env}"
    elif file is not None:
        value = _read_file(file, config_file, key)
        where = f"secret file {file}"
    else:
        raise ConfigError(config_file, key, "names neither env nor file")
    if not value:
        raise ConfigError(config_file, key, f"{where} is empty")
    return Secret(value)


def _read_file(path: Path, config_file: str, key: str) -> str:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        reason = f"secret file {path} cannot be read: {exc.strerror}"
        raise ConfigError(config_file, key, reason) from None
    except UnicodeDecodeError:
        reason = f"secret file {path} is not UTF-8"
        raise ConfigError(config_file, key, reason) from None
    # Files written by editors and `echo` end with a line break that is not
    # part of the secret; mounted secrets usually do not.
    return text.rstrip("\r\n")
