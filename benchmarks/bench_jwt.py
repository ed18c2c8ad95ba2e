"""What signed JWT credentials cost: per event, and per token request.

Two figures, each as a ratio to the OAuth2 client-secret credential measured
in the same run:

- per event, the cached-token path that almost every event takes (``send``
  answers in-process), which must not sign anything;
- per token request, building the request, which signs one assertion
  (RSA 2048 with RS256, EC P-256 with ES256).

Run: .venv/bin/python benchmarks/bench_jwt.py [--events 20000]
"""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable

import orjson
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from timing import per_await, per_call

from omniout.deliver import OutboundRequest, Response
from omniout.deliver.auth import (
    AssertionClaims,
    AssertionSigner,
    OAuth2ClientCredentials,
    OAuth2Credential,
    OAuth2JwtBearer,
    Secret,
    SigningKey,
)

TOKEN_URL = "https://idp.example/token"
TOKEN_ANSWER = orjson.dumps({"access_token": "t" * 40, "expires_in": 3600})
REQUEST = OutboundRequest("POST", "https://erp.example/orders", (), b"{}", 10.0)


async def answer(request: OutboundRequest) -> Response:
    body = TOKEN_ANSWER if request.url == TOKEN_URL else b""
    return Response(200, (), body, 0.0)


def credentials() -> dict[str, OAuth2Credential]:
    claims = AssertionClaims("client", "user@example.com", TOKEN_URL, 120)
    rs256 = SigningKey(rsa.generate_private_key(65537, 2048), "RS256")
    es256 = SigningKey(ec.generate_private_key(ec.SECP256R1()), "ES256")
    return {
        "client secret (baseline)": OAuth2ClientCredentials(
            "secret", token_url=TOKEN_URL, client_id="c", client_secret=Secret("s")
        ),
        "jwt bearer, RS256": OAuth2JwtBearer(
            "bearer", token_url=TOKEN_URL, assertion=AssertionSigner(claims, rs256)
        ),
        "private_key_jwt, ES256": OAuth2ClientCredentials(
            "signed",
            token_url=TOKEN_URL,
            client_id="c",
            client_assertion=AssertionSigner(claims, es256),
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=20000)
    events = parser.parse_args().events
    opened = credentials()

    def cached(credential: OAuth2Credential) -> Callable[[], Awaitable[Response]]:
        return lambda: credential.send(REQUEST, answer)

    per_event = {name: per_await(cached(c), events) for name, c in opened.items()}
    per_token = {
        name: per_call(c.token_request, max(events // 20, 50))
        for name, c in opened.items()
    }
    for title, rows in (("per event", per_event), ("per token", per_token)):
        baseline = rows["client secret (baseline)"]
        for name, seconds in rows.items():
            print(
                f"{title}, {name:26s}: {seconds * 1e6:9.2f} us, "
                f"{seconds / baseline:6.2f}x the baseline"
            )


if __name__ == "__main__":
    main()
