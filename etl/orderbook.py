"""Order-action records applied: table `order_rows` of the protection database
(`etl.keystate`).

What a look-up shows of an order cannot always tell whose request put it there. A re-export
("the QC sheet, month so far") resends rows an earlier file applied; when Konnect's refusal of
such a replay is lost, the order found applied would be credited to this file. And Konnect
shows the same empty return reason for an item QC'd in good condition and for one that was
not in the QC at all. So every record of an order feed (but `cancel`: `FEEDS`) this inbox's
files applied (its rows
`ok`: acknowledged, or found applied by a look-up) is remembered `keep_days`: feed, order,
the record as sent (canonical JSON), the file (as in done/), its first row, the time (UTC)
and the journal attempt ("id/started_at", as the cancel book's: a file resumed or held does
not count its own records as an earlier file's). `etl.reconcile` reads it while it judges
what a look-up found (`Recalled`).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import numpy as np
import orjson

from etl.journaltables import utc
from etl.model import IntArray
from etl.order_states import ORDER_FEEDS, Order, Record, qc_unsure, wanted_items
from etl.orderverdicts import Verdicts
from etl.orderwords import LostAnswer, applied_before, qc_cannot_tell, qc_taken_without
from etl.sqlitetx import forget_before, immediate

if TYPE_CHECKING:
    from etl.job import Prepared
    from etl.keystate import KeyState
    from etl.report import RowOutcomes


# The feeds the book keeps: every order feed but `cancel`, which has its own (`etl.cancelbook`):
# a cancel sent again cancels one more piece, so it is never "the same record, applied".
FEEDS = ORDER_FEEDS - {"cancel"}


def canonical(record: Record) -> str:
    """The record as the book keys it: its JSON with sorted keys."""
    return orjson.dumps(record, option=orjson.OPT_SORT_KEYS).decode()


@dataclass(frozen=True)
class EarlierRow:
    """A record an earlier file applied to an order: that file, its row, when (UTC, ISO)."""

    record: Record
    file: str
    row: int
    applied_at: str


class OrderBook:
    """The `order_rows` table, on the protection database's connection."""

    def __init__(self, db: sqlite3.Connection, keep_days: int) -> None:
        self._db = db
        self._keep_days = keep_days

    def earlier(
        self, feed: str, orders: list[str], attempt: str | None, before: str = "~"
    ) -> dict[str, list[EarlierRow]]:
        """The records of `feed` attempts other than `attempt` applied to `orders` before
        `before` (UTC, ISO: when that attempt began - a file that waited held does not take
        what later files found applied for theirs), oldest first; within `keep_days` of
        `before` (or of now), so an attempt resumed reads what it read at first."""
        asked = datetime.now(UTC) if before == "~" else utc(before)
        since = (asked - timedelta(days=self._keep_days)).isoformat(timespec="milliseconds")
        found: dict[str, list[EarlierRow]] = {}
        for start in range(0, len(orders), 500):
            batch = orders[start : start + 500]
            rows = self._db.execute(
                "SELECT order_id, record, file, row, applied_at FROM order_rows WHERE feed = ?"
                f" AND order_id IN ({','.join('?' * len(batch))})"
                " AND (attempt IS NULL OR attempt != ?) AND applied_at < ? AND applied_at >= ?"
                " ORDER BY applied_at",
                (feed, *batch, attempt or "", before, since),
            )
            for order, record, file, row, at in rows:
                entry = EarlierRow(orjson.loads(record), file, int(row), at)
                found.setdefault(order, []).append(entry)
        return found

    def record(
        self,
        feed: str,
        applied: list[tuple[str, str, int]],
        file: str,
        at: str,
        attempt: str | None,
    ) -> None:
        """Remember the (order, canonical record, row) `file` (the journal's `attempt`) applied;
        the first file to apply a record keeps it. Entries older than `keep_days` go."""
        with immediate(self._db):
            forget_before(self._db, "order_rows", "applied_at", at, self._keep_days)
            self._db.executemany(
                "INSERT INTO order_rows (feed, order_id, record, file, row, applied_at, attempt)"
                " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                [(feed, order, record, file, row, at, attempt) for order, record, row in applied],
            )


def record_applied(
    prepared: Prepared, out: RowOutcomes, state: KeyState, name: str, attempt: str | None
) -> None:
    """Remember the records of an order file (`name`, as in done/; the journal's `attempt`)
    whose rows ended `ok`, with the first row of each."""
    feed, validated = prepared.feed, prepared.validated
    if feed.name not in FEEDS or validated.frame.empty:
        return
    ok = np.asarray(out.status)[validated.positions] == "ok"
    numbers = validated.row_numbers
    applied = [
        (order, canonical(record), int(numbers[rows].min()))
        for order, record, rows in records(prepared)
        if ok[rows].any()
    ]
    at = datetime.now(UTC).isoformat(timespec="milliseconds")
    state.orders.record(feed.name, applied, name, at, attempt)


def records(prepared: Prepared) -> Iterator[tuple[str, Record, IntArray]]:
    """(orderId, record, its frame rows) of each record the file's requests send."""
    validated, feed = prepared.validated, prepared.feed
    for chunk in prepared.chunks:
        sent: list[Record] = orjson.loads(chunk.body)
        for r, (order, record) in enumerate(zip(chunk.keys(validated, feed), sent, strict=True)):
            yield order, record, chunk.rows[chunk.record_of_row == r]


# the order-row book's records of some orders, by order (`OrderBook.earlier`)
Reader = Callable[[list[str]], dict[str, list[EarlierRow]]]


@dataclass
class Recalled:
    """What the book holds of the orders a look-up round fetched, as one attempt at a file
    sees it (`read`: None without a journal), and what a record found applied then says:
    a lost answer to a replay of an earlier file's record is that file's, and a return QC
    naming items Konnect shows no reason for is settled by the QC an earlier file sent."""

    feed: str
    read: Reader | None = None
    rows: dict[str, list[EarlierRow]] = field(default_factory=dict)

    def load(self, orders: set[str]) -> None:
        self.rows = self.read(sorted(orders)) if self.read is not None and orders else {}

    def settle(self, v: Verdicts, i: int, shown: Order, lost: LostAnswer) -> bool:
        """Settle record `i` of `v`, found where it leads (`shown`: its order), when the book
        tells more than the look-up: applied by an earlier file, or - a return QC - not
        applied (Konnect's refusal, if it gave one, keeps its code). False: as the look-up
        says."""
        record, refused = v.records[i], v.errors.get(i)
        earlier = self.rows.get(v.keys[i], [])
        same = next((e for e in earlier if _covers(self.feed, e.record, record)), None)
        unsure = qc_unsure(record, shown) if self.feed == "return_qc" else []
        if same is not None and (lost or unsure):
            v.applied(i, applied_before(self.feed, record, shown, same))
        elif unsure and earlier:  # one return QC per order: the first an earlier file sent
            said = qc_taken_without(earlier[0], _missing(earlier[0].record, record))
            _not_applied(v, i, refused[0] if refused else "", said)
        elif unsure and refused is not None:
            said = "; ".join(filter(None, (refused[1], qc_cannot_tell(unsure))))
            _not_applied(v, i, refused[0], said)
        else:
            return False
        return True


def _not_applied(v: Verdicts, i: int, code: str, said: str) -> None:
    """Record `i` stays as refused (`code`: Konnect's, "" when its answer was lost), `said`."""
    v.errors[i] = (code, said)
    v.unknown.discard(i)
    v.final.add(i)


def _items(record: Record) -> set[tuple[str, str, str]]:
    """(item, quantity, reason) of each item a return QC names."""
    return {
        (str(w.get("orderItemId")), str(w.get("quantity")), str(w.get("reasonCode") or ""))
        for w in wanted_items(record)
    }


def _covers(feed: str, earlier: Record, record: Record) -> bool:
    """`earlier` applied what `record` asks: the same record; for a return QC, one that named
    each of its items with the same quantity and reason."""
    if feed == "return_qc":
        return _items(record) <= _items(earlier)
    return canonical(earlier) == canonical(record)


def _missing(earlier: Record, record: Record) -> list[str]:
    """The items of `record` the `earlier` QC did not name as `record` does."""
    return sorted({item for item, _, _ in _items(record) - _items(earlier)})
