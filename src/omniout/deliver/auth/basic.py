"""HTTP Basic authentication (RFC 7617)."""

from __future__ import annotations

import base64
import ssl

from omniout.deliver.auth.base import HeaderCredential
from omniout.deliver.auth.secret import Secret

__all__ = ["BasicAuth", "basic_header"]


def basic_header(username: str, password: str) -> str:
    """``Basic`` and the base64 of ``user:password`` in UTF-8 (section 2.1)."""
    pair = f"{username}:{password}".encode()
    return "Basic " + base64.b64encode(pair).decode("ascii")


class BasicAuth(HeaderCredential):
    """Sends ``Authorization: Basic ...``, computed once."""

    __slots__ = ()

    def __init__(
        self,
        name: str,
        username: str,
        password: Secret,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        header = basic_header(username, password.reveal())
        super().__init__(name, (("Authorization", header),), tls)
