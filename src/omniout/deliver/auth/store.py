"""Opening the configured credentials: secrets read, TLS contexts built.

:func:`open_credentials` runs once, when the service starts, before anything
connects. Every secret is read from its variable or file here and nowhere
else; what cannot be read, or will not fit where it is sent, raises
``ConfigError`` naming the key.
"""

from __future__ import annotations

import os
import re
import ssl
from collections.abc import Mapping

from omniout.deliver.auth.api_key import ApiKey
from omniout.deliver.auth.assertion import AssertionClaims, AssertionSigner
from omniout.deliver.auth.base import Credential, HeaderCredential
from omniout.deliver.auth.basic import BasicAuth
from omniout.deliver.auth.bearer import BearerToken
from omniout.deliver.auth.jwt_bearer import OAuth2JwtBearer
from omniout.deliver.auth.oauth2 import OAuth2ClientCredentials
from omniout.deliver.auth.secret import Secret, read_secret
from omniout.deliver.auth.settings import (
    ApiKeySettings,
    BasicSettings,
    BearerSettings,
    CredentialSettings,
    HmacSettings,
    JwtBearerSettings,
    NoAuthSettings,
    OAuth2Settings,
    SecretRef,
)
from omniout.deliver.auth.signature import WebhookSignature
from omniout.deliver.auth.signing_key import SigningKey, load_signing_key
from omniout.deliver.auth.tls import TlsContexts
from omniout.errors import ConfigError

__all__ = ["open_credentials"]

# What a credential may put in a header field value: visible ASCII with
# inner spaces (RFC 9110 section 5.5), so never CR or LF.
_FIELD_VALUE = re.compile(r"[\x21-\x7e]([\x20-\x7e]*[\x21-\x7e])?")


def open_credentials(
    settings: Mapping[str, CredentialSettings],
    *,
    file: str,
    environ: Mapping[str, str] = os.environ,
) -> dict[str, Credential]:
    """Every configured credential, by name, ready for the deliverer.

    Raises ``ConfigError`` for a secret that is missing, unreadable, empty
    or unfit for its place, and for a certificate or key that cannot be
    loaded. Messages name the key and the variable or file, never a value.
    """
    contexts = TlsContexts(file, environ)
    opened: dict[str, Credential] = {}
    for name, entry in settings.items():
        key = f"credentials.{name}"
        tls = None
        if entry.tls is not None:
            tls = contexts.context(entry.tls, f"{key}.tls")
        opened[name] = _Opener(file, key, environ).open(name, entry, tls)
    return opened


class _Opener:
    """Reads the secrets of one credential and builds it."""

    def __init__(self, file: str, key: str, environ: Mapping[str, str]) -> None:
        self._file = file
        self._key = key
        self._environ = environ

    def open(
        self, name: str, entry: CredentialSettings, tls: ssl.SSLContext | None
    ) -> Credential:
        if isinstance(entry, NoAuthSettings):
            return HeaderCredential(name, (), tls)
        if isinstance(entry, BasicSettings):
            # Any text will do: it goes out in base64.
            password = self._secret(entry.password, "password")
            return BasicAuth(name, entry.username, password, tls)
        if isinstance(entry, BearerSettings):
            token = self._secret(entry.token, "token", in_header=True)
            return BearerToken(name, token, tls)
        if isinstance(entry, ApiKeySettings):
            in_header = entry.placement == "header"
            key = self._secret(entry.value, "value", in_header=in_header)
            return ApiKey(name, entry.name, key, entry.placement, tls)
        if isinstance(entry, OAuth2Settings):
            return self._oauth2(name, entry, tls)
        if isinstance(entry, JwtBearerSettings):
            return self._jwt_bearer(name, entry, tls)
        return self._hmac(name, entry, tls)

    def _oauth2(
        self, name: str, entry: OAuth2Settings, tls: ssl.SSLContext | None
    ) -> Credential:
        secret: Secret | None = None
        assertion: AssertionSigner | None = None
        if entry.client_secret is not None:
            secret = self._secret(entry.client_secret, "client_secret")
        if entry.private_key is not None:
            # RFC 7523 section 3: for client authentication, iss and sub
            # are both the client id.
            audience = entry.assertion_audience or entry.token_url
            claims = AssertionClaims(
                entry.client_id, entry.client_id, audience, entry.assertion_lifetime
            )
            key = self._signing_key(entry.private_key, entry)
            assertion = AssertionSigner(claims, key)
        return OAuth2ClientCredentials(
            name,
            token_url=entry.token_url,
            client_id=entry.client_id,
            client_secret=secret,
            client_assertion=assertion,
            scope=entry.scopes,
            audience=entry.audience,
            # How a secret is sent; a signed assertion goes in the body.
            client_auth="body" if entry.client_auth == "body" else "header",
            timeout=entry.timeout,
            default_expires_in=entry.default_expires_in,
            tls=tls,
        )

    def _jwt_bearer(
        self, name: str, entry: JwtBearerSettings, tls: ssl.SSLContext | None
    ) -> Credential:
        claims = AssertionClaims(
            entry.client_id,
            entry.subject,
            entry.audience or entry.token_url,
            entry.assertion_lifetime,
        )
        return OAuth2JwtBearer(
            name,
            token_url=entry.token_url,
            assertion=AssertionSigner(
                claims, self._signing_key(entry.private_key, entry)
            ),
            scope=entry.scopes,
            timeout=entry.timeout,
            default_expires_in=entry.default_expires_in,
            tls=tls,
        )

    def _signing_key(
        self, ref: SecretRef, entry: OAuth2Settings | JwtBearerSettings
    ) -> SigningKey:
        # Loaded here, once; the PEM text and password are dropped after.
        pem = self._secret(ref, "private_key")
        password = None
        if entry.key_password is not None:
            password = self._secret(entry.key_password, "key_password")
        return load_signing_key(
            pem,
            password,
            entry.algorithm,
            entry.key_id,
            file=self._file,
            key=f"{self._key}.private_key",
            password_key=f"{self._key}.key_password",
        )

    def _hmac(
        self, name: str, entry: HmacSettings, tls: ssl.SSLContext | None
    ) -> Credential:
        secret = self._secret(entry.secret, "secret")
        try:
            return WebhookSignature(name, secret, tls)
        except ValueError as exc:
            raise ConfigError(self._file, f"{self._key}.secret", str(exc)) from None

    def _secret(self, ref: SecretRef, field: str, *, in_header: bool = False) -> Secret:
        key = f"{self._key}.{field}"
        secret = read_secret(
            env=ref.env,
            file=ref.file,
            config_file=self._file,
            key=key,
            environ=self._environ,
        )
        if in_header and not _FIELD_VALUE.fullmatch(secret.reveal()):
            reason = "the secret has characters a header field cannot carry"
            raise ConfigError(self._file, key, reason)
        return secret
