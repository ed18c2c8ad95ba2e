"""The HTTP client: one connection pool, one attempt per ``send``.

A ``Deliverer`` owns httpx's aiohttp transport (httpx's request and response
models, aiohttp's faster connection handling) and hands it each request
itself: what ``httpx.AsyncClient`` adds on top (cookies, redirects, auth,
merging of defaults) is nothing omniout uses, and measured on the hot path it
cost more than the transport (benchmarks/bench_end_to_end.py --profile).
``send`` turns every failure to get an answer into a ``DeliveryError``;
``deliver`` adds the retry loop of ``omniout.deliver.retry``. Open one per
process and share it: the pool is the point.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import time
from collections.abc import Mapping
from types import TracebackType

import aiohttp
import httpx
from httpx_aiohttp import AiohttpTransport
from opentelemetry.trace import NoOpTracer, Tracer

from omniout.deliver.auth.base import Credential
from omniout.deliver.limits import EndpointLimiter, read_bounded, too_large_reason
from omniout.deliver.policy import RetryPolicy
from omniout.deliver.request import OutboundRequest, Response
from omniout.deliver.retry import (
    AttemptHook,
    DeliveryResult,
    SendFn,
    SleepFn,
    deliver_with_retries,
)
from omniout.deliver.tracing import TracedAttempts
from omniout.errors import DeliveryError

__all__ = ["CertFiles", "Deliverer"]

logger = logging.getLogger(__name__)

USER_AGENT = "omniout"

# A client certificate: the PEM file holding it (and its key), or
# (certfile, keyfile) or (certfile, keyfile, password).
CertFiles = str | tuple[str, str] | tuple[str, str, str]

# Faults in the request itself: sending it again cannot help. ValueError is
# how aiohttp refuses a header value with CR or LF in it (no header injection)
# and how httpx refuses a non-ASCII one.
_UNSENDABLE = (
    httpx.InvalidURL,
    httpx.UnsupportedProtocol,
    httpx.LocalProtocolError,
    ValueError,
)
# No answer this time; the next attempt may get one.
_NO_ANSWER = (TimeoutError, httpx.HTTPError, aiohttp.ClientError)


class Deliverer:
    """Sends outbound requests over one shared, pooled HTTP client.

    ``verify`` is ``True`` (the system's trust store), ``False`` (no
    certificate check) or an ``ssl.SSLContext``; ``cert`` adds a client
    certificate for mutual TLS (loaded into that context). At most
    ``max_connections`` connections are open at once in each pool.
    ``sleep`` is what the retry loop awaits between attempts. Redirects are
    not followed and cookies are never kept. ``tracer`` makes one CLIENT
    span per attempt of ``deliver`` and sends its trace context in the
    service's formats. Call ``aclose`` when done.

    ``credentials`` are the opened credentials that requests name. Each
    distinct TLS context among them gets a pool of its own (a client
    certificate is a property of the connection), created here once; a
    credential without TLS settings uses the default pool.

    ``limits`` are the endpoint limiters by key. An attempt whose request
    names one of them waits on it first: outside the attempt's timeout and
    before it takes a connection from the pool.
    """

    def __init__(
        self,
        *,
        verify: bool | ssl.SSLContext = True,
        cert: CertFiles | None = None,
        max_connections: int = 100,
        sleep: SleepFn = asyncio.sleep,
        credentials: Mapping[str, Credential] | None = None,
        tracer: Tracer | None = None,
        limits: Mapping[str, EndpointLimiter] | None = None,
    ) -> None:
        self._tracer = tracer or NoOpTracer()
        self._limits = dict(limits or {})
        self._max_connections = max_connections
        self._sleep = sleep
        self._pool = self._open_transport(_ssl_context(verify, cert))
        self._tls_pools: dict[ssl.SSLContext, AiohttpTransport] = {}
        self._credentials: dict[str, tuple[Credential, SendFn]] = {}
        for name, credential in (credentials or {}).items():
            self._credentials[name] = (credential, self._sender(credential))

    async def __aenter__(self) -> Deliverer:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close every pooled connection; the deliverer is unusable after."""
        for credential, _ in self._credentials.values():
            await credential.aclose()
        for pool in self._tls_pools.values():
            await pool.aclose()
        await self._pool.aclose()

    async def send(self, request: OutboundRequest) -> Response:
        """Make one attempt and return whatever status the endpoint answered.

        Raises ``DeliveryError`` when no answer came: ``retriable=True`` for a
        timeout or a connection failure, ``False`` for a request that cannot
        be sent at all (bad URL, scheme or header). Never raises httpx's or
        aiohttp's own exceptions. A request that names a credential is sent
        through it, which may send it twice (see ``Credential.send``).
        """
        if request.credential is None:
            return await self._attempt(self._pool, request)
        found = self._credentials.get(request.credential)
        if found is None:
            reason = f"no credential named {request.credential!r} is open"
            raise _attempt_error(reason, False, time.time())
        credential, send = found
        return await credential.send(request, send)

    def _sender(self, credential: Credential) -> SendFn:
        """One attempt over the pool that fits the credential's TLS settings."""
        pool = self._pool
        context = credential.tls
        if context is not None:
            if context not in self._tls_pools:
                self._tls_pools[context] = self._open_transport(context)
            pool = self._tls_pools[context]

        async def send(request: OutboundRequest) -> Response:
            return await self._attempt(pool, request, scrub=True)

        return send

    async def _attempt(
        self,
        pool: AiohttpTransport,
        request: OutboundRequest,
        *,
        scrub: bool = False,
    ) -> Response:
        limiter = None if request.limit is None else self._limits.get(request.limit)
        if limiter is None:
            return await self._timed(pool, request, scrub)
        await limiter.acquire()
        try:
            return await self._timed(pool, request, scrub)
        finally:
            limiter.release()

    async def _timed(
        self, pool: AiohttpTransport, request: OutboundRequest, scrub: bool
    ) -> Response:
        # With ``scrub`` the library's exception is not chained: its message
        # may quote the URL, which can hold a credential's query parameter.
        started_at = time.time()
        began = time.perf_counter()
        try:
            async with asyncio.timeout(request.timeout):
                answer, body = await self._exchange(pool, request)
        except _UNSENDABLE as exc:
            # The class only: messages may quote the URL or a header value.
            reason = f"request cannot be sent: {type(exc).__name__}"
            raise _attempt_error(reason, False, started_at) from _cause(exc, scrub)
        except _NO_ANSWER as exc:
            reason = _no_answer_reason(exc, request.timeout)
            raise _attempt_error(reason, True, started_at) from _cause(exc, scrub)
        if body is None:
            # Permanent: the endpoint answered, and would answer alike again.
            reason = too_large_reason(answer.status_code, request.max_response_bytes)
            raise _attempt_error(reason, False, started_at)
        return Response(
            status=answer.status_code,
            headers=tuple(answer.headers.multi_items()),
            body=body,
            elapsed=time.perf_counter() - began,
        )

    async def deliver(
        self,
        request: OutboundRequest,
        policy: RetryPolicy,
        *,
        on_attempt: AttemptHook | None = None,
    ) -> DeliveryResult:
        """Send ``request`` with retries as ``policy`` allows.

        Returns on a 2xx answer. Raises ``DeliveryError`` with
        ``retriable=False`` on a permanent refusal and ``retriable=True`` when
        the retry budget is spent; either way it carries the last status, a
        body excerpt, the attempt count and the first and last attempt times.
        """
        attempts = TracedAttempts(self._tracer, self.send, on_attempt)
        return await deliver_with_retries(
            attempts.send,
            request,
            policy,
            sleep=self._sleep,
            on_attempt=attempts.report,
        )

    async def _exchange(
        self, transport: AiohttpTransport, request: OutboundRequest
    ) -> tuple[httpx.Response, bytes | None]:
        """The answer and its body, ``None`` when it is over the size bound."""
        headers = list(request.headers)
        if not any(name.lower() == "user-agent" for name, _ in headers):
            headers.append(("User-Agent", USER_AGENT))
        # httpx.Request adds Host and Content-Length, as a client would.
        outgoing = httpx.Request(
            request.method,
            request.url,
            headers=headers,
            content=request.body,
            extensions={"timeout": httpx.Timeout(request.timeout).as_dict()},
        )
        answer = await transport.handle_async_request(outgoing)
        try:
            body = await read_bounded(answer, request.max_response_bytes)
        finally:
            await answer.aclose()
        return answer, body

    def _open_transport(self, context: ssl.SSLContext) -> AiohttpTransport:
        def open_session() -> aiohttp.ClientSession:
            # Called by the transport on first use, inside the running loop.
            connector = aiohttp.TCPConnector(limit=self._max_connections, ssl=context)
            return aiohttp.ClientSession(
                connector=connector,
                cookie_jar=aiohttp.DummyCookieJar(),
                # Send the caller's headers only: no guessed Content-Type.
                skip_auto_headers=("Content-Type",),
            )

        # No client around the transport: no cookies are kept, no redirect
        # is followed, and no proxy or setting is taken from the environment.
        return AiohttpTransport(verify=context, client=open_session)


def _ssl_context(
    verify: bool | ssl.SSLContext, cert: CertFiles | None
) -> ssl.SSLContext:
    if isinstance(verify, ssl.SSLContext):
        context = verify
    else:
        context = ssl.create_default_context()
        if not verify:
            logger.warning("TLS certificate verification is off for outbound requests")
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
    if isinstance(cert, str):
        context.load_cert_chain(cert)
    elif cert is not None:
        context.load_cert_chain(*cert)
    return context


def _cause(exc: Exception, scrub: bool) -> Exception | None:
    return None if scrub else exc


def _no_answer_reason(exc: Exception, timeout: float) -> str:
    if isinstance(exc, TimeoutError) or isinstance(exc.__cause__, TimeoutError):
        return f"timed out after {float(timeout)}s"
    # The transport re-raises aiohttp's errors as httpx ones; name the original.
    cause = exc.__cause__ if isinstance(exc.__cause__, aiohttp.ClientError) else exc
    if isinstance(cause, aiohttp.ClientResponseError):
        # Its text quotes the full URL, which may carry a credential.
        return f"connection failed: {type(cause).__name__}: {cause.message}"
    return f"connection failed: {type(cause).__name__}: {cause}"


def _attempt_error(reason: str, retriable: bool, started_at: float) -> DeliveryError:
    return DeliveryError(
        reason,
        retriable=retriable,
        attempts=1,
        first_attempt_at=started_at,
        last_attempt_at=started_at,
    )
