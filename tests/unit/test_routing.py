from __future__ import annotations

from urllib.parse import urlsplit

import orjson
import pytest

from omniout.config import RouteSettings
from omniout.errors import ConfigError, MappingError
from omniout.routing import UrlTemplate, compile_routes


def route(**overrides: object) -> RouteSettings:
    settings: dict[str, object] = {
        "name": "orders",
        "topic": "Order_Completed__e",
        "endpoint": {"url": "https://oms.example/orders/{Order_Number__c}"},
    }
    settings.update(overrides)
    return RouteSettings.model_validate(settings)


@pytest.mark.parametrize(
    "hostile",
    ["../admin", "@evil.example", "x%0d%0aHost: evil", "a/b?c=d#e", "x:1@evil"],
)
def test_event_data_cannot_change_where_a_request_goes(hostile: str) -> None:
    url = UrlTemplate("https://oms.example:8443/orders/{id}").render({"id": hostile})

    parts = urlsplit(url)
    assert (parts.scheme, parts.hostname, parts.port) == ("https", "oms.example", 8443)
    assert parts.path.count("/") == 2
    assert not parts.query
    assert not parts.fragment


def test_placeholders_in_the_host_are_refused() -> None:
    with pytest.raises(ValueError, match="host"):
        UrlTemplate("https://{tenant}.example/orders")


def test_a_missing_placeholder_value_is_a_mapping_error() -> None:
    with pytest.raises(MappingError, match="Order_Number__c"):
        compile_routes([route()])[0].request({}, "r-1")


def test_request_carries_the_idempotency_key_and_mapped_body() -> None:
    compiled = compile_routes(
        [route(mapping={"order.number": "Order_Number__c", "total": "Total"})]
    )[0]
    event = {"Order_Number__c": "00000123", "Total": 12.5, "EventUuid": "u-1"}

    request = compiled.request(event, compiled.request_id(event))

    assert request.url == "https://oms.example/orders/00000123"
    assert ("Idempotency-Key", "u-1") in request.headers
    assert request.body is not None
    assert orjson.loads(request.body) == {
        "order": {"number": "00000123"},
        "total": 12.5,
    }


def test_an_empty_request_id_is_a_mapping_error() -> None:
    compiled = compile_routes([route()])[0]

    with pytest.raises(MappingError, match="EventUuid"):
        compiled.request_id({"EventUuid": ""})


def test_conditions_filter_events() -> None:
    compiled = compile_routes([route(condition="Total > 100")])[0]

    assert compiled.matches({"Total": 150})
    assert not compiled.matches({"Total": 50})


def test_a_syntax_error_names_the_route_and_row() -> None:
    with pytest.raises(ConfigError) as caught:
        compile_routes([route(mapping={"total": "Total +"})], file="c.yaml")

    assert caught.value.file == "c.yaml"
    assert caught.value.key == "routes[0].mapping.total"


@pytest.mark.parametrize("dots", [".", ".."])
def test_a_dot_segment_from_the_event_is_a_mapping_error(dots: str) -> None:
    template = UrlTemplate("https://oms.example/orders/{id}/lines")

    with pytest.raises(MappingError, match="URL placeholder"):
        template.render({"id": dots})


def test_dots_inside_a_value_are_kept() -> None:
    url = UrlTemplate("https://oms.example/orders/{id}").render({"id": "..."})

    assert url == "https://oms.example/orders/..."


def test_the_request_names_the_endpoints_credential() -> None:
    endpoint = {"url": "https://oms.example/orders", "credential": "oms"}
    compiled = compile_routes([route(endpoint=endpoint)])[0]

    request = compiled.request({"EventUuid": "u-1"}, "u-1")

    assert request.credential == "oms"
    assert all(name != "Authorization" for name, _ in request.headers)


@pytest.mark.parametrize(
    ("template", "origin"),
    [
        ("https://api.example.test/orders/{Order_Number__c}", "https://api.example.test"),
        ("http://user:secret@127.0.0.1:9000/o", "http://127.0.0.1:9000"),
        ("http://127.0.0.1:9000?x=1", "http://127.0.0.1:9000"),
    ],
)
def test_the_origin_of_a_url_template_has_no_path_user_info_or_query(
    template: str, origin: str
) -> None:
    assert UrlTemplate(template).origin == origin


def test_a_soap_route_sends_an_envelope_with_its_headers() -> None:
    compiled = compile_routes(
        [
            route(
                mapping={"OrderNumber": "Order_Number__c"},
                endpoint={
                    "url": "https://oms.example/soap",
                    "format": "soap",
                    "soap": {"version": "1.1", "action": "urn:Submit"},
                },
            )
        ]
    )[0]

    request = compiled.request({"Order_Number__c": "42"}, "req-1")

    assert request.body is not None
    assert b"<OrderNumber>42</OrderNumber>" in request.body
    assert dict(request.headers) == {
        "Content-Type": "text/xml; charset=utf-8",
        "SOAPAction": '"urn:Submit"',
        "Idempotency-Key": "req-1",
    }
    assert compiled.policy.response_classifier is not None


def test_a_json_route_has_no_response_classifier() -> None:
    [compiled] = compile_routes([route()])

    assert compiled.policy.response_classifier is None
    request = compiled.request({"Order_Number__c": "7"}, "r")
    assert ("Content-Type", "application/json") in request.headers


def test_a_soap_section_needs_the_soap_format() -> None:
    with pytest.raises(ValueError, match="format: soap"):
        route(endpoint={"url": "https://x.example", "soap": {"version": "1.2"}})


def test_routes_know_whether_they_read_the_cdc_field_lists() -> None:
    reads, ignores = compile_routes(
        [
            route(name="a", condition="'Rating' in $changed"),
            route(name="b", mapping={"x": "Rating"}, gap_events="deliver"),
        ]
    )

    assert (reads.uses_changes, reads.takes_gap_events) == (True, False)
    assert (ignores.uses_changes, ignores.takes_gap_events) == (False, True)


CDC_ID = "ChangeEventHeader.transactionKey & ':' & ChangeEventHeader.sequenceNumber"


def test_a_computed_request_id_comes_from_its_expression() -> None:
    [compiled] = compile_routes([route(request_id={"expr": CDC_ID})])
    event = {"ChangeEventHeader": {"transactionKey": "0001-tx", "sequenceNumber": 3}}

    assert compiled.request_id(event) == "0001-tx:3"


@pytest.mark.parametrize(
    ("event", "reason"),
    [
        ({}, "is empty"),
        ({"ChangeEventHeader": {"recordIds": ["001A", "001B"]}}, "no single value"),
    ],
)
def test_a_computed_request_id_without_one_value_is_a_mapping_error(
    event: dict[str, object], reason: str
) -> None:
    [compiled] = compile_routes(
        [route(request_id={"expr": "ChangeEventHeader.recordIds"})]
    )

    with pytest.raises(MappingError, match=reason):
        compiled.request_id(event)


def test_a_request_id_expression_that_does_not_compile_names_its_key() -> None:
    with pytest.raises(ConfigError) as caught:
        compile_routes([route(request_id={"expr": "ChangeEventHeader.("})])

    assert caught.value.key == "routes[0].request_id.expr"
