"""Konnect records from valid rows, as Python dicts for orjson (order feeds, awb, status).

Built column-wise: each column becomes a list once, then rows are zipped. Optional fields
that are empty are left out of the record rather than sent as "". Stock and price files,
which can hold a million rows, take the faster path in `etl.bodies`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pandas as pd

from etl.feeds import INVOICE_FIELDS, PACKAGE_FIELDS

Record = dict[str, Any]
Columns = dict[str, list[Any]]
STATUS_META = ("remark", "dpLocation", "promised_delivery_date", "estimated_delivery_date")


def present(value: Any) -> bool:
    """False for a missing cell (None, NA, NaN, empty list)."""
    if isinstance(value, list):
        return bool(value)
    return value is not None and value is not pd.NA and value == value


def columns(frame: pd.DataFrame) -> Columns:
    """Each column as a list of plain Python values (numpy scalars become int/float/str)."""
    return {name: frame[name].tolist() for name in frame.columns}


def pick(cols: Columns, row: int, names: Sequence[str]) -> Record:
    """The fields of `names` that are filled on `row`."""
    return {n: cols[n][row] for n in names if n in cols and present(cols[n][row])}


def awb_record(cols: Columns, row: int) -> Record:
    record = pick(cols, row, ("awbNumber", "courierName", "orderId"))
    auto = cols["autoDispatch"][row] if "autoDispatch" in cols else None
    record["autoDispatch"] = bool(auto) if present(auto) else False
    return record


def status_record(cols: Columns, row: int) -> Record:
    record = pick(cols, row, ("orderId", "orderStatus"))
    meta = pick(cols, row, (*STATUS_META, "reasonCode"))
    if meta:
        record["meta"] = meta
    return record


def _items(cols: Columns, rows: Sequence[int], extra: Sequence[str]) -> list[Record]:
    names = ("orderItemId", "quantity", *extra)
    return [pick(cols, r, names) for r in rows if present(cols["orderItemId"][r])]


def invoice_record(cols: Columns, rows: Sequence[int]) -> Record:
    """One invoice: order-level fields from its first row, items, packages by packageId."""
    record = {"orderId": cols["orderId"][rows[0]], **pick(cols, rows[0], INVOICE_FIELDS)}
    items = _items(cols, rows, ("imeiSerialNumber",))
    packages: dict[Any, Record] = {}
    for r in rows:
        package = cols["packageId"][r]
        if present(package) and package not in packages:
            packages[package] = {"packageId": package, **pick(cols, r, PACKAGE_FIELDS)}
    if items:
        record["orderItems"] = items
    if packages:
        record["packages"] = list(packages.values())
    return record


def items_record(extra: Sequence[str]) -> Callable[[Columns, Sequence[int]], Record]:
    """Builder of `{orderId, orderItems: [{orderItemId, quantity, *extra}]}` records."""

    def build(cols: Columns, rows: Sequence[int]) -> Record:
        return {"orderId": cols["orderId"][rows[0]], "orderItems": _items(cols, rows, extra)}

    return build


ROW_RECORDS: dict[str, Callable[[Columns, int], Record]] = {
    "awb": awb_record,
    "status": status_record,
    "pack": lambda cols, row: pick(cols, row, ("orderId",)),
    "stock": lambda cols, row: pick(cols, row, ("location_id", "sku", "quantity")),
    "price": lambda cols, row: pick(cols, row, ("location_id", "sku", "esp", "mrp", "currency")),
}
ORDER_RECORDS: dict[str, Callable[[Columns, Sequence[int]], Record]] = {
    "invoice": invoice_record,
    "cancel": items_record(("reasonCode",)),
    "return_qc": items_record(("reasonCode",)),
    "confirm": items_record(()),
    "dispatch": items_record(()),
}
