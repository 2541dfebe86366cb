"""Rows a workbook hides: hidden, filtered out, a collapsed group (`Sheet.hidden_rows`), the
same for every workbook format (.xlsx, .xls, .ods).

They are the file's data: Excel's and LibreOffice's own "Save as CSV" keep them, so a stock
or price file's hidden rows are read like the others, and a warning names them (someone who
hid rows to leave them out learns they went too). An order action is another matter: a
manager filters a cancel list down to the orders to cancel and saves it, and the rows
filtered out were not meant to go - a cancel cannot be undone. In an order file a hidden row
is rejected, saying so; and an order workbook whose hidden rows cannot be read (a damaged
file) is refused as a whole rather than sent with rows nobody may have seen.
"""

from __future__ import annotations

import logging

import numpy as np

from etl.errors import InputError
from etl.feeds import ABSOLUTE_FEEDS
from etl.model import IntArray, Problem, Sheet, Table
from etl.odserrors import is_ods
from etl.wording import row_list

log = logging.getLogger(__name__)

CODE = "hidden_row"
ACTION = (
    "this row is hidden in the workbook ({where}), and an order action is not sent from a row"
    " nobody sees: to send it, unhide the row (or clear the filter) and drop the file in"
    " again; to leave it out, delete the row"
)
UNKNOWN = (
    "which rows of this workbook are hidden or filtered out cannot be read from the file, and"
    " an order action is not sent from a row nobody may have seen: open it in Excel or"
    " LibreOffice, save it again (as .xlsx if you can) and drop it in again"
)


def hidden_row_problems(feed: str, table: Table, positions: IntArray) -> list[Problem]:
    """For an order feed, a problem per hidden data row at `positions` (of `table.data`); for
    stock and price, a note naming them (`table.notes`: the summary's warnings)."""
    if _unknown(table.sheet):
        return _unknown_rows(feed, table)
    rows = _hidden(table, positions)
    if not rows:
        return []
    where = _where(table.sheet)
    if feed not in ABSOLUTE_FEEDS:
        return [Problem(row, "", "", CODE, ACTION.format(where=where)) for row in rows]
    are = "is" if len(rows) == 1 else "are"
    _note(
        table,
        f"{row_list(rows)} {are} hidden in the workbook ({where}) and read like every other"
        " row: hidden rows are still the file's data; to leave rows out, delete them rather"
        " than hiding them",
    )
    return []


def _unknown_rows(feed: str, table: Table) -> list[Problem]:
    if feed not in ABSOLUTE_FEEDS:
        raise InputError(UNKNOWN, code="hidden_unknown")
    _note(
        table,
        "which rows of this workbook are hidden or filtered out could not be read from the"
        " file: hidden rows, if any, are read like every other row",
    )
    return []


def _note(table: Table, note: str) -> None:
    table.notes.append(note)
    log.warning("%s: %s", table.sheet.path.name, note)


def _unknown(sheet: Sheet) -> bool:
    """A workbook sheet whose hidden rows could not be read (a CSV has none to read)."""
    return sheet.hidden_rows is None and sheet.kind in ("xlsx", "xls", "xml")


def _where(sheet: Sheet) -> str:
    """Who hid the rows, as far as the file tells: an .ods is LibreOffice's own format."""
    ods = sheet.kind == "xlsx" and is_ods(sheet.path)
    program = "LibreOffice" if ods else "Excel or LibreOffice"
    return f"hidden or filtered out in {program}"


def _hidden(table: Table, positions: IntArray) -> list[int]:
    """Row numbers of the filled rows at `positions` that the workbook hides."""
    hidden = table.sheet.hidden_rows
    if hidden is None or not len(hidden):
        return []
    at = positions[np.isin(table.row_numbers[positions], hidden)]
    filled = (table.data.iloc[at] != "").any(axis=1).to_numpy(dtype=np.bool_)
    return [int(row) for row in table.row_numbers[at[filled]]]
