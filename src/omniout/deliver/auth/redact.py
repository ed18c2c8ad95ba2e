"""Keeping secrets out of the HTTP library's own log lines.

httpx logs every request at info level with its full URL. An API key sent as
a query parameter would be in that line, so the values of such keys are
registered here and masked in every record of the ``httpx`` logger before
any handler sees it. A filter on the logger costs nothing while the logger
is above info level, as the command line sets it.
"""

from __future__ import annotations

import logging
from urllib.parse import quote

from omniout.deliver.auth.secret import MASK

__all__ = ["mask_in_library_logs"]

_LIBRARY_LOGGERS = ("httpx",)


class _SecretFilter(logging.Filter):
    """Replaces registered values in a record's message with the mask."""

    def __init__(self) -> None:
        super().__init__()
        self.values: tuple[str, ...] = ()

    def add(self, *values: str) -> None:
        # Longest first, so that no shorter form leaves part of a longer one.
        found = set(self.values).union(values)
        self.values = tuple(sorted(found, key=len, reverse=True))

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = message
        for value in self.values:
            masked = masked.replace(value, MASK)
        if masked != message:
            record.msg, record.args = masked, None
        return True


_FILTER = _SecretFilter()


def mask_in_library_logs(value: str) -> None:
    """Mask ``value``, as it is and percent-encoded, in library log lines."""
    _FILTER.add(value, quote(value, safe=""), quote(value))
    for name in _LIBRARY_LOGGERS:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
