"""Telling a broker that refused the credentials from one that is down.

aiokafka reports both the same way when a client starts: a
``KafkaConnectionError`` saying it could not bootstrap, with the broker's
reason only in a log line. A service that retries while the broker is down
would then retry a wrong password for ever. After such a failure,
:func:`raise_if_rejected` opens one connection of its own to each bootstrap
server with the same settings and raises the broker's authentication error,
if that is what it was; the happy path never pays for it.
"""

from __future__ import annotations

import logging

from aiokafka.conn import collect_hosts, create_conn
from aiokafka.errors import (
    AuthenticationFailedError,
    IllegalSaslStateError,
    KafkaError,
    SaslAuthenticationFailed,
    UnsupportedSaslMechanismError,
)

from omniout.config import KafkaSettings
from omniout.consume.client import client_options

__all__ = ["REJECTIONS", "raise_if_rejected"]

logger = logging.getLogger(__name__)

# The errors that say the broker answered and refused the client. They carry
# the broker's reason, never the password.
REJECTIONS: tuple[type[KafkaError], ...] = (
    SaslAuthenticationFailed,
    UnsupportedSaslMechanismError,
    IllegalSaslStateError,
    AuthenticationFailedError,
)

_PROBE_TIMEOUT_MS = 10_000


async def raise_if_rejected(kafka: KafkaSettings) -> None:
    """Raise the broker's authentication error if it refuses the credentials.

    Does nothing for a protocol without SASL, and nothing when no broker
    answers at all: that is the caller's transient case. Raises ConfigError
    as :func:`client_options` does when the password variable is not set.
    """
    if not kafka.security_protocol.startswith("SASL"):
        return
    options = client_options(kafka)
    del options["bootstrap_servers"]
    for host, port, _family in collect_hosts(kafka.bootstrap_servers):
        try:
            conn = await create_conn(
                host, port, request_timeout_ms=_PROBE_TIMEOUT_MS, **options
            )
        except REJECTIONS:
            raise
        except (OSError, TimeoutError, KafkaError) as exc:
            logger.debug("Kafka %s:%s did not answer: %s", host, port, exc)
            continue
        conn.close()
