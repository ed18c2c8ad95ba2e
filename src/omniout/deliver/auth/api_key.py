"""An API key, in a header field or in a query parameter of the URL."""

from __future__ import annotations

import ssl
from dataclasses import replace
from typing import Literal
from urllib.parse import quote

from omniout.deliver.auth.base import HeaderCredential
from omniout.deliver.auth.secret import Secret
from omniout.deliver.request import OutboundRequest

__all__ = ["ApiKey", "add_query_parameter"]


def add_query_parameter(url: str, parameter: str) -> str:
    """``url`` with ``parameter`` (already encoded) last in its query.

    A fragment stays last (RFC 3986 section 3): the parameter goes before it.
    """
    base, hash_mark, fragment = url.partition("#")
    separator = "&" if "?" in base else "?"
    return f"{base}{separator}{parameter}{hash_mark}{fragment}"


class ApiKey(HeaderCredential):
    """Sends ``name: key`` as a header field, or ``?name=key`` in the URL.

    A key in the URL is visible to every proxy and in the receiver's access
    log; a header is the better place whenever the receiver accepts one.
    """

    __slots__ = ("_parameter",)

    def __init__(
        self,
        name: str,
        field: str,
        key: Secret,
        placement: Literal["header", "query"] = "header",
        tls: ssl.SSLContext | None = None,
    ) -> None:
        value = key.reveal()
        if placement == "header":
            super().__init__(name, ((field, value),), tls)
            self._parameter = ""
            return
        super().__init__(name, (), tls)
        self._parameter = f"{quote(field, safe='')}={quote(value, safe='')}"

    def authorize(self, request: OutboundRequest) -> OutboundRequest:
        if not self._parameter:
            return super().authorize(request)
        url = add_query_parameter(request.url, self._parameter)
        return replace(request, url=url)
