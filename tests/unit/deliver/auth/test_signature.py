from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

from omniout.deliver import OutboundRequest
from omniout.deliver.auth import Secret, WebhookSignature
from omniout.deliver.auth.signature import decode_key, sign
from omniout.errors import DeliveryError

# The example message of the Standard Webhooks specification.
SPEC_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SPEC_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
SPEC_TIMESTAMP = 1614265330
SPEC_BODY = b'{"test": 2432232314}'
SPEC_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def request(
    *headers: tuple[str, str], body: bytes | None = SPEC_BODY
) -> OutboundRequest:
    return OutboundRequest("POST", "https://h.example/hook", headers, body, 5.0, "s")


def test_the_specification_example_signs_as_published() -> None:
    key = decode_key(SPEC_SECRET)

    assert sign(key, SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY) == SPEC_SIGNATURE


def test_the_whsec_prefix_is_optional() -> None:
    assert decode_key(SPEC_SECRET) == decode_key(SPEC_SECRET.removeprefix("whsec_"))


@pytest.mark.parametrize("bad", ["whsec_not base64!", "whsec_", ""])
def test_a_secret_that_is_not_base64_is_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="secret"):
        decode_key(bad)


def test_signed_requests_carry_id_timestamp_and_signature() -> None:
    now = [1700000000.9]
    credential = WebhookSignature("s", Secret(SPEC_SECRET), clock=lambda: now[0])

    signed = credential.signed(request(("Idempotency-Key", SPEC_ID)))

    fields = dict(signed.headers)
    assert fields["webhook-id"] == SPEC_ID
    assert fields["webhook-timestamp"] == "1700000000"
    key = base64.b64decode(SPEC_SECRET.removeprefix("whsec_"))
    content = f"{SPEC_ID}.1700000000.".encode() + SPEC_BODY
    digest = hmac.new(key, content, hashlib.sha256).digest()
    assert fields["webhook-signature"] == "v1," + base64.b64encode(digest).decode()
    assert signed.credential == "s"


def test_every_attempt_is_signed_at_its_own_time() -> None:
    now = [1700000000.0]
    credential = WebhookSignature("s", Secret(SPEC_SECRET), clock=lambda: now[0])
    original = request(("Idempotency-Key", SPEC_ID))

    first = dict(credential.signed(original).headers)
    now[0] += 90
    second = dict(credential.signed(original).headers)

    assert first["webhook-id"] == second["webhook-id"]
    assert int(second["webhook-timestamp"]) - int(first["webhook-timestamp"]) == 90
    assert first["webhook-signature"] != second["webhook-signature"]


def test_a_request_without_a_body_signs_the_empty_body() -> None:
    credential = WebhookSignature("s", Secret(SPEC_SECRET), clock=lambda: 5.0)

    signed = credential.signed(request(("idempotency-key", "m"), body=None))

    fields = dict(signed.headers)

    assert fields["webhook-signature"] == sign(decode_key(SPEC_SECRET), "m", 5, b"")


def test_a_request_without_a_request_id_cannot_be_signed() -> None:
    credential = WebhookSignature("s", Secret(SPEC_SECRET))

    with pytest.raises(DeliveryError) as caught:
        credential.signed(request())

    assert not caught.value.retriable


def test_the_key_never_shows_in_the_repr() -> None:
    credential = WebhookSignature("signing", Secret(SPEC_SECRET))

    assert repr(credential) == "WebhookSignature('signing')"
