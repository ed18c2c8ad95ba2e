"""CDC field bitmaps, checked by hand against AccountChangeEvent.avsc.

Top-level positions: 0 ChangeEventHeader, 1 EventUuid, 2 Name, 3 Type,
4 Industry, 5 Rating, ..., 9 BillingAddress, 10 ShippingAddress,
11 Phone, 12 Website, ..., 17 LastModifiedDate, 18 Customer_Tier__c,
21 Is_Key_Account__c. Address fields: 0 Street, 1 City, 2 State,
3 PostalCode, 4 Country, ... 9 GeocodeAccuracy. PersonName: 0 Salutation,
1 FirstName, 2 LastName.
"""

from __future__ import annotations

import pytest

from omniout.decode import SchemaStore
from omniout.errors import GapEventError, MappingError
from omniout.mapping.cdc import (
    FieldTable,
    FieldTables,
    change_bindings,
    expand,
    field_table,
    refuse_gap,
)
from tests.unit.decode.samples import ACCOUNT, SCHEMAS
from tests.unit.mapping.events import account_update, gap_event, order_event


@pytest.fixture(scope="module")
def table() -> FieldTable:
    schema = SchemaStore.load(SCHEMAS).by_name(ACCOUNT)
    assert schema is not None
    return field_table(schema.plain)


@pytest.mark.parametrize(
    ("entries", "names"),
    [
        ([], []),
        (["0x1E"], ["EventUuid", "Name", "Type", "Industry"]),
        (["0x1e"], ["EventUuid", "Name", "Type", "Industry"]),
        (["0x21820"], ["Rating", "Phone", "Website", "LastModifiedDate"]),
        (["0x200000"], ["Is_Key_Account__c"]),
        (["0x40000", "9-0x2"], ["Customer_Tier__c", "BillingAddress.City"]),
        (
            ["0x00", "9-0x0012", "10-0x200"],
            [
                "BillingAddress.City",
                "BillingAddress.Country",
                "ShippingAddress.GeocodeAccuracy",
            ],
        ),
        (["2-0x6"], ["Name.FirstName", "Name.LastName"]),
    ],
)
def test_bitmaps_expand_to_field_names(
    table: FieldTable, entries: list[str], names: list[str]
) -> None:
    assert expand(table, entries) == names


def test_a_reused_record_type_still_has_children(table: FieldTable) -> None:
    assert table.children[10] == table.children[9]
    assert table.children[2] == ("Salutation", "FirstName", "LastName")


@pytest.mark.parametrize(
    ("entries", "reason"),
    [
        (["1E"], "malformed"),
        (["0xZZ"], "malformed"),
        (["x-0x1"], "malformed"),
        (["5-0x1"], "not a compound field"),
        (["0x400000"], "past the last of 22"),
        (["9-0x400"], "past the last of 10"),
    ],
)
def test_bad_bitmaps_are_mapping_errors(
    table: FieldTable, entries: list[str], reason: str
) -> None:
    with pytest.raises(MappingError, match=reason):
        expand(table, entries)


def test_bindings_expand_all_three_lists(table: FieldTable) -> None:
    bindings = change_bindings(account_update(), table)

    assert bindings == {
        "changed": [
            "Rating",
            "Phone",
            "Website",
            "LastModifiedDate",
            "BillingAddress.City",
        ],
        "nulled": ["Website"],
        "diffed": [],
    }


def test_an_event_without_a_change_header_binds_empty_lists(
    table: FieldTable,
) -> None:
    assert change_bindings(order_event(), table) == {
        "changed": [],
        "nulled": [],
        "diffed": [],
    }


def test_tables_are_built_once_per_schema() -> None:
    schema = SchemaStore.load(SCHEMAS).by_name(ACCOUNT)
    assert schema is not None
    tables = FieldTables()

    first = tables.get(schema.fingerprint, schema.plain)

    assert tables.get(schema.fingerprint, {}) is first


@pytest.mark.parametrize(
    "change", ["GAP_CREATE", "GAP_UPDATE", "GAP_DELETE", "GAP_UNDELETE"]
)
def test_gap_events_are_refused_with_the_ids_to_reread(change: str) -> None:
    with pytest.raises(GapEventError) as caught:
        refuse_gap(gap_event(change))

    assert caught.value.kind == "gap-event"
    assert caught.value.change_type == change
    assert "001Hs00000QRS34AAA" in caught.value.reason
    assert "re-read" in caught.value.reason


def test_gap_overflow_is_refused_without_ids() -> None:
    with pytest.raises(GapEventError, match="GAP_OVERFLOW for Account"):
        refuse_gap(gap_event("GAP_OVERFLOW"))


@pytest.mark.parametrize("event", [account_update(), order_event()])
def test_other_events_pass_untouched(event: dict[str, object]) -> None:
    before = repr(event)

    refuse_gap(event)

    assert repr(event) == before
