"""What a credential adds to the per-event cost, in-process, without a network.

For each scheme, the time to turn a route's request into the request that
goes out (credential applied) is measured, and printed as a ratio to the
route's own per-event work (mapping the event and building the request),
measured in the same run. The OAuth2 figure is the cached-token path that
almost every event takes: ``send`` answers in-process, so only the
credential's own work is timed.

Run: .venv/bin/python benchmarks/bench_credentials.py [--events 20000]
"""

from __future__ import annotations

import argparse
import base64
from functools import partial

import orjson
from timing import per_await, per_call

from omniout.config import RouteSettings
from omniout.deliver import OutboundRequest, Response
from omniout.deliver.auth import (
    ApiKey,
    BasicAuth,
    BearerToken,
    OAuth2ClientCredentials,
    Secret,
    WebhookSignature,
)
from omniout.routing import compile_routes

EVENT = {
    "EventUuid": "0b6c2a53-cf6d-4c2e-9a51-3f1e0c9d2b77",
    "Order_Number__c": "00000123",
    "Total_Amount__c": 1234.5,
    "Currency_Iso_Code__c": "EUR",
    "Line_Items_Json__c": "x" * 800,
}
TOKEN_ANSWER = orjson.dumps({"access_token": "t" * 40, "expires_in": 3600})


async def answer(request: OutboundRequest) -> Response:
    body = TOKEN_ANSWER if request.url.endswith("/token") else b""
    return Response(200, (), body, 0.0)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=20000)
    events = parser.parse_args().events

    settings = RouteSettings.model_validate(
        {
            "name": "orders",
            "topic": "t",
            "mapping": {
                "number": "Order_Number__c",
                "total": "Total_Amount__c",
                "lines": "Line_Items_Json__c",
            },
            "endpoint": {"url": "https://erp.example/orders/{Order_Number__c}"},
        }
    )
    route = compile_routes([settings])[0]
    request = route.request(EVENT, "r-1")
    key = "whsec_" + base64.b64encode(b"k" * 24).decode()
    oauth = OAuth2ClientCredentials(
        "erp",
        token_url="https://idp.example/token",
        client_id="c",
        client_secret=Secret("s"),
    )

    basic = BasicAuth("b", "u", Secret("p"))
    bearer = BearerToken("t", Secret("tok"))
    query = ApiKey("k", "key", Secret("v"), "query")
    signing = WebhookSignature("h", Secret(key))

    async def oauth_send() -> Response:
        return await oauth.send(request, answer)

    async def bare_send() -> Response:
        return await answer(request)

    baseline = per_call(partial(route.request, EVENT, "r-1"), events)
    rows = {
        "basic": per_call(partial(basic.authorize, request), events),
        "bearer": per_call(partial(bearer.authorize, request), events),
        "api key (query)": per_call(partial(query.authorize, request), events),
        "hmac (1 KB body)": per_call(partial(signing.signed, request), events),
        "oauth2 (cached token)": per_await(oauth_send, events)
        - per_await(bare_send, events),
    }
    print(f"route.request (baseline): {baseline * 1e6:8.2f} us/event")
    for name, seconds in rows.items():
        print(
            f"{name:24s}: {seconds * 1e6:8.2f} us/event, "
            f"{seconds / baseline:5.2f}x the baseline"
        )


if __name__ == "__main__":
    main()
