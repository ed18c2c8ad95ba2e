"""HMAC-SHA256 request signing in the Standard Webhooks header scheme.

Every attempt carries three header fields: ``webhook-id`` (the request id,
the same on every retry, so that a receiver can drop duplicates),
``webhook-timestamp`` (epoch seconds when this attempt was signed) and
``webhook-signature``: ``v1,`` and the base64 HMAC-SHA256, under the shared
key, of ``id.timestamp.body``. Signing per attempt keeps the timestamp
fresh, since receivers refuse old ones to stop replays.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import ssl
import time
from collections.abc import Callable

from omniout.deliver.auth.base import NamedCredential, with_headers
from omniout.deliver.auth.secret import Secret
from omniout.deliver.request import OutboundRequest, Response
from omniout.deliver.retry import SendFn
from omniout.errors import DeliveryError

__all__ = ["WebhookSignature", "decode_key", "sign"]

_PREFIX = "whsec_"
_REQUEST_ID = "idempotency-key"


def decode_key(secret: str) -> bytes:
    """The key bytes of a ``whsec_...`` (or bare) base64 secret.

    Raises ``ValueError`` when the text is not base64 or decodes to nothing.
    """
    text = secret.removeprefix(_PREFIX)
    try:
        key = base64.b64decode(text, validate=True)
    except binascii.Error:
        raise ValueError("the secret is not base64") from None
    if not key:
        raise ValueError("the secret decodes to no bytes")
    return key


def sign(key: bytes, message_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` value for one message: ``v1,<base64>``."""
    content = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(key, content, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


class WebhookSignature(NamedCredential):
    """Signs the body of every attempt; ``clock`` gives epoch seconds.

    The message id is the request's ``Idempotency-Key`` (the route's request
    id). A request without one cannot be signed and fails permanently.
    """

    __slots__ = ("_clock", "_key")

    def __init__(
        self,
        name: str,
        secret: Secret,
        tls: ssl.SSLContext | None = None,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(name, tls)
        self._key = decode_key(secret.reveal())
        self._clock = clock

    def signed(self, request: OutboundRequest) -> OutboundRequest:
        """``request`` with the three Standard Webhooks fields added."""
        message_id = next(
            (v for k, v in request.headers if k.lower() == _REQUEST_ID), None
        )
        if not message_id:
            raise DeliveryError(
                "cannot sign: the request has no Idempotency-Key", retriable=False
            )
        timestamp = int(self._clock())
        signature = sign(self._key, message_id, timestamp, request.body or b"")
        return with_headers(
            request,
            (
                ("webhook-id", message_id),
                ("webhook-timestamp", str(timestamp)),
                ("webhook-signature", signature),
            ),
        )

    async def send(self, request: OutboundRequest, send: SendFn) -> Response:
        return await send(self.signed(request))

    async def aclose(self) -> None:
        return None
