"""The ``schema_registry:`` section of the config, and the client it opens.

The section names a Confluent-compatible registry and, where the registry
asks for them, HTTP basic credentials and a timeout::

    schema_registry:
      url: https://registry.example/apis/ccompat/v7
      username: omniout
      password: {env: REGISTRY_PASSWORD}
      timeout: 5

The password is a secret reference, as everywhere in the config, and is
read (:func:`registry_password`) when the service, the publish command or
the check command starts, never when the file is parsed. The older top-level
``schema_registry_url`` key is the same as a section with only ``url``.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from omniout.decode.registry import RegistryClient
from omniout.deliver.auth.secret import Secret, read_secret
from omniout.deliver.auth.settings import SecretRef

__all__ = [
    "RegistrySettings",
    "open_registry",
    "registry_client",
    "registry_password",
]


class RegistrySettings(BaseModel):
    """Where the schema registry is and how to authenticate to it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    url: str
    username: str | None = Field(default=None, min_length=1)
    password: SecretRef | None = None
    timeout: Annotated[float, Field(gt=0, le=120)] = 10.0

    @field_validator("url")
    @classmethod
    def _http_url(cls, url: str) -> str:
        if not url.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        if "@" in url.partition("://")[2].partition("/")[0]:
            # Credentials in the URL would be written in the config and
            # shown in every error that quotes the address.
            raise ValueError("must not carry credentials; use username and password")
        return url

    @field_validator("username")
    @classmethod
    def _no_colon(cls, username: str | None) -> str | None:
        if username is not None and ":" in username:
            raise ValueError("a Basic username cannot contain ':' (RFC 7617)")
        return username

    @model_validator(mode="after")
    def _both_or_neither(self) -> RegistrySettings:
        if (self.username is None) != (self.password is None):
            raise ValueError("username and password go together")
        return self


def registry_password(
    settings: RegistrySettings, *, config_file: str, key: str = "schema_registry"
) -> Secret | None:
    """The registry password, read now; None when the registry needs none.

    Raises ``ConfigError`` naming ``key``.password when the secret cannot be
    read (``omniout check`` calls this alone, to check the reference).
    """
    if settings.password is None:
        return None
    return read_secret(
        env=settings.password.env,
        file=settings.password.file,
        config_file=config_file,
        key=f"{key}.password",
    )


def registry_client(
    settings: RegistrySettings, password: Secret | None
) -> RegistryClient:
    """A registry client for ``settings`` with an already read password."""
    return RegistryClient(
        settings.url,
        username=settings.username,
        password=None if password is None else password.reveal(),
        timeout=settings.timeout,
    )


def open_registry(
    settings: RegistrySettings, *, config_file: str, key: str = "schema_registry"
) -> RegistryClient:
    """A registry client for ``settings``, with its password read now.

    Raises ``ConfigError`` as :func:`registry_password` does; the caller
    closes the client.
    """
    password = registry_password(settings, config_file=config_file, key=key)
    return registry_client(settings, password)
