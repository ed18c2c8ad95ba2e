"""The exceptions omniout raises.

One root, and a split by what the caller can do about it::

    OmniOutError
    ├── ConfigError              bad config: start-up stops (file, key, reason)
    ├── EventError               one event cannot be delivered as it is
    │   ├── DecodeError          bytes that are not a known Avro event
    │   │   └── UnknownSchemaError
    │   ├── ValidationError      a record to publish does not fit its schema
    │   ├── MappingError         the route's mapping failed on this event
    │   │   └── PayloadTooLargeError  the mapped payload exceeds the endpoint's cap
    │   ├── GapEventError        a CDC gap event, which the route does not take
    │   ├── InternalError        omniout itself failed on this event (a bug)
    │   └── DeliveryError        the endpoint refused it or never answered
    ├── RegistryUnavailableError the schema registry cannot answer now: retry
    ├── LedgerError              the delivery ledger cannot be read or written
    ├── DeadLetterError          the dead-letter topic cannot be written
    ├── UnknownTopicError        a command names a topic the cluster lacks
    ├── GroupActiveError         offsets cannot move while the group has members
    ├── NotReplayableError       a dead letter does not say where it came from
    └── ReplyError               the reply topic cannot be written

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
    "GapEventError",
    "GroupActiveError",
    "InternalError",
    "LedgerError",
    "MappingError",
    "NotReplayableError",
    "OmniOutError",
    "PayloadTooLargeError",
    "RegistryUnavailableError",
    "ReplyError",
    "UnknownSchemaError",
    "UnknownTopicError",
    "ValidationError",
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


class ValidationError(EventError):
    """A record given to the publish command does not fit its Avro schema.

    The reason names the field and what was expected, e.g.
    ``field 'Total_Amount__c': expected double or null, got 'abc'``. Also
    raised when the schema registry refuses the schema (incompatible or
    invalid) or holds another schema under the id given.
    """

    kind = "validation"


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


class PayloadTooLargeError(MappingError):
    """The mapped payload is larger than its endpoint's ``max_request_bytes``.

    Mapping the same event again gives the same payload, so the event goes to
    the dead-letter topic at once, before anything is sent. ``size`` and
    ``limit`` are in bytes.
    """

    kind = "payload-too-large"

    def __init__(self, size: int, limit: int, *, route: str = "") -> None:
        self.size = size
        self.limit = limit
        super().__init__(
            f"payload is {size} bytes, more than max_request_bytes ({limit})",
            route=route,
        )


class InternalError(EventError):
    """omniout itself failed on one event: a fault to fix, not bad input.

    The event is dead-lettered so that its partition goes on, and can be
    re-driven once the fault is fixed; the service log has the traceback.
    """

    kind = "internal"


class GapEventError(EventError):
    """A change event says changes were lost (``GAP_*``, ``GAP_OVERFLOW``).

    It carries no field values, only the record ids to re-read, so a route
    that maps field values cannot deliver it; unless the route says that it
    handles gap events, the event goes to the dead-letter topic where an
    operator (or a re-read job) sees it.
    """

    kind = "gap-event"

    def __init__(self, reason: str, *, change_type: str) -> None:
        self.change_type = change_type
        super().__init__(reason)


class DeliveryError(EventError):
    """The endpoint did not accept the event.

    ``retriable`` says whether another attempt may succeed (a timeout, a 503)
    or not (a 400). ``status`` is the HTTP status of the last answer, if any;
    ``excerpt`` a bounded start of its body. ``attempts`` counts the requests
    sent for this event, and ``first_attempt_at`` / ``last_attempt_at`` are
    when the first and the last of them started (epoch seconds); 0 and
    ``None`` where the raiser did not count.
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
        attempts: int = 0,
        first_attempt_at: float | None = None,
        last_attempt_at: float | None = None,
    ) -> None:
        self.retriable = retriable
        self.status = status
        self.excerpt = excerpt
        self.retry_after = retry_after
        self.attempts = attempts
        self.first_attempt_at = first_attempt_at
        self.last_attempt_at = last_attempt_at
        super().__init__(reason)


class RegistryUnavailableError(OmniOutError):
    """The schema registry did not answer usefully: try again later.

    A timeout, a refused connection, a 5xx or 429, rejected credentials or a
    malformed answer say nothing about the event, so it must not be
    dead-lettered; the event is not done and is decoded again later.
    ``status`` is the HTTP status of the answer, if there was one.
    """

    def __init__(self, reason: str, *, status: int | None = None) -> None:
        self.reason = reason
        self.status = status
        super().__init__(reason)


class LedgerError(OmniOutError):
    """The delivery ledger failed; the event is not done and is retried."""


class DeadLetterError(OmniOutError):
    """The dead-letter topic did not acknowledge a record.

    The event is not done: its offset is not committed and it is tried again.
    """


class UnknownTopicError(OmniOutError):
    """A command names a topic that does not exist; nothing was created."""

    def __init__(self, topic: str) -> None:
        self.topic = topic
        super().__init__(f"topic {topic!r} does not exist")


class GroupActiveError(OmniOutError):
    """The consumer group has members, so its offsets must not be moved.

    A member would go on from its own position and overwrite the new
    offsets with its next commit; stop every member first.
    """

    def __init__(self, group: str, state: str, members: int) -> None:
        self.group = group
        self.state = state
        self.members = members
        super().__init__(
            f"consumer group {group!r} is {state} with {members} member(s); "
            "stop every member first"
        )


class NotReplayableError(OmniOutError):
    """A dead letter lacks the header that names its original topic."""

    def __init__(self, topic: str, partition: int, offset: int) -> None:
        self.topic = topic
        self.partition = partition
        self.offset = offset
        super().__init__(
            f"dead letter {topic}/{partition}/{offset} has no "
            "omniout.original.topic header"
        )


class ReplyError(OmniOutError):
    """The reply topic did not acknowledge a record.

    The event is not done: its offset is not committed and the reply is
    written again (the delivery itself is in the ledger and not repeated).
    """
