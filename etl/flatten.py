"""Orders as GET /oms/v3/shipment returns them -> one row of text cells per order item.

Dates are shown in IST (`YYYY-MM-DD HH:MM:SS`), whatever zone Konnect sends; a date
without a zone is taken as IST. An order without items still gets one row (item cells
empty), so no order is ever dropped from a sheet.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta, timezone
from typing import Any

IST = timezone(timedelta(hours=5, minutes=30), "IST")
IST_FORMAT = "%Y-%m-%d %H:%M:%S"

ORDER_COLUMNS = (
    *("orderId", "orderItemId", "orderStatus", "state", "orderingChannel", "locationCode"),
    *("orderDate", "updatedDate", "customerName", "customerPhone", "customerEmail"),
    *("shippingAddress1", "shippingAddress2", "shippingCity", "shippingState"),
    *("shippingPincode", "shippingCountry", "sku", "quantity", "cancelledQuantity"),
    *("mrp", "esp", "currency", "imeiSerialNumber", "returnReasonCode", "isSelfShip"),
    *("awbNumber", "courierName", "returnAwbNumber", "invoiceNumber", "creditNoteNumber"),
)
Row = dict[str, str]


def flatten_orders(orders: Iterable[dict[str, Any]]) -> list[Row]:
    """Every order's rows, in the order given."""
    return [row for order in orders for row in flatten_order(order)]


def flatten_order(order: dict[str, Any]) -> list[Row]:
    """One row per item; order-level cells repeat on every row of the order."""
    head = _order_cells(order)
    items = [i for i in order.get("items") or [] if isinstance(i, dict)]
    if not items:
        return [{**head, **dict.fromkeys(_ITEM_COLUMNS, "")}]
    return [{**head, **_item_cells(item)} for item in items]


def _order_cells(order: dict[str, Any]) -> Row:
    customer = _dict(order.get("customer"))
    address = _dict(order.get("shippingAddress"))
    awb = _dict(order.get("awb"))
    return {
        "orderId": text(order.get("orderId")),
        "orderStatus": text(order.get("orderStatus")),
        "state": text(order.get("state")),
        "orderingChannel": text(order.get("orderingChannel")),
        "locationCode": text(order.get("locationCode")),
        "orderDate": ist(order.get("orderDate")),
        "updatedDate": ist(order.get("updatedDate")),
        "customerName": text(customer.get("name")),
        "customerPhone": text(customer.get("phone")),
        "customerEmail": text(customer.get("email")),
        **{f"shipping{k[0].upper()}{k[1:]}": text(address.get(k)) for k in _ADDRESS},
        "isSelfShip": "yes" if order.get("is_self_ship") else "no",
        "awbNumber": text(awb.get("awbNumber")),
        "courierName": text(awb.get("courierName")),
        "returnAwbNumber": text(_dict(order.get("returnAwb")).get("awbNumber")),
        "invoiceNumber": text(_dict(order.get("invoice")).get("invoiceNumber")),
        "creditNoteNumber": text(_dict(order.get("creditNote")).get("invoiceNumber")),
    }


_ADDRESS = ("address1", "address2", "city", "state", "pincode", "country")
_ITEM_COLUMNS: tuple[str, ...] = (
    "orderItemId",
    "sku",
    "quantity",
    "cancelledQuantity",
    "mrp",
    "esp",
)
_ITEM_COLUMNS += ("currency", "imeiSerialNumber", "returnReasonCode")


def _item_cells(item: dict[str, Any]) -> Row:
    cells = {name: text(item.get(name)) for name in _ITEM_COLUMNS}
    serials = item.get("imeiSerialNumber")
    if isinstance(serials, list):
        cells["imeiSerialNumber"] = ";".join(text(s) for s in serials)
    return cells


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def text(value: Any) -> str:
    """A cell's text: "" for nothing, whole numbers without '.0', everything else as str."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def ist(value: Any) -> str:
    """An ISO date/time from Konnect shown in IST; text that is not a date stays as it is."""
    if not value:
        return ""
    try:
        when = datetime.fromisoformat(str(value))
    except ValueError:
        return str(value)
    when = when.replace(tzinfo=IST) if when.tzinfo is None else when.astimezone(IST)
    return when.strftime(IST_FORMAT)
