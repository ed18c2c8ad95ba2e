"""Realistic decoded events for mapping tests: an order and account changes."""

from __future__ import annotations

from typing import Any

import orjson

LINES = [
    {"sku": "A-100", "name": "Widget", "qty": 2, "price": 19.5},
    {"sku": "B-200", "name": "Gadget", "qty": 1, "price": 120.0},
    {"sku": "C-300", "name": "Spare part", "qty": 5, "price": 3.25},
]


def order_event(**fields: Any) -> dict[str, Any]:
    """An Order_Completed__e as the decoder returns it."""
    event: dict[str, Any] = {
        "CreatedDate": 1_764_003_600_000,
        "CreatedById": "005Hs00000ABCDEFAA",
        "EventUuid": "6a1f0a2e-3b4c-4d5e-8f60-718293a4b5c6",
        "Order_Id__c": "801Hs00000XYZ12AAA",
        "Order_Number__c": "00001042",
        "Account_Id__c": "001Hs00000QRS34AAA",
        "Total_Amount__c": 175.25,
        "Currency_Iso_Code__c": "EUR",
        "Completed_At__c": 1_764_003_599_000,
        "Requested_Ship_Date__c": 1_764_201_600_000,
        "Is_Priority__c": True,
        "Line_Items_Json__c": orjson.dumps(LINES).decode(),
        "Correlation_Id__c": "ERP-77821",
    }
    event.update(fields)
    return event


def account_update(**fields: Any) -> dict[str, Any]:
    """An AccountChangeEvent UPDATE of Rating, Phone and the billing city.

    Positions in the schema: Rating 5, Phone 11, Website 12 (set to null,
    so also in ``nulledFields`` as 0x1000), LastModifiedDate 17: the
    top-level bitmap is 0x20 + 0x800 + 0x1000 + 0x20000 = 0x21820.
    BillingAddress is field 9 and City its field 1: ``9-0x2``.
    """
    event: dict[str, Any] = {
        "ChangeEventHeader": {
            "entityName": "Account",
            "recordIds": ["001Hs00000QRS34AAA"],
            "changeType": "UPDATE",
            "changeOrigin": "com/salesforce/api/rest/61.0;client=crm-ui",
            "transactionKey": "00051b8e-4f6e-4a0e-9c3a-1b2c3d4e5f60",
            "sequenceNumber": 1,
            "commitTimestamp": 1_764_003_600_000,
            "commitNumber": 11_833_551_456_789,
            "commitUser": "005Hs00000ABCDEFAA",
            "nulledFields": ["0x1000"],
            "diffFields": [],
            "changedFields": ["0x21820", "9-0x2"],
        },
        "EventUuid": "0b6c1f7e-2d3a-4b5c-9d8e-7f6a5b4c3d2e",
        "Name": None,
        "Type": None,
        "Industry": None,
        "Rating": "Hot",
        "AccountSource": None,
        "ParentId": None,
        "OwnerId": None,
        "BillingAddress": {"City": "Lyon", "Country": None},
        "ShippingAddress": None,
        "Phone": "+33 4 72 00 00 00",
        "Website": None,
        "AccountNumber": None,
        "AnnualRevenue": None,
        "NumberOfEmployees": None,
        "CreatedDate": None,
        "LastModifiedDate": 1_764_003_600_000,
        "Customer_Tier__c": "Gold",
        "Contract_End_Date__c": None,
        "Credit_Limit__c": None,
        "Is_Key_Account__c": None,
    }
    event.update(fields)
    return event


def account_create() -> dict[str, Any]:
    """An AccountChangeEvent CREATE with a full body."""
    event = account_update()
    event["ChangeEventHeader"] = {
        **event["ChangeEventHeader"],
        "changeType": "CREATE",
        "changedFields": [],
        "nulledFields": [],
    }
    event.update(
        Name="Acme Rhône",
        Type="Customer - Direct",
        Industry="Manufacturing",
        AccountSource="Web",
        AnnualRevenue=12_500_000.0,
        NumberOfEmployees=240,
        CreatedDate=1_764_003_600_000,
        Contract_End_Date__c=1_798_675_200_000,
        Credit_Limit__c=50_000.0,
        Is_Key_Account__c=True,
    )
    event["BillingAddress"] = {
        "Street": "12 Rue de la République",
        "City": "Lyon",
        "State": None,
        "PostalCode": "69002",
        "Country": "France",
        "StateCode": None,
        "CountryCode": "FR",
        "Latitude": 45.7640,
        "Longitude": 4.8357,
        "GeocodeAccuracy": "Address",
    }
    return event


def gap_event(change_type: str = "GAP_UPDATE") -> dict[str, Any]:
    """A gap event: the header only, record ids but no values."""
    event: dict[str, Any] = dict.fromkeys(account_update())
    event["EventUuid"] = "5d4c3b2a-1f0e-4d9c-8b7a-6f5e4d3c2b1a"
    event["ChangeEventHeader"] = {
        **account_update()["ChangeEventHeader"],
        "changeType": change_type,
        "changedFields": [],
        "nulledFields": [],
        "recordIds": [] if change_type == "GAP_OVERFLOW" else ["001Hs00000QRS34AAA"],
    }
    return event
