"""Microseconds per event for a realistic order mapping, by JSONata engine.

The same JSONata expression (an order with its lines, totals, a picklist
lookup and a date) is evaluated per event by:

- jsonata-python, a port of the reference implementation: the baseline;
- jsonatapy, the engine omniout uses;

and then omniout's own per-event paths, both on jsonatapy:

- ``Mapping.apply`` with the mapping written as rows (long rows with value
  maps and defaults, the helper functions, the ``$nowMillis`` binding);
- ``Route.request`` for a SOAP 1.1 route: those rows, then the envelope.

Every engine sees the same events (distinct order numbers and lines).
Each round times every contender once, in a rotated order; the median
round is shown, with the ratio to the baseline (above 1: faster).

Run: .venv/bin/python benchmarks/bench_mapping.py [--events 2000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from typing import Any

import jsonata
import jsonatapy
import orjson

from omniout.config import RouteSettings
from omniout.mapping import Mapping
from omniout.mapping.rows import RowSettings
from omniout.routing import compile_routes

EXPRESSION = """{
  "orderNumber": Order_Number__c,
  "account": Account_Id__c,
  "priority": Is_Priority__c ? "EXPRESS" : "STANDARD",
  "completedAt": $fromMillis(Completed_At__c),
  "currency": $lookup({"EUR": "978", "USD": "840"}, Currency_Iso_Code__c),
  "lines": $map($eval(Line_Items_Json__c), function($l, $i) {
    {"no": $i + 1, "sku": $l.sku, "qty": $l.qty, "amount": $l.qty * $l.price}
  }),
  "total": $round($sum($eval(Line_Items_Json__c).(qty * price)), 2),
  "reference": $uppercase($substring(Correlation_Id__c, 0, 8))
}"""

ROWS: dict[str, str | RowSettings] = {
    "orderNumber": "Order_Number__c",
    "account": "Account_Id__c",
    "priority": RowSettings(
        expr="Is_Priority__c", map={True: "EXPRESS"}, default="STANDARD"
    ),
    "completedAt": "$toIso(Completed_At__c, 'Europe/Berlin')",
    "sentAt": "$toIso($nowMillis)",
    "currency": RowSettings(
        expr="Currency_Iso_Code__c", map={"EUR": "978", "USD": "840"}
    ),
    "lines": "$map($eval(Line_Items_Json__c), function($l, $i) "
    "{ {'no': $i + 1, 'sku': $l.sku, 'qty': $l.qty, 'amount': $l.qty * $l.price} })",
    "total": "$round($sum($eval(Line_Items_Json__c).(qty * price)), 2)",
    "reference": "$uppercase($substring(Correlation_Id__c, 0, 8))",
}


def events(count: int) -> list[dict[str, Any]]:
    out = []
    for n in range(count):
        lines = [
            {"sku": f"SKU-{n % 97}-{k}", "qty": 1 + k, "price": 9.5 + n % 13}
            for k in range(1 + n % 5)
        ]
        out.append(
            {
                "CreatedDate": 1_764_003_600_000 + n,
                "CreatedById": "005Hs00000ABCDEFAA",
                "EventUuid": f"6a1f0a2e-3b4c-4d5e-8f60-{n:012d}",
                "Order_Id__c": f"801Hs{n:013d}",
                "Order_Number__c": f"{n:08d}",
                "Account_Id__c": "001Hs00000QRS34AAA",
                "Total_Amount__c": 0.0,
                "Currency_Iso_Code__c": "EUR" if n % 3 else "USD",
                "Completed_At__c": 1_764_003_599_000 + n * 1000,
                "Requested_Ship_Date__c": 1_764_201_600_000,
                "Is_Priority__c": n % 4 == 0,
                "Line_Items_Json__c": orjson.dumps(lines).decode(),
                "Correlation_Id__c": f"erp-{n:08d}",
            }
        )
    return out


def contenders() -> dict[str, Callable[[dict[str, Any]], Any]]:
    reference = jsonata.Jsonata(EXPRESSION)
    compiled = jsonatapy.compile(EXPRESSION)
    rows = Mapping(ROWS, route="bench")
    [route] = compile_routes(
        [
            RouteSettings.model_validate(
                {
                    "name": "bench",
                    "topic": "bench",
                    "mapping": {f"Order.{k}": v for k, v in ROWS.items()},
                    "endpoint": {
                        "url": "https://oms.example/soap",
                        "format": "soap",
                        "soap": {"version": "1.1", "action": "urn:Submit"},
                    },
                }
            )
        ]
    )

    def mapping_rows(event: dict[str, Any]) -> Any:
        return rows.apply(event, {"nowMillis": int(time.time() * 1000)})

    def soap_request(event: dict[str, Any]) -> Any:
        bindings = {"nowMillis": int(time.time() * 1000)}
        return route.request(event, event["EventUuid"], bindings)

    return {
        "jsonata-python (baseline)": reference.evaluate,
        "jsonatapy": compiled.evaluate,
        "omniout Mapping rows": mapping_rows,
        "omniout SOAP Route.request": soap_request,
    }


def one_round(run: Callable[[dict[str, Any]], Any], batch: list[Any]) -> float:
    began = time.perf_counter()
    for event in batch:
        run(event)
    return (time.perf_counter() - began) / len(batch) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    batch = events(args.events)
    runs = contenders()
    engines = list(runs.items())
    first, second = (fn(batch[1]) for _, fn in engines[:2])
    assert first == second, "the engines disagree on the benchmark expression"

    results: dict[str, list[float]] = {name: [] for name in runs}
    for index in range(args.rounds):
        order = engines[index % len(engines):] + engines[: index % len(engines)]
        for name, run in order:
            run(batch[0])  # warm-up
            results[name].append(one_round(run, batch))

    print(f"{args.events} order events per round, {args.rounds} rounds, median shown")
    baseline = statistics.median(results[engines[0][0]])
    for name, times in results.items():
        middle = statistics.median(times)
        every = ", ".join(f"{t:.1f}" for t in times)
        print(
            f"  {name:28} {middle:9.1f} µs/event  x{baseline / middle:6.1f}"
            f"   rounds: {every}"
        )


if __name__ == "__main__":
    main()
