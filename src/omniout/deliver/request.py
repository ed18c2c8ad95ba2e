"""The values that cross the HTTP boundary: one request out, one answer back.

Both are plain data, free of any HTTP library's types, so that routes, the
ledger, the reply topic and tests can build and read them without a client.
"""

from __future__ import annotations

from dataclasses import dataclass

from omniout.deliver.limits.settings import DEFAULT_MAX_RESPONSE_BYTES

__all__ = ["OutboundRequest", "Response"]


@dataclass(frozen=True, slots=True)
class OutboundRequest:
    """One HTTP request, ready to send as it is.

    ``headers`` may repeat a name; the values of a repeated name go out
    joined into one field line with ", " (the same field, RFC 9110 §5.3), and
    names may go out lower-cased. ``timeout`` bounds one attempt from the
    first byte sent to the last byte of the answer read, waiting for a pooled
    connection included. ``credential`` names the configured credential the
    deliverer applies when it sends the request; the request itself never
    holds a secret. ``limit`` names the endpoint limiter the attempt waits
    on, if the deliverer has one by that name; an answer whose body is
    longer than ``max_response_bytes`` fails the attempt.
    """

    method: str
    url: str
    headers: tuple[tuple[str, str], ...]
    body: bytes | None
    timeout: float
    credential: str | None = None
    limit: str | None = None
    max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES


@dataclass(frozen=True, slots=True)
class Response:
    """One answer from an endpoint, body read in full.

    Header names are lower-cased (field names are case-insensitive, RFC 9110
    §5.1); a repeated field keeps one pair per line. ``elapsed`` is the
    attempt's duration in seconds.
    """

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes
    elapsed: float

    def header(self, name: str) -> str | None:
        """The first value of the field ``name`` (lower case), or ``None``."""
        for key, value in self.headers:
            if key == name:
                return value
        return None
