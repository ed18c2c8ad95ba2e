"""What the Confluent framing costs ``omniout publish`` per event, in-process.

``prepare`` (fill, validate, encode) is timed for a batch of order events in
single-object encoding, the baseline, and in the Confluent framing under a
registry id, in the same run; the ratio is printed. Registering the schema
happens once per run and is not part of the per-event cost.

Run: .venv/bin/python benchmarks/bench_publish_framing.py [--events 5000]
"""

from __future__ import annotations

import argparse
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from omniout.decode import SchemaStore
from omniout.publish import prepare

SCHEMAS = Path(__file__).parents[1] / "schemas"


def events(count: int) -> list[tuple[int, dict[str, Any]]]:
    return [
        (
            number,
            {
                # Given, so that every pass encodes the same events unchanged.
                "EventUuid": str(uuid.UUID(int=number, version=4)),
                "CreatedDate": 1_764_000_000_000 + number,
                "CreatedById": "005000000000001AAA",
                "Order_Number__c": f"{number:08d}",
                "Total_Amount__c": float(number),
                "Currency_Iso_Code__c": "EUR",
                "Line_Items_Json__c": "x" * 400,
            },
        )
        for number in range(count)
    ]


def best_of_three(run: Callable[[], object]) -> float:
    best = float("inf")
    for _ in range(3):
        began = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - began)
    return best


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=5000)
    count = parser.parse_args().events
    schema = SchemaStore.load(SCHEMAS).by_name("com.sforce.eventbus.Order_Completed__e")
    if schema is None:
        raise SystemExit(f"no order schema in {SCHEMAS}")
    batch = events(count)

    single = best_of_three(lambda: prepare(batch, schema))
    confluent = best_of_three(lambda: prepare(batch, schema, schema_id=7))

    print(f"events: {count}")
    print(f"single-object: {single / count * 1e6:.1f} us/event (baseline)")
    print(f"confluent:     {confluent / count * 1e6:.1f} us/event")
    print(f"ratio confluent/single-object: {confluent / single:.2f}")


if __name__ == "__main__":
    main()
