"""WSDL files the tests load, and the names they declare."""

from __future__ import annotations

from pathlib import Path

__all__ = ["ACTION", "ERP", "ORDERS_WSDL", "good_order"]

ORDERS_WSDL = Path(__file__).parent / "erp-orders.wsdl"
ERP = "urn:example:erp:orders"
ACTION = "urn:example:erp:orders/SubmitOrder"


def good_order(number: str = "00001042") -> dict[str, object]:
    """The content of a SubmitOrder that fits the WSDL's input type."""
    return {
        "Order": {
            "Number": number,
            "Account": "001Hs00000QRS34AAA",
            "Priority": True,
            "Total": {"Amount": 58.5, "Currency": "EUR"},
            "Line": [{"Sku": "A-100", "Quantity": 2}, {"Sku": "C-300", "Quantity": 6}],
        }
    }
