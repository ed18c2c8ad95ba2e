"""A real OAuth 2.0 token endpoint and a resource that checks its tokens.

One aiohttp server on 127.0.0.1: ``POST /oauth2/token`` issues short-lived
bearer tokens by the client credentials grant, to a client authenticated in
a Basic header or in the form body; ``/api/...`` answers 200 to a current
token and 401 to anything else. A test can revoke the tokens issued so far
or make the resource refuse every token.
"""

from __future__ import annotations

import base64
import time
import uuid
from dataclasses import dataclass
from typing import Self
from urllib.parse import unquote_plus

from aiohttp import web

__all__ = ["Fetch", "TokenServer"]


@dataclass(frozen=True, slots=True)
class Fetch:
    """One token request as the server saw it."""

    client_auth: str  # "header", "body", "none", or an assertion grant
    form: dict[str, str]


class TokenServer:
    """``async with TokenServer(id, secret) as server``; ``server.url``."""

    token_path = "/oauth2/token"

    def __init__(self, client_id: str, client_secret: str, expires_in: int) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.expires_in = expires_in
        self.fetches: list[Fetch] = []
        self.api_statuses: list[int] = []
        self.api_tokens: list[str] = []
        self.refuse_all = False
        self._issued: dict[str, float] = {}
        self._revoked: set[str] = set()
        self._runner: web.AppRunner | None = None
        self.url = ""

    def revoke_all(self) -> None:
        self._revoked.update(self._issued)

    async def _token(self, request: web.Request) -> web.Response:
        form = {k: str(v) for k, v in (await request.post()).items()}
        how = self._client_auth(request, form)
        self.fetches.append(Fetch(how, form))
        if how == "none" or form.get("grant_type") != "client_credentials":
            # Error bodies that echo what was sent exist; the client must
            # never repeat them.
            given = form.get("client_secret", request.headers.get("Authorization"))
            return web.json_response(
                {"error": "invalid_client", "error_description": f"bad: {given}"},
                status=401,
            )
        return self.issue()

    def issue(self) -> web.Response:
        """The answer that grants a new token, recorded for ``/api``."""
        token = f"tok-{uuid.uuid4().hex}"
        self._issued[token] = time.monotonic()
        return web.json_response(
            {
                "access_token": token,
                "token_type": "bearer",
                "expires_in": self.expires_in,
            }
        )

    def _client_auth(self, request: web.Request, form: dict[str, str]) -> str:
        header = request.headers.get("Authorization", "")
        if header.startswith("Basic "):
            pair = base64.b64decode(header[6:]).decode()
            client_id, _, secret = pair.partition(":")
            ok = (unquote_plus(client_id), unquote_plus(secret)) == (
                self.client_id,
                self.client_secret,
            )
            return "header" if ok else "none"
        given = (form.get("client_id"), form.get("client_secret"))
        return "body" if given == (self.client_id, self.client_secret) else "none"

    async def _api(self, request: web.Request) -> web.Response:
        header = request.headers.get("Authorization", "")
        token = header.removeprefix("Bearer ")
        self.api_tokens.append(token)
        issued = self._issued.get(token)
        current = (
            issued is not None
            and token not in self._revoked
            and time.monotonic() - issued < self.expires_in
        )
        status = 200 if current and not self.refuse_all else 401
        self.api_statuses.append(status)
        return web.Response(status=status, text="ok" if status == 200 else "no")

    async def __aenter__(self) -> Self:
        app = web.Application()
        app.router.add_post(self.token_path, self._token)
        app.router.add_route("*", "/api/{tail:.*}", self._api)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}"
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
