"""A static bearer token (RFC 6750 section 2.1)."""

from __future__ import annotations

import ssl

from omniout.deliver.auth.base import HeaderCredential
from omniout.deliver.auth.secret import Secret

__all__ = ["BearerToken"]


class BearerToken(HeaderCredential):
    """Sends ``Authorization: Bearer <token>``; the token never changes.

    A token that expires belongs in an OAuth2 credential, which renews it.
    """

    __slots__ = ()

    def __init__(
        self, name: str, token: Secret, tls: ssl.SSLContext | None = None
    ) -> None:
        header = f"Bearer {token.reveal()}"
        super().__init__(name, (("Authorization", header),), tls)
