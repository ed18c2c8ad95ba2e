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
from omniout.deliver.auth.base import Credential, HeaderCredential
from omniout.deliver.auth.basic import BasicAuth
from omniout.deliver.auth.bearer import BearerToken
from omniout.deliver.auth.oauth2 import OAuth2ClientCredentials
from omniout.deliver.auth.secret import Secret, read_secret
from omniout.deliver.auth.settings import (
    ApiKeySettings,
    BasicSettings,
    BearerSettings,
    CredentialSettings,
    HmacSettings,
    NoAuthSettings,
    OAuth2Settings,
    SecretRef,
)
from omniout.deliver.auth.signature import WebhookSignature
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
        return self._hmac(name, entry, tls)

    def _oauth2(
        self, name: str, entry: OAuth2Settings, tls: ssl.SSLContext | None
    ) -> Credential:
        secret = self._secret(entry.client_secret, "client_secret")
        return OAuth2ClientCredentials(
            name,
            token_url=entry.token_url,
            client_id=entry.client_id,
            client_secret=secret,
            scope=entry.scopes,
            audience=entry.audience,
            client_auth=entry.client_auth,
            timeout=entry.timeout,
            default_expires_in=entry.default_expires_in,
            tls=tls,
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
