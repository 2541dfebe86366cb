"""Problem messages in shop-floor words: what is wrong with a cell, never a library's jargon.

Each check has a short `code` (kept in the report for support) and a message built here from
the field's plain name and the row's values, so "Row 14, column 'Closing Qty': '-3' - stock
cannot be negative" reads the same whichever stage found the problem.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import datetime
from numbers import Real
from typing import Any

from etl.konnect import INVOICE_TYPES, ORDER_STATUSES, REASON_CODES, SELF_SHIP_STATUSES

# The plain name of each canonical field, as a store or warehouse team would say it.
LABELS: dict[str, str] = {
    "location_id": "location",
    "sku": "SKU",
    "quantity": "quantity",
    "mrp": "MRP",
    "esp": "selling price (esp)",
    "currency": "currency",
    "orderId": "order ID",
    "orderItemId": "order item ID",
    "invoiceNumber": "invoice number",
    "invoiceType": "invoice type",
    "reasonCode": "reason code",
    "awbNumber": "AWB number",
    "courierName": "courier name",
    "autoDispatch": "auto dispatch",
    "orderStatus": "order status",
    "packageId": "package ID",
    "packageLengthCm": "package length (cm)",
    "packageWidthCm": "package width (cm)",
    "packageHeightCm": "package height (cm)",
    "packageWeightGms": "package weight (grams)",
    "ackNumber": "acknowledgement number",
    "irnNumber": "IRN",
    "ackDate": "acknowledgement date",
    "imeiSerialNumber": "IMEI/serial number",
}

Row = Callable[[str], Any]  # reads a field of the row in question
Wording = Callable[[str, Row], str]


def label(field: str) -> str:
    return LABELS.get(field, field)


def number_text(value: Any) -> str:
    """12.0 -> '12', 12.5 -> '12.5': how a person writes the number."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _allowed(values: Sequence[str]) -> str:
    return ", ".join(values[:-1]) + " or " + values[-1] if len(values) > 1 else values[0]


CURRENCY = "currency must be 3 capital letters like INR"
YES_NO = ("Yes", "No")


def _reason_codes() -> str:
    codes = ", ".join(f"{code} ({meaning})" for code, meaning in REASON_CODES.items())
    return f"reason code must be one of {codes}"


def _decimals(field: str, value: Any) -> str:
    """An amount typed with a third decimal: most often a '.' as a thousands separator."""
    text = number_text(value)
    if re.fullmatch(r"-?[1-9]\d{0,2}\.\d{3}", text):
        return f"{label(field)} {thousands_hint(text, '.', text.replace('.', ''))}"
    return rounding_advice(field)


def thousands_hint(cell: str, mark: str, thousands: str) -> str:
    """`2.000`: 2 rupees, or 2000 with a thousands separator? The one wording for both."""
    return (
        f"'{cell}' has 3 decimals, and prices have 2: if the '{mark}' separates thousands,"
        f" write {thousands}; if it is rupees and paise, keep 2 decimals"
    )


def _below_a_rupee(field: str, value: Any) -> str:
    return (
        f"{label(field)} {number_text(value)} is less than Rs 1: is the cell formatted as a"
        f" percentage (Excel shows {number_text(value)} as {value * 100:g}%), or is this a"
        " discount column? Write the price in rupees"
    )


def rounding_advice(field: str) -> str:
    """An amount with a third decimal that is no typing slip (a formula's result)."""
    return (
        f"{label(field)} has more than 2 decimals (rupees and paise): correct the amount in the"
        " file (a formula's result? round it with =ROUND(..., 2) - Excel may show it rounded"
        " while the cell is not)"
    )


# A courier's word for a status (not Konnect's name for one): the Fynd state it means
COURIER_WORDS = {"RTO": "rto_bag_delivered", "RTO_DELIVERED": "rto_bag_delivered"}


def _order_status(value: Any) -> str:
    """The allowed targets; for a Konnect status name (`DELIVERED`, what `orders pull`
    writes), the Fynd state it stands for; for a courier's `RTO`, rto_bag_delivered."""
    said = f"order status must be {_allowed(SELF_SHIP_STATUSES)}"
    name = "_".join(str(value).upper().replace("-", " ").split())
    if name in COURIER_WORDS:
        return (
            f"{said}: '{value}' is a return to origin (the courier brought the parcel back"
            f" undelivered); write {COURIER_WORDS[name]} once it is back at the store"
        )
    meant = [s for s in ORDER_STATUSES.get(name, ()) if s in SELF_SHIP_STATUSES]
    if not meant:
        return said
    write = f"write {meant[0]}" if len(meant) == 1 else "write the one meant"
    return f"{said}: '{value}' is Konnect's name for {_allowed(meant)}; {write}"


def _too_large(field: str, value: Any) -> str:
    if field in ("mrp", "esp"):
        limit = "Rs 10,00,00,000 (10 crore), no retail price is that high"
    else:
        limit = "2,147,483,647, no quantity is that big"
    return (
        f"{label(field)} {number_text(value)} is more than {limit}: is there a barcode or"
        " another number in this column?"
    )


def _invoice_quantity(row: Row) -> str:
    """A credit note's quantity as most ERPs print it (-1, (1)): say to write it positive."""
    said = f"{label('quantity')} must be more than 0"
    quantity = row("quantity")
    pieces = float(quantity) if isinstance(quantity, Real) else 0.0
    if row("invoiceType") != "return" or pieces >= 0:
        return said
    return (
        f"{said}: a credit note's quantity is the number of pieces returned, written positive:"
        f" write {number_text(-pieces)}"
    )


MESSAGES: dict[str, Wording] = {
    "missing": lambda f, r: f"{label(f)} is empty",
    "not_a_number": lambda f, r: f"{label(f)} must be a number",
    "not_integer": lambda f, r: f"{label(f)} must be a whole number",
    "too_large": lambda f, r: _too_large(f, r(f)),
    "negative": lambda f, r: f"{label(f)} cannot be negative",
    "not_positive": lambda f, r: f"{label(f)} must be more than 0",
    "esp_above_mrp": lambda f, r: (
        f"selling price (esp) {number_text(r('esp'))} is above MRP {number_text(r('mrp'))}"
    ),
    "mrp_below_a_rupee": lambda f, r: _below_a_rupee(f, r(f)),
    "esp_below_a_rupee": lambda f, r: _below_a_rupee(f, r(f)),
    "bad_currency": lambda f, r: CURRENCY,
    "bad_invoice_type": lambda f, r: f"invoice type must be {_allowed(INVOICE_TYPES)}",
    "bad_reason_code": lambda f, r: _reason_codes(),
    "too_many_decimals": lambda f, r: _decimals(f, r(f)),
    "bad_order_status": lambda f, r: _order_status(r(f)),
    "not_yes_no": lambda f, r: f"{label(f)} must be Yes or No",
}


# A stock file's quantity is the stock level: say so.
STOCK_QUANTITY: dict[str, str] = {
    "missing": "stock quantity is empty",
    "not_a_number": "stock quantity must be a number",
    "not_integer": "stock must be a whole number",
    "negative": "stock cannot be negative",
    "too_large": "stock quantity is more than 2,147,483,647, no stock level is that big: is"
    " there a barcode or an amount in this column?",
}


def message(code: str, field: str, row: Row, feed: str = "") -> str:
    """The plain message for check `code` failing on `field` of `row` (canonical values)."""
    if feed == "stock" and field == "quantity" and code in STOCK_QUANTITY:
        return STOCK_QUANTITY[code]
    if feed == "invoice" and code == "not_positive" and field == "quantity":
        return _invoice_quantity(row)
    if feed == "return_qc" and code == "bad_reason_code":
        return f"{_reason_codes()}, or empty for an item in good condition"
    wording = MESSAGES.get(code)
    return wording(field, row) if wording else f"{label(field)} is not valid"


def local_stamp(stamp: float) -> str:
    """A POSIX time as `2026-11-27 07:00`, local to this machine (export times)."""
    return datetime.fromtimestamp(stamp).astimezone().strftime("%Y-%m-%d %H:%M")


def local_time(stamp: str | None) -> str:
    """A journal stamp (ISO, UTC) as the people at this machine read a time: its local time,
    `27 Nov 2026 07:00`; the stamp as it is when it is not one."""
    if not stamp:
        return "an unknown time"
    try:
        return datetime.fromisoformat(stamp).astimezone().strftime("%d %b %Y %H:%M")
    except ValueError:
        return stamp


def duration(seconds: float) -> str:
    """How long, as a person says it: '45 s' under two minutes, '75 min' under two hours,
    else '3 h 10 min'."""
    if seconds < 120:
        return f"{seconds:.0f} s"
    whole = int(seconds // 60)
    return f"{whole} min" if whole < 120 else f"{whole // 60} h {whole % 60} min"


def count(n: int, noun: str) -> str:
    """'1 row', '2 rows' (`noun` singular; "order(s)" style never reaches a log line)."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def applied_split(ok: int, before: int) -> str:
    """'2001 ok (1 applied now, 2000 already done in Konnect)': how many of a file's `ok` rows
    it applied, and how many Konnect had already (`before`); '' when it had none."""
    if not before:
        return ""
    return f"{ok} ok ({ok - before} applied now, {before} already done in Konnect)"


def row_list(rows: Sequence[int], limit: int = 5, total: int | None = None) -> str:
    """'row 7', 'rows 7 and 9', 'rows 7, 9, 11 and 4 more'. `total`: how many rows there
    are when `rows` holds only the first of them."""
    shown = [str(r) for r in rows[:limit]]
    count = len(rows) if total is None else total
    if count == 1:
        return f"row {shown[0]}"
    if count > limit:
        return f"rows {', '.join(shown)} and {count - limit} more"
    return f"rows {', '.join(shown[:-1])} and {shown[-1]}"
