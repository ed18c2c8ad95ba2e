"""omniout: platform events from Kafka, delivered to the systems that need them.

The flow of one event, and the module that holds each step::

    consume/   the consumer-group member, per-key order, offsets to commit
    decode/    Avro framings (Confluent wire format, single-object encoding)
    routing    conditions, request ids, the route's pipeline (omniout.routing)
    mapping/   JSONata mappings from event to payload, CDC field lists
    payload/   request bodies: JSON, SOAP 1.1/1.2 envelopes, SOAP faults
    deliver/   HTTP delivery, retry policies, backoff
    ledger/    delivered request ids (SQLite or PostgreSQL)
    deadletter the dead-letter topic (omniout.deadletter)
    replies    the reply topic: each delivery's outcome (omniout.replies)
    telemetry/ traces and logs
    cli/       the ``omniout`` command
"""

from __future__ import annotations

from omniout.errors import (
    ConfigError,
    DeadLetterError,
    DecodeError,
    DeliveryError,
    EventError,
    GapEventError,
    LedgerError,
    MappingError,
    OmniOutError,
    ReplyError,
    UnknownSchemaError,
)

__version__ = "0.1.0"

__all__ = [
    "ConfigError",
    "DeadLetterError",
    "DecodeError",
    "DeliveryError",
    "EventError",
    "GapEventError",
    "LedgerError",
    "MappingError",
    "OmniOutError",
    "ReplyError",
    "UnknownSchemaError",
    "__version__",
]
