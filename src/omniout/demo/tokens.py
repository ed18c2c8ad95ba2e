"""The demo receiver's OAuth 2.0 side: it issues tokens and checks them.

One client, known by its id and secret, gets bearer tokens by the client
credentials grant (RFC 6749 section 4.4), authenticated either in a Basic
header or in the form body (section 2.3.1). A token is good for
``lifetime`` seconds; the order route accepts a request only with a
current one (RFC 6750). Tokens are numbered so that the demo can say which
token a request carried without printing the token itself.

This is a demo's issuer: tokens live in memory, and the lifetime is short
so that renewal is something one can watch.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import unquote_plus

__all__ = ["NO_TOKEN", "Grant", "Issued", "Refusal", "TokenIssuer"]

# Why a request without a bearer token at all is refused.
NO_TOKEN = "no bearer token"


@dataclass(frozen=True, slots=True)
class Issued:
    """A token handed out: its number, client, the token and its lifetime."""

    number: int
    client_id: str
    access_token: str
    expires_in: int
    scope: str

    def answer(self) -> dict[str, object]:
        """The token endpoint's JSON answer (RFC 6749 section 5.1)."""
        answer: dict[str, object] = {
            "access_token": self.access_token,
            "token_type": "Bearer",
            "expires_in": self.expires_in,
        }
        if self.scope:
            answer["scope"] = self.scope
        return answer


@dataclass(frozen=True, slots=True)
class Refusal:
    """A request refused: the HTTP status and the OAuth error code."""

    status: int
    error: str
    description: str

    def answer(self) -> dict[str, object]:
        """The error answer (RFC 6749 section 5.2)."""
        return {"error": self.error, "error_description": self.description}


@dataclass(frozen=True, slots=True)
class Grant:
    """A current token presented with a request."""

    number: int
    seconds_left: float


@dataclass(frozen=True, slots=True)
class _Entry:
    number: int
    expires_at: float


class TokenIssuer:
    """Issues tokens to one client and recognises them while they last.

    ``clock`` is monotonic seconds; tests give their own.
    """

    def __init__(
        self,
        client_id: str,
        client_secret: str,
        lifetime: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client_id = client_id
        self._secret = client_secret
        self._lifetime = lifetime
        self._clock = clock
        self._tokens: dict[str, _Entry] = {}
        self._issued = 0

    def issue(
        self, form: Mapping[str, str], authorization: str | None
    ) -> Issued | Refusal:
        """Answer one token request: its form fields and Authorization header."""
        if not self._authenticated(form, authorization):
            return Refusal(401, "invalid_client", "unknown client or wrong secret")
        grant = form.get("grant_type")
        if grant != "client_credentials":
            return Refusal(
                400, "unsupported_grant_type", f"only client_credentials, not {grant}"
            )
        now = self._clock()
        # Expired tokens are forgotten here, so that memory stays bounded.
        self._tokens = {t: e for t, e in self._tokens.items() if e.expires_at > now}
        self._issued += 1
        token = secrets.token_urlsafe(24)
        self._tokens[token] = _Entry(self._issued, now + self._lifetime)
        scope = form.get("scope", "")
        return Issued(self._issued, self._client_id, token, self._lifetime, scope)

    def check(self, authorization: str | None) -> Grant | str:
        """The grant of a request's bearer token, or why there is none."""
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            return NO_TOKEN
        entry = self._tokens.get(token.strip())
        if entry is None:
            return "unknown or expired token"
        left = entry.expires_at - self._clock()
        if left <= 0:
            return f"token #{entry.number} has expired"
        return Grant(entry.number, left)

    def _authenticated(
        self, form: Mapping[str, str], authorization: str | None
    ) -> bool:
        if authorization and authorization.lower().startswith("basic "):
            try:
                pair = base64.b64decode(authorization[6:], validate=True).decode()
            except (binascii.Error, UnicodeDecodeError):
                return False
            client_id, _, secret = pair.partition(":")
            # Both parts are form-encoded before base64 (section 2.3.1).
            return self._known(unquote_plus(client_id), unquote_plus(secret))
        return self._known(form.get("client_id", ""), form.get("client_secret", ""))

    def _known(self, client_id: str, secret: str) -> bool:
        same_id = hmac.compare_digest(client_id.encode(), self._client_id.encode())
        same_secret = hmac.compare_digest(secret.encode(), self._secret.encode())
        return same_id and same_secret
