"""The exceptions omniout raises.

One root, and a split by what the caller can do about it::

    OmniOutError
    ├── ConfigError              bad config: start-up stops (file, key, reason)
    ├── EventError               one event cannot be delivered as it is
    │   ├── DecodeError          bytes that are not a known Avro event
    │   │   └── UnknownSchemaError
    │   ├── MappingError         the route's mapping failed on this event
    │   └── DeliveryError        the endpoint refused it or never answered
    ├── LedgerError              the delivery ledger cannot be read or written
    └── DeadLetterError          the dead-letter topic cannot be written

An ``EventError`` ends with the event in a dead-letter topic; its ``kind`` names
the failure in the dead-letter headers. Whether a delivery may be tried again is
data on the exception (``DeliveryError.retriable``), not a subclass. Sending an
event to the dead-letter topic and pausing a partition are flow control, not
failures, so neither has an exception of its own.
"""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "DeadLetterError",
    "DecodeError",
    "DeliveryError",
    "EventError",
    "LedgerError",
    "MappingError",
    "OmniOutError",
    "UnknownSchemaError",
]


class OmniOutError(Exception):
    """The root of every error that omniout raises on purpose."""


class ConfigError(OmniOutError):
    """The configuration is invalid; raised before anything is consumed."""

    def __init__(self, file: str, key: str, reason: str) -> None:
        self.file = file
        self.key = key
        self.reason = reason
        where = f"{file}: {key}" if key else file
        super().__init__(f"{where}: {reason}")


class EventError(OmniOutError):
    """One event cannot be delivered; it goes to the dead-letter topic."""

    kind = "event"

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


class DecodeError(EventError):
    """The record value is not an Avro event that omniout can read."""

    kind = "decode"


class UnknownSchemaError(DecodeError):
    """The writer's schema is neither in ``schemas/`` nor in the registry."""

    kind = "unknown-schema"


class MappingError(EventError):
    """A route's mapping failed on one event (or, at load, on no event)."""

    kind = "mapping"

    def __init__(self, reason: str, *, route: str = "", row: str = "") -> None:
        self.route = route
        self.row = row
        where = ", ".join(
            part
            for part in (f"route {route!r}" if route else "",
                         f"row {row!r}" if row else "")
            if part
        )
        super().__init__(f"{where}: {reason}" if where else reason)


class DeliveryError(EventError):
    """The endpoint did not accept the event.

    ``retriable`` says whether another attempt may succeed (a timeout, a 503)
    or not (a 400). ``status`` is the HTTP status of the last answer, if any;
    ``excerpt`` a bounded start of its body.
    """

    kind = "delivery"

    def __init__(
        self,
        reason: str,
        *,
        retriable: bool,
        status: int | None = None,
        excerpt: str = "",
        retry_after: float | None = None,
    ) -> None:
        self.retriable = retriable
        self.status = status
        self.excerpt = excerpt
        self.retry_after = retry_after
        super().__init__(reason)


class LedgerError(OmniOutError):
    """The delivery ledger failed; the event is not done and is retried."""


class DeadLetterError(OmniOutError):
    """The dead-letter topic did not acknowledge a record.

    The event is not done: its offset is not committed and it is tried again.
    """
