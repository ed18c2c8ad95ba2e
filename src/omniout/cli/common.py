"""What the operator commands share: the config option, errors, arguments.

A bad argument exits with status 2 and a message before anything connects;
a refusal or a failure of the cluster exits with status 1.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar

import typer
from aiokafka.errors import KafkaError

from omniout.config import Settings, load_settings
from omniout.decode import SchemaStore
from omniout.errors import ConfigError, OmniOutError, UnknownTopicError
from omniout.routing import compile_routes
from omniout.service import reader_schemas
from omniout.topics import kafka_topic

__all__ = [
    "ConfigOption",
    "JsonOption",
    "epoch_ms",
    "fail",
    "load_or_exit",
    "numbers",
    "run_or_exit",
    "settings_or_exit",
    "topic_name",
]

T = TypeVar("T")

ConfigOption = Annotated[
    Path,
    typer.Option(
        "--config", "-c", help="The YAML config file.", envvar="OMNIOUT_CONFIG"
    ),
]
JsonOption = Annotated[
    bool, typer.Option("--json", help="Print JSON instead of a table.")
]


def fail(message: str, code: int = 2) -> NoReturn:
    typer.echo(f"omniout: error: {message}", err=True)
    raise typer.Exit(code)


def topic_name(value: str | None) -> str | None:
    """Parse a ``--topic``: a Kafka topic, or a channel name that stands for one."""
    if value is None:
        return None
    try:
        return kafka_topic(value)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None


def settings_or_exit(config: Path) -> Settings:
    """The settings with every route compiled once, or exit 2 with the error."""
    try:
        settings = load_settings(config)
        routes = compile_routes(settings.routes, file=str(config))
        reader_schemas(routes, SchemaStore.load(settings.schemas_dir), str(config))
    except ConfigError as exc:
        fail(str(exc))
    return settings


def load_or_exit(config: Path) -> Settings:
    try:
        return load_settings(config)
    except ConfigError as exc:
        fail(str(exc))


def run_or_exit(work: Coroutine[Any, Any, T]) -> T:
    """Run ``work``; a named topic that is missing or a bad config exits 2,
    a refusal or a cluster failure exits 1, each with its message."""
    try:
        return asyncio.run(work)
    except (UnknownTopicError, ConfigError) as exc:
        fail(str(exc))
    except OmniOutError as exc:
        fail(str(exc), code=1)
    except KafkaError as exc:
        fail(f"Kafka: {exc!r}", code=1)


def epoch_ms(option: str, text: str | None) -> int | None:
    """An ISO 8601 time as epoch milliseconds; a time without zone is UTC."""
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        fail(f"{option} {text!r} is not an ISO 8601 time (2026-12-04T09:30:00Z)")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def numbers(option: str, text: str | None) -> list[int] | None:
    """A comma-separated list of non-negative integers, such as ``0,2``."""
    if text is None:
        return None
    parts = [part.strip() for part in text.split(",")]
    if not parts or not all(part.isdigit() for part in parts):
        fail(f"{option} {text!r} is not a comma-separated list of numbers")
    return sorted({int(part) for part in parts})
