"""What a credential is to the deliverer, and the plain header-adding kind.

A credential stands between a route's request and the wire: the deliverer
hands it the request and a ``send`` that makes one attempt over the
credential's own TLS connections, and the credential sends the request with
its authentication applied (more than once only where its scheme says so, as
OAuth2 does after a 401). Schemes whose headers never change (Basic, bearer,
an API key header) compute them once, when the service starts.
"""

from __future__ import annotations

import ssl
from dataclasses import replace
from typing import Protocol

from omniout.deliver.request import OutboundRequest, Response
from omniout.deliver.retry import SendFn

__all__ = ["Credential", "HeaderCredential", "NamedCredential", "with_headers"]


class Credential(Protocol):
    """A named credential, opened from the config at start-up.

    ``tls`` is the SSL context its connections use, or ``None`` for the
    deliverer's default. ``send`` must raise nothing but ``DeliveryError``
    and must never put a secret into an exception or a log line. ``aclose``
    is called once, when the deliverer closes; it stops background work.
    """

    @property
    def name(self) -> str: ...

    @property
    def tls(self) -> ssl.SSLContext | None: ...

    async def send(self, request: OutboundRequest, send: SendFn) -> Response: ...

    async def aclose(self) -> None: ...


def with_headers(
    request: OutboundRequest, headers: tuple[tuple[str, str], ...]
) -> OutboundRequest:
    """A copy of ``request`` with ``headers`` after its own."""
    return replace(request, headers=request.headers + headers)


class NamedCredential:
    """The name and TLS context every credential kind carries.

    Subclasses pass both to ``__init__`` and add their own slots. The
    object's ``repr`` names the credential, never a secret.
    """

    __slots__ = ("_name", "_tls")

    def __init__(self, name: str, tls: ssl.SSLContext | None) -> None:
        self._name = name
        self._tls = tls

    @property
    def name(self) -> str:
        return self._name

    @property
    def tls(self) -> ssl.SSLContext | None:
        return self._tls

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._name!r})"


class HeaderCredential(NamedCredential):
    """Adds the same header fields to every request; no other work per event.

    Subclasses compute ``headers`` once, from the secrets, in their
    constructor.
    """

    __slots__ = ("_headers",)

    def __init__(
        self,
        name: str,
        headers: tuple[tuple[str, str], ...],
        tls: ssl.SSLContext | None = None,
    ) -> None:
        super().__init__(name, tls)
        self._headers = headers

    def authorize(self, request: OutboundRequest) -> OutboundRequest:
        """The request as it goes out, credential applied."""
        if not self._headers:
            return request
        return with_headers(request, self._headers)

    async def send(self, request: OutboundRequest, send: SendFn) -> Response:
        return await send(self.authorize(request))

    async def aclose(self) -> None:
        return None
