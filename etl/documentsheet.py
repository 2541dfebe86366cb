"""The orderIds a `documents` sheet lists: its `orderId` column, row by row.

The header may sit below title rows (the first 20 rows are searched) and may be written
`orderId`, `Order ID`, `order_id` or `Shipment ID`. An id a spreadsheet damaged (stored as a
number: Excel keeps 15 digits; scientific notation; an invisible character) is refused with
what to do, never sent: the same check as `run`'s (`etl.damage`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from etl.damage import id_damage
from etl.errors import InputError
from etl.model import Problem, Sheet
from etl.readers import read_sheet

HEADERS = {"orderid", "shipmentid", "fyndorderid"}
SEARCH_ROWS = 20


@dataclass
class OrderList:
    """`rows`: (source row number, orderId) in file order; `problems`: rows not usable."""

    column: str
    rows: list[tuple[int, str]] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def order_ids(self) -> list[str]:
        return [oid for _, oid in self.rows]


def read_order_ids(path: Path) -> OrderList:
    """InputError when the file cannot be read or has no orderId column."""
    if not path.is_file():
        raise InputError(f"file not found: {path}", "missing")
    sheet = read_sheet(path)
    found = _header(sheet)
    if found is None:
        raise InputError(
            f"{path.name}: no 'orderId' column in the first {SEARCH_ROWS} rows; "
            "put the order ids under a header called orderId",
            "header",
        )
    top, column = found
    listing = OrderList(str(sheet.cells.iat[top, column]).strip())
    for i in range(top + 1, len(sheet.cells)):
        _read_cell(sheet, i, column, listing)
    return listing


def _header(sheet: Sheet) -> tuple[int, int] | None:
    for i in range(min(SEARCH_ROWS, len(sheet.cells))):
        for j, text in enumerate(sheet.cells.iloc[i]):
            if re.sub(r"[\s_\-]", "", str(text)).casefold() in HEADERS:
                return i, j
    return None


def _read_cell(sheet: Sheet, i: int, j: int, listing: OrderList) -> None:
    value = str(sheet.cells.iat[i, j]).strip()
    if not value:
        return
    row = int(sheet.row_numbers[i])
    numeric = sheet.numeric is not None and bool(sheet.numeric[i, j])
    damage = id_damage("orderId", value, numeric)  # as `run` checks it, CSV included
    if damage is not None:
        listing.problems.append(Problem(row, listing.column, value, *damage))
        return
    listing.rows.append((row, value))
