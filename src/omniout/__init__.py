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
    pipeline   one record through all its routes (omniout.pipeline)
    service    the running service and its lifetimes; admin, the admin port;
               invoke, one event now (omniout.service, .admin, .invoke)
    reprocess/ offsets to reset, dead letters to re-drive
    topics     Kafka topic names and the platform's channel names
    telemetry/ traces, logs and metrics
    cli/       the ``omniout`` command

Every exception omniout raises on purpose is exported here (see
:mod:`omniout.errors` for the tree).
"""

from __future__ import annotations

from omniout.errors import (
    ConfigError,
    DeadLetterError,
    DecodeError,
    DeliveryError,
    EventError,
    GapEventError,
    GroupActiveError,
    InternalError,
    LedgerError,
    MappingError,
    NotReplayableError,
    OmniOutError,
    PayloadTooLargeError,
    RegistryUnavailableError,
    ReplyError,
    UnknownSchemaError,
    UnknownTopicError,
    ValidationError,
)

__version__ = "0.1.0"

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
    "__version__",
]
