"""Topic names: Kafka's rules, and the CRM platform's channel names.

The platform names its channels ``/event/Order_Completed__e`` (platform
events) and ``/data/AccountChangeEvent`` or ``/data/ChangeEvents`` (change
data capture). Kafka allows only ASCII letters, digits, ``.``, ``_`` and
``-`` in a topic name, at most 249 of them, so a channel name stands for the
topic whose name drops the leading ``/`` and writes each further ``/`` as a
``.``: ``/event/Order_Completed__e`` is the topic
``event.Order_Completed__e``. Config files and command lines may use either.
"""

from __future__ import annotations

import re

__all__ = ["kafka_topic"]

# Kafka's own check (org.apache.kafka.common.internals.Topic): legal
# characters, at most 249 of them, and neither "." nor "..".
_LEGAL = re.compile(r"[A-Za-z0-9._-]{1,249}")


def kafka_topic(name: str) -> str:
    """The Kafka topic for ``name``, a topic or a channel name.

    Raises ValueError, naming what is wrong, for a name Kafka would refuse.
    """
    topic = name[1:].replace("/", ".") if name.startswith("/") else name
    if topic in (".", "..") or not _LEGAL.fullmatch(topic):
        raise ValueError(
            f"{name!r} is not a Kafka topic name: use at most 249 ASCII "
            "letters, digits, '.', '_' and '-' (or a channel name such as "
            "/event/Order_Completed__e)"
        )
    return topic
