from __future__ import annotations

import pytest

from omniout.deliver import OutboundRequest
from omniout.deliver.auth import ApiKey, Secret
from omniout.deliver.auth.api_key import add_query_parameter


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://h.example/a", "https://h.example/a?k=v"),
        ("https://h.example/a?x=1", "https://h.example/a?x=1&k=v"),
        ("https://h.example/a#top", "https://h.example/a?k=v#top"),
        ("https://h.example/a?x=1#t?q", "https://h.example/a?x=1&k=v#t?q"),
    ],
)
def test_the_parameter_goes_last_in_the_query(url: str, expected: str) -> None:
    assert add_query_parameter(url, "k=v") == expected


def request(url: str = "https://h.example/a") -> OutboundRequest:
    return OutboundRequest("GET", url, (("Accept", "*/*"),), None, 5.0, "maps")


def test_a_header_key_is_added_to_the_headers() -> None:
    key = ApiKey("crm", "X-Api-Key", Secret("k1"))

    sent = key.authorize(request())

    assert sent.headers == (("Accept", "*/*"), ("X-Api-Key", "k1"))
    assert sent.url == "https://h.example/a"


def test_a_query_key_is_encoded_into_the_url() -> None:
    key = ApiKey("maps", "api key", Secret("a/b&c"), "query")

    sent = key.authorize(request())

    assert sent.url == "https://h.example/a?api%20key=a%2Fb%26c"
    assert sent.headers == (("Accept", "*/*"),)
