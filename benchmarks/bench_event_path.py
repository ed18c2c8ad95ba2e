"""CPU per event on the path outside the HTTP call, against a bare Avro decode.

Each event of a realistic ``Order_Completed__e`` sample goes through what the
pipeline does before it sends anything, with the routes of the demo config
(a mapping table and a JSONata expression with a condition):

- baseline: fastavro's ``schemaless_reader`` on the record body, nothing else;
- decode: omniout's ``Decoder`` (framing, schema lookup by fingerprint, body);
- routes: for every route of the topic, condition, request id, mapping, URL and
  the request with its JSON body (orjson).

Times are process CPU time, the median of several rounds, printed per event and
as a ratio to the baseline; the budget for the whole path is well under 1 ms.

Run: .venv/bin/python benchmarks/bench_event_path.py [--events 20000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import io
import statistics
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import orjson
from fastavro import schemaless_reader

from omniout.config import load_settings
from omniout.decode import Decoder, Encoder, SchemaStore
from omniout.routing import compile_routes

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "deploy" / "demo" / "config.yaml"
SAMPLES = ROOT / "deploy" / "demo" / "orders.jsonl"
SCHEMA = "com.sforce.eventbus.Order_Completed__e"
BUDGET_US = 1000.0


def sample_values(count: int, store: SchemaStore) -> list[bytes]:
    schema = store.by_name(SCHEMA)
    assert schema is not None, f"{SCHEMA} is not in schemas/"
    lines = [orjson.loads(line) for line in SAMPLES.read_text().splitlines()]
    encoder = Encoder()
    values = []
    for n in range(count):
        event = dict(lines[n % len(lines)])
        event["EventUuid"] = str(uuid.uuid4())
        event["CreatedDate"] = 1_764_806_400_000 + n
        values.append(encoder.encode_single_object(event, schema))
    return values


def cpu_per_event(work: Callable[[], None], events: int, rounds: int) -> float:
    """Median CPU microseconds per event over ``rounds`` runs of ``work``."""
    work()  # warm-up: caches, first compilations
    times = []
    for _ in range(rounds):
        began = time.process_time()
        work()
        times.append(time.process_time() - began)
    return statistics.median(times) / events * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    store = SchemaStore.load(ROOT / "schemas")
    settings = load_settings(CONFIG)
    routes = [
        r
        for r in compile_routes(settings.routes, file=str(CONFIG))
        if r.topic == settings.routes[0].topic
    ]
    schema = store.by_name(SCHEMA)
    assert schema is not None
    values = sample_values(args.events, store)
    decoder = Decoder(store)
    # Single-object encoding: two marker bytes and an 8-byte fingerprint.
    body_offset = 10

    def baseline() -> None:
        for value in values:
            buffer = io.BytesIO(value)
            buffer.seek(body_offset)
            schemaless_reader(buffer, schema.plain, None)

    async def decode_all() -> None:
        for value in values:
            await decoder.decode(value, schema)

    async def full_path() -> None:
        for value in values:
            event = (await decoder.decode(value, schema)).record
            for route in routes:
                if route.matches(event):
                    route.request(event, route.request_id(event))

    loop = asyncio.new_event_loop()
    try:
        results = {
            "baseline: fastavro body only": cpu_per_event(
                baseline, args.events, args.rounds
            ),
            "decode (framing + lookup + body)": cpu_per_event(
                lambda: loop.run_until_complete(decode_all()),
                args.events,
                args.rounds,
            ),
            f"decode + {len(routes)} routes (map, URL, JSON)": cpu_per_event(
                lambda: loop.run_until_complete(full_path()),
                args.events,
                args.rounds,
            ),
        }
    finally:
        loop.close()

    base = next(iter(results.values()))
    print(f"{args.events} events x {args.rounds} rounds, CPU time per event")
    print(f"{'step':<42} {'us/event':>9} {'x baseline':>11} {'of 1 ms':>8}")
    for name, micros in results.items():
        print(
            f"{name:<42} {micros:>9.1f} {micros / base:>11.2f}"
            f" {micros / BUDGET_US:>8.1%}"
        )


if __name__ == "__main__":
    main()
