"""How fast the dead-letter commands read and re-drive, against plain aiokafka.

Fills a fresh dead-letter topic on the local broker with N records that carry
the ``omniout.*`` headers a real dead letter has, then, in each round:

- reads it with a plain AIOKafkaConsumer to the end (the baseline);
- reads it with ``read_dead_letters`` (header parsing, no filter);
- reads it with ``read_dead_letters`` and a reason filter matching 1%;
- re-drives every record with ``send_replays`` (acks=all, idempotent), against
  a plain idempotent producer sending the same records (the baseline).

The median of the rounds is printed as records per second and as a ratio to
its baseline. Topics are deleted at the end.

Run: .venv/bin/python benchmarks/bench_dlq.py [-n 20000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from omniout.config import KafkaSettings
from omniout.reprocess import (
    LetterFilter,
    Replay,
    plan_replay,
    read_dead_letters,
    send_replays,
)

KAFKA = "127.0.0.1:9092"
BASELINES = {"read": "read: plain aiokafka", "send": "send: plain producer"}


def letter_headers(number: int, topic: str) -> list[tuple[str, bytes]]:
    reason = "HTTP 503 timed out" if number % 100 == 0 else "HTTP 400 Bad Request"
    return [
        ("x-tenant", b"acme"),
        ("omniout.original.topic", topic.encode()),
        ("omniout.original.partition", b"0"),
        ("omniout.original.offset", str(number).encode()),
        ("omniout.route", b"orders"),
        ("omniout.request-id", str(uuid.uuid4()).encode()),
        ("omniout.failure.kind", b"delivery"),
        ("omniout.failure.reason", reason.encode()),
        ("omniout.http.status", b"400"),
        ("omniout.attempts", b"1"),
    ]


async def fill(topic: str, target: str, count: int) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=KAFKA, acks="all", linger_ms=5)
    await producer.start()
    try:
        pending = [
            await producer.send(
                topic,
                b"v" * 300,
                key=b"k%d" % n,
                headers=letter_headers(n, target),
            )
            for n in range(count)
        ]
        await asyncio.gather(*pending)
    finally:
        await producer.stop()


async def plain_read(topic: str) -> int:
    consumer = AIOKafkaConsumer(
        bootstrap_servers=KAFKA, enable_auto_commit=False, auto_offset_reset="earliest"
    )
    await consumer.start()
    try:
        tp = TopicPartition(topic, 0)
        consumer.assign([tp])
        end = (await consumer.end_offsets([tp]))[tp]
        consumer.seek(tp, 0)
        seen = 0
        while await consumer.position(tp) < end:
            batch = await consumer.getmany(tp, timeout_ms=500, max_records=500)
            seen += len(batch.get(tp, []))
        return seen
    finally:
        await consumer.stop()


async def plain_send(replays: list[Replay]) -> int:
    producer = AIOKafkaProducer(
        bootstrap_servers=KAFKA, acks="all", enable_idempotence=True
    )
    await producer.start()
    try:
        for start in range(0, len(replays), 500):
            pending = [
                await producer.send(
                    r.topic, r.value, key=r.key, headers=list(r.headers)
                )
                for r in replays[start : start + 500]
            ]
            await asyncio.gather(*pending)
        return len(replays)
    finally:
        await producer.stop()


async def timed(work: Callable[[], Awaitable[int]]) -> float:
    started = time.perf_counter()
    done = await work()
    return done / (time.perf_counter() - started)


async def main(count: int, rounds: int) -> None:
    kafka = KafkaSettings(bootstrap_servers=KAFKA)
    dlq = f"bench-dlq-{uuid.uuid4().hex[:8]}"
    target = f"bench-target-{uuid.uuid4().hex[:8]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=KAFKA)
    await admin.start()
    await admin.create_topics([NewTopic(t, 1, 1) for t in (dlq, target)])
    try:
        await fill(dlq, target, count)
        letters = await read_dead_letters(kafka, dlq, [0], LetterFilter())
        replays = plan_replay(letters, lambda topic: [0])
        few = LetterFilter(reason="timed out")

        async def parsed() -> int:
            return len(await read_dead_letters(kafka, dlq, [0], LetterFilter()))

        async def filtered() -> int:
            await read_dead_letters(kafka, dlq, [0], few)
            return count

        async def replayed() -> int:
            await send_replays(kafka, replays)
            return len(replays)

        cases: dict[str, Callable[[], Awaitable[int]]] = {
            "read: plain aiokafka": lambda: plain_read(dlq),
            "read: read_dead_letters": parsed,
            "read: read_dead_letters, 1% match": filtered,
            "send: plain producer": lambda: plain_send(replays),
            "send: send_replays": replayed,
        }
        rates: dict[str, list[float]] = {name: [] for name in cases}
        for _ in range(rounds):
            for name, work in cases.items():
                rates[name].append(await timed(work))
    finally:
        await admin.delete_topics([dlq, target])
        await admin.close()

    median = {name: statistics.median(values) for name, values in rates.items()}
    print(f"{count} dead letters, median of {rounds} rounds")
    for name, rate in median.items():
        base = median[BASELINES[name.partition(":")[0]]]
        print(f"{name:38} {rate:10.0f} records/s  {rate / base:5.2f}x baseline")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=3)
    options = parser.parse_args()
    asyncio.run(main(options.n, options.rounds))
