"""Total and report-footer rows: not data, recognised without a rule in every mapping.

ERP and POS exports end with lines such as `Total;;1264`, `Grand Total`, `Sub Total` or
`Report generated on 05-01-2026 10:00`. Read as data they are rejected with reasons that
send the user the wrong way ("SKU is empty", "'Total' is not in the value map - add it
there") and turn a good file `partial`.

A row is such a line when its key cells (location and SKU for stock and price, the order
ID for order feeds; constants do not count) hold nothing but the label itself, and the
first cell of the row with words in it is such a label (LABEL; numbers may come before it).
A row whose key has a value is never skipped, whatever it says, so the rule only drops rows
that could never have been uploaded; and a product name ("Colgate Total 120", "Total-Care
Shampoo") is no label, so such a row without its SKU stays a rejected row the user can fix.
In a SKU cell only a leading label counts ("Total", "Grand Total: 1264"): "Colgate Total" is
a product code when the SKU is the file's only key column (its location a constant).
In an order file (rows grouped by order) a row with no order ID is an item of the order above
(merged Order No cells), and holds that order back when it is bad. A register's sums line
(`,,,,,2,1248.21,74.89,74.90,1398.00`: `=SUM()` under the quantity and the amounts, no label)
would hold back the register's last invoice for good. So there a row is a total too when it
comes after the last order, its order ID and every field that is not a number (item ID,
invoice number, package ID...) are empty and its two or more filled cells are all numbers;
one with an item ID, even all digits, one between orders, or one with a single number (`,,2`:
an item whose merged Order No and item ID were left blank) is data and holds its order back.
Skipped rows are counted in the summary (`skipped_rows`), named in its `warnings` and
logged. A mapping turns the rule off with `skip: {totals: false}`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow.compute as pc

from etl.cells import BoolArray, arrow_text, blank_cells, to_mask
from etl.feeds import get_feed
from etl.mapspec import Mapping, norm_header
from etl.model import Table
from etl.numbers import parse_numbers
from etl.schemas import NUMBER_FIELDS
from etl.skiprules import note

_TOTAL = r"(?:grand\s*|sub[\s-]*|net\s+)?totals?"
_WORDS_THEN = r"|\s+(?:for|of)\b|(?:\s+[a-z.]+){1,3}\s*:)"  # "Total for", "Total Shipments:"
_FOOTER = (
    r"|report\s+(?:generated|printed|run)|(?:generated|printed|run)\s+(?:on|at|by)\b"
    r"|page\s+\d+\s+of\s+\d+|end\s+of\s+report)"
)
LEADING = rf"^[^0-9a-z]*(?:{_TOTAL}(?:\s*$|\s*[:=#(*\d]{_WORDS_THEN}{_FOOTER}"
# "Total", "Grand Total:", "Total for DEL-WH-01", "Total Shipments: 25", "Report generated
# on 05-01-2026", "Printed on ...", "Page 1 of 3"; not "Total care shampoo", "Total-Care
# Shampoo" or "Colgate Total 120".
# In a SKU cell a code may start with the brand (TotalEnergies' TOTAL5W30-1L, TOTAL 20W40
# 5L, TOTAL(4L)-QUARTZ): there the label is followed by nothing, a colon, an amount (and a
# unit word or two) or a bracket's note ("Total 1264", "Grand Total 12 items", "Total (3
# items) 1264").
_AMOUNT = r"(?:\s+[\d,.]+(?:\s+[a-z.]+){0,2})?\s*$"  # " 1,264", " 12 items", " 45 Nos"
CODE_LEADING = (
    rf"^[^0-9a-z]*(?:{_TOTAL}(?:\s*[:=#*]|{_AMOUNT}|\s*\([^)]*\){_AMOUNT}"
    rf"{_WORDS_THEN}{_FOOTER}"
)
TRAILING = r"\btotals?[\s:*=-]*$"  # "Site Total", "Main Godown - Delhi Total"
# ... but never in a SKU cell: "Colgate Total" is a product (the row of a file whose only key
# column is the SKU, its location a constant, would be dropped unseen)
LABEL = f"{LEADING}|{TRAILING}"


def total_rows(
    mapping: Mapping, table: Table, columns: dict[str, int], filled_at: dict[int, BoolArray]
) -> BoolArray:
    """True for rows that are totals or report footers (see the module docstring).

    `filled_at`: non-blank cells of columns by position, where the caller has them already.
    """
    keys = key_positions(mapping, columns)
    found = np.zeros(len(table.data), dtype=bool)
    if not mapping.skip_totals or not keys:
        return found
    if get_feed(mapping.feed).grouped:
        found |= sums_rows(mapping, table, columns)
    cells = table.data
    filled = np.column_stack(
        [filled_at[k] if k in filled_at else ~blank_cells(cells.iloc[:, k]) for k in keys]
    )
    # at most one key cell may hold text, and only a label: other rows are data, checked no
    # further (the key columns alone are scanned for labels, and only where filled)
    candidates = np.flatnonzero(filled.sum(axis=1) <= 1)
    keyed = np.asarray(filled[candidates].any(axis=1), dtype=bool)
    if keyed.any():
        rows = cells.iloc[candidates[keyed]]
        codes = set(key_positions(mapping, columns, ("sku",)))
        key_label = np.column_stack(
            [
                is_label(rows.iloc[:, k], trailing=k not in codes) | ~filled[candidates[keyed], i]
                for i, k in enumerate(keys)
            ]
        ).all(axis=1)
        keyed[keyed] = key_label
        candidates = candidates[~filled[candidates].any(axis=1) | keyed]
    if not candidates.size:
        return found
    rows = cells.iloc[candidates]  # few: the first cell with words must be the label
    worded = np.column_stack([_has_letters(rows.iloc[:, c]) for c in range(rows.shape[1])])
    first = rows.to_numpy()[np.arange(len(rows)), worded.argmax(axis=1)]
    found[candidates[worded.any(axis=1) & is_label(pd.Series(first, dtype="str"))]] = True
    return found


def sums_rows(mapping: Mapping, table: Table, columns: dict[str, int]) -> BoolArray:
    """Rows below the last with an order ID (or any field that is not a number: item ID,
    invoice number...) whose such fields are empty and whose two or more filled cells are all
    numbers: a sums line without a label. A row like it between orders, or with one number
    (`,,2`: an item whose merged Order No and item ID were left blank), is data: it holds its
    order back, as before."""
    cells = table.data
    worded = [f for f in mapping.fields if f.name not in NUMBER_FIELDS]
    positions = sorted(
        {columns[p] for f in worded for h in f.columns if (p := norm_header(h)) in columns}
    )
    found = np.zeros(len(cells), dtype=bool)
    if not positions:
        return found
    blank = np.column_stack([blank_cells(cells.iloc[:, p]) for p in positions]).all(axis=1)
    data = np.flatnonzero(~blank)
    candidates = np.flatnonzero(blank)
    candidates = candidates[candidates > (data[-1] if data.size else -1)]
    if not candidates.size:
        return found
    rows = cells.iloc[candidates]
    filled = np.column_stack([~blank_cells(rows.iloc[:, c]) for c in range(rows.shape[1])])
    bad = np.column_stack([parse_numbers(rows.iloc[:, c])[1] for c in range(rows.shape[1])])
    found[candidates[(filled.sum(axis=1) >= 2) & ~(filled & bad).any(axis=1)]] = True
    return found


def _has_letters(cells: pd.Series) -> BoolArray:
    return to_mask(pc.match_substring_regex(arrow_text(cells), r"[^\W\d_]"))


def key_positions(
    mapping: Mapping, columns: dict[str, int], fields: tuple[str, ...] | None = None
) -> list[int]:
    """Positions in the table of the cells the feed's key fields (or `fields`) are read from."""
    key = get_feed(mapping.feed).key if fields is None else fields
    headers = [h for spec in mapping.fields if spec.name in key for h in spec.columns]
    positions = (columns.get(norm_header(h)) for h in headers)
    return sorted({p for p in positions if p is not None})


def is_label(cells: pd.Series, trailing: bool = True) -> BoolArray:
    """True where a cell is a total or footer label ("Grand Total", "Printed on ...");
    `trailing=False`: a SKU cell, where "... Total" and "TOTAL5W30" are products
    (`CODE_LEADING`)."""
    pattern = LABEL if trailing else CODE_LEADING
    return to_mask(pc.match_substring_regex(arrow_text(cells), pattern, ignore_case=True))


def log_skipped(table: Table, rows: BoolArray) -> None:
    """Say which rows were taken for totals or footers, so none vanishes without a trace: in
    the log and in the summary's `warnings` (through `table.skipped`: routine, not worth a look)."""
    numbers = table.row_numbers[rows]
    if len(numbers):
        note(table, "skipped as totals or report footers, not data", numbers)
