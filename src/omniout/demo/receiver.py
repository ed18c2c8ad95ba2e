"""A demo receiver: a real HTTP server that prints every delivery it gets.

It plays three systems on one port:

* ``POST /oauth/token``, an OAuth 2.0 token endpoint that issues short-lived
  bearer tokens by the client credentials grant to one client, whose secret
  it reads from the variable ``DEMO_CLIENT_SECRET``;
* ``/orders/...``, an order-management API that takes only requests with a
  current token (401 otherwise) and answers with a reference;
* ``POST /soap/erp``, a SOAP 1.1 ERP endpoint that answers each envelope
  with a ticket, or with a fault when the request is not one it can read;

and any other path answers 200, as a webhook would. A repeated
``Idempotency-Key`` gets the first answer again without the work being done
twice, the way a careful receiver drops a redelivery.

    DEMO_CLIENT_SECRET=... python -m omniout.demo.receiver --port 9000
"""

from __future__ import annotations

import argparse
import itertools
import os
from dataclasses import dataclass, field

import orjson
from aiohttp import web

from omniout.demo import soap
from omniout.demo.tokens import NO_TOKEN, Refusal, TokenIssuer

__all__ = ["SECRET_VARIABLE", "make_app"]

SECRET_VARIABLE = "DEMO_CLIENT_SECRET"


@dataclass(frozen=True, slots=True)
class _Answer:
    """An answer given, kept to be given again to a repeated request."""

    status: int
    body: bytes
    content_type: str

    def response(self) -> web.Response:
        headers = {"Content-Type": self.content_type}
        return web.Response(body=self.body, status=self.status, headers=headers)


@dataclass(slots=True)
class _State:
    """What the receiver remembers: the issuer, and the answers it gave."""

    issuer: TokenIssuer
    answers: dict[tuple[str, str], _Answer] = field(default_factory=dict)
    references: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    tickets: itertools.count[int] = field(default_factory=lambda: itertools.count(1))


_STATE = web.AppKey("state", _State)


def _say(text: str) -> None:
    print(text, flush=True)


def _show(request: web.Request, body: bytes, note: str = "") -> None:
    key = request.headers.get("Idempotency-Key", "")
    lines = body.decode(errors="replace").splitlines() or [""]
    indented = "".join(f"\n  {line}" for line in lines)
    _say(f"{request.method} {request.path_qs} Idempotency-Key={key}{note}{indented}")


def _repeat(request: web.Request) -> tuple[tuple[str, str] | None, _Answer | None]:
    """The request's place among the answers kept, and an earlier answer.

    Only a request with an ``Idempotency-Key`` can be a repeat.
    """
    name = request.headers.get("Idempotency-Key")
    if not name:
        return None, None
    key = (request.path, name)
    return key, request.app[_STATE].answers.get(key)


def _accepted(state: _State, key: tuple[str, str] | None) -> web.Response:
    reference = f"R-{next(state.references):06d}"
    answer = _json({"received": True, "reference": reference})
    return _keep(state, key, answer).response()


def _keep(state: _State, key: tuple[str, str] | None, answer: _Answer) -> _Answer:
    if key is not None:
        state.answers[key] = answer
    return answer


def _json(answer: dict[str, object], status: int = 200) -> _Answer:
    return _Answer(status, orjson.dumps(answer), "application/json")


async def _token(request: web.Request) -> web.Response:
    form = {name: str(value) for name, value in (await request.post()).items()}
    issued = request.app[_STATE].issuer.issue(
        form, request.headers.get("Authorization")
    )
    if isinstance(issued, Refusal):
        _say(f"POST {request.path}: refused with {issued.status} {issued.error}")
        return _json(issued.answer(), issued.status).response()
    scope = f" (scope {issued.scope})" if issued.scope else ""
    _say(
        f"POST {request.path}: issued token #{issued.number} to "
        f"{issued.client_id}{scope}, expires in {issued.expires_in} s"
    )
    answer = _json(issued.answer()).response()
    # A token answer must not be cached (RFC 6749 section 5.1).
    answer.headers["Cache-Control"] = "no-store"
    return answer


async def _orders(request: web.Request) -> web.Response:
    state = request.app[_STATE]
    grant = state.issuer.check(request.headers.get("Authorization"))
    if isinstance(grant, str):
        _say(f"{request.method} {request.path_qs}: refused with 401, {grant}")
        # No error code for a request without credentials (RFC 6750 3.1).
        challenge = 'Bearer realm="orders"'
        if grant != NO_TOKEN:
            challenge += ', error="invalid_token"'
        return web.Response(status=401, headers={"WWW-Authenticate": challenge})
    body = await request.read()
    key, earlier = _repeat(request)
    _show(request, body, f" token=#{grant.number}{_ignored(earlier)}")
    if earlier is not None:
        return earlier.response()
    return _accepted(state, key)


async def _soap(request: web.Request) -> web.Response:
    state = request.app[_STATE]
    body = await request.read()
    action = request.headers.get("SOAPAction")
    key, earlier = _repeat(request)
    shown = "(none)" if action is None else action
    _show(request, body, f" SOAPAction={shown}{_ignored(earlier)}")
    if earlier is not None:
        return earlier.response()
    ticket = f"T-{next(state.tickets):06d}"
    reply = soap.answer(body, action, ticket)
    _say(f"  answered {reply.status}: {reply.summary}")
    answer = _Answer(reply.status, reply.body, soap.CONTENT_TYPE)
    if reply.status == 200:
        # A fault is not the request's effect: a corrected resend is new work.
        _keep(state, key, answer)
    return answer.response()


async def _receive(request: web.Request) -> web.Response:
    state = request.app[_STATE]
    body = await request.read()
    key, earlier = _repeat(request)
    _show(request, body, _ignored(earlier))
    if earlier is not None:
        return earlier.response()
    return _accepted(state, key)


def _ignored(earlier: _Answer | None) -> str:
    return "" if earlier is None else " (repeat, answered as before)"


def make_app(issuer: TokenIssuer) -> web.Application:
    """The receiver's application; ``issuer`` holds the client and its tokens."""
    app = web.Application()
    app[_STATE] = _State(issuer)
    app.router.add_post("/oauth/token", _token)
    app.router.add_route("*", "/orders/{tail:.*}", _orders)
    app.router.add_post("/soap/erp", _soap)
    app.router.add_route("*", "/{tail:.*}", _receive)
    return app


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m omniout.demo.receiver", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9000)
    parser.add_argument("--client-id", default="omniout-demo")
    parser.add_argument("--token-lifetime", type=int, default=300, metavar="SECONDS")
    args = parser.parse_args()
    secret = os.environ.get(SECRET_VARIABLE)
    if not secret:
        parser.error(f"{SECRET_VARIABLE} is not set: the client secret to accept")
    if args.token_lifetime <= 0:
        parser.error("--token-lifetime must be a positive number of seconds")
    issuer = TokenIssuer(args.client_id, secret, args.token_lifetime)
    web.run_app(make_app(issuer), host=args.host, port=args.port, print=None)


if __name__ == "__main__":
    main()
