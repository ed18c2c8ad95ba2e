"""The admin HTTP port: liveness, readiness, metrics and synchronous invoke.

``GET /healthz`` answers 200 while the process serves requests at all.
``GET /readyz`` answers 200 only when this member has joined its consumer
group, a broker answers a metadata request and the ledger answers a query;
otherwise 503 with the reasons as JSON. ``GET /metrics`` is the Prometheus
text format. ``POST /invoke/{route}`` delivers the JSON event in the body
now and returns the endpoint's answer (see :mod:`omniout.invoke`).

The port opens first and closes last, so an orchestrator sees a starting or
stopping service as alive but not ready.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from omniout.config import AdminSettings
from omniout.errors import EventError, LedgerError
from omniout.invoke import Invocation, Invoker
from omniout.telemetry.metrics import Metrics

__all__ = ["AdminServer", "Readiness"]

logger = logging.getLogger(__name__)

Probe = Callable[[], Awaitable[object]]

DEFAULT_INVOKE_TIMEOUT = 30.0
MAX_INVOKE_TIMEOUT = 600.0

_INVOKE_STATUS = {"delivered": 200, "failed": 502, "timed-out": 504, "filtered": 422}


class Readiness:
    """What ``/readyz`` checks; the service fills it in as it starts.

    ``broker`` and ``ledger`` are probes that raise when their service does
    not answer; each is given ``probe_timeout`` seconds. Until a probe is
    set, ``broker_error`` (or "not connected") is the reason.
    """

    def __init__(self, probe_timeout: float = 2.0) -> None:
        self.probe_timeout = probe_timeout
        self.joined: asyncio.Event | None = None
        self.stopping: asyncio.Event | None = None
        self.broker: Probe | None = None
        self.ledger: Probe | None = None
        self.broker_error = "not connected yet"

    async def reasons(self) -> dict[str, str]:
        """Why the service is not ready; empty when it is."""
        broker, ledger = await asyncio.gather(
            self._probe(self.broker, self.broker_error),
            self._probe(self.ledger, "not open yet"),
        )
        reasons = {}
        if self.stopping is not None and self.stopping.is_set():
            reasons["service"] = "stopping"
        if broker is not None:
            reasons["broker"] = broker
        if ledger is not None:
            reasons["ledger"] = ledger
        if self.joined is None or not self.joined.is_set():
            reasons["group"] = "not joined"
        return reasons

    async def _probe(self, probe: Probe | None, missing: str) -> str | None:
        if probe is None:
            return missing
        try:
            async with asyncio.timeout(self.probe_timeout):
                await probe()
        except TimeoutError:
            return f"no answer within {self.probe_timeout:g}s"
        except Exception as exc:  # any failure of a probe means "not ready"
            return f"unreachable: {type(exc).__name__}"
        return None


class AdminServer:
    """Serves the admin port; ``start`` binds it, ``stop`` closes it.

    ``invoker`` is set once the service can deliver; before that ``POST
    /invoke`` answers 503.
    """

    def __init__(
        self, settings: AdminSettings, readiness: Readiness, metrics: Metrics
    ) -> None:
        self._settings = settings
        self._readiness = readiness
        self._metrics = metrics
        self.invoker: Invoker | None = None
        self.url = ""
        app = web.Application()
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/readyz", self._readyz)
        app.router.add_get("/metrics", self._metrics_text)
        app.router.add_post("/invoke/{route}", self._invoke)
        self._runner = web.AppRunner(app, access_log=None)

    async def start(self) -> str:
        """Bind the port (0: any free one) and return the base URL."""
        await self._runner.setup()
        site = web.TCPSite(self._runner, self._settings.host, self._settings.port)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.url = f"http://{host}:{port}"
        logger.info("Admin port listening on %s", self.url)
        return self.url

    async def stop(self) -> None:
        await self._runner.cleanup()

    async def _healthz(self, request: web.Request) -> web.Response:
        return _json({"status": "alive"})

    async def _readyz(self, request: web.Request) -> web.Response:
        reasons = await self._readiness.reasons()
        if reasons:
            return _json({"ready": False, "reasons": reasons}, status=503)
        return _json({"ready": True})

    async def _metrics_text(self, request: web.Request) -> web.Response:
        body = generate_latest(self._metrics.registry)
        response = web.Response(body=body)
        # aiohttp refuses a content type with parameters in content_type=.
        response.headers["Content-Type"] = CONTENT_TYPE_LATEST
        return response

    async def _invoke(self, request: web.Request) -> web.Response:
        invoker = self.invoker
        if invoker is None:
            return _error(503, "the service is still starting")
        name = request.match_info["route"]
        route = invoker.route(name)
        if route is None:
            known = ", ".join(invoker.route_names)
            return _error(404, f"no route named {name!r}; routes: {known}")
        timeout = _timeout(request.query.get("timeout"))
        if timeout is None:
            limit = f"{MAX_INVOKE_TIMEOUT:g}"
            return _error(400, f"timeout must be seconds, more than 0, at most {limit}")
        try:
            event = orjson.loads(await request.read())
        except orjson.JSONDecodeError as exc:
            return _error(400, f"the body is not JSON: {exc}")
        if not isinstance(event, dict):
            return _error(400, "the body must be a JSON object (one event)")
        parent = invoker.trace_context(request.headers)
        try:
            outcome = await invoker.invoke(route, event, within=timeout, context=parent)
        except EventError as exc:
            return _error(422, exc.reason, kind=exc.kind)
        except LedgerError as exc:
            return _error(503, f"delivered, but the ledger failed: {exc}")
        return _json(invocation_json(outcome), status=_INVOKE_STATUS[outcome.outcome])


def invocation_json(outcome: Invocation) -> dict[str, Any]:
    """The JSON form of an invocation, as ``POST /invoke`` returns it."""
    return {
        "route": outcome.route,
        "request_id": outcome.request_id,
        "outcome": outcome.outcome,
        "status": outcome.status,
        "headers": [list(pair) for pair in outcome.headers],
        "body": outcome.body.decode("utf-8", errors="replace"),
        "attempts": outcome.attempts,
        "error": outcome.error,
        "retriable": outcome.retriable,
        "trace_id": outcome.trace_id,
    }


def _timeout(text: str | None) -> float | None:
    if text is None:
        return DEFAULT_INVOKE_TIMEOUT
    try:
        value = float(text)
    except ValueError:
        return None
    if not math.isfinite(value) or not 0 < value <= MAX_INVOKE_TIMEOUT:
        return None
    return value


def _json(body: dict[str, Any], status: int = 200) -> web.Response:
    return web.Response(
        body=orjson.dumps(body), status=status, content_type="application/json"
    )


def _error(status: int, reason: str, **more: str) -> web.Response:
    return _json({"error": reason, **more}, status=status)
