"""An order is sent whole or not at all: when a row of an order has a problem, its other
rows are rejected too (a partial invoice or cancellation would be silently wrong), each
naming the row to fix; and the rows with the problem say not to delete them, for without
them the rest would go out as the whole order.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd

from etl.duplicates import key_codes
from etl.findings import Finding
from etl.model import IntArray
from etl.wording import row_list

BoolArray = npt.NDArray[np.bool_]


def rest_of_order(
    work: pd.DataFrame, broken: BoolArray, rows: IntArray, invoice: bool = False
) -> list[Finding]:
    """The other rows of each order with a `broken` row, and a word on the broken rows."""
    codes = key_codes(work, ("orderId",))
    owners = _owners(codes)
    bad_orders = np.unique(owners[broken & (owners >= 0)])
    affected = np.flatnonzero(np.isin(codes, bad_orders) & ~broken & (codes >= 0))
    found = []
    for i in affected.tolist():
        culprits = np.flatnonzero(broken & (owners == codes[i]))
        # the whole row, no cell: its order ID is right, the row to fix is another
        found.append(Finding(i, "", "order_incomplete", _held_back(culprits, codes, rows)))
    return found + _do_not_delete(work, broken, owners, bad_orders, rows, invoice)


def _do_not_delete(
    work: pd.DataFrame,
    broken: BoolArray,
    owners: IntArray,
    orders: IntArray,
    rows: IntArray,
    invoice: bool,
) -> list[Finding]:
    """On the broken rows of an order with good rows: deleting one sends the order without
    it. Not on an item written twice: there, deleting the extra row is the fix."""
    twice = np.zeros(len(work), dtype=bool)
    if "orderItemId" in work:
        items = key_codes(work, ("orderId", "orderItemId"))
        _, where, counts = np.unique(items, return_inverse=True, return_counts=True)
        twice = (counts[where] > 1) & (items >= 0)
    found = []
    for order in orders.tolist():
        kept = [int(rows[j]) for j in np.flatnonzero(~broken & (owners == order))]
        if kept:
            text = _not_to_delete(kept, invoice)
            mine = np.flatnonzero(broken & ~twice & (owners == order))
            found += [Finding(int(j), "", "order_incomplete", text) for j in mine]
    return found


def _not_to_delete(kept: list[int], invoice: bool) -> str:
    verb = "goes" if len(kept) == 1 else "go"
    text = (
        f"fix this row rather than delete it: without it, {row_list(kept)} of the same order"
        f" {verb} to Konnect as the whole order"
    )
    return text + (" (an invoice cannot take an item later)" if invoice else "")


def _owners(codes: IntArray) -> IntArray:
    """Each row's order; a row without an orderId counts as the row above's: in a register
    with merged Order No cells, or one that names the order once, it is an item of that
    order, and the order must not go without it."""
    above = np.where(codes < 0, 0, np.arange(len(codes)))  # the last row with an id so far
    owners: IntArray = codes[np.maximum.accumulate(above)]
    return owners


def _held_back(culprits: IntArray, codes: IntArray, rows: IntArray) -> str:
    numbers = [int(rows[j]) for j in culprits]
    verb = "has" if len(numbers) == 1 else "have"
    text = f"not sent: {row_list(numbers)} of the same order {verb} a problem"
    if (codes[culprits] < 0).any():
        text = (
            f"not sent: {row_list(numbers)} below {verb} no order ID and may be items of this"
            " order (merged cells?): write the order ID on every row"
        )
    return text + (
        " (an order is sent whole or not at all: keep this row in the file you drop back, or"
        " the order goes without it)"
    )
