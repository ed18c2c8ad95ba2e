"""The ``soap.wsdl`` option: read when the routes compile, refused clearly."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from omniout.config import load_settings
from omniout.errors import ConfigError
from omniout.routing import Route, compile_routes
from tests.wsdl import ACTION, ORDERS_WSDL, good_order

KEY = "routes[0].endpoint.soap"


def compiled(tmp_path: Path, soap: dict[str, Any], url: str | None = None) -> Route:
    endpoint: dict[str, Any] = {"format": "soap", "soap": soap}
    if url is not None:
        endpoint["url"] = url
    route = {"name": "erp", "topic": "orders", "endpoint": endpoint}
    file = tmp_path / "c.yaml"
    file.write_text(yaml.safe_dump({"routes": [route]}), encoding="utf-8")
    settings = load_settings(file)
    return compile_routes(settings.routes, file=str(file))[0]


def refused(tmp_path: Path, soap: dict[str, Any], url: str | None = None) -> str:
    with pytest.raises(ConfigError) as caught:
        compiled(tmp_path, soap, url)
    text = str(caught.value)
    assert text.startswith(f"{tmp_path / 'c.yaml'}: ")
    return text


def orders(**extra: Any) -> dict[str, Any]:
    return {"wsdl": str(ORDERS_WSDL), "operation": "SubmitOrder", **extra}


def test_the_wsdl_ports_address_serves_when_the_route_has_no_url(
    tmp_path: Path,
) -> None:
    route = compiled(tmp_path, orders(port="OrderIntakeSoap11"))

    request = route.request(good_order(), "e-1")

    assert request.url == "https://erp.example/soap/orders"
    assert ("SOAPAction", f'"{ACTION}"') in request.headers


def test_the_routes_url_overrides_the_wsdl_address(tmp_path: Path) -> None:
    route = compiled(
        tmp_path, orders(port="OrderIntakeSoap12"), url="http://127.0.0.1:9/erp"
    )

    assert route.request(good_order(), "e-1").url == "http://127.0.0.1:9/erp"


def test_a_missing_wsdl_names_the_file_and_key(tmp_path: Path) -> None:
    text = refused(tmp_path, orders(wsdl=str(tmp_path / "gone.wsdl")))

    assert f"{KEY}.wsdl: {tmp_path / 'gone.wsdl'}: no such file" in text


def test_a_file_that_is_not_a_wsdl_is_refused(tmp_path: Path) -> None:
    (tmp_path / "broken.wsdl").write_text("<definitions", encoding="utf-8")

    text = refused(tmp_path, orders(wsdl=str(tmp_path / "broken.wsdl")))

    assert f"{KEY}.wsdl: {tmp_path / 'broken.wsdl'}: not a usable WSDL" in text


def test_a_wsdl_that_imports_over_the_network_is_refused(tmp_path: Path) -> None:
    # The schema would be fetched from a host; start-up must not depend on one.
    text = ORDERS_WSDL.read_text(encoding="utf-8").replace(
        "<wsdl:types>",
        '<wsdl:types><xs:schema><xs:import namespace="urn:remote"'
        ' schemaLocation="http://127.0.0.1:9/remote.xsd"/></xs:schema>',
    )
    (tmp_path / "remote.wsdl").write_text(text, encoding="utf-8")

    message = refused(tmp_path, orders(wsdl=str(tmp_path / "remote.wsdl")))

    assert "refusing to fetch http://127.0.0.1:9/remote.xsd" in message


@pytest.mark.parametrize(
    ("extra", "key", "reason"),
    [
        ({"service": "Billing"}, "service", "no service 'Billing' (OrderIntake)"),
        ({"port": "OrderIntakeSoap13"}, "port", "no SOAP port 'OrderIntakeSoap13'"),
        ({}, "port", "choose one of the ports OrderIntakeSoap11, OrderIntakeSoap12"),
        (
            {"operation": "CancelOrder", "port": "OrderIntakeSoap11"},
            "operation",
            "port 'OrderIntakeSoap11' has no operation 'CancelOrder'"
            " (it has: SubmitOrder)",
        ),
    ],
)
def test_an_unknown_service_port_or_operation_names_its_key(
    tmp_path: Path, extra: dict[str, Any], key: str, reason: str
) -> None:
    text = refused(tmp_path, orders(**extra))

    assert f"{KEY}.{key}: {ORDERS_WSDL}: {reason}" in text


@pytest.mark.parametrize(
    ("soap", "reason"),
    [
        (orders(version="1.2"), "version: given by the wsdl, not the config"),
        (orders(action="urn:x"), "action: given by the wsdl, not the config"),
        ({"wsdl": str(ORDERS_WSDL)}, "a wsdl needs the operation to call"),
        ({"port": "OrderIntakeSoap11"}, "service and port choose from a wsdl"),
    ],
)
def test_settings_that_contradict_the_wsdl_are_refused(
    tmp_path: Path, soap: dict[str, Any], reason: str
) -> None:
    text = refused(tmp_path, soap, url="https://erp.example/soap")

    assert f"{KEY}: " in text
    assert reason in text


def test_a_soap_route_without_a_wsdl_still_needs_a_url(tmp_path: Path) -> None:
    text = refused(tmp_path, {"version": "1.1"})

    assert "routes[0].endpoint: " in text
    assert "url: is required" in text
