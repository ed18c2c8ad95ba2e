"""A dead-letter topic that cannot be written holds the offset back.

The broker itself refuses the dead letters: the topic takes no record larger
than 64 bytes, so every write of a dead letter (the original record and its
headers) fails until the topic's config is changed. Meanwhile nothing may be
committed past the event, and once the topic takes writes again the dead
letter lands and the group moves on.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from tests.integration.conftest import TopicFactory
from tests.integration.engine import (
    committed_and_end,
    encode,
    headers,
    order,
    produce,
    read_all,
    running,
    settings,
    wait_until,
)
from tests.integration.receiver import Receiver

pytestmark = pytest.mark.integration


@pytest.fixture
async def admin(kafka: str) -> AsyncIterator[AIOKafkaAdminClient]:
    client = AIOKafkaAdminClient(bootstrap_servers=kafka)
    await client.start()
    try:
        yield client
    finally:
        await client.close()


async def test_an_unwritable_dead_letter_topic_holds_the_offset_until_it_recovers(
    kafka: str,
    new_topic: TopicFactory,
    admin: AIOKafkaAdminClient,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    topic = await new_topic("dlq-outage")
    dead_letters = f"dlq-outage-letters-{uuid.uuid4().hex[:12]}"
    await admin.create_topics(
        [NewTopic(dead_letters, 1, 1, topic_configs={"max.message.bytes": "64"})]
    )
    good = order(2)
    await produce(kafka, topic, [(b"bad", b"{not avro}"), (b"good", encode(good))])

    try:
        async with Receiver() as receiver:
            config = settings(
                kafka, topic, receiver.url, tmp_path, dead_letter_topic=dead_letters
            )
            group = config.kafka.group_id
            async with running(config):
                # The good event after the bad one is delivered, but the
                # commit cannot pass the bad one while its dead letter waits.
                await receiver.wait_for(1)
                await asyncio.sleep(1.0)  # five commit intervals
                held = await committed_and_end(kafka, group, topic)
                await admin.alter_configs(
                    [
                        ConfigResource(
                            ConfigResourceType.TOPIC,
                            dead_letters,
                            configs={"max.message.bytes": "1048588"},
                        )
                    ]
                )
                letters = await read_all(kafka, dead_letters, expected=1)

                async def caught_up() -> bool:
                    positions = await committed_and_end(kafka, group, topic)
                    return positions[0] == (2, 2)

                await wait_until(caught_up)
    finally:
        await admin.delete_topics([dead_letters])

    assert receiver.keys() == [good["EventUuid"]]
    assert held[0][0] in (None, 0)
    assert [letter.value for letter in letters] == [b"{not avro}"]
    assert headers(letters[0])["omniout.failure.kind"] == "decode"
    retries = [r for r in caplog.records if "dead-letter topic failed" in r.message]
    assert retries, "the refused dead letter was not retried"
