from __future__ import annotations

import base64
from urllib.parse import parse_qsl

import orjson
import pytest

from omniout.deliver import Response
from omniout.deliver.auth import OAuth2ClientCredentials, Secret
from omniout.deliver.auth.oauth2 import parse_token_answer
from omniout.errors import DeliveryError

WHERE = "https://idp.example/token"


def answer(status: int, body: object) -> Response:
    raw = body if isinstance(body, bytes) else orjson.dumps(body)
    return Response(status, (), raw, 0.01)


def parse(response: Response) -> float:
    token = parse_token_answer(
        response, obtained_at=10.0, default_expires_in=3600.0, where=WHERE
    )
    assert token.authorization.reveal() == "Bearer abc.DEF-123"
    return token.expires_at - token.obtained_at


@pytest.mark.parametrize(
    ("expires_in", "lifetime"),
    [(120, 120.0), ("90", 90.0), (None, 3600.0), (-5, 3600.0), (True, 3600.0)],
)
def test_the_lifetime_comes_from_expires_in_or_the_default(
    expires_in: object, lifetime: float
) -> None:
    body = {"access_token": "abc.DEF-123", "token_type": "Bearer"}
    if expires_in is not None:
        body["expires_in"] = expires_in  # type: ignore[assignment]

    assert parse(answer(200, body)) == lifetime


def test_an_error_answer_names_the_status_and_code_but_not_the_body() -> None:
    body = {"error": "invalid_client", "error_description": "secret s3cr3t is wrong"}

    with pytest.raises(DeliveryError) as caught:
        parse(answer(401, body))

    assert caught.value.retriable
    expected = f"token endpoint {WHERE} answered HTTP 401 (invalid_client)"
    assert caught.value.reason == expected
    assert "s3cr3t" not in caught.value.reason + caught.value.excerpt


@pytest.mark.parametrize(
    ("body", "what"),
    [
        (b"<html>oops</html>", "is not a JSON object"),
        ({"token_type": "Bearer"}, "has no usable access_token"),
        ({"access_token": "a\r\nX-Evil: 1"}, "has no usable access_token"),
        ({"access_token": "abc", "token_type": "mac"}, "is not a Bearer token"),
    ],
)
def test_unusable_answers_are_retriable_errors(body: object, what: str) -> None:
    with pytest.raises(DeliveryError) as caught:
        parse(answer(200, body))

    assert caught.value.retriable
    assert caught.value.reason == f"token endpoint {WHERE} answer {what}"


def credential(client_auth: str) -> OAuth2ClientCredentials:
    return OAuth2ClientCredentials(
        "erp",
        token_url=WHERE,
        client_id="id:with space",
        client_secret=Secret("s&cret=+"),
        scope="a b",
        audience="https://api.example",
        client_auth="body" if client_auth == "body" else "header",
    )


def test_the_secret_goes_in_a_form_encoded_basic_header() -> None:
    request = credential("header").token_request()

    headers = dict(request.headers)
    encoded = headers["Authorization"].removeprefix("Basic ")
    assert base64.b64decode(encoded).decode() == "id%3Awith+space:s%26cret%3D%2B"
    assert request.body is not None
    assert dict(parse_qsl(request.body.decode())) == {
        "grant_type": "client_credentials",
        "scope": "a b",
        "audience": "https://api.example",
    }


def test_the_secret_goes_in_the_body() -> None:
    request = credential("body").token_request()

    assert "Authorization" not in dict(request.headers)
    assert request.body is not None
    form = dict(parse_qsl(request.body.decode()))
    assert (form["client_id"], form["client_secret"]) == ("id:with space", "s&cret=+")
    assert request.method == "POST"
    assert request.credential is None


def test_the_credential_repr_hides_the_secret() -> None:
    assert repr(credential("body")) == "OAuth2ClientCredentials('erp')"
