"""Orders as GET /oms/v3/shipment returns them -> one row of text cells per order item.

Dates are shown in IST (`YYYY-MM-DD HH:MM:SS`), whatever zone Konnect sends; a date
without a zone is taken as IST. Konnect's notes allow ISO dates, `dd-mm-yyyy` and IST
datetimes (`27-11-2026 00:30`, `27-11-2026 12:30:00 PM IST`): all are read (day first, as
documented). Anything else is written as it came (`etl.pull` warns, naming the order). An
order without items still gets one row (item cells empty), so no order is ever dropped.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from datetime import datetime, timedelta, timezone
from typing import Any

log = logging.getLogger(__name__)
IST = timezone(timedelta(hours=5, minutes=30), "IST")
IST_FORMAT = "%Y-%m-%d %H:%M:%S"
DATE_FIELDS = ("orderDate", "updatedDate")
_DAY_FIRST = re.compile(
    r"(?P<d>\d{1,2})[-/.](?P<m>\d{1,2})[-/.](?P<y>\d{4})"
    r"(?:[ T]+(?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2}))?\s*(?P<p>[AaPp][Mm])?)?"
)
_IST_SUFFIX = re.compile(r"\s*(?:IST|\(IST\))$", re.IGNORECASE)

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
    """A date/time from Konnect shown in IST; text that is not a date stays as it is."""
    if value is None or value == "":
        return ""
    when = read_date(value)
    return when.strftime(IST_FORMAT) if when is not None else text(value)


def read_date(value: Any) -> datetime | None:
    """A date/time as Konnect sends it, in IST: ISO (a zone, or none: IST), `dd-mm-yyyy`
    with an optional `HH:MM[:SS]` (and AM/PM), an `IST` at the end. None: none of those."""
    if isinstance(value, bool) or not isinstance(value, str):
        return None
    written = _IST_SUFFIX.sub("", value.strip())
    try:
        when: datetime | None = datetime.fromisoformat(written)
    except ValueError:
        when = _day_first(written)
    if when is None:
        return None
    return when.replace(tzinfo=IST) if when.tzinfo is None else when.astimezone(IST)


def _day_first(written: str) -> datetime | None:
    found = _DAY_FIRST.fullmatch(written)
    if found is None:
        return None
    hour, noon = int(found["H"] or 0), (found["p"] or "").upper()
    if noon and not 1 <= hour <= 12:
        return None
    hour = hour % 12 + (12 if noon == "PM" else 0) if noon else hour
    try:
        return datetime(int(found["y"]), int(found["m"]), int(found["d"]), hour,
                        int(found["M"] or 0), int(found["S"] or 0))  # fmt: skip
    except ValueError:  # 31-02-2026, 25:00
        return None


def warn_unreadable_dates(orders: Iterable[dict[str, Any]]) -> None:
    """An order date Konnect sent in a form not read is written as it came: say which."""
    for order in orders:
        for name in DATE_FIELDS:
            value = order.get(name)
            if value not in (None, "") and read_date(value) is None:
                log.warning(
                    "order %s: %s '%s' is not a date konnect-etl can read (YYYY-MM-DD HH:MM:SS, "
                    "dd-mm-yyyy HH:MM, ISO with a zone): written as Konnect sent it",
                    text(order.get("orderId")) or "(no orderId)", name, value,
                )  # fmt: skip
