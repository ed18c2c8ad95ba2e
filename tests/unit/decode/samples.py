"""Sample records that fill every kind of field, and an in-memory registry."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from omniout.decode import KnownSchema
from omniout.errors import UnknownSchemaError

SCHEMAS = Path(__file__).resolve().parents[3] / "schemas"
ORDER = "com.sforce.eventbus.Order_Completed__e"
ACCOUNT = "com.sforce.eventbus.AccountChangeEvent"


class FakeRegistry:
    """Registry ids mapped to schemas, with the lookups counted."""

    def __init__(self, schemas: dict[int, KnownSchema]) -> None:
        self.schemas = schemas
        self.lookups = 0

    async def schema(self, registry_id: int) -> KnownSchema:
        self.lookups += 1
        try:
            return self.schemas[registry_id]
        except KeyError:
            raise UnknownSchemaError(f"schema id {registry_id} unknown") from None


def order_record() -> dict[str, Any]:
    """Every field of Order_Completed__e set, timestamps as epoch ms."""
    return {
        "CreatedDate": 1_733_260_800_123,
        "CreatedById": "005Hs00000ABCDEF",
        "EventUuid": "6a1f0a2e-3b4c-4d5e-8f60-718293a4b5c6",
        "Order_Id__c": "801Hs00000XYZ",
        "Order_Number__c": "00001042",
        "Account_Id__c": "001Hs00000QRS",
        "Total_Amount__c": 1249.5,
        "Currency_Iso_Code__c": "EUR",
        "Completed_At__c": 1_733_260_799_000,
        "Requested_Ship_Date__c": 1_733_356_800_000,
        "Is_Priority__c": True,
        "Line_Items_Json__c": '[{"sku":"A-1","qty":2}]',
        "Correlation_Id__c": None,
    }


def account_record() -> dict[str, Any]:
    """An account change with nested records, an enum, arrays and unions."""
    address = {
        "Street": "1 Market St",
        "City": "San Francisco",
        "State": "California",
        "PostalCode": "94105",
        "Country": "United States",
        "StateCode": "CA",
        "CountryCode": "US",
        "Latitude": 37.7946,
        "Longitude": -122.3950,
        "GeocodeAccuracy": "Address",
    }
    record: dict[str, Any] = {
        "ChangeEventHeader": {
            "entityName": "Account",
            "recordIds": ["001Hs00000QRS"],
            "changeType": "UPDATE",
            "changeOrigin": "com/salesforce/api/rest/61.0",
            "transactionKey": "0002b8a4-1c1d-4e6f-0000-000000000000",
            "sequenceNumber": 1,
            "commitTimestamp": 1_733_260_800_000,
            "commitNumber": 11_796_389_312_645,
            "commitUser": "005Hs00000ABCDEF",
            "nulledFields": [],
            "diffFields": [],
            "changedFields": ["Name", "BillingAddress.City"],
        },
        "EventUuid": "0c2d3e4f-5a6b-4c7d-8e9f-a0b1c2d3e4f5",
        "Name": {"Salutation": None, "FirstName": "Ada", "LastName": "Lovelace"},
        "BillingAddress": address,
        "ShippingAddress": {**address, "Street": "2 Pier 39"},
        "AnnualRevenue": 2.5e7,
        "NumberOfEmployees": 120,
        "CreatedDate": 1_600_000_000_000,
        "Is_Key_Account__c": False,
    }
    return record
