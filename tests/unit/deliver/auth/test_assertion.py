from __future__ import annotations

import itertools
import pickle
from urllib.parse import parse_qsl

import jwt
import pytest

from omniout.deliver import OutboundRequest
from omniout.deliver.auth import (
    AssertionClaims,
    AssertionSigner,
    OAuth2ClientCredentials,
    OAuth2JwtBearer,
    Secret,
    SigningKey,
)
from omniout.deliver.auth.assertion import new_jwt_id
from tests.unit.deliver.auth.keys import ec_key, rsa_key

CLAIMS = AssertionClaims(
    issuer="3MVG9.consumer",
    subject="integration@example.com",
    audience="https://login.salesforce.com",
    lifetime=120,
)
TOKEN_URL = "https://login.example/services/oauth2/token"


def test_claims_carry_the_time_they_are_made_and_their_id() -> None:
    claims = CLAIMS.at(1_764_003_600.75, "jti-1")

    assert claims == {
        "iss": "3MVG9.consumer",
        "sub": "integration@example.com",
        "aud": "https://login.salesforce.com",
        "iat": 1_764_003_600,
        "exp": 1_764_003_720,
        "jti": "jti-1",
    }


def signer(
    key: SigningKey | None = None, start: float = 1_764_003_600.0
) -> AssertionSigner:
    ticks = itertools.count(start, 30.0)
    ids = (f"id-{n}" for n in itertools.count())
    return AssertionSigner(
        CLAIMS,
        key or SigningKey(rsa_key(), "RS256"),
        wall_clock=lambda: next(ticks),
        new_id=lambda: next(ids),
    )


def decode(token: str, key: object, algorithm: str) -> dict[str, object]:
    return jwt.decode(
        token,
        key,  # type: ignore[arg-type]
        algorithms=[algorithm],
        audience=CLAIMS.audience,
        options={"verify_exp": False, "verify_iat": False},
    )


def test_each_assertion_is_signed_with_its_own_time_and_id() -> None:
    sign = signer()

    first, second = sign.sign().reveal(), sign.sign().reveal()

    public = rsa_key().public_key()
    one, two = decode(first, public, "RS256"), decode(second, public, "RS256")
    assert (one["jti"], two["jti"]) == ("id-0", "id-1")
    assert (one["iat"], two["iat"]) == (1_764_003_600, 1_764_003_630)
    assert two["exp"] == 1_764_003_750


def test_an_ec_key_signs_es256_and_names_its_key_id() -> None:
    sign = signer(SigningKey(ec_key(), "ES256", key_id="k-2026"))

    token = sign.sign().reveal()

    assert jwt.get_unverified_header(token) == {
        "alg": "ES256",
        "kid": "k-2026",
        "typ": "JWT",
    }
    assert decode(token, ec_key().public_key(), "ES256")["sub"] == CLAIMS.subject


def test_an_assertion_from_another_key_does_not_verify() -> None:
    token = signer().sign().reveal()
    other = rsa_key(3072).public_key()

    with pytest.raises(jwt.InvalidSignatureError):
        decode(token, other, "RS256")


def test_random_ids_do_not_repeat() -> None:
    ids = {new_jwt_id() for _ in range(1000)}

    assert len(ids) == 1000
    assert all(len(jti) >= 22 for jti in ids)


def test_the_key_and_the_assertion_never_show() -> None:
    key = SigningKey(rsa_key(), "RS256", key_id="k1")
    sign = signer(key)
    assertion = sign.sign()

    assert repr(key) == "SigningKey(RS256, kid='k1')"
    assert "SigningKey(RS256" in repr(sign)
    assert assertion.reveal() not in repr(assertion) + str(assertion)
    with pytest.raises(TypeError):
        pickle.dumps(key)


def sent_form(request: OutboundRequest) -> dict[str, str]:
    assert request.body is not None
    return dict(parse_qsl(request.body.decode()))


def test_the_jwt_bearer_grant_sends_the_assertion_and_no_secret() -> None:
    credential = OAuth2JwtBearer(
        "crm", token_url=TOKEN_URL, assertion=signer(), scope="api"
    )

    request = credential.token_request()

    sent = sent_form(request)
    assert sent.keys() == {"grant_type", "assertion", "scope"}
    assert sent["grant_type"] == "urn:ietf:params:oauth:grant-type:jwt-bearer"
    assert decode(sent["assertion"], rsa_key().public_key(), "RS256")["jti"] == "id-0"
    assert "authorization" not in {name.lower() for name, _ in request.headers}


def test_private_key_jwt_sends_a_client_assertion_instead_of_a_secret() -> None:
    credential = OAuth2ClientCredentials(
        "erp",
        token_url=TOKEN_URL,
        client_id="omniout-prod",
        client_assertion=signer(),
        scope="orders.write",
        client_auth="header",
    )

    first = sent_form(credential.token_request())
    second = sent_form(credential.token_request())

    assert first["grant_type"] == "client_credentials"
    assert first["client_id"] == "omniout-prod"
    assert first["client_assertion_type"] == (
        "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
    )
    assert "client_secret" not in first
    # A new assertion for every token request.
    assert first["client_assertion"] != second["client_assertion"]
    headers = {name.lower() for name, _ in credential.token_request().headers}
    assert "authorization" not in headers


def test_client_credentials_take_a_secret_or_an_assertion_not_both() -> None:
    with pytest.raises(ValueError, match="exactly one"):
        OAuth2ClientCredentials("erp", token_url=TOKEN_URL, client_id="c")
    with pytest.raises(ValueError, match="exactly one"):
        OAuth2ClientCredentials(
            "erp",
            token_url=TOKEN_URL,
            client_id="c",
            client_secret=Secret("s"),
            client_assertion=signer(),
        )
