"""AWB numbers set on orders: table `awbs` of the protection database (`etl.keystate`).

A courier's AWB number is one consignment's. One on two orders of one file is said on its
rows (`etl.order_rules.shared_awb_notes`); one the morning's manifest set on an order and the
evening's sets on another (a paste slip) was not: Konnect takes both. So every AWB applied is
remembered `keep_days` with its order, file and row, and a later row that sets it on another
order is sent (two orders may really travel as one consignment) with a note naming the
earlier order, file and row, and counted in the file's warnings.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import numpy as np

from etl.sqlitetx import forget_before, immediate
from etl.wording import count

if TYPE_CHECKING:
    from etl.job import Prepared
    from etl.keystate import KeyState
    from etl.report import RowOutcomes

FEED = "awb"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS awbs (
    awb TEXT NOT NULL,
    order_id TEXT NOT NULL,
    file TEXT NOT NULL,
    row INTEGER NOT NULL,
    set_at TEXT NOT NULL,
    PRIMARY KEY (awb, order_id)
);
"""


@dataclass(frozen=True)
class SetOn:
    """The order an earlier file set an AWB number on: that file, its row, when (UTC, ISO)."""

    order: str
    file: str
    row: int
    set_at: str


class AwbBook:
    """The `awbs` table, on the protection database's connection."""

    def __init__(self, db: sqlite3.Connection, keep_days: int) -> None:
        self._db = db
        self._keep_days = keep_days
        db.executescript(_SCHEMA)

    def set_on_others(self, orders: dict[str, str]) -> dict[str, SetOn]:
        """For each AWB number of `orders` (AWB -> the order a file sets it on) that an earlier
        file set on another order: the latest such."""
        found: dict[str, SetOn] = {}
        awbs = sorted(orders)
        for start in range(0, len(awbs), 500):
            batch = awbs[start : start + 500]
            rows = self._db.execute(
                "SELECT awb, order_id, file, row, set_at FROM awbs "
                f"WHERE awb IN ({','.join('?' * len(batch))}) ORDER BY set_at",
                batch,
            )
            for awb, order, file, row, at in rows:
                if order != orders[awb]:
                    found[awb] = SetOn(order, file, int(row), at)
        return found

    def record(self, applied: list[tuple[str, str, int]], file: str, at: str) -> None:
        """Remember the (AWB, order, row) `file` applied; entries older than `keep_days` go."""
        with immediate(self._db):
            forget_before(self._db, "awbs", "set_at", at, self._keep_days)
            self._db.executemany(
                "INSERT OR REPLACE INTO awbs (awb, order_id, file, row, set_at)"
                " VALUES (?, ?, ?, ?, ?)",
                [(awb, order, file, row, at) for awb, order, row in applied],
            )


def note_and_record(prepared: Prepared, out: RowOutcomes, state: KeyState, name: str) -> None:
    """Note the rows Konnect took that set an AWB number an earlier file set on another
    order (on the row, and in the file's warnings); then remember this file's (`name`: as
    in done/)."""
    validated = prepared.validated
    if prepared.feed.name != FEED or validated.frame.empty:
        return
    ok = np.asarray(out.status)[validated.positions] == "ok"
    awbs = validated.frame["awbNumber"].astype("str").to_numpy()[ok]
    orders = validated.frame["orderId"].astype("str").to_numpy()[ok]
    positions, rows = validated.positions[ok], validated.row_numbers[ok]
    earlier = state.awbs.set_on_others(dict(zip(awbs, orders, strict=True)))
    noted = 0
    for awb, order, position in zip(awbs, orders, positions, strict=True):
        if (before := earlier.get(awb)) is not None and before.order != order:
            _add(out, int(position), _note(awb, before))
            noted += 1
    if noted:
        files = ", ".join(sorted({s.file for s in earlier.values()})[:3])
        prepared.table.notes.append(
            f"{count(noted, 'row')} set an AWB number an earlier file ({files}) set on another"
            " order: check that those orders really travel as one consignment (the rows say"
            " which)"
        )
    at = datetime.now(UTC).isoformat(timespec="milliseconds")
    state.awbs.record(list(zip(awbs, orders, rows.tolist(), strict=True)), name, at)


def _note(awb: str, before: SetOn) -> str:
    when = datetime.fromisoformat(before.set_at).astimezone().strftime("%Y-%m-%d %H:%M")
    return (
        f"note: AWB {awb} was set on order {before.order} by {before.file} (row {before.row},"
        f" {when}): check that these orders really travel as one consignment"
    )


def _add(out: RowOutcomes, position: int, note: str) -> None:
    said = out.message[position]
    out.message[position] = f"{said}; {note}" if said else note
