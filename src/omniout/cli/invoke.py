"""``omniout invoke``: deliver one event now and print the endpoint's answer.

The synchronous mode from the command line, the same as the admin port's
``POST /invoke/{route}``: the route's mapping and retry policy, the ledger
of the config, and the answer printed as status line, headers and body.
Exit status: 0 when delivered, 1 when the endpoint refused it, no outcome
came in time or the mapping failed (the reason on standard error), 2 for a
bad argument (nothing sent).
"""

from __future__ import annotations

import asyncio
import logging
from http import HTTPStatus
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer

from omniout.cli.common import ConfigOption, fail, settings_or_exit
from omniout.config import Settings
from omniout.deliver import Deliverer
from omniout.deliver.auth import open_credentials
from omniout.errors import ConfigError, EventError, LedgerError
from omniout.invoke import Invocation, Invoker
from omniout.ledger import LedgerWriter, open_ledger
from omniout.routing import compile_routes
from omniout.telemetry.logs import configure_logging
from omniout.telemetry.tracing import setup_tracing

__all__ = ["invoke"]


def invoke(
    config: ConfigOption,
    route: Annotated[str, typer.Argument(help="The route to deliver on.")],
    event: Annotated[Path, typer.Option(help="A JSON file holding one event.")],
    timeout: Annotated[
        float,
        typer.Option(min=0.001, max=600, help="Seconds to wait for an outcome."),
    ] = 30.0,
) -> None:
    """Deliver one event on a route now and print the endpoint's answer."""
    settings = settings_or_exit(config)
    # The outcome is printed below; only what goes wrong besides is logged.
    configure_logging(settings.log_format, logging.ERROR)
    routes = compile_routes(settings.routes, file=str(config))
    if route not in {r.name for r in routes}:
        names = ", ".join(sorted(r.name for r in routes))
        fail(f"no route named {route!r}; routes: {names}")
    try:
        sample = orjson.loads(event.read_bytes())
    except (OSError, orjson.JSONDecodeError) as exc:
        fail(f"{event}: {exc}")
    if not isinstance(sample, dict):
        fail(f"{event}: an event must be a JSON object")
    try:
        outcome = asyncio.run(_invoke(settings, str(config), route, sample, timeout))
    except ConfigError as exc:
        fail(str(exc))
    except EventError as exc:
        fail(f"{exc}; nothing was sent", code=1)
    except LedgerError as exc:
        fail(f"delivered, but the ledger failed: {exc}", code=1)
    _print(outcome)
    if outcome.outcome == "filtered":
        fail("the route's condition does not match this event; nothing was sent", 1)
    if outcome.outcome != "delivered":
        fail(outcome.error or outcome.outcome, code=1)


async def _invoke(
    settings: Settings,
    config_file: str,
    name: str,
    event: dict[str, Any],
    within: float,
) -> Invocation:
    routes = compile_routes(settings.routes, file=config_file)
    credentials = open_credentials(settings.credentials, file=config_file)
    tracing = setup_tracing()
    ledger = open_ledger(settings.ledger.url)
    try:
        await ledger.open()
        async with Deliverer(
            credentials=credentials, tracer=tracing.tracer
        ) as deliverer:
            writer = LedgerWriter(ledger, max_delay=0)
            try:
                invoker = Invoker(routes, deliverer, writer, tracer=tracing.tracer)
                route = invoker.route(name)
                if route is None:
                    raise ConfigError(config_file, "routes", f"no route {name!r}")
                return await invoker.invoke(route, event, within=within)
            finally:
                await writer.close()
    finally:
        await ledger.close()
        await asyncio.to_thread(tracing.shutdown)


def _print(outcome: Invocation) -> None:
    if outcome.status is None:
        return
    try:
        phrase = HTTPStatus(outcome.status).phrase
    except ValueError:
        phrase = ""
    typer.echo(f"HTTP {outcome.status} {phrase}".rstrip())
    for name, value in outcome.headers:
        typer.echo(f"{name}: {value}")
    typer.echo("")
    if outcome.body:
        typer.echo(outcome.body.decode("utf-8", errors="replace"))
