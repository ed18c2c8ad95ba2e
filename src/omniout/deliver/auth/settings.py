"""The ``credentials:`` section of the config: named credentials, by reference.

Each entry has a ``type`` (the scheme) and the scheme's fields. A field that
holds a secret is a reference, ``{env: VARIABLE}`` or ``{file: PATH}``, never
the secret itself: an inline string is refused when the config loads. These
models only check the shape; :func:`~omniout.deliver.auth.open_credentials`
reads the secrets and files when the service starts.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from omniout.deliver.auth.signing_key import Algorithm
from omniout.errors import ConfigError

__all__ = [
    "ApiKeySettings",
    "BasicSettings",
    "BearerSettings",
    "CredentialSettings",
    "EndpointReference",
    "HmacSettings",
    "JwtBearerSettings",
    "NoAuthSettings",
    "OAuth2Settings",
    "SecretRef",
    "TlsSettings",
    "check_references",
]

# A header field name is a token (RFC 9110 section 5.1).
_TOKEN = r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SecretRef(_Model):
    """Where a secret is: exactly one of an environment variable or a file."""

    env: str | None = Field(default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    file: Path | None = None

    @model_validator(mode="before")
    @classmethod
    def _not_inline(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            raise ValueError(
                "a secret is referenced as {env: VARIABLE} or {file: PATH}, "
                "never written in the config"
            )
        return data

    @model_validator(mode="after")
    def _exactly_one(self) -> SecretRef:
        if (self.env is None) == (self.file is None):
            raise ValueError("give exactly one of env or file")
        return self


class TlsSettings(_Model):
    """TLS for a credential's connections: client certificate, trust, checks.

    ``client_cert`` is a PEM file with the certificate (and the key, unless
    ``client_key`` names another file); ``key_password`` unlocks an encrypted
    key. ``ca_bundle`` replaces the system's trust store for these
    connections. ``verify: false`` turns certificate checks off.
    """

    client_cert: Path | None = None
    client_key: Path | None = None
    key_password: SecretRef | None = None
    ca_bundle: Path | None = None
    verify: bool = True

    @model_validator(mode="after")
    def _key_needs_cert(self) -> TlsSettings:
        if self.client_cert is None and (
            self.client_key is not None or self.key_password is not None
        ):
            raise ValueError("client_key and key_password need a client_cert")
        return self


class _Credential(_Model):
    tls: TlsSettings | None = None

    def header_names(self) -> frozenset[str]:
        """The header fields (lower case) this scheme sets on every request."""
        return frozenset()


class NoAuthSettings(_Credential):
    """No header at all: a credential that only carries TLS settings."""

    type: Literal["none"]


class BasicSettings(_Credential):
    """HTTP Basic (RFC 7617): ``Authorization: Basic base64(user:password)``."""

    type: Literal["basic"]
    username: str = Field(min_length=1)
    password: SecretRef

    @field_validator("username")
    @classmethod
    def _no_colon(cls, username: str) -> str:
        if ":" in username:
            raise ValueError("a Basic username cannot contain ':' (RFC 7617)")
        return username

    def header_names(self) -> frozenset[str]:
        return frozenset({"authorization"})


class BearerSettings(_Credential):
    """A static token sent as ``Authorization: Bearer <token>`` (RFC 6750)."""

    type: Literal["bearer"]
    token: SecretRef

    def header_names(self) -> frozenset[str]:
        return frozenset({"authorization"})


class ApiKeySettings(_Credential):
    """A key in a header field or in a query parameter of the URL."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    type: Literal["api_key"]
    name: str = Field(pattern=_TOKEN)
    value: SecretRef
    placement: Literal["header", "query"] = Field(default="header", alias="in")

    def header_names(self) -> frozenset[str]:
        if self.placement == "query":
            return frozenset()
        return frozenset({self.name.lower()})


class _TokenEndpoint(_Credential):
    """What every OAuth2 grant has: where tokens come from, and how long."""

    token_url: str
    scope: str | list[str] | None = None
    timeout: Annotated[float, Field(gt=0, le=120)] = 10.0
    default_expires_in: Annotated[float, Field(gt=0)] = 3600.0

    @field_validator("token_url")
    @classmethod
    def _http_url(cls, url: str) -> str:
        if not url.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return url

    @property
    def scopes(self) -> str | None:
        """The ``scope`` form value: scopes joined by spaces (section 3.3)."""
        if isinstance(self.scope, list):
            return " ".join(self.scope) or None
        return self.scope

    def header_names(self) -> frozenset[str]:
        return frozenset({"authorization"})


# The fields that only a private_key_jwt client may set.
_ASSERTION_FIELDS = frozenset(
    {
        "private_key",
        "key_password",
        "algorithm",
        "key_id",
        "assertion_audience",
        "assertion_lifetime",
    }
)
# Whole seconds from issue to expiry of a JWT assertion.
AssertionLifetime = Annotated[int, Field(ge=1, le=3600)]


class OAuth2Settings(_TokenEndpoint):
    """OAuth 2.0 client credentials grant (RFC 6749 section 4.4).

    ``client_auth`` says how the client authenticates to the token endpoint:
    ``header`` (HTTP Basic, RFC 6749 section 2.3.1) or ``body`` (``client_id``
    and ``client_secret`` form fields) with ``client_secret``, or
    ``private_key_jwt`` (RFC 7523 section 2.2) with a JWT signed by
    ``private_key``, whose ``aud`` is ``assertion_audience`` (the token URL
    unless given). ``default_expires_in`` is the lifetime assumed when the
    token answer has no ``expires_in``.
    """

    type: Literal["oauth2_client_credentials"]
    client_id: str = Field(min_length=1)
    client_secret: SecretRef | None = None
    audience: str | None = None
    client_auth: Literal["header", "body", "private_key_jwt"] = "header"
    private_key: SecretRef | None = None
    key_password: SecretRef | None = None
    algorithm: Algorithm = "RS256"
    key_id: str | None = Field(default=None, min_length=1)
    assertion_audience: str | None = Field(default=None, min_length=1)
    assertion_lifetime: AssertionLifetime = 120

    @model_validator(mode="after")
    def _one_proof(self) -> OAuth2Settings:
        if self.client_auth == "private_key_jwt":
            if self.private_key is None:
                raise ValueError("client_auth private_key_jwt needs a private_key")
            if self.client_secret is not None:
                raise ValueError(
                    "client_auth private_key_jwt signs with private_key; "
                    "remove client_secret"
                )
            return self
        if self.client_secret is None:
            raise ValueError(f"client_auth {self.client_auth} needs a client_secret")
        extra = sorted(_ASSERTION_FIELDS & self.model_fields_set)
        if extra:
            raise ValueError(
                f"{', '.join(extra)}: only for client_auth private_key_jwt"
            )
        return self


class JwtBearerSettings(_TokenEndpoint):
    """OAuth 2.0 JWT bearer grant (RFC 7523 section 2.1).

    The assertion says ``iss`` ``client_id``, ``sub`` ``subject`` (the user
    the service acts as) and ``aud`` ``audience`` (the token URL unless
    given); it is signed with ``private_key`` by ``algorithm``.
    """

    type: Literal["oauth2_jwt_bearer"]
    client_id: str = Field(min_length=1)
    subject: str = Field(min_length=1)
    audience: str | None = Field(default=None, min_length=1)
    private_key: SecretRef
    key_password: SecretRef | None = None
    algorithm: Algorithm = "RS256"
    key_id: str | None = Field(default=None, min_length=1)
    assertion_lifetime: AssertionLifetime = 120


class HmacSettings(_Credential):
    """HMAC-SHA256 signatures in the Standard Webhooks header scheme.

    ``secret`` is base64, optionally prefixed ``whsec_``, as the receiver
    hands it out.
    """

    type: Literal["hmac"]
    secret: SecretRef

    def header_names(self) -> frozenset[str]:
        return frozenset({"webhook-id", "webhook-timestamp", "webhook-signature"})


CredentialSettings = Annotated[
    NoAuthSettings
    | BasicSettings
    | BearerSettings
    | ApiKeySettings
    | OAuth2Settings
    | JwtBearerSettings
    | HmacSettings,
    Field(discriminator="type"),
]

# (config key of an endpoint, the credential it names, its own header names)
EndpointReference = tuple[str, str | None, Iterable[str]]


def check_references(
    credentials: Mapping[str, _Credential],
    endpoints: Sequence[EndpointReference],
    file: str,
) -> None:
    """Every endpoint names a known credential and sets none of its headers.

    Raises ``ConfigError`` with the endpoint's key: an unknown name would
    send requests without their credential, and a header set twice would go
    out as one joined, broken field.
    """
    for key, name, headers in endpoints:
        if name is None:
            continue
        credential = credentials.get(name)
        if credential is None:
            known = ", ".join(sorted(credentials)) or "none"
            reason = f"no credential named {name!r} (known: {known})"
            raise ConfigError(file, f"{key}.credential", reason)
        for header in headers:
            if header.lower() in credential.header_names():
                reason = f"is set by credential {name!r}; remove it here"
                raise ConfigError(file, f"{key}.headers.{header}", reason)
