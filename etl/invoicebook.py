"""Invoice numbers applied: table `invoices` of the protection database (`etl.keystate`).

Konnect refuses an invoice number another order has (IN422) without saying which order, and
cannot be searched by invoice number: the clerk would hunt through days of registers. Most
of those numbers went through this tool. So every invoice and credit note applied
(acknowledged, or found applied by a look-up) is remembered `keep_days` with its order,
type, file and row, and a row refused IN422 whose number the book has for another order
says which, and what to do. The book on another order is the evidence, not Konnect's
words (the emulator's are "invoiceNumber INV-7 is already used by another order"; real
Konnect's are not documented): a number the book does not have, or has for this same
order, leaves the refusal as Konnect gave it.

Nothing is held back before sending on the book's word: Konnect decides whether a number is
free (a series per location or GST registration, a new financial year's), a refused invoice
changes nothing there, and the refusal then says what the book knows.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import numpy as np

from etl.konnect import explain
from etl.sqlitetx import forget_before, immediate
from etl.wording import local_time

if TYPE_CHECKING:
    from etl.job import Prepared
    from etl.keystate import KeyState
    from etl.report import RowOutcomes

FEED = "invoice"
REFUSED = explain("IN422")  # in the message of a row refused IN422 (`etl.outcomes`)
KINDS = {"sale": "tax invoice", "return": "credit note"}


@dataclass(frozen=True)
class SentFor:
    """The order an earlier file's row applied an invoice number to: as a `sale` or a
    `return` (credit note), that file, its row, when (UTC, ISO)."""

    order: str
    kind: str
    file: str
    row: int
    applied_at: str


class InvoiceBook:
    """The `invoices` table, on the protection database's connection."""

    def __init__(self, db: sqlite3.Connection, keep_days: int) -> None:
        self._db = db
        self._keep_days = keep_days

    def sent_for_others(self, orders: dict[str, str]) -> dict[str, SentFor]:
        """For each invoice number of `orders` (number -> the order a row sends it for) that
        the book has on another order: the latest such. One indexed look-up a number: only
        refused rows ask."""
        found: dict[str, SentFor] = {}
        for number, order in orders.items():
            entry = self._db.execute(
                "SELECT order_id, kind, file, row, applied_at FROM invoices WHERE number = ?"
                " AND order_id != ? ORDER BY applied_at DESC LIMIT 1",
                (number, order),
            ).fetchone()
            if entry is not None:
                found[number] = SentFor(*entry)
        return found

    def record(self, applied: list[tuple[str, str, str, int]], file: str, at: str) -> None:
        """Remember the (number, order, type, row) `file` applied; the first file to apply a
        number to an order keeps it (a replay found applied does not take it over). Entries
        older than `keep_days` go."""
        with immediate(self._db):
            forget_before(self._db, "invoices", "applied_at", at, self._keep_days)
            self._db.executemany(
                "INSERT INTO invoices (number, order_id, kind, file, row, applied_at)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                [(number, order, kind, file, row, at) for number, order, kind, row in applied],
            )


def note_and_record(prepared: Prepared, out: RowOutcomes, state: KeyState, name: str) -> None:
    """Say on the rows refused IN422 which order an earlier file applied their number to;
    then remember the numbers this file (`name`: as in done/) applied."""
    validated = prepared.validated
    if prepared.feed.name != FEED or validated.frame.empty:
        return
    frame = validated.frame
    numbers = frame["invoiceNumber"].astype("str").tolist()
    orders = frame["orderId"].astype("str").tolist()
    _note_refused(out, validated.positions.tolist(), validated.merged, numbers, orders, state)
    ok = np.flatnonzero(np.asarray(out.status)[validated.positions] == "ok").tolist()
    kinds, rows = frame["invoiceType"].astype("str").tolist(), validated.row_numbers.tolist()
    applied = [(numbers[i], orders[i], kinds[i], int(rows[i])) for i in ok]
    state.invoices.record(applied, name, datetime.now(UTC).isoformat(timespec="milliseconds"))


def _note_refused(
    out: RowOutcomes,
    positions: list[int],
    merged: dict[int, int],
    numbers: list[str],
    orders: list[str],
    state: KeyState,
) -> None:
    """Add `_said` to the message of each row refused IN422 whose number the book has on
    another order (rows folded into another by a duplicates policy too: `merged`)."""
    row_of = {position: i for i, position in enumerate(positions)} | merged
    refused = {
        position: i
        for position, i in row_of.items()
        if out.status[position] == "failed" and REFUSED in out.message[position]
    }
    if not refused:
        return
    earlier = state.invoices.sent_for_others({numbers[i]: orders[i] for i in refused.values()})
    for position, i in refused.items():
        if (before := earlier.get(numbers[i])) is not None:
            out.message[position] = f"{out.message[position]}; {_said(numbers[i], before)}"


def _said(number: str, before: SentFor) -> str:
    """'INV-7 was sent as the tax invoice of order 1200...05 by invoice_0900.csv (row 4,
    27 Nov 2026 14:02)' and what to do, in the clerk's words."""
    kind = KINDS.get(before.kind, before.kind)
    return (
        f"{number} was sent as the {kind} of order {before.order} by {before.file} (row"
        f" {before.row}, {local_time(before.applied_at)}): give this order the next number of"
        f" your series; if {number} really is this order's, that row gave it to the wrong"
        " order - correct it in Konnect"
    )
