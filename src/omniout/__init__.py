"""omniout: platform events from Kafka, delivered to the systems that need them.

The flow of one event, and the module that holds each step::

    consume/   the consumer-group member, per-key order, offsets to commit
    decode/    Avro framings (Confluent wire format, single-object encoding)
    routing    conditions, request ids, the route's pipeline (omniout.routing)
    mapping/   JSONata mappings from event to payload
    deliver/   HTTP delivery, retry policies, backoff
    ledger/    delivered request ids (SQLite or PostgreSQL)
    deadletter the dead-letter topic (omniout.deadletter)
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
    LedgerError,
    MappingError,
    OmniOutError,
    UnknownSchemaError,
)

__version__ = "0.1.0"

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
    "__version__",
]
