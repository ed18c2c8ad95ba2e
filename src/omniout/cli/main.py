"""``omniout``: run the service, publish test events, check a config.

Every command reads the same config file (``-c``). A bad argument or a bad
config exits with status 2 and a message naming the problem, having sent
nothing; a failure while running exits with status 1.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from pathlib import Path
from typing import Annotated

import orjson
import typer
from aiokafka.errors import KafkaError
from rich.console import Console
from rich.progress import Progress

from omniout.cli import dlq, offsets
from omniout.cli.common import ConfigOption, fail, settings_or_exit, topic_name
from omniout.cli.framing import (
    FramingOption,
    SubjectOption,
    choose_framing,
    register_schema,
)
from omniout.cli.invoke import invoke
from omniout.cli.preview import preview_bindings, preview_body, preview_credential
from omniout.config import Settings
from omniout.decode import KnownSchema, SchemaStore
from omniout.decode.settings import registry_password
from omniout.deliver.auth import open_credentials
from omniout.errors import ConfigError, EventError
from omniout.publish import open_input, prepare, read_events, send
from omniout.routing import compile_routes
from omniout.service import install_signal_handlers, serve
from omniout.telemetry.logs import configure_logging
from omniout.telemetry.tracing import setup_tracing

__all__ = ["app", "main"]

app = typer.Typer(
    name="omniout",
    help="Deliver platform events from Kafka to the systems that need them.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

app.add_typer(offsets.app, name="offsets")
app.add_typer(dlq.app, name="dlq")
app.command()(invoke)

@app.command()
def run(
    config: ConfigOption,
    redeliver: Annotated[
        bool,
        typer.Option(help="Send again what the ledger says was delivered."),
    ] = False,
    log_level: Annotated[str, typer.Option(help="DEBUG, INFO or WARNING.")] = "INFO",
) -> None:
    """Join the consumer group and deliver events until stopped."""
    settings = settings_or_exit(config)
    configure_logging(settings.log_format, _level(log_level))

    async def main() -> None:
        stopping = asyncio.Event()
        install_signal_handlers(stopping)
        await serve(
            settings, config_file=str(config), stopping=stopping, redeliver=redeliver
        )

    try:
        asyncio.run(main())
    except ConfigError as exc:
        fail(str(exc))
    except KafkaError as exc:
        fail(f"Kafka at {settings.kafka.bootstrap_servers}: {exc}", code=1)


@app.command()
def check(
    config: ConfigOption,
    route: Annotated[
        str | None, typer.Option(help="Preview this route's payload.")
    ] = None,
    event: Annotated[
        Path | None, typer.Option(help="A JSON event for the preview.")
    ] = None,
) -> None:
    """Validate the config; with --route and --event, print the request."""
    settings = settings_or_exit(config)
    try:
        open_credentials(settings.credentials, file=str(config))
        if settings.schema_registry is not None:
            registry_password(settings.schema_registry, config_file=str(config))
    except ConfigError as exc:
        fail(str(exc))
    if route is None and event is None:
        typer.echo(f"{config}: OK, {len(settings.routes)} route(s)")
        return
    if route is None or event is None:
        fail("--route and --event go together")
    routes = {r.name: r for r in compile_routes(settings.routes, file=str(config))}
    if route not in routes:
        fail(f"no route named {route!r}; routes: {', '.join(sorted(routes))}")
    try:
        sample = orjson.loads(event.read_bytes())
    except (OSError, orjson.JSONDecodeError) as exc:
        fail(f"{event}: {exc}")
    chosen = routes[route]
    try:
        bindings = preview_bindings(chosen, sample, settings.schemas_dir)
        if not chosen.matches(sample, bindings):
            typer.echo("The route's condition does not match this event.")
            return
        request = chosen.request(sample, chosen.request_id(sample), bindings)
    except EventError as exc:
        fail(str(exc), code=1)
    typer.echo(f"{request.method} {request.url}")
    for name, value in request.headers:
        typer.echo(f"{name}: {value}")
    if request.credential is not None:
        described = settings.credentials[request.credential]
        for line in preview_credential(request.credential, described):
            typer.echo(line)
    typer.echo("")
    if request.body is not None:
        typer.echo(preview_body(request))


@app.command()
def publish(
    config: ConfigOption,
    topic: Annotated[
        str, typer.Option(help="The topic to produce to.", callback=topic_name)
    ],
    file: Annotated[
        str | None,
        typer.Option("--file", "-f", help="JSON lines; '-' or none: stdin."),
    ] = None,
    schema: Annotated[
        str | None,
        typer.Option(help="Full schema name; default: the topic's route schema."),
    ] = None,
    key_field: Annotated[
        str | None, typer.Option(help="The event field used as record key.")
    ] = None,
    framing: FramingOption = None,
    subject: SubjectOption = None,
) -> None:
    """Validate JSON events, encode them with Avro and produce them."""
    settings = settings_or_exit(config)
    chosen = _publish_schema(settings, config, topic, schema)
    framed = choose_framing(settings, config, topic, framing, subject)
    try:
        events = read_events(open_input(file, sys.stdin))
        if not events:
            fail("no events in the input; nothing was sent")
        schema_id = register_schema(framed, chosen)
        records = prepare(events, chosen, key_field=key_field, schema_id=schema_id)
    except OSError as exc:
        fail(f"{file}: {exc.strerror}")
    except EventError as exc:
        fail(f"{exc.reason}; nothing was sent")
    configure_logging(settings.log_format, logging.WARNING)
    # A topic that the broker creates on first use makes aiokafka log an
    # error for the first metadata answer; a real failure to reach the topic
    # still ends the command, as the KafkaError handled below.
    logging.getLogger("aiokafka.cluster").setLevel(logging.CRITICAL)
    try:
        tracing = setup_tracing("omniout-publish")
    except ConfigError as exc:
        fail(str(exc))
    # The bar goes to stderr and only to a terminal, so that piped output
    # holds nothing but the summary line.
    console = Console(stderr=True)
    quiet = len(records) < 1000 or not console.is_terminal
    acked = 0

    def advance(count: int) -> None:
        nonlocal acked
        acked += count
        bar.advance(task, count)

    with Progress(console=console, transient=True, disable=quiet) as bar:
        task = bar.add_task(f"Publishing to {topic}", total=len(records))
        try:
            asyncio.run(
                send(
                    settings,
                    topic,
                    records,
                    progress=advance,
                    tracer=tracing.tracer,
                )
            )
        except ConfigError as exc:
            fail(f"{exc}; nothing was sent")
        except KafkaError as exc:
            fail(f"sending failed after {acked} of {len(records)}: {exc!r}", 1)
        finally:
            tracing.shutdown()
    typer.echo(f"Published {len(records)} event(s) to {topic}")


def _publish_schema(
    settings: Settings, config: Path, topic: str, name: str | None
) -> KnownSchema:
    store = SchemaStore.load(settings.schemas_dir)
    if name is None:
        names = [r.schema_name for r in settings.routes if r.topic == topic]
        name = next((n for n in names if n), None)
    if name is None:
        fail(f"no route of {config} names a schema for {topic!r}; use --schema")
    found = store.by_name(name)
    if found is None:
        fail(f"no schema named {name!r} in {settings.schemas_dir}")
    return found


def _level(name: str) -> int:
    level = logging.getLevelName(name.upper())
    if not isinstance(level, int):
        fail(f"--log-level {name!r} is not a log level")
    return level


def main() -> None:
    app(prog_name="omniout")



if __name__ == "__main__":
    main()
