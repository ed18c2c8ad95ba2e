"""Helpers that drive the ``omniout`` command line as a real subprocess."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import orjson
import yaml

from omniout.config import Settings
from omniout.service import serve

OMNIOUT = Path(sys.executable).parent / "omniout"


@dataclass(frozen=True, slots=True)
class Result:
    code: int
    out: str
    err: str

    def json(self) -> object:
        return orjson.loads(self.out)


def write_config(config: Settings, path: Path) -> Path:
    """Write ``config`` as the YAML file the commands read."""
    document = config.model_dump(mode="json", by_alias=True, exclude_defaults=True)
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    return path


async def omniout(*args: str, within: float = 30) -> Result:
    """Run ``omniout ARGS`` to its end; a wide terminal keeps tables whole."""
    process = await asyncio.create_subprocess_exec(
        str(OMNIOUT),
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"},
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=within)
    assert process.returncode is not None
    return Result(process.returncode, out.decode(), err.decode())


@contextlib.asynccontextmanager
async def running_command(
    *args: str, log: Path
) -> AsyncIterator[asyncio.subprocess.Process]:
    """``omniout ARGS`` in the background, its output in ``log`` (a pipe nobody
    reads would fill and block it); SIGTERM, a graceful stop, at the end."""
    with log.open("wb") as output:
        process = await asyncio.create_subprocess_exec(
            str(OMNIOUT),
            *args,
            stdout=output,
            stderr=output,
            env={"PATH": "/usr/bin:/bin"},
        )
        try:
            yield process
        finally:
            if process.returncode is None:
                process.send_signal(signal.SIGTERM)
            await asyncio.wait_for(process.wait(), timeout=30)


@contextlib.asynccontextmanager
async def serving(config: Settings, *, redeliver: bool = False) -> AsyncIterator[None]:
    """The service in this event loop, as ``omniout run [--redeliver]`` runs it."""
    stopping = asyncio.Event()
    task = asyncio.create_task(
        serve(config, config_file="test.yaml", stopping=stopping, redeliver=redeliver)
    )
    try:
        yield
    finally:
        stopping.set()
        await asyncio.wait_for(task, timeout=30)
