"""The OAuth 2.0 JWT bearer grant: a signed assertion in exchange for a token.

RFC 7523 section 2.1, as the CRM platform's server-to-server flow uses it:
the token request carries ``grant_type`` ``urn:ietf:params:oauth:grant-type:
jwt-bearer`` and ``assertion``, a JWT whose ``iss`` is the client id (the
connected app's consumer key), ``sub`` the user the service acts as and
``aud`` the authorization server. No client secret is sent: the signature
proves the client, and the user has approved the client beforehand.

Tokens are cached, renewed and replaced after a 401 as for every OAuth2
credential (:class:`~omniout.deliver.auth.oauth2.OAuth2Credential`); an
assertion is signed only when a token is fetched.
"""

from __future__ import annotations

import ssl
import time
from collections.abc import Callable

from omniout.deliver.auth.assertion import JWT_BEARER_GRANT, AssertionSigner
from omniout.deliver.auth.oauth2 import Field, OAuth2Credential
from omniout.deliver.auth.token import ExpiryPolicy

__all__ = ["OAuth2JwtBearer"]


class OAuth2JwtBearer(OAuth2Credential):
    """Sends bearer tokens obtained with a signed JWT assertion.

    ``assertion`` signs a new assertion for each token request; ``scope``
    is sent when given (the CRM platform ignores it and grants the scopes
    of the connected app).
    """

    __slots__ = ("_assertion", "_scope")

    def __init__(
        self,
        name: str,
        *,
        token_url: str,
        assertion: AssertionSigner,
        scope: str | None = None,
        timeout: float = 10.0,
        default_expires_in: float = 3600.0,
        tls: ssl.SSLContext | None = None,
        policy: ExpiryPolicy | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(
            name,
            token_url=token_url,
            timeout=timeout,
            default_expires_in=default_expires_in,
            tls=tls,
            policy=policy,
            clock=clock,
        )
        self._assertion = assertion
        self._scope = scope

    def token_form(self) -> tuple[list[Field], list[Field]]:
        form = [
            ("grant_type", JWT_BEARER_GRANT),
            ("assertion", self._assertion.sign().reveal()),
        ]
        if self._scope:
            form.append(("scope", self._scope))
        return form, []
