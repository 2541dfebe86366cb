"""An order record an earlier file applied is not sent again.

Many ERPs and WMSs export "month so far": the returns QC sheet or the credit-note register of
each day holds every earlier row and a few new ones. Sent whole, every old record is a replay
Konnect refuses (X409, IN453...), each refusal costs a look-up of its order (`etl.reconcile`),
and a 3,900-row sheet with 10 new rows took minutes instead of seconds. So before an order file
of any feed but `cancel` (which has its own rule, `etl.repeats`) is sent, its records are
looked for in the order-row book (`etl.orderbook`: what earlier files applied, 30 days): a
record identical to one an earlier file applied - the same feed, order and record as it would
be sent (canonical JSON) - is not sent. Its rows are `ok`, say which file and row applied it,
and count in the summary's `already_applied`. A record that differs in anything (another
reason, quantity or invoice number, one item more) is sent as before, and so is one the book
does not hold: an earlier file's row that failed or ended `unknown` (the book holds `ok` rows
only), an errors file dropped back (its rows were not applied), a record applied more than 30
days ago (Konnect judges it, as before). `guards: {repeated_orders: false}` sends every record.

The book is read as the look-ups read it (`keystate.order_rows`): a file resumed after a stop
does not count its own attempt's records, nor what other files applied after that attempt
began, so its rows are cut into the chunks they were cut into before (the journal's resume).
Two processes on one inbox take order files one at a time (`etl.turns`); a record another
process applies after this file's book was read is sent, refused as a replay, and the look-up
says it was already applied - as without this rule. Stock and price are not order feeds.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from etl.bodies import build_chunks
from etl.model import Problem
from etl.orderbook import FEEDS, EarlierRow, Reader, canonical, records
from etl.orderwords import applied_by
from etl.validation import drop_rows
from etl.wording import count

if TYPE_CHECKING:
    from etl.job import Prepared

log = logging.getLogger(__name__)

REPEATED = "repeated_order"  # the code of the rows of a record not sent (etl.appliedrows)


def skip_applied(prepared: Prepared, read: Reader) -> int:
    """Drop the records of this order file that an earlier file applied (as the book reads
    for this file's attempt): their rows become `ok` rows saying so. The rows dropped."""
    if prepared.feed.name not in FEEDS or prepared.validated.frame.empty:
        return 0
    sent = [(order, canonical(record), rows) for order, record, rows in records(prepared)]
    book = read(sorted({order for order, _, _ in sent}))
    messages: dict[int, str] = {}
    for order, text, rows in sent:
        earlier = book.get(order, ())
        if (same := next((e for e in earlier if canonical(e.record) == text), None)) is not None:
            messages.update(dict.fromkeys(rows.tolist(), not_sent(same)))
    if not messages:
        return 0
    validated = prepared.validated
    prepared.validated = drop_rows(validated, messages, prepared.table.row_numbers, _repeated)
    prepared.chunks = build_chunks(prepared.feed, prepared.validated)
    log.info("%s: %s not sent: an earlier file applied the same records",
             prepared.table.sheet.path.name, count(len(messages), "row"))  # fmt: skip
    return len(messages)


def not_sent(earlier: EarlierRow) -> str:
    """'already applied: return_qc_1.csv (row 3, 27 Nov 2026 14:02) applied this row before;
    not sent again' (as `orderwords.applied_before` says it, without a look-up)."""
    return f"{applied_by(earlier)}; not sent again"


def _repeated(row: int, message: str) -> Problem:
    return Problem(row, "", "", REPEATED, message, status="ok")
