"""The emulator's order model: a Fynd shipment with its items, courier and invoice."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from etl.konnect import ORDER_STATUSES

IST = timezone(timedelta(hours=5, minutes=30), "IST")
KONNECT_STATUS_OF = {state: status for status, states in ORDER_STATUSES.items() for state in states}


class Refused(Exception):
    """One record refused by Konnect: becomes an entry in the answer's `errors`."""

    def __init__(self, code: str, message: str) -> None:
        self.code, self.message = code, message
        super().__init__(f"{code}: {message}")


@dataclass
class Item:
    """One order item (a Fynd bag)."""

    item_id: str
    sku: str
    quantity: int
    mrp: float
    esp: float
    cancelled: int = 0
    serials: list[str] = field(default_factory=list)
    qc_reason: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "orderItemId": self.item_id,
            "sku": self.sku,
            "quantity": self.quantity,
            "cancelledQuantity": self.cancelled,
            "mrp": self.mrp,
            "esp": self.esp,
            "currency": "INR",
            "imeiSerialNumber": list(self.serials),
            "returnReasonCode": self.qc_reason,
        }


@dataclass
class Order:
    """One shipment, known to Konnect by its 20-digit `orderId`."""

    order_id: str
    state: str
    location: str
    channel: str
    order_date: datetime
    items: list[Item]
    is_self_ship: bool = False
    customer: dict[str, str] = field(default_factory=dict)
    address: dict[str, str] = field(default_factory=dict)
    awb: dict[str, str] | None = None
    return_awb: dict[str, str] | None = None
    invoice: dict[str, Any] | None = None
    credit_note: dict[str, Any] | None = None
    packages: list[dict[str, Any]] = field(default_factory=list)
    updated: datetime | None = None

    @property
    def status(self) -> str:
        """The Konnect `orderStatus` name of the Fynd state."""
        return KONNECT_STATUS_OF.get(self.state, self.state.upper())

    def item(self, item_id: object) -> Item | None:
        return next((i for i in self.items if i.item_id == str(item_id)), None)

    def move(self, state: str) -> None:
        self.state = state
        self.updated = datetime.now(IST).replace(microsecond=0)

    def to_json(self) -> dict[str, Any]:
        """The order as GET /oms/v3/shipment returns it."""
        return {
            "orderId": self.order_id,
            "orderStatus": self.status,
            "state": self.state,
            "locationCode": self.location,
            "orderingChannel": self.channel,
            "orderDate": self.order_date.isoformat(),
            "updatedDate": (self.updated or self.order_date).isoformat(),
            "customer": dict(self.customer),
            "shippingAddress": dict(self.address),
            "items": [i.to_json() for i in self.items],
            "is_self_ship": self.is_self_ship,
            "awb": self.awb,
            "returnAwb": self.return_awb,
            "invoice": self.invoice,
            "creditNote": self.credit_note,
            "packages": list(self.packages),
        }
