"""Helpers that drive the ``omniout`` command as real processes.

The command is the console script of the virtualenv that runs the tests.
Variables named ``OMNIOUT_...`` are removed from the children's environment,
so that only the config file a test writes decides what they do.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

__all__ = ["OMNIOUT", "Finished", "Service", "omniout", "write_config"]

OMNIOUT = Path(sys.executable).parent / "omniout"


def child_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OMNIOUT_")}
    env.update(extra)
    return env


def write_config(path: Path, config: dict[str, Any]) -> Path:
    """Write ``config`` as YAML to ``path`` and return the path."""
    text = yaml.safe_dump(_plain(config), sort_keys=False)
    path.write_text(text, encoding="utf-8")
    return path


def _plain(node: Any) -> Any:
    if isinstance(node, dict):
        return {str(k): _plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_plain(v) for v in node]
    if isinstance(node, Path):
        return str(node)
    return node


@dataclass(frozen=True, slots=True)
class Finished:
    code: int
    stdout: str
    stderr: str


async def omniout(
    *args: str | Path, stdin: bytes | None = None, within: float = 60
) -> Finished:
    """Run one ``omniout`` command to its end."""
    process = await asyncio.create_subprocess_exec(
        OMNIOUT,
        *map(str, args),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=child_env(),
    )
    out, err = await asyncio.wait_for(process.communicate(stdin or b""), within)
    assert process.returncode is not None
    return Finished(process.returncode, out.decode(), err.decode())


class Service:
    """One ``omniout run`` process; its log lines are kept in ``lines``."""

    def __init__(self, config: Path, name: str = "omniout") -> None:
        self.config = config
        self.name = name
        self.lines: list[str] = []
        self._process: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None

    async def start(self) -> Service:
        self._process = await asyncio.create_subprocess_exec(
            OMNIOUT,
            "run",
            "-c",
            str(self.config),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
            env=child_env(),
        )
        self._reader = asyncio.create_task(self._read(self._process))
        return self

    async def _read(self, process: asyncio.subprocess.Process) -> None:
        assert process.stderr is not None
        async for line in process.stderr:
            self.lines.append(line.decode(errors="replace").rstrip())

    @property
    def process(self) -> asyncio.subprocess.Process:
        assert self._process is not None, "the service was not started"
        return self._process

    @property
    def log(self) -> str:
        return "\n".join(self.lines)

    def count(self, text: str) -> int:
        return sum(text in line for line in self.lines)

    async def wait_for_line(self, text: str, within: float = 30) -> str:
        """The first log line holding ``text``; fail if none comes in time."""
        deadline = time.monotonic() + within
        while True:
            for line in self.lines:
                if text in line:
                    return line
            if self.process.returncode is not None:
                raise AssertionError(f"{self.name} exited:\n{self.log}")
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.name} never logged {text!r}:\n{self.log}")
            await asyncio.sleep(0.05)

    def signal(self, sig: signal.Signals) -> None:
        self.process.send_signal(sig)

    async def wait(self, within: float = 30) -> int:
        """Wait for the exit and the end of its log; return the exit code."""
        code = await asyncio.wait_for(self.process.wait(), within)
        if self._reader is not None:
            await asyncio.wait_for(self._reader, within)
        return code

    async def stop(self, within: float = 30) -> int:
        """SIGTERM, then wait for the exit; return the exit code."""
        self.signal(signal.SIGTERM)
        return await self.wait(within)

    async def kill(self) -> None:
        """SIGKILL, then wait until the process is gone."""
        self.signal(signal.SIGKILL)
        await self.wait()

    async def __aenter__(self) -> Service:
        return await self.start()

    async def __aexit__(self, *exc_info: object) -> None:
        # Whatever a test did, no process outlives it.
        if self._process is not None and self._process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self._process.kill()
            await self._process.wait()
        if self._reader is not None:
            await self._reader
