"""Rows a workbook hides: hidden, filtered out, a collapsed group (`Sheet.hidden_rows`).

They are the file's data: Excel's own "Save as CSV" keeps them, so a stock or price file's
hidden rows are read like the others, and a warning names them (someone who hid rows to
leave them out learns they went too). An order action is another matter: a manager filters
a cancel list down to the orders to cancel and saves it, and the rows filtered out were not
meant to go - a cancel cannot be undone. In an order file a hidden row is rejected, saying so.
"""

from __future__ import annotations

import logging

import numpy as np

from etl.feeds import ABSOLUTE_FEEDS
from etl.model import IntArray, Problem, Table
from etl.wording import row_list

log = logging.getLogger(__name__)

CODE = "hidden_row"
ACTION = (
    "this row is hidden in the workbook (hidden or filtered out in Excel), and an order action"
    " is not sent from a row nobody sees: to send it, unhide the row (or clear the filter) and"
    " drop the file in again; to leave it out, delete the row"
)


def hidden_row_problems(feed: str, table: Table, positions: IntArray) -> list[Problem]:
    """For an order feed, a problem per hidden data row at `positions` (of `table.data`); for
    stock and price, a note naming them (`table.notes`: the summary's warnings)."""
    rows = _hidden(table, positions)
    if not rows:
        return []
    if feed not in ABSOLUTE_FEEDS:
        return [Problem(row, "", "", CODE, ACTION) for row in rows]
    note = (
        f"{row_list(rows)} {'is' if len(rows) == 1 else 'are'} hidden in the workbook (hidden"
        " or filtered out in Excel) and read like every other row: hidden rows are still the"
        " file's data; to leave rows out, delete them rather than hiding them"
    )
    table.notes.append(note)
    log.warning("%s: %s", table.sheet.path.name, note)
    return []


def _hidden(table: Table, positions: IntArray) -> list[int]:
    """Row numbers of the filled rows at `positions` that the workbook hides."""
    hidden = table.sheet.hidden_rows
    if hidden is None or not len(hidden):
        return []
    at = positions[np.isin(table.row_numbers[positions], hidden)]
    filled = (table.data.iloc[at] != "").any(axis=1).to_numpy(dtype=np.bool_)
    return [int(row) for row in table.row_numbers[at[filled]]]
