"""A local HTTP server in a subprocess, for the benchmarks that send to one.

The server runs in a process of its own so that client and server do not
share a core's event loop. A benchmark script that supports ``--serve``
calls :func:`serve` there; the parent uses :func:`subprocess_server`, which
starts the script with ``--serve``, waits for the port it prints, and stops
it by closing its standard input. All traffic stays on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aiohttp import web

__all__ = ["hook_app", "serve", "subprocess_server"]


async def _accept(request: web.Request) -> web.Response:
    await request.read()
    return web.Response(body=b'{"ok": true}', content_type="application/json")


def hook_app() -> web.Application:
    """An app that answers every POST to ``/hook`` at once with a small body."""
    app = web.Application()
    app.router.add_post("/hook", _accept)
    return app


async def serve(app: web.Application) -> None:
    """Serve ``app`` on a free port, print the port, run until stdin closes."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0, backlog=1024).start()
    print(runner.addresses[0][1], flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    await runner.cleanup()


@asynccontextmanager
async def subprocess_server(script: str) -> AsyncIterator[str]:
    """Run ``script --serve`` and yield its base URL, ``http://127.0.0.1:PORT``."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        script,
        "--serve",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    assert process.stdin is not None
    assert process.stdout is not None
    try:
        port = int(await asyncio.wait_for(process.stdout.readline(), 10))
        yield f"http://127.0.0.1:{port}"
    finally:
        process.stdin.close()
        try:
            await asyncio.wait_for(process.wait(), 5)
        except TimeoutError:
            process.terminate()
            await process.wait()
