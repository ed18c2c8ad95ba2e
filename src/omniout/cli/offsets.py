"""``omniout offsets``: a group's lag, and resetting it for reprocessing.

``show`` reads the committed offsets without joining the group. ``reset``
prints its plan and changes nothing unless ``--execute`` is given; it
refuses while the group has members, because a member would overwrite the
new offsets with its own next commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

import orjson
import typer
from rich.console import Console
from rich.table import Table

from omniout.cli.common import (
    ConfigOption,
    JsonOption,
    epoch_ms,
    fail,
    load_or_exit,
    numbers,
    run_or_exit,
    topic_name,
)
from omniout.config import Settings
from omniout.errors import GroupActiveError
from omniout.reprocess import (
    GroupOffsets,
    GroupState,
    Move,
    Position,
    ResetTarget,
    plan_reset,
)

__all__ = ["app"]

app = typer.Typer(
    help="Show a consumer group's lag; reset its offsets to reprocess events.",
    no_args_is_help=True,
)


@app.command()
def show(
    config: ConfigOption,
    topic: Annotated[
        str | None,
        typer.Option(
            help="Only this topic; default: every route's.", callback=topic_name
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Committed offset, end offset and lag per partition of the group."""
    settings = load_or_exit(config)
    topics = [topic] if topic else settings.topics

    async def read() -> tuple[list[Position], GroupState]:
        async with GroupOffsets(settings.kafka) as group:
            return await group.positions(topics), await group.state()

    positions, state = run_or_exit(read())
    if as_json:
        document = {
            "group": state.group,
            "state": state.state,
            "members": len(state.members),
            "partitions": [_position_json(p) for p in positions],
        }
        typer.echo(orjson.dumps(document, option=orjson.OPT_INDENT_2))
        return
    title = f"Group {state.group}: {state.state}, {len(state.members)} member(s)"
    table = Table(title=title)
    for name in ("Topic", "Partition", "Committed", "Start", "End", "Lag"):
        table.add_column(name, justify="left" if name == "Topic" else "right")
    for p in positions:
        table.add_row(
            p.topic,
            str(p.partition),
            _text(p.committed),
            str(p.start),
            str(p.end),
            _text(p.lag),
        )
    Console().print(table)


@app.command()
def reset(
    config: ConfigOption,
    topic: Annotated[
        str, typer.Option(help="The topic whose offsets move.", callback=topic_name)
    ],
    to_earliest: Annotated[
        bool, typer.Option("--to-earliest", help="To the first record kept.")
    ] = False,
    to_latest: Annotated[
        bool, typer.Option("--to-latest", help="To the end: skip everything.")
    ] = False,
    to_datetime: Annotated[
        str | None,
        typer.Option(help="To the first record at or after this ISO 8601 time."),
    ] = None,
    to_offset: Annotated[
        int | None, typer.Option(help="To this offset in every chosen partition.")
    ] = None,
    shift_by: Annotated[
        int | None, typer.Option(help="Move by N records (negative: back).")
    ] = None,
    partitions: Annotated[
        str | None, typer.Option(help="Only these partitions, e.g. 0,2.")
    ] = None,
    execute: Annotated[
        bool, typer.Option(help="Commit the plan; without it nothing changes.")
    ] = False,
) -> None:
    """Print the plan for moving the group's offsets; commit it with --execute."""
    modes = {
        "--to-earliest": ResetTarget("earliest") if to_earliest else None,
        "--to-latest": ResetTarget("latest") if to_latest else None,
        "--to-datetime": _datetime_target(to_datetime),
        "--to-offset": None if to_offset is None else ResetTarget("offset", to_offset),
        "--shift-by": None if shift_by is None else ResetTarget("shift", shift_by),
    }
    chosen = [target for target in modes.values() if target is not None]
    if len(chosen) != 1:
        fail(f"give exactly one of {', '.join(modes)}")
    if to_offset is not None and to_offset < 0:
        fail(f"--to-offset {to_offset} is negative")
    wanted = numbers("--partitions", partitions)
    settings = load_or_exit(config)

    moves, state = run_or_exit(
        _reset(settings, topic, chosen[0], wanted, execute=execute)
    )
    _print_plan(settings, topic, chosen[0], moves)
    if execute:
        typer.echo(f"Committed {len(moves)} offset(s) for {settings.kafka.group_id}")
        return
    typer.echo("Dry run: nothing changed; add --execute to commit this plan")
    if state.active:
        typer.echo(
            f"Note: {GroupActiveError(state.group, state.state, len(state.members))}",
            err=True,
        )


async def _reset(
    settings: Settings,
    topic: str,
    target: ResetTarget,
    wanted: Sequence[int] | None,
    *,
    execute: bool,
) -> tuple[list[Move], GroupState]:
    async with GroupOffsets(settings.kafka) as group:
        existing = await group.partitions(topic)
        unknown = sorted(set(wanted or ()) - set(existing))
        if unknown:
            fail(
                f"--partitions: {topic!r} has no partition "
                f"{', '.join(map(str, unknown))} (it has {len(existing)})"
            )
        positions = [
            p
            for p in await group.positions([topic])
            if wanted is None or p.partition in wanted
        ]
        found = None
        if target.kind == "datetime":
            chosen = [p.partition for p in positions]
            found = await group.offsets_at(topic, chosen, target.value)
        moves = plan_reset(
            target,
            positions,
            found_at_time=found,
            start_when_uncommitted=settings.kafka.auto_offset_reset,
        )
        state = await group.state()
        if execute:
            if state.active:
                raise GroupActiveError(state.group, state.state, len(state.members))
            await group.commit(topic, {m.partition: m.new for m in moves})
        return moves, state


def _datetime_target(text: str | None) -> ResetTarget | None:
    moment = epoch_ms("--to-datetime", text)
    return None if moment is None else ResetTarget("datetime", moment)


def _print_plan(
    settings: Settings, topic: str, target: ResetTarget, moves: Sequence[Move]
) -> None:
    table = Table(
        title=f"Reset of {settings.kafka.group_id} on {topic}, {target.describe()}"
    )
    for name in ("Partition", "Current", "New"):
        table.add_column(name, justify="right")
    table.add_column("Note")
    for move in moves:
        table.add_row(
            str(move.partition), _text(move.current), str(move.new), move.note
        )
    Console().print(table)


def _position_json(p: Position) -> dict[str, object]:
    return {
        "topic": p.topic,
        "partition": p.partition,
        "committed": p.committed,
        "start": p.start,
        "end": p.end,
        "lag": p.lag,
    }


def _text(value: int | None) -> str:
    return "-" if value is None else str(value)
