"""OAuth 2.0 bearer tokens, fetched from a token endpoint and renewed.

:class:`OAuth2Credential` is what every grant shares; a subclass says what
its token request carries. :class:`OAuth2ClientCredentials` is the client
credentials grant (RFC 6749 section 4.4), the client authenticated by a
secret or by a signed JWT (``private_key_jwt``, RFC 7523 section 2.2).

The token request goes to the token endpoint over the credential's own
connections, so a client certificate applies there too (as RFC 8705 binds
tokens to it). Tokens are cached until shortly before
they expire (:mod:`omniout.deliver.auth.token`). When the endpoint answers
401 the token is replaced once and the request sent once more; a second 401
is the endpoint's answer.

A token that cannot be obtained fails the attempt as retriable: the event
is not at fault, so the route's retry policy decides when to give up. The
reasons never quote the token endpoint's body, which may echo the request.
"""

from __future__ import annotations

import abc
import base64
import logging
import re
import ssl
import time
from collections.abc import Callable
from typing import Literal
from urllib.parse import quote_plus, urlencode, urlsplit

import orjson

from omniout.deliver.auth.assertion import CLIENT_ASSERTION_TYPE, AssertionSigner
from omniout.deliver.auth.base import NamedCredential, with_headers
from omniout.deliver.auth.secret import Secret
from omniout.deliver.auth.token import ExpiryPolicy, Token, TokenCache
from omniout.deliver.request import OutboundRequest, Response
from omniout.deliver.retry import SendFn
from omniout.errors import DeliveryError

__all__ = ["OAuth2ClientCredentials", "OAuth2Credential", "parse_token_answer"]

logger = logging.getLogger(__name__)

# An OAuth error code is printable ASCII without quote or backslash (RFC 6749
# section 5.2); only a plain code is repeated in a reason.
_ERROR_CODE = re.compile(r"[A-Za-z0-9_.-]{1,64}")
# The token goes into a header field: visible ASCII only, no CR or LF.
_TOKEN_CHARS = re.compile(r"[\x21-\x7e]+")

Field = tuple[str, str]


def parse_token_answer(
    response: Response, *, obtained_at: float, default_expires_in: float, where: str
) -> Token:
    """The token in a token endpoint's answer (RFC 6749 section 5.1).

    Raises a retriable ``DeliveryError`` for an error answer (naming the
    status and the OAuth ``error`` code) or an answer without a usable
    ``access_token``; the reason never contains the body.
    """
    if not 200 <= response.status <= 299:
        code = _error_code(response.body)
        detail = f" ({code})" if code else ""
        raise DeliveryError(
            f"token endpoint {where} answered HTTP {response.status}{detail}",
            retriable=True,
            status=response.status,
        )
    try:
        answer = orjson.loads(response.body)
    except orjson.JSONDecodeError:
        answer = None
    if not isinstance(answer, dict):
        raise _bad_answer(where, "is not a JSON object")
    value = answer.get("access_token")
    if not isinstance(value, str) or not _TOKEN_CHARS.fullmatch(value):
        raise _bad_answer(where, "has no usable access_token")
    kind = answer.get("token_type", "Bearer")
    if not isinstance(kind, str) or kind.lower() != "bearer":
        raise _bad_answer(where, "is not a Bearer token")
    lifetime = _expires_in(answer.get("expires_in"), default_expires_in)
    return Token(Secret(f"Bearer {value}"), obtained_at, obtained_at + lifetime)


def _expires_in(value: object, default: float) -> float:
    # Some servers send the number as a string; a missing or odd value means
    # the documented lifetime is unknown, so the configured default applies.
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
        return float(value)
    return default


def _error_code(body: bytes) -> str:
    try:
        answer = orjson.loads(body)
    except orjson.JSONDecodeError:
        return ""
    code = answer.get("error") if isinstance(answer, dict) else None
    if isinstance(code, str) and _ERROR_CODE.fullmatch(code):
        return code
    return ""


def _bad_answer(where: str, what: str) -> DeliveryError:
    return DeliveryError(f"token endpoint {where} answer {what}", retriable=True)


class OAuth2Credential(NamedCredential, abc.ABC):
    """Sends ``Authorization: Bearer <token>`` with a token it keeps current.

    Subclasses say what the token request carries (:meth:`token_form`):
    the grant and how the client authenticates. ``clock`` is monotonic
    seconds, for token lifetimes.
    """

    __slots__ = (
        "_cache",
        "_clock",
        "_default_expires_in",
        "_send",
        "_timeout",
        "_token_url",
        "_where",
    )

    def __init__(
        self,
        name: str,
        *,
        token_url: str,
        timeout: float = 10.0,
        default_expires_in: float = 3600.0,
        tls: ssl.SSLContext | None = None,
        policy: ExpiryPolicy | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(name, tls)
        self._token_url = token_url
        self._timeout = timeout
        self._default_expires_in = default_expires_in
        parts = urlsplit(token_url)
        self._where = f"{parts.scheme}://{parts.netloc}{parts.path}"
        self._send: SendFn | None = None
        self._cache = TokenCache(name, self._fetch, policy, clock)
        self._clock = clock

    async def send(self, request: OutboundRequest, send: SendFn) -> Response:
        # The same send serves the token endpoint: same pool, same TLS.
        self._send = send
        token = await self._cache.get()
        response = await send(self._authorized(request, token))
        if response.status != 401:
            return response
        logger.info(
            "Endpoint refused the token of credential %r with HTTP 401; "
            "fetching a new one",
            self._name,
        )
        token = await self._cache.replace(token)
        return await send(self._authorized(request, token))

    async def aclose(self) -> None:
        await self._cache.aclose()

    @abc.abstractmethod
    def token_form(self) -> tuple[list[Field], list[Field]]:
        """The form fields and extra header fields of one token request.

        Called once per fetch, never per event; it may sign an assertion.
        """

    def token_request(self) -> OutboundRequest:
        """The request for a new token; built per fetch, never kept."""
        form, extra = self.token_form()
        headers = [
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("Accept", "application/json"),
            *extra,
        ]
        body = urlencode(form).encode("ascii")
        return OutboundRequest(
            "POST", self._token_url, tuple(headers), body, self._timeout
        )

    async def _fetch(self) -> Token:
        send = self._send
        if send is None:
            raise DeliveryError("no request has been sent yet", retriable=True)
        obtained_at = self._clock()
        try:
            response = await send(self.token_request())
        except DeliveryError as exc:
            raise DeliveryError(
                f"token endpoint {self._where}: {exc.reason}", retriable=True
            ) from None
        token = parse_token_answer(
            response,
            obtained_at=obtained_at,
            default_expires_in=self._default_expires_in,
            where=self._where,
        )
        logger.debug(
            "Fetched a token for credential %r, valid for %.0f s",
            self._name,
            token.expires_at - token.obtained_at,
        )
        return token

    @staticmethod
    def _authorized(request: OutboundRequest, token: Token) -> OutboundRequest:
        return with_headers(request, (("Authorization", token.authorization.reveal()),))


class OAuth2ClientCredentials(OAuth2Credential):
    """The client credentials grant, authenticated by a secret or a JWT.

    Give exactly one of ``client_secret`` (sent as ``client_auth`` says)
    or ``client_assertion``, which signs a ``private_key_jwt`` assertion
    (RFC 7523 section 2.2) for each token request.
    """

    __slots__ = ("_audience", "_client_auth", "_client_id", "_proof", "_scope")

    def __init__(
        self,
        name: str,
        *,
        token_url: str,
        client_id: str,
        client_secret: Secret | None = None,
        client_assertion: AssertionSigner | None = None,
        scope: str | None = None,
        audience: str | None = None,
        client_auth: Literal["header", "body"] = "header",
        timeout: float = 10.0,
        default_expires_in: float = 3600.0,
        tls: ssl.SSLContext | None = None,
        policy: ExpiryPolicy | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        proof = _one_proof(client_secret, client_assertion)
        super().__init__(
            name,
            token_url=token_url,
            timeout=timeout,
            default_expires_in=default_expires_in,
            tls=tls,
            policy=policy,
            clock=clock,
        )
        self._client_id = client_id
        self._proof = proof
        self._scope = scope
        self._audience = audience
        self._client_auth = client_auth

    def token_form(self) -> tuple[list[Field], list[Field]]:
        form = [("grant_type", "client_credentials")]
        if self._scope:
            form.append(("scope", self._scope))
        if self._audience:
            form.append(("audience", self._audience))
        if isinstance(self._proof, AssertionSigner):
            form += [
                ("client_id", self._client_id),
                ("client_assertion_type", CLIENT_ASSERTION_TYPE),
                ("client_assertion", self._proof.sign().reveal()),
            ]
            return form, []
        secret = self._proof.reveal()
        if self._client_auth == "body":
            form += [("client_id", self._client_id), ("client_secret", secret)]
            return form, []
        # Both parts are form-encoded before base64 (section 2.3.1).
        pair = f"{quote_plus(self._client_id)}:{quote_plus(secret)}"
        basic = base64.b64encode(pair.encode()).decode("ascii")
        return form, [("Authorization", f"Basic {basic}")]


def _one_proof(
    secret: Secret | None, assertion: AssertionSigner | None
) -> Secret | AssertionSigner:
    if secret is not None and assertion is None:
        return secret
    if assertion is not None and secret is None:
        return assertion
    raise ValueError("give exactly one of client_secret or client_assertion")
