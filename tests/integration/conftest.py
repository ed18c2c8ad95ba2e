"""Fixtures for tests that run against the local stack (deploy/local/stack.sh).

The addresses default to the local stack's and can be pointed elsewhere with
``OMNIOUT_TEST_KAFKA``, ``OMNIOUT_TEST_POSTGRES`` and ``OMNIOUT_TEST_JAEGER``.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

KAFKA = os.environ.get("OMNIOUT_TEST_KAFKA", "127.0.0.1:9092")
POSTGRES = os.environ.get(
    "OMNIOUT_TEST_POSTGRES", "postgresql://omniout@127.0.0.1:5432/omniout"
)
JAEGER = os.environ.get("OMNIOUT_TEST_JAEGER", "http://127.0.0.1:16686")
OTLP = os.environ.get("OMNIOUT_TEST_OTLP", "http://127.0.0.1:4318")
OTLP_GRPC = os.environ.get("OMNIOUT_TEST_OTLP_GRPC", "http://127.0.0.1:4317")

TopicFactory = Callable[..., Awaitable[str]]


@pytest.fixture
def kafka() -> str:
    return KAFKA


@pytest.fixture
def postgres_dsn() -> str:
    return POSTGRES


@pytest.fixture
async def new_topic() -> AsyncIterator[TopicFactory]:
    """Create topics with unique names; delete them when the test ends."""
    admin = AIOKafkaAdminClient(bootstrap_servers=KAFKA)
    await admin.start()
    created: list[str] = []

    async def create(prefix: str = "test", partitions: int = 1) -> str:
        name = f"{prefix}-{uuid.uuid4().hex[:12]}"
        await admin.create_topics(
            [NewTopic(name, num_partitions=partitions, replication_factor=1)]
        )
        created.append(name)
        return name

    try:
        yield create
    finally:
        if created:
            await admin.delete_topics(created)
        await admin.close()
