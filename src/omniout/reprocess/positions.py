"""Where a consumer group stands on its topics, and how to move it.

:class:`GroupOffsets` opens an admin client and a consumer without a group
for looking up offsets; neither joins the consumer group, so reading its
positions never causes a rebalance. Moving the offsets goes through a
second consumer that has the group id but is assigned the partitions instead
of subscribing: it commits for the group without becoming a member.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import CommitFailedError, for_code

from omniout.config import KafkaSettings
from omniout.consume.client import client_options
from omniout.errors import GroupActiveError, UnknownTopicError

__all__ = ["GroupOffsets", "GroupState", "Position", "topic_partitions"]

# The group states in which no member owns partitions (Kafka's DescribeGroups).
_IDLE_STATES = frozenset({"Empty", "Dead"})
_UNKNOWN_TOPIC = 3


@dataclass(frozen=True, slots=True)
class Position:
    """One partition as the group sees it.

    ``committed`` is None when the group never committed an offset there;
    ``start`` is the log start offset and ``end`` the offset of the next
    record to be written.
    """

    topic: str
    partition: int
    committed: int | None
    start: int
    end: int

    @property
    def lag(self) -> int | None:
        if self.committed is None:
            return None
        return max(self.end - self.committed, 0)


@dataclass(frozen=True, slots=True)
class GroupState:
    """The group's state as the coordinator reports it, and its members."""

    group: str
    state: str
    members: tuple[str, ...]

    @property
    def active(self) -> bool:
        return bool(self.members) or self.state not in _IDLE_STATES


class GroupOffsets:
    """Reads one group's offsets; ``async with GroupOffsets(kafka) as g``."""

    def __init__(self, kafka: KafkaSettings) -> None:
        self.group = kafka.group_id
        self._kafka = kafka
        self._admin = AIOKafkaAdminClient(**client_options(kafka))
        self._lookup = AIOKafkaConsumer(
            **client_options(kafka), enable_auto_commit=False
        )

    async def __aenter__(self) -> GroupOffsets:
        await self._admin.start()
        try:
            await self._lookup.start()
        except BaseException:
            await self._admin.close()
            raise
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        try:
            await self._lookup.stop()
        finally:
            await self._admin.close()

    async def partitions(self, topic: str) -> list[int]:
        """The partition numbers of ``topic``; UnknownTopicError if missing."""
        return await _partitions(self._admin, topic)

    async def state(self) -> GroupState:
        """Ask the group's coordinator for its state and members."""
        responses = await self._admin.describe_consumer_groups([self.group])
        for response in responses:
            for group in response.groups:
                code, name, state, _, _, members = group[:6]
                if code:
                    raise for_code(code)(f"cannot describe group {name!r}")
                if name == self.group:
                    ids = tuple(member[0] for member in members)
                    return GroupState(self.group, state, ids)
        return GroupState(self.group, "Dead", ())

    async def positions(self, topics: Iterable[str]) -> list[Position]:
        """Committed, start and end offsets of every partition of ``topics``."""
        tps = [
            TopicPartition(topic, partition)
            for topic in topics
            for partition in await self.partitions(topic)
        ]
        committed = await self._admin.list_consumer_group_offsets(
            self.group, partitions=tps
        )
        starts = await self._lookup.beginning_offsets(tps)
        ends = await self._lookup.end_offsets(tps)
        return [
            Position(
                topic=tp.topic,
                partition=tp.partition,
                committed=_offset(committed.get(tp)),
                start=starts[tp],
                end=ends[tp],
            )
            for tp in tps
        ]

    async def offsets_at(
        self, topic: str, partitions: Iterable[int], epoch_ms: int
    ) -> dict[int, int | None]:
        """The first offset at or after ``epoch_ms`` per partition, if any."""
        query = {TopicPartition(topic, p): epoch_ms for p in partitions}
        found = await self._lookup.offsets_for_times(query)
        return {
            tp.partition: None if hit is None else hit.offset
            for tp, hit in found.items()
        }

    async def commit(self, topic: str, offsets: Mapping[int, int]) -> None:
        """Commit ``offsets`` (partition to offset) for the group.

        The caller checks first that the group has no members. The broker
        refuses a commit from outside the group while it has members, which
        covers a member that joins between the check and the commit: that
        raises GroupActiveError too, and nothing is committed.
        """
        committer = AIOKafkaConsumer(
            **client_options(self._kafka),
            group_id=self.group,
            enable_auto_commit=False,
        )
        await committer.start()
        async with contextlib.AsyncExitStack() as stack:
            stack.push_async_callback(committer.stop)
            tps = {TopicPartition(topic, p): o for p, o in offsets.items()}
            committer.assign(list(tps))
            try:
                await committer.commit(tps)
            except CommitFailedError:
                state = await self.state()
                raise GroupActiveError(
                    self.group, state.state, len(state.members)
                ) from None


async def topic_partitions(
    kafka: KafkaSettings, topics: Iterable[str]
) -> dict[str, list[int]]:
    """The partition numbers of each of ``topics``; UnknownTopicError if one
    is missing. Asking never creates a topic."""
    admin = AIOKafkaAdminClient(**client_options(kafka))
    await admin.start()
    try:
        return {topic: await _partitions(admin, topic) for topic in set(topics)}
    finally:
        await admin.close()


async def _partitions(admin: AIOKafkaAdminClient, topic: str) -> list[int]:
    # A metadata request that names a topic creates it on brokers that
    # auto-create topics; a request for all topics never does, so it comes
    # first and an unknown name is never sent.
    if topic not in await admin.list_topics():
        raise UnknownTopicError(topic)
    described: list[dict[str, Any]] = await admin.describe_topics([topic])
    found = next((t for t in described if t["topic"] == topic), None)
    if found is None or found["error_code"] == _UNKNOWN_TOPIC:
        raise UnknownTopicError(topic)
    return sorted(p["partition"] for p in found["partitions"])


def _offset(found: Any) -> int | None:
    if found is None or found.offset < 0:
        return None
    return int(found.offset)
