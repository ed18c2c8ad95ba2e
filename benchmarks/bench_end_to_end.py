"""Delivery rate of the whole service, from Kafka to an HTTP endpoint.

One topic on the local broker (``--partitions`` partitions, keys spread over
them) is filled once with ``--events`` order events in single-object Avro
encoding (omniout's ``Encoder``). A local aiohttp receiver in a subprocess
(so it does not share this process's event loop) answers every POST with 200
at once and counts what it got. Each run reads the whole topic in a fresh
consumer group; compared in the same rounds:

- baseline: the least a correct consumer does: aiokafka with manual commits,
  a fastavro decode of the body, one aiohttp POST of the event as JSON per
  event with at most ``--in-flight`` in flight, then a commit once the batch
  is done;
- omniout ``serve`` in this process with one route, a mapping table, the
  SQLite ledger and tracing off (``OTEL_SDK_DISABLED=true``);
- the same with tracing on but nothing exported;
- the same with tracing off and the PostgreSQL ledger, when the local
  PostgreSQL answers (a fresh table each run, dropped afterwards).

omniout runs with ``max_in_flight`` set to ``--in-flight`` and a commit
interval of 0.2 s (the default is 1 s, which would add up to a second of
waiting for the last commit to every run).

A run's wall time is from its start (the consumer not yet joined) until the
group's committed offsets reach the end offsets and the receiver has counted
every event; "flowing" is the same from the receiver's first delivery, which
leaves out the group join. CPU is this process's (all threads) over the run;
the receiver's is its own. The median round is shown with its ratio to the
baseline. Every run stops at ``--time-limit``; traffic stays on 127.0.0.1; the
topic is deleted at the end (the groups stay: aiokafka's admin client cannot
delete them). With ``--profile``, one omniout run (SQLite ledger, tracing
off) is made under cProfile instead and its top functions by cumulative time
are printed.

Run: .venv/bin/python benchmarks/bench_end_to_end.py [--events 3000]
     [--partitions 5] [--in-flight 64] [--rounds 3] [--time-limit 30]
     [--profile]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import os
import pstats
import tempfile
import time
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import fastavro
import loopback
import orjson
import psycopg
from aiohttp import web
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from omniout.config import Settings
from omniout.decode import Encoder, KnownSchema, SchemaStore
from omniout.errors import LedgerError
from omniout.ledger.postgres import PostgresLedger
from omniout.service import serve

KAFKA = "127.0.0.1:9092"
POSTGRES = os.environ.get(
    "OMNIOUT_BENCH_POSTGRES", "postgresql://omniout@127.0.0.1:5432/omniout"
)
SCHEMAS = Path(__file__).parents[1] / "schemas"
ORDER_SCHEMA = "com.sforce.eventbus.Order_Completed__e"
MAPPING = {
    "order": "Order_Number__c",
    "amount": "Total_Amount__c",
    "currency": "Currency_Iso_Code__c",
    "placed": "CreatedDate",
}
POLL = 0.02
# Single-object encoding: the C3 01 marker and an 8-byte fingerprint.
HEADER_BYTES = 10

Runner = Callable[["Run"], Coroutine[None, None, None]]


@dataclass(frozen=True, slots=True)
class Run:
    """What one run reads and where it delivers; ``done`` is set at the end."""

    topic: str
    group: str
    url: str
    in_flight: int
    done: asyncio.Event


@dataclass(frozen=True, slots=True)
class Result:
    delivered: int
    seconds: float
    flowing: float
    cpu: float

    @property
    def rate(self) -> float:
        return self.delivered / self.seconds

    @property
    def flowing_rate(self) -> float:
        return self.delivered / self.flowing


# The receiver: a subprocess that counts POSTs per run and says how many.


def receiver_app() -> web.Application:
    counts: dict[str, int] = {}
    first: dict[str, float] = {}

    async def hook(request: web.Request) -> web.Response:
        await request.read()
        run = request.match_info["run"]
        if run not in first:
            first[run] = time.monotonic()
        counts[run] = counts.get(run, 0) + 1
        return web.Response(body=b'{"ok": true}', content_type="application/json")

    async def count(request: web.Request) -> web.Response:
        run = request.match_info["run"]
        answer = {"count": counts.get(run, 0), "first": first.get(run)}
        return web.Response(body=orjson.dumps(answer), content_type="application/json")

    app = web.Application()
    app.router.add_post("/hook/{run}", hook)
    app.router.add_get("/count/{run}", count)
    return app


# The topic, filled once.


def order_schema() -> KnownSchema:
    schema = SchemaStore.load(SCHEMAS).by_name(ORDER_SCHEMA)
    assert schema is not None
    return schema


async def fill(topic: str, count: int) -> None:
    encoder, schema = Encoder(), order_schema()
    producer = AIOKafkaProducer(bootstrap_servers=KAFKA, acks="all", linger_ms=5)
    await producer.start()
    try:
        pending = []
        for number in range(count):
            event = {
                "CreatedDate": 1_764_000_000_000 + number,
                "CreatedById": "005000000000001AAA",
                "EventUuid": str(uuid.uuid4()),
                "Order_Number__c": f"{number:08d}",
                "Total_Amount__c": float(number),
                "Currency_Iso_Code__c": "EUR",
            }
            value = encoder.encode_single_object(event, schema)
            key = b"account-%d" % (number % 997)
            pending.append(await producer.send(topic, value, key=key))
        await asyncio.gather(*pending)
    finally:
        await producer.stop()


# The consumers under test.


async def baseline(run: Run) -> None:
    schema = order_schema().plain
    consumer = AIOKafkaConsumer(
        run.topic,
        bootstrap_servers=KAFKA,
        group_id=run.group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    connector = aiohttp.TCPConnector(limit=run.in_flight)
    slots = asyncio.Semaphore(run.in_flight)
    headers = {"Content-Type": "application/json"}
    await consumer.start()
    try:
        async with aiohttp.ClientSession(connector=connector) as session:

            async def deliver(value: bytes) -> None:
                event = fastavro.schemaless_reader(
                    io.BytesIO(value[HEADER_BYTES:]), schema, None
                )
                async with (
                    slots,
                    session.post(run.url, data=orjson.dumps(event), headers=headers)
                    as response,
                ):
                    await response.read()
                    if response.status != 200:
                        raise RuntimeError(f"unexpected status {response.status}")

            while not run.done.is_set():
                batch = await consumer.getmany(timeout_ms=100)
                if not batch:
                    continue
                await asyncio.gather(
                    *(deliver(r.value) for rs in batch.values() for r in rs)
                )
                await consumer.commit()
    finally:
        await consumer.stop()


def omniout(ledger: str, tracing: bool) -> Runner:
    async def run_serve(run: Run) -> None:
        os.environ["OTEL_SDK_DISABLED"] = "false" if tracing else "true"
        table = f"bench_e2e_{uuid.uuid4().hex[:12]}"
        with tempfile.TemporaryDirectory() as directory:
            url = f"sqlite:///{directory}/ledger.db" if ledger == "sqlite" else POSTGRES
            config = Settings.model_validate(
                {
                    "kafka": {"bootstrap_servers": KAFKA, "group_id": run.group},
                    "schemas_dir": SCHEMAS,
                    "ledger": {"url": url, "table": table},
                    "processing": {
                        "max_in_flight": run.in_flight,
                        "commit_interval": 0.2,
                        "shutdown_timeout": 5,
                    },
                    "admin": {"enabled": False},
                    "routes": [
                        {
                            "name": "orders",
                            "topic": run.topic,
                            "schema": ORDER_SCHEMA,
                            "endpoint": {"url": run.url, "timeout": 5.0},
                            "mapping": MAPPING,
                        }
                    ],
                }
            )
            try:
                await serve(config, config_file="bench.yaml", stopping=run.done)
            finally:
                if ledger == "postgres":
                    await drop(table)

    return run_serve


async def drop(table: str) -> None:
    async with await psycopg.AsyncConnection.connect(POSTGRES) as conn:
        await conn.execute(f"DROP TABLE IF EXISTS {table}")
        await conn.commit()


async def postgres_answers() -> bool:
    ledger = PostgresLedger(POSTGRES, table="bench_e2e_probe", timeout=2)
    try:
        await ledger.open()
    except LedgerError as exc:
        print(f"PostgreSQL row skipped: {exc}")
        return False
    await ledger.close()
    await drop("bench_e2e_probe")
    return True


# One run: start the consumer, watch the group's commits and the receiver.


async def one_run(
    runner: Runner,
    topic: str,
    ends: dict[TopicPartition, int],
    base: str,
    args: argparse.Namespace,
) -> Result:
    name = uuid.uuid4().hex[:12]
    group = f"bench-e2e-{name}"
    run = Run(topic, group, f"{base}/hook/{name}", args.in_flight, asyncio.Event())
    admin = AIOKafkaAdminClient(bootstrap_servers=KAFKA)
    await admin.start()
    try:
        async with aiohttp.ClientSession() as watcher:
            cpu, began = time.process_time(), time.monotonic()
            task = asyncio.create_task(runner(run))
            count, first = 0, None
            while time.monotonic() - began < args.time_limit and not task.done():
                await asyncio.sleep(POLL)
                async with watcher.get(f"{base}/count/{name}") as response:
                    answer = await response.json()
                count, first = answer["count"], answer["first"]
                if count < args.events:
                    continue
                offsets = await admin.list_consumer_group_offsets(group)
                if all(
                    tp in offsets and offsets[tp].offset == end
                    for tp, end in ends.items()
                ):
                    break
            ended, cpu = time.monotonic(), time.process_time() - cpu
            run.done.set()
            await asyncio.wait_for(task, 30)
    finally:
        await admin.close()
    start = began if first is None else first
    return Result(count, ended - began, ended - start, cpu)


async def bench(args: argparse.Namespace) -> None:
    os.environ.pop("OTEL_EXPORTER_OTLP_ENDPOINT", None)
    os.environ.pop("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", None)
    os.environ["OTEL_TRACES_EXPORTER"] = "none"
    os.environ["OTEL_METRICS_EXPORTER"] = "none"
    cases: dict[str, Runner] = {
        "aiokafka + fastavro + aiohttp (baseline)": baseline,
        "omniout, SQLite ledger, tracing off": omniout("sqlite", tracing=False),
        "omniout, SQLite ledger, tracing on": omniout("sqlite", tracing=True),
    }
    if await postgres_answers():
        cases["omniout, PostgreSQL ledger, tracing off"] = omniout(
            "postgres", tracing=False
        )
    topic = f"bench-e2e-{uuid.uuid4().hex[:8]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=KAFKA)
    await admin.start()
    await admin.create_topics([NewTopic(topic, args.partitions, 1)])
    try:
        await fill(topic, args.events)
        ends = await end_offsets(topic, args.partitions)
        names = list(cases)
        results: dict[str, list[Result]] = {name: [] for name in names}
        async with loopback.subprocess_server(__file__) as base:
            if args.profile:
                await profile(cases, topic, ends, base, args)
                return
            for number in range(args.rounds):
                shift = number % len(names)
                for name in names[shift:] + names[:shift]:
                    results[name].append(
                        await one_run(cases[name], topic, ends, base, args)
                    )
        report(results, args)
    finally:
        await admin.delete_topics([topic])
        await admin.close()


async def profile(
    cases: dict[str, Runner],
    topic: str,
    ends: dict[TopicPartition, int],
    base: str,
    args: argparse.Namespace,
) -> None:
    profiler = cProfile.Profile()
    profiler.enable()
    result = await one_run(
        cases["omniout, SQLite ledger, tracing off"], topic, ends, base, args
    )
    profiler.disable()
    print(f"omniout, SQLite ledger, tracing off: {result.rate:.0f} events/s profiled")
    pstats.Stats(profiler).sort_stats("cumulative").print_stats(40)


async def end_offsets(topic: str, partitions: int) -> dict[TopicPartition, int]:
    consumer = AIOKafkaConsumer(bootstrap_servers=KAFKA)
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in range(partitions)]
        consumer.assign(tps)
        ends: dict[TopicPartition, int] = await consumer.end_offsets(tps)
        return ends
    finally:
        await consumer.stop()


def report(results: dict[str, list[Result]], args: argparse.Namespace) -> None:
    print(
        f"{args.events} events on {args.partitions} partitions, "
        f"{args.in_flight} in flight, {args.rounds} rounds, median round shown; "
        "receiver in a subprocess"
    )
    print(
        f"  {'':42} {'events/s':>9} {'ratio':>6} {'flowing':>9} {'ratio':>6}"
        f" {'CPU µs/event':>13} {'ratio':>6}"
    )
    base: Result | None = None
    for name, rounds in results.items():
        middle = sorted(rounds, key=lambda r: r.rate)[len(rounds) // 2]
        base = base or middle
        cpu_us = middle.cpu / max(middle.delivered, 1) * 1e6
        base_cpu_us = base.cpu / max(base.delivered, 1) * 1e6
        flowing = middle.flowing_rate / base.flowing_rate
        every = ", ".join(f"{r.rate:.0f}" for r in rounds)
        short = any(r.delivered < args.events for r in rounds)
        # The receiver counts POSTs, so a redelivery would show as a surplus.
        extra = any(r.delivered > args.events for r in rounds)
        print(
            f"  {name:42} {middle.rate:9.0f} x{middle.rate / base.rate:5.2f}"
            f" {middle.flowing_rate:9.0f} x{flowing:5.2f}"
            f" {cpu_us:13.0f} x{cpu_us / base_cpu_us:5.2f}"
            f"{'  (hit time limit)' if short else ''}"
            f"{'  (some events delivered twice)' if extra else ''}"
            f"\n  {'':42} rounds: {every}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=3000)
    parser.add_argument("--partitions", type=int, default=5)
    parser.add_argument("--in-flight", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--time-limit", type=float, default=30.0)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    asyncio.run(loopback.serve(receiver_app()) if args.serve else bench(args))


if __name__ == "__main__":
    main()
