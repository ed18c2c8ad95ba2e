"""The consumer-group member: fetch, dispatch concurrently, commit in order.

Records are dispatched as tasks in fetch order. A task waits for its turn
(per key, per partition, or not at all, as the routes of its topic ask), runs
the record through the pipeline, and marks its offset finished. Commits go
out on an interval, on partition revocation and on shutdown, and only up to
the first offset that is not finished. While the in-flight limit is reached,
every assigned partition is paused, so fetching stops instead of buffering.

Each record is processed inside its ``process`` span, the child of the
producer's span when the record's headers carry trace context in one of
the service's formats (``OTEL_PROPAGATORS``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Hashable
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import CommitFailedError, KafkaError
from aiokafka.structs import ConsumerRecord
from opentelemetry.trace import NoOpTracer, Tracer

from omniout.config import ProcessingSettings
from omniout.consume.offsets import CommitPolicy, OffsetTracker
from omniout.consume.ordering import KeyedTurns, Turn
from omniout.pipeline import Abandoned, Pipeline
from omniout.telemetry.spans import consuming

__all__ = ["Consumer"]

logger = logging.getLogger(__name__)


class Consumer:
    """Runs one member of the consumer group until :meth:`stop` is called."""

    def __init__(
        self,
        kafka: AIOKafkaConsumer,
        pipeline: Pipeline,
        processing: ProcessingSettings,
        *,
        stopping: asyncio.Event,
        group: str = "",
        tracer: Tracer | None = None,
    ) -> None:
        self._kafka = kafka
        self._group = group
        self._tracer = tracer or NoOpTracer()
        self._metrics = pipeline.metrics
        # Per partition, the group's position as this member knows it: the
        # first offset fetched after assignment, then each committed offset.
        self._positions: dict[TopicPartition, int] = {}
        self._pipeline = pipeline
        self._settings = processing
        self._stopping = stopping
        self._tracker = OffsetTracker()
        self._turns = KeyedTurns()
        self._policy = CommitPolicy(processing.commit_interval, time.monotonic)
        self._tasks: set[asyncio.Task[None]] = set()
        self._capacity = asyncio.Event()
        self._held: set[TopicPartition] = set()  # paused by a failing route
        self._full = False
        self.joined = asyncio.Event()
        pipeline.pauser = self
        self._metrics.watch_in_flight(lambda: self.in_flight)
        self._metrics.watch_lag(self.lag)

    @property
    def in_flight(self) -> int:
        return len(self._tasks)

    def lag(self) -> dict[tuple[str, int], int]:
        """Records between the group's position and the partition's end.

        Known only for partitions fetched from since they were assigned.
        """
        lags = {}
        for tp in self._kafka.assignment():
            position = self._positions.get(tp)
            end = self._kafka.highwater(tp)
            if position is not None and end is not None:
                lags[tp.topic, tp.partition] = max(0, end - position)
        return lags

    def listener(self) -> ConsumerRebalanceListener:
        return _Rebalance(self)

    async def run(self) -> None:
        """Fetch and dispatch until stopping is set, then drain and commit."""
        try:
            while not self._stopping.is_set():
                await self._fetch_once()
                if self._policy.due():
                    await self._commit()
        finally:
            await self._drain()

    async def _fetch_once(self) -> None:
        room = self._settings.max_in_flight - self.in_flight
        if room <= 0:
            self._pause_all()
            self._capacity.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(0.1):
                    await self._capacity.wait()
            return
        self._resume_all()
        batch = await self._kafka.getmany(timeout_ms=100, max_records=room)
        for records in batch.values():
            for record in records:
                self._dispatch(record)

    def _dispatch(self, record: ConsumerRecord) -> None:
        tp = TopicPartition(record.topic, record.partition)
        self._metrics.consumed.labels(record.topic).inc()
        self._positions.setdefault(tp, record.offset)
        self._tracker.started(tp, record.offset)
        turn = self._turns.claim(self._order_key(record, tp))
        task = asyncio.create_task(self._work(record, tp, turn))
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _order_key(self, record: ConsumerRecord, tp: TopicPartition) -> Hashable:
        mode = self._pipeline.ordering.get(record.topic, "none")
        if mode == "none":
            return None
        partition: Hashable = tp
        if mode == "partition" or record.key is None:
            return partition
        return (partition, record.key)

    async def _work(
        self, record: ConsumerRecord, tp: TopicPartition, turn: Turn
    ) -> None:
        try:
            await turn.wait()
            with consuming(self._tracer, record, self._group):
                await self._pipeline.process(record)
        except Abandoned as exc:
            logger.info(
                "Left unfinished while stopping: %s", exc, extra=_context(record)
            )
            return
        except Exception:
            # A bug, not bad input: the offset must not move past this record,
            # so the partition stops committing until the service restarts.
            logger.exception("Unexpected failure", extra=_context(record))
            return
        finally:
            turn.release()
        self._tracker.finished(tp, record.offset)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self._capacity.set()

    async def _commit(self, only: set[TopicPartition] | None = None) -> None:
        self._policy.reset()
        offsets = self._tracker.committable()
        if only is not None:
            offsets = {tp: o for tp, o in offsets.items() if tp in only}
        if not offsets:
            return
        began = time.perf_counter()
        try:
            await self._kafka.commit(offsets)
        except (CommitFailedError, KafkaError) as exc:
            logger.warning("Commit failed, will retry: %r", exc)
            return
        finally:
            self._metrics.commit_seconds.observe(time.perf_counter() - began)
        self._tracker.committed(offsets)
        self._positions.update(offsets)
        logger.debug("Committed %s", offsets)

    async def _drain(self) -> None:
        if self._tasks:
            logger.info("Stopping: waiting for %d event(s) in flight", self.in_flight)
            _, pending = await asyncio.wait(
                set(self._tasks), timeout=self._settings.shutdown_timeout
            )
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending)
        await self._commit()

    async def partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        """Finish (or give up on, after a bound) work of revoked partitions."""
        deadline = time.monotonic() + self._settings.revoke_timeout
        while any(self._tracker.in_flight(tp) for tp in revoked):
            if time.monotonic() >= deadline:
                logger.warning("Revoked partitions still busy, committing what is done")
                break
            await asyncio.sleep(0.05)
        await self._commit(only=revoked)
        self._tracker.forget(revoked)
        for tp in revoked:
            self._positions.pop(tp, None)
        self._held -= revoked
        logger.info("Partitions revoked: %s", sorted(map(str, revoked)))

    def partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        logger.info("Partitions assigned: %s", sorted(map(str, assigned)))
        self.joined.set()

    # PartitionPauser, for routes that pause instead of dead-lettering.

    def pause(self, record: ConsumerRecord) -> None:
        tp = TopicPartition(record.topic, record.partition)
        self._held.add(tp)
        self._kafka.pause(tp)

    def resume(self, record: ConsumerRecord) -> None:
        tp = TopicPartition(record.topic, record.partition)
        self._held.discard(tp)
        if not self._full and tp in self._kafka.assignment():
            self._kafka.resume(tp)

    def _pause_all(self) -> None:
        if not self._full:
            self._full = True
            self._kafka.pause(*self._kafka.assignment())

    def _resume_all(self) -> None:
        if self._full:
            self._full = False
            self._kafka.resume(*(self._kafka.assignment() - self._held))


def _context(record: ConsumerRecord) -> dict[str, Any]:
    return {
        "topic": record.topic,
        "partition": record.partition,
        "offset": record.offset,
    }


class _Rebalance(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, consumer: Consumer) -> None:
        self._consumer = consumer

    async def on_partitions_revoked(self, revoked: Any) -> None:
        await self._consumer.partitions_revoked(set(revoked))

    async def on_partitions_assigned(self, assigned: Any) -> None:
        self._consumer.partitions_assigned(set(assigned))
