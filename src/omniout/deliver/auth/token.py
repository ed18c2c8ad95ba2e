"""Access tokens: when to renew them, and one renewal at a time.

:class:`ExpiryPolicy` is pure: given a token and the time, a token is
``fresh`` (use it), ``renew`` (use it, and fetch the next one in the
background) or ``expired`` (wait for the next one). :class:`TokenCache`
applies it with an injected monotonic clock, and makes every caller that
needs a new token wait on the same fetch (single flight), so a burst of
events or of 401 answers costs one request to the token endpoint.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal

from omniout.deliver.auth.secret import Secret
from omniout.errors import DeliveryError

__all__ = ["ExpiryPolicy", "Token", "TokenCache", "TokenState"]

logger = logging.getLogger(__name__)

TokenState = Literal["fresh", "renew", "expired"]
Fetch = Callable[[], Awaitable["Token"]]


@dataclass(frozen=True, slots=True)
class Token:
    """An access token and its life, in seconds of the cache's clock.

    ``authorization`` is the whole header value, ``Bearer <token>``.
    """

    authorization: Secret
    obtained_at: float
    expires_at: float


@dataclass(frozen=True, slots=True)
class ExpiryPolicy:
    """How early a token is renewed, and when it is no longer sent.

    Renewal starts when ``renew_fraction`` of the lifetime is left (at most
    ``max_renew_ahead`` seconds before expiry); the token stops being sent
    when ``margin_fraction`` of it is left (at most ``max_margin`` seconds),
    so that a request in flight, or a clock that runs a little fast at the
    server, does not arrive with an expired token.
    """

    renew_fraction: float = 0.5
    max_renew_ahead: float = 300.0
    margin_fraction: float = 0.1
    max_margin: float = 30.0

    def state(self, token: Token, now: float) -> TokenState:
        lifetime = token.expires_at - token.obtained_at
        margin = min(self.max_margin, lifetime * self.margin_fraction)
        if now >= token.expires_at - margin:
            return "expired"
        ahead = min(self.max_renew_ahead, lifetime * self.renew_fraction)
        if now >= token.expires_at - ahead:
            return "renew"
        return "fresh"


class TokenCache:
    """Holds the current token of one credential and renews it.

    ``fetch`` gets a new token or raises ``DeliveryError``. A renewal that
    fails in the background is logged and leaves the current token in use
    until it expires; a renewal someone waits for raises to every waiter.
    """

    __slots__ = ("_clock", "_fetch", "_name", "_pending", "_policy", "_token")

    def __init__(
        self,
        name: str,
        fetch: Fetch,
        policy: ExpiryPolicy | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._name = name
        self._fetch = fetch
        self._policy = policy or ExpiryPolicy()
        self._clock = clock
        self._token: Token | None = None
        self._pending: asyncio.Task[Token] | None = None

    async def get(self) -> Token:
        """A token to send now; waits only when there is none still good."""
        token = self._token
        if token is not None:
            state = self._policy.state(token, self._clock())
            if state == "fresh":
                return token
            if state == "renew":
                self._renewal()
                return token
        return await asyncio.shield(self._renewal())

    async def replace(self, rejected: Token) -> Token:
        """A new token after the endpoint refused ``rejected`` (HTTP 401).

        If another caller has replaced it already, that token is returned
        without another fetch.
        """
        current = self._token
        if current is not None and current is not rejected:
            return current
        self._token = None
        return await asyncio.shield(self._renewal())

    async def aclose(self) -> None:
        """Stop a renewal in progress; called once, at shutdown."""
        task = self._pending
        if task is None:
            return
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, DeliveryError):
            await task

    def _renewal(self) -> asyncio.Task[Token]:
        task = self._pending
        if task is None:
            task = asyncio.get_running_loop().create_task(self._store())
            task.add_done_callback(self._finished)
            self._pending = task
        return task

    async def _store(self) -> Token:
        token = await self._fetch()
        self._token = token
        return token

    def _finished(self, task: asyncio.Task[Token]) -> None:
        self._pending = None
        if task.cancelled():
            return
        error = task.exception()
        if isinstance(error, DeliveryError):
            logger.warning(
                "Token renewal for credential %r failed: %s", self._name, error.reason
            )
        elif error is not None:
            logger.error(
                "Token renewal for credential %r failed: %s",
                self._name,
                type(error).__name__,
            )
