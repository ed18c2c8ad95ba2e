"""Avro in and out: the framings, the schemas, the registry.

:class:`Decoder` turns a Kafka record value into a :class:`DecodedEvent`;
:class:`Encoder` does the reverse for the publish command. Writer schemas come
from the local ``schemas/`` folder (:class:`SchemaStore`, by fingerprint) or a
Confluent-compatible registry (:class:`RegistryClient`, by id).
"""

from __future__ import annotations

from omniout.decode.decoder import DecodedEvent, Decoder
from omniout.decode.encoder import Encoder
from omniout.decode.framing import Framing
from omniout.decode.registry import RegistryClient, RegistryLookup
from omniout.decode.schemas import (
    KnownSchema,
    Schema,
    SchemaStore,
    known_schema,
    schema_fingerprint,
)

__all__ = [
    "DecodedEvent",
    "Decoder",
    "Encoder",
    "Framing",
    "KnownSchema",
    "RegistryClient",
    "RegistryLookup",
    "Schema",
    "SchemaStore",
    "known_schema",
    "schema_fingerprint",
]
