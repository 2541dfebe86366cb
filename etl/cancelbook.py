"""The cancels applied: table `cancels` of the protection database (`etl.keystate`).

Every cancel row applied (order, item, quantity, reason) with the file, row and time (UTC)
that applied it, kept `keep_days`: a later file repeating one is not sent (`etl.repeats`).
Rows whose answer was lost (`unknown`: maybe applied) are kept too, with `settled` 0, until a
file applies the same cancel. `attempt`: the journal attempt that recorded the row, as
"id/started_at" (its start too: a journal made anew numbers from 1 again); a file resumed
does not count its own records.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass

from etl.sqlitetx import forget_before, immediate


@dataclass(frozen=True)
class AppliedRow:
    """The row of an earlier file that applied an action, and when (UTC, ISO); `settled`
    False: Konnect's answer to that row was lost, so the action may or may not be applied."""

    file: str
    row: int
    applied_at: str
    settled: bool = True


class CancelBook:
    """The `cancels` table, on the protection database's connection."""

    def __init__(self, db: sqlite3.Connection, keep_days: int) -> None:
        self._db = db
        self._keep_days = keep_days

    def applied(self, actions: list[str], attempt: str | None) -> dict[str, AppliedRow]:
        """Which of `actions` another file applied, or sent and lost the answer to (`settled`
        False): what `attempt` (the journal's id of the attempt asking) recorded itself does
        not count."""
        found: dict[str, AppliedRow] = {}
        for start in range(0, len(actions), 500):
            batch = actions[start : start + 500]
            rows = self._db.execute(
                "SELECT action, file, row, applied_at, settled FROM cancels "
                f"WHERE action IN ({','.join('?' * len(batch))}) "
                "AND (attempt IS NULL OR attempt != ?)",
                (*batch, attempt or ""),
            )
            found.update({a: AppliedRow(f, int(r), at, bool(s)) for a, f, r, at, s in rows})
        return found

    def record(
        self,
        applied: Iterable[tuple[str, int]],
        file: str,
        at: str,
        lost: Iterable[tuple[str, int]] = (),
        attempt: str | None = None,
    ) -> None:
        """Remember the actions `file` (the journal's `attempt`) applied and those whose answer
        was `lost` (action, row). The first file to apply one keeps it; a lost one is kept
        until a file applies it, and never replaces an applied one. Entries older than
        the book's `keep_days` are forgotten."""
        rows = [(a, file, row, at, 1, attempt) for a, row in applied]
        rows += [(a, file, row, at, 0, attempt) for a, row in lost]
        with immediate(self._db):
            forget_before(self._db, "cancels", "applied_at", at, self._keep_days)
            self._db.executemany(
                "INSERT INTO cancels (action, file, row, applied_at, settled, attempt) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (action) DO UPDATE SET "
                "file = excluded.file, row = excluded.row, applied_at = excluded.applied_at, "
                "settled = 1, attempt = excluded.attempt "
                "WHERE cancels.settled = 0 AND excluded.settled = 1",
                rows,
            )

    def forget(self, actions: Iterable[str], attempt: str) -> None:
        """Forget the cancels attempt `attempt` wrote ahead as maybe applied and that Konnect
        turned out not to apply (refused): another file may send them."""
        with immediate(self._db):
            self._db.executemany(
                "DELETE FROM cancels WHERE action = ? AND attempt = ? AND settled = 0",
                [(action, attempt) for action in actions],
            )

    def settle(self, applied: Iterable[str], not_applied: Iterable[str]) -> None:
        """Settle cancels whose answer was lost, as Konnect's orders show them: `applied`
        ones count as applied from now on; the marks of `not_applied` ones are forgotten
        (the row that found them so sends them)."""
        with immediate(self._db):
            self._db.executemany(
                "UPDATE cancels SET settled = 1 WHERE action = ? AND settled = 0",
                [(action,) for action in applied],
            )
            self._db.executemany(
                "DELETE FROM cancels WHERE action = ? AND settled = 0",
                [(action,) for action in not_applied],
            )
