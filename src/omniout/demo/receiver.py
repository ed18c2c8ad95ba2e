"""A demo receiver: a real HTTP server that prints every delivery it gets.

It answers 200 with a small JSON body (an order number for order events), and
drops a repeated ``Idempotency-Key`` the way a careful receiver would: it
answers 200 again without doing the work twice.

    python -m omniout.demo.receiver --port 9000
"""

from __future__ import annotations

import argparse
import itertools

import orjson
from aiohttp import web

__all__ = ["make_app"]

_SEEN = web.AppKey("seen", set[tuple[str, str]])


async def _receive(request: web.Request) -> web.Response:
    body = await request.read()
    key = request.headers.get("Idempotency-Key", "")
    seen = request.app[_SEEN]
    repeat = (request.path, key) in seen
    seen.add((request.path, key))
    note = " (repeat, ignored)" if repeat else ""
    print(
        f"{request.method} {request.path_qs} Idempotency-Key={key}{note}\n"
        f"  {body.decode(errors='replace')}",
        flush=True,
    )
    answer = {"received": True, "reference": f"R-{next(_numbers):06d}"}
    return web.Response(body=orjson.dumps(answer), content_type="application/json")


_numbers = itertools.count(1)


def make_app() -> web.Application:
    app = web.Application()
    app[_SEEN] = set()
    app.router.add_route("*", "/{tail:.*}", _receive)
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9000)
    args = parser.parse_args()
    web.run_app(make_app(), host=args.host, port=args.port, print=None)


if __name__ == "__main__":
    main()
