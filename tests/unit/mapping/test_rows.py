"""Mapping rows: the plain and the long form, defaults and value maps."""

from __future__ import annotations

import pytest

from omniout.config import RouteSettings
from omniout.errors import ConfigError, MappingError
from omniout.mapping import Mapping
from omniout.mapping.rows import RowSettings
from omniout.routing import compile_routes
from tests.unit.mapping.events import account_update, order_event


def row(**fields: object) -> RowSettings:
    return RowSettings.model_validate(fields)


def test_plain_and_long_rows_mix_in_one_table() -> None:
    mapping = Mapping(
        {
            "order": "Order_Number__c",
            "total.amount": row(expr="Total_Amount__c"),
            "total.currency": row(expr="Currency_Iso_Code__c"),
        }
    )

    assert mapping.apply(order_event()) == {
        "order": "00001042",
        "total": {"amount": 175.25, "currency": "EUR"},
    }


def test_a_value_map_translates_a_picklist() -> None:
    mapping = Mapping({"tier": row(expr="Customer_Tier__c", map={"Gold": "G"})})

    assert mapping.apply(account_update()) == {"tier": "G"}


def test_a_default_fills_an_empty_value() -> None:
    mapping = Mapping({"industry": row(expr="Industry", default="Unknown")})

    assert mapping.apply(account_update()) == {"industry": "Unknown"}


def test_a_value_the_map_lacks_takes_the_default() -> None:
    tiers = {"Gold": "G", "Silver": "S"}
    mapping = Mapping({"tier": row(expr="Customer_Tier__c", map=tiers, default="X")})

    assert mapping.apply(account_update(Customer_Tier__c="Bronze")) == {"tier": "X"}


def test_a_value_the_map_lacks_without_a_default_leaves_the_row_out() -> None:
    mapping = Mapping({"tier": row(expr="Customer_Tier__c", map={"Gold": "G"})})

    assert mapping.apply(account_update(Customer_Tier__c="Bronze")) == {}


def test_yaml_keys_that_are_booleans_or_numbers_match_event_values() -> None:
    mapping = Mapping(
        {
            "flag": row(expr="Is_Priority__c", map={True: "Y", False: "N"}),
            "size": row(expr="Total_Amount__c", map={7: "seven"}),
        }
    )

    assert mapping.apply(order_event(Total_Amount__c=7.0)) == {
        "flag": "Y",
        "size": "seven",
    }


def test_a_mapped_value_may_be_an_object() -> None:
    status = {"Hot": {"code": 1, "label": "hot lead"}}
    mapping = Mapping({"rating": row(expr="Rating", map=status)})

    assert mapping.apply(account_update()) == {
        "rating": {"code": 1, "label": "hot lead"}
    }


def test_bindings_reach_every_row() -> None:
    mapping = Mapping({"sentAt": "$toIso($nowMillis)", "n": "Order_Number__c"})

    payload = mapping.apply(order_event(), {"nowMillis": 1_764_003_600_000})

    assert payload == {"sentAt": "2025-11-24T17:00:00.000Z", "n": "00001042"}


def test_the_variables_a_mapping_mentions_are_known() -> None:
    mapping = Mapping({"a": "$pick($, $changed)", "b": row(expr="$nowMillis")})

    assert {"pick", "changed", "nowMillis"} <= mapping.variables


def test_a_failing_row_is_named_in_the_error() -> None:
    mapping = Mapping({"lines": "$eval(Line_Items_Json__c)"}, route="orders")

    with pytest.raises(MappingError) as caught:
        mapping.apply(order_event(Line_Items_Json__c="not json"))

    assert (caught.value.route, caught.value.row) == ("orders", "lines")


def test_a_syntax_error_in_a_long_row_names_route_and_row_at_load() -> None:
    settings = RouteSettings.model_validate(
        {
            "name": "orders",
            "topic": "t",
            "endpoint": {"url": "https://oms.example/orders"},
            "mapping": {
                "order": "Order_Number__c",
                "total.amount": {"expr": "$round(Total_Amount__c,", "default": 0},
            },
        }
    )

    with pytest.raises(ConfigError) as caught:
        compile_routes([settings], file="omniout.yaml")

    assert caught.value.file == "omniout.yaml"
    assert caught.value.key == "routes[0].mapping.total.amount"
    assert "invalid expression" in caught.value.reason


def test_an_unknown_key_in_a_long_row_is_a_config_error() -> None:
    with pytest.raises(ValueError, match="extra"):
        RouteSettings.model_validate(
            {
                "name": "orders",
                "topic": "t",
                "endpoint": {"url": "https://oms.example/orders"},
                "mapping": {"a": {"expr": "x", "defualt": 1}},
            }
        )


def test_a_row_below_a_scalar_row_is_a_mapping_error() -> None:
    mapping = Mapping({"total": "Total_Amount__c", "total.currency": "'EUR'"})

    with pytest.raises(MappingError, match="not an object") as caught:
        mapping.apply(order_event())

    assert caught.value.row == "total.currency"


def test_a_row_may_add_to_an_object_an_earlier_row_built() -> None:
    mapping = Mapping(
        {"total": "{'amount': Total_Amount__c}", "total.currency": "'EUR'"}
    )

    assert mapping.apply(order_event()) == {
        "total": {"amount": 175.25, "currency": "EUR"}
    }
