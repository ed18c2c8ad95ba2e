"""The demo receiver's token issuer: client authentication, grants, expiry."""

from __future__ import annotations

import base64

from omniout.demo.tokens import Grant, Issued, Refusal, TokenIssuer

FORM = {"grant_type": "client_credentials", "scope": "orders.write"}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def issuer(clock: Clock | None = None) -> TokenIssuer:
    return TokenIssuer("omniout-demo", "s3cret", 300, clock or Clock())


def issued(result: Issued | Refusal) -> Issued:
    assert isinstance(result, Issued), result
    return result


def test_a_client_in_a_basic_header_gets_a_bearer_token() -> None:
    result = issued(issuer().issue(FORM, basic("omniout-demo", "s3cret")))

    assert result.number == 1
    assert result.client_id == "omniout-demo"
    assert result.answer() == {
        "access_token": result.access_token,
        "token_type": "Bearer",
        "expires_in": 300,
        "scope": "orders.write",
    }


def test_a_client_in_the_form_body_gets_a_token() -> None:
    form = {"grant_type": "client_credentials", "client_id": "omniout-demo",
            "client_secret": "s3cret"}

    result = issued(issuer().issue(form, None))

    assert "scope" not in result.answer()


def test_form_encoded_credentials_in_the_basic_header_are_decoded() -> None:
    tokens = TokenIssuer("demo client", "a:b+c", 300, Clock())

    result = tokens.issue(FORM, basic("demo+client", "a%3Ab%2Bc"))

    assert isinstance(result, Issued)


def test_a_wrong_secret_or_unknown_client_is_refused_as_invalid_client() -> None:
    tokens = issuer()

    for header in (basic("omniout-demo", "wrong"), basic("other", "s3cret"),
                   "Basic not-base64!", None):
        result = tokens.issue(FORM, header)

        assert result == Refusal(401, "invalid_client",
                                 "unknown client or wrong secret")


def test_another_grant_type_is_refused() -> None:
    form = {"grant_type": "password"}

    result = issuer().issue(form, basic("omniout-demo", "s3cret"))

    assert isinstance(result, Refusal)
    assert (result.status, result.error) == (400, "unsupported_grant_type")
    assert result.answer()["error"] == "unsupported_grant_type"


def test_a_current_token_is_recognised_with_its_number_and_time_left() -> None:
    clock = Clock()
    tokens = issuer(clock)
    first = issued(tokens.issue(FORM, basic("omniout-demo", "s3cret")))
    second = issued(tokens.issue(FORM, basic("omniout-demo", "s3cret")))
    clock.now += 100

    assert tokens.check(f"Bearer {first.access_token}") == Grant(1, 200.0)
    assert tokens.check(f"bearer {second.access_token}") == Grant(2, 200.0)


def test_a_request_without_a_current_bearer_token_is_told_why() -> None:
    clock = Clock()
    tokens = issuer(clock)
    token = issued(tokens.issue(FORM, basic("omniout-demo", "s3cret"))).access_token

    assert tokens.check(None) == "no bearer token"
    assert tokens.check(basic("omniout-demo", "s3cret")) == "no bearer token"
    assert tokens.check("Bearer made-up") == "unknown or expired token"
    clock.now += 300
    assert tokens.check(f"Bearer {token}") == "token #1 has expired"


def test_expired_tokens_are_forgotten_and_numbers_keep_counting() -> None:
    clock = Clock()
    tokens = issuer(clock)
    old = issued(tokens.issue(FORM, basic("omniout-demo", "s3cret")))
    clock.now += 301

    new = issued(tokens.issue(FORM, basic("omniout-demo", "s3cret")))

    assert new.number == 2
    assert tokens.check(f"Bearer {old.access_token}") == "unknown or expired token"
