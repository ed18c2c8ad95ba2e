"""SSL contexts for credentials: client certificates, trust, verification.

A context is built once per distinct set of TLS settings, at start-up, so
certificate and key files are read once and a bad file stops the service
before it consumes anything. Credentials with the same settings share one
context, and so one connection pool in the deliverer.
"""

from __future__ import annotations

import logging
import os
import ssl
from collections.abc import Mapping
from pathlib import Path

from omniout.deliver.auth.secret import read_secret
from omniout.deliver.auth.settings import TlsSettings
from omniout.errors import ConfigError

__all__ = ["TlsContexts"]

logger = logging.getLogger(__name__)


class TlsContexts:
    """Builds SSL contexts and hands out the same one for equal settings."""

    def __init__(
        self, config_file: str, environ: Mapping[str, str] = os.environ
    ) -> None:
        self._file = config_file
        self._environ = environ
        self._built: dict[TlsSettings, ssl.SSLContext] = {}

    def context(self, settings: TlsSettings, key: str) -> ssl.SSLContext:
        """The context for ``settings``; ``key`` names them in a ConfigError."""
        found = self._built.get(settings)
        if found is None:
            found = self._build(settings, key)
            self._built[settings] = found
        return found

    def _build(self, settings: TlsSettings, key: str) -> ssl.SSLContext:
        context = self._trust(settings.ca_bundle, f"{key}.ca_bundle")
        if not settings.verify:
            logger.warning(
                "TLS certificate verification is off for %s; anyone on the path "
                "can read and change these requests",
                key,
            )
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        if settings.client_cert is not None:
            password = None
            if settings.key_password is not None:
                password = read_secret(
                    env=settings.key_password.env,
                    file=settings.key_password.file,
                    config_file=self._file,
                    key=f"{key}.key_password",
                    environ=self._environ,
                ).reveal()
            self._load_chain(
                context,
                settings.client_cert,
                settings.client_key,
                password,
                f"{key}.client_cert",
            )
        return context

    def _trust(self, ca_bundle: Path | None, key: str) -> ssl.SSLContext:
        if ca_bundle is None:
            return ssl.create_default_context()
        try:
            return ssl.create_default_context(cafile=str(ca_bundle))
        except (OSError, ssl.SSLError) as exc:
            raise ConfigError(self._file, key, _why(ca_bundle, exc)) from None

    def _load_chain(
        self,
        context: ssl.SSLContext,
        cert: Path,
        keyfile: Path | None,
        password: str | None,
        key: str,
    ) -> None:
        # Without a password OpenSSL would prompt on the terminal for an
        # encrypted key; an empty one makes it fail instead.
        try:
            context.load_cert_chain(
                str(cert), None if keyfile is None else str(keyfile), password or ""
            )
        except (OSError, ssl.SSLError) as exc:
            raise ConfigError(self._file, key, _why(cert, exc)) from None


def _why(path: Path, exc: OSError | ssl.SSLError) -> str:
    if isinstance(exc, ssl.SSLError):
        # The library's reason, e.g. KEY_VALUES_MISMATCH or BAD_DECRYPT.
        detail = exc.reason or "not a PEM certificate or key"
    else:
        detail = exc.strerror or type(exc).__name__
    return f"{path} cannot be loaded: {detail}"
