"""``omniout dlq``: read a dead-letter topic and re-drive what it holds.

Both commands read the topic from its start to the end it had when they
began, outside any consumer group, so they commit nothing and terminate.
``replay`` prints what it would send and sends nothing unless ``--execute``
is given.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

import orjson
import typer
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from omniout.cli.common import (
    ConfigOption,
    JsonOption,
    epoch_ms,
    fail,
    load_or_exit,
    run_or_exit,
    topic_name,
)
from omniout.config import Settings
from omniout.reprocess import (
    LetterFilter,
    Replay,
    StoredLetter,
    plan_replay,
    read_dead_letters,
    send_replays,
    topic_partitions,
)

__all__ = ["app"]

app = typer.Typer(
    help="Inspect dead letters and send them back to be delivered again.",
    no_args_is_help=True,
)

TopicOption = Annotated[
    str, typer.Option(help="The dead-letter topic.", callback=topic_name)
]
ReasonOption = Annotated[
    str | None, typer.Option(help="Only reasons containing this (any case).")
]
RouteOption = Annotated[str | None, typer.Option(help="Only this route's.")]
SinceOption = Annotated[
    str | None, typer.Option(help="Only dead-lettered at or after this ISO time.")
]
UntilOption = Annotated[
    str | None, typer.Option(help="Only dead-lettered before this ISO time.")
]
LimitOption = Annotated[
    int | None, typer.Option(min=1, help="At most this many, oldest first.")
]


@app.command()
def show(
    config: ConfigOption,
    topic: TopicOption,
    reason: ReasonOption = None,
    route: RouteOption = None,
    since: SinceOption = None,
    until: UntilOption = None,
    limit: LimitOption = None,
    as_json: JsonOption = False,
) -> None:
    """List dead letters with their route, request id and reason."""
    chosen = _filter(reason, route, since, until, None)
    settings = load_or_exit(config)
    letters = run_or_exit(_read(settings, topic, chosen, limit))
    if as_json:
        rows = [letter.summary() for letter in letters]
        typer.echo(orjson.dumps(rows, option=orjson.OPT_INDENT_2))
        return
    table = Table(title=f"{len(letters)} dead letter(s) in {topic}")
    table.add_column("Partition", justify="right")
    table.add_column("Offset", justify="right")
    for name in ("Time", "Route", "Request id"):
        table.add_column(name)
    table.add_column("Kind")
    table.add_column("Reason", overflow="fold")
    table.add_column("HTTP", justify="right")
    for letter in letters:
        table.add_row(
            str(letter.partition),
            str(letter.offset),
            letter.time.isoformat(timespec="seconds"),
            letter.route,
            letter.request_id,
            letter.kind,
            letter.reason,
            "" if letter.http_status is None else str(letter.http_status),
        )
    Console().print(table)


@app.command()
def replay(
    config: ConfigOption,
    topic: TopicOption,
    reason: ReasonOption = None,
    route: RouteOption = None,
    since: SinceOption = None,
    until: UntilOption = None,
    limit: LimitOption = None,
    offsets: Annotated[
        str | None,
        typer.Option(help="Only these offsets: 3,5 or partition:offset, 0:3."),
    ] = None,
    execute: Annotated[
        bool, typer.Option(help="Send them; without it nothing is sent.")
    ] = False,
) -> None:
    """Send chosen dead letters back to their original topics."""
    picked = _offsets(offsets)
    chosen = _filter(reason, route, since, until, picked)
    settings = load_or_exit(config)
    replays = run_or_exit(_plan(settings, topic, chosen, limit, picked))
    if not replays:
        typer.echo(f"No dead letter in {topic} matches; nothing was sent")
        return
    _print_plan(topic, replays, sent=execute)
    if not execute:
        typer.echo("Dry run: nothing was sent; add --execute to send these")
        return
    with Progress(transient=True) as bar:
        task = bar.add_task("Replaying", total=len(replays))
        run_or_exit(
            send_replays(
                settings.kafka, replays, progress=lambda n: bar.advance(task, n)
            )
        )
    typer.echo(f"Replayed {len(replays)} dead letter(s) from {topic}")


async def _read(
    settings: Settings, topic: str, chosen: LetterFilter, limit: int | None
) -> list[StoredLetter]:
    partitions = await topic_partitions(settings.kafka, [topic])
    return await read_dead_letters(
        settings.kafka, topic, partitions[topic], chosen, limit=limit
    )


async def _plan(
    settings: Settings,
    topic: str,
    chosen: LetterFilter,
    limit: int | None,
    picked: Sequence[tuple[int | None, int]],
) -> list[Replay]:
    letters = await _read(settings, topic, chosen, limit)
    missing = sorted(
        _label(part, offset)
        for part, offset in picked
        if not any(_picks(letter, part, offset) for letter in letters)
    )
    if missing:
        fail(f"--offsets: no matching dead letter at {', '.join(missing)}")
    originals = {letter.original_topic or "" for letter in letters} - {""}
    partitions = await topic_partitions(settings.kafka, originals)
    return plan_replay(letters, lambda name: partitions.get(name, []))


def _print_plan(topic: str, replays: Sequence[Replay], *, sent: bool) -> None:
    verb = "Sending" if sent else "Would send"
    table = Table(title=f"{verb} {len(replays)} dead letter(s) from {topic}")
    for name in ("From", "To", "Route", "Request id", "Reason"):
        table.add_column(name, overflow="fold" if name == "Reason" else "ellipsis")
    for r in replays:
        letter = r.source
        to = r.topic if r.partition is None else f"{r.topic}/{r.partition}"
        table.add_row(
            f"{letter.partition}:{letter.offset}",
            to,
            letter.route,
            letter.request_id,
            letter.reason,
        )
    Console().print(table)


def _filter(
    reason: str | None,
    route: str | None,
    since: str | None,
    until: str | None,
    picked: Sequence[tuple[int | None, int]] | None,
) -> LetterFilter:
    return LetterFilter(
        reason=reason,
        route=route,
        since=epoch_ms("--since", since),
        until=epoch_ms("--until", until),
        offsets=frozenset(picked or ()),
    )


def _offsets(text: str | None) -> list[tuple[int | None, int]]:
    """``3,5`` (any partition) or ``0:3,1:5`` (partition:offset)."""
    if text is None:
        return []
    picked: list[tuple[int | None, int]] = []
    for part in (p.strip() for p in text.split(",")):
        partition, _, offset = part.rpartition(":")
        if not offset.isdigit() or not (partition == "" or partition.isdigit()):
            fail(f"--offsets {text!r}: {part!r} is not OFFSET or PARTITION:OFFSET")
        picked.append((int(partition) if partition else None, int(offset)))
    return picked


def _picks(letter: StoredLetter, partition: int | None, offset: int) -> bool:
    return letter.offset == offset and partition in (None, letter.partition)


def _label(partition: int | None, offset: int) -> str:
    return str(offset) if partition is None else f"{partition}:{offset}"
