"""Helper functions, as mappings call them through the engine."""

from __future__ import annotations

from typing import Any

import pytest

from omniout.errors import MappingError
from omniout.mapping import Expression
from tests.unit.mapping.events import account_update, order_event

NOW = {"nowMillis": 1_764_003_600_000}


def run(source: str, event: dict[str, Any] | None = None) -> Any:
    return Expression(source).evaluate(event or order_event(), NOW)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("$toIso(Completed_At__c)", "2025-11-24T16:59:59.000Z"),
        ("$toIso(Completed_At__c, 'Europe/Berlin')", "2025-11-24T17:59:59.000+01:00"),
        ("$toIso(1751328000123, 'America/New_York')", "2025-06-30T20:00:00.123-04:00"),
        ("$toIso($nowMillis)", "2025-11-24T17:00:00.000Z"),
        ("$toDate(Requested_Ship_Date__c)", "2025-11-27"),
        ("$toDate(Completed_At__c, 'Asia/Tokyo')", "2025-11-25"),
        ("$fromIso('2025-11-24T17:00:00Z')", 1_764_003_600_000),
        ("$fromIso('2025-11-24T18:00:00.250+01:00')", 1_764_003_600_250),
        ("$fromIso('2025-11-27')", 1_764_201_600_000),
        ("$fromIso($toIso(Completed_At__c, 'Asia/Kolkata'))", 1_764_003_599_000),
        ("$toIso(No_Such_Field__c)", None),
    ],
)
def test_date_helpers(source: str, expected: Any) -> None:
    assert run(source) == expected


def test_an_unknown_time_zone_is_a_mapping_error() -> None:
    with pytest.raises(MappingError, match="unknown time zone"):
        run("$toIso(Completed_At__c, 'Mars/Olympus')")


def test_a_string_is_not_epoch_milliseconds() -> None:
    with pytest.raises(MappingError, match="epoch milliseconds"):
        run("$toIso(Order_Number__c)")


def test_pick_keeps_named_fields_nulls_and_nested_ones() -> None:
    changed = ["Rating", "Website", "BillingAddress.City"]

    picked = Expression("$pick($, $changed)").evaluate(
        account_update(), {"changed": changed}
    )

    assert picked == {
        "Rating": "Hot",
        "Website": None,
        "BillingAddress": {"City": "Lyon"},
    }


def test_helpers_do_not_shadow_the_language() -> None:
    assert run("$uppercase($substring(Currency_Iso_Code__c, 0, 2))") == "EU"


@pytest.mark.parametrize(
    ("source", "reads"),
    [("Rating", False), ("$toIso(CreatedDate)", False), ("$nowMillis", True),
     ("'Rating' in $changed", True), ("$pick($, $nulled)", True)],
)
def test_expressions_know_whether_they_read_per_event_bindings(
    source: str, reads: bool
) -> None:
    assert Expression(source).reads_bindings is reads
