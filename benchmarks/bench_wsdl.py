"""What building a SOAP envelope with zeep from a WSDL costs per event.

The same order (two lines, as a route's mapping would give it) is turned
into a SOAP 1.1 request body three ways, in one run:

- lxml: the route without a WSDL (``SoapFormat``), the baseline;
- zeep: the WSDL route's envelope as zeep serialises it, without the
  schema check;
- zeep + schema: what a WSDL route does per event (zeep serialises, the
  WSDL's schema, compiled by lxml, checks the values).

Reading an answer with the operation's output type is timed against the
generic XML reading of the reply topic. Printed: microseconds per call and
the ratio to the baseline.

Run: .venv/bin/python benchmarks/bench_wsdl.py [--events 5000]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lxml import etree

from omniout.payload import SoapFormat, SoapSettings, WsdlFormat, payload_format
from omniout.payload.faults import SOAP11
from omniout.replies import read_body

WSDL = Path(__file__).parents[1] / "tests" / "wsdl" / "erp-orders.wsdl"
ERP = "urn:example:erp:orders"
ORDER: dict[str, Any] = {
    "Order": {
        "Number": "00001042",
        "Account": "001Hs00000QRS34AAA",
        "Priority": True,
        "Total": {"Amount": 58.5, "Currency": "EUR"},
        "Line": [{"Sku": "A-100", "Quantity": 2}, {"Sku": "C-300", "Quantity": 6}],
    }
}
ANSWER = (
    f'<e:Envelope xmlns:e="{SOAP11}"><e:Body><SubmitOrderResponse xmlns="{ERP}">'
    "<Ticket>T-00001042</Ticket><AcceptedAt>2025-11-24T17:00:00Z</AcceptedAt>"
    "<Lines>2</Lines></SubmitOrderResponse></e:Body></e:Envelope>"
).encode()


def per_call(run: Callable[[], object], events: int) -> float:
    """Seconds per call, best of three passes."""
    best = float("inf")
    for _ in range(3):
        began = time.perf_counter()
        for _ in range(events):
            run()
        best = min(best, (time.perf_counter() - began) / events)
    return best


def zeep_only(wsdl: WsdlFormat) -> Callable[[], bytes]:
    serialize = wsdl.wsdl.operation.input.serialize

    def run() -> bytes:
        content = serialize(**ORDER).content
        return etree.tostring(content, xml_declaration=True, encoding="utf-8")

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=5000)
    events = parser.parse_args().events

    lxml_format = SoapFormat(
        SoapSettings(
            action=f"{ERP}/SubmitOrder", operation="SubmitOrder", body_namespace=ERP
        )
    )
    port = "OrderIntakeSoap11"
    wsdl = payload_format(
        "soap", SoapSettings(wsdl=WSDL, operation="SubmitOrder", port=port)
    )
    assert isinstance(wsdl, WsdlFormat)
    reader = wsdl.reply_reader

    baseline = per_call(lambda: lxml_format.encode(ORDER), events)
    zeep = per_call(zeep_only(wsdl), events)
    checked = per_call(lambda: wsdl.encode(ORDER), events)
    generic = per_call(lambda: read_body(ANSWER), events)
    typed = per_call(lambda: read_body(ANSWER, reader), events)
    rows = [
        ("envelope: lxml (no WSDL)", baseline, baseline),
        ("envelope: zeep", zeep, baseline),
        ("envelope: zeep + schema", checked, baseline),
        ("answer: generic XML reading", generic, generic),
        ("answer: output type (zeep)", typed, generic),
    ]
    print(f"{events} calls each, best of 3 passes")
    for name, seconds, base in rows:
        print(f"{name:32} {seconds * 1e6:8.1f} us   x{seconds / base:5.1f}")


if __name__ == "__main__":
    main()
