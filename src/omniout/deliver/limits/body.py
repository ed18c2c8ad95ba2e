"""Reading an answer's body into memory, up to a bound.

The body of an answer is read for the ledger, the reply topic, SOAP fault
detection and excerpts in dead letters; none of them needs megabytes. The
bound counts the bytes as they are held in memory, after any
``Content-Encoding`` is undone, so a small compressed answer cannot unpack
into an unbounded one.
"""

from __future__ import annotations

import httpx

__all__ = ["read_bounded", "too_large_reason"]


async def read_bounded(answer: httpx.Response, limit: int) -> bytes | None:
    """The whole body of a streamed ``answer``, or ``None`` past ``limit`` bytes.

    Stops reading as soon as the bound is passed, and before reading at all
    when an unencoded answer declares a larger ``Content-Length``. The
    caller closes the answer either way, which returns or drops its
    connection.
    """
    headers = answer.headers
    declared = headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        encoding = headers.get("content-encoding", "identity")
        if encoding.strip().lower() == "identity":
            return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in answer.aiter_bytes():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def too_large_reason(status: int, limit: int) -> str:
    # The status is in the reason because the failure carries no answer:
    # a 2xx here means the endpoint may have acted on the request.
    return f"HTTP {status} answer is larger than max_response_bytes ({limit})"
