"""Kafka client options from the ``kafka`` settings, shared by every client."""

from __future__ import annotations

import os
from typing import Any

from aiokafka.helpers import create_ssl_context

from omniout.config import KafkaSettings
from omniout.errors import ConfigError

__all__ = ["client_options"]


def client_options(kafka: KafkaSettings) -> dict[str, Any]:
    """Keyword arguments for AIOKafkaConsumer, AIOKafkaProducer and the admin."""
    options: dict[str, Any] = {
        "bootstrap_servers": kafka.bootstrap_servers,
        "client_id": kafka.client_id,
        "security_protocol": kafka.security_protocol,
    }
    if kafka.security_protocol in ("SSL", "SASL_SSL"):
        options["ssl_context"] = create_ssl_context(
            cafile=kafka.ssl_cafile,
            certfile=kafka.ssl_certfile,
            keyfile=kafka.ssl_keyfile,
        )
    if kafka.security_protocol.startswith("SASL"):
        options["sasl_mechanism"] = kafka.sasl_mechanism or "PLAIN"
        options["sasl_plain_username"] = kafka.sasl_username
        options["sasl_plain_password"] = _secret(kafka.sasl_password_env)
    return options


def _secret(variable: str | None) -> str | None:
    if variable is None:
        return None
    value = os.environ.get(variable)
    if value is None:
        raise ConfigError(
            "environment", "kafka.sasl_password_env", f"{variable} is not set"
        )
    return value
