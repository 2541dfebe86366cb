"""What earlier pulls fetched, kept in SQLite so the next pull misses nothing and doubles nothing.

Three tables of their own in the outbox's journal file (`OUTBOX/.konnect-etl/journal.sqlite3`):

    pull_windows    per scope (status | location | channel): the last successful window
    pulled_orders   per (orderId, status, location): already written to a sheet, with its
                    order date. An order Konnect moves to another store (same id and status,
                    a new locationCode) is new there. Rows from before locations were kept
                    (location '') count for every location, as they did. `staged`: the sheet
                    it is in was still being named (NULL once it is)
    pending_sheets  a sheet whose orders are recorded but which may not have its name yet:
                    its hidden temp name (`staged`) and the name it gets (`sheet`)

A pull reads them, writes its sheet under a hidden temp name, records the window and the
orders (pending, with the sheet's name to be) in one transaction, and only then names the
sheet (a hard link) and drops the temp name; a second small transaction marks it done. So an
ERP never sees a sheet whose orders are not durably recorded. A pull that stopped part-way
is settled by the next one (`settle`): a pending sheet whose temp name is gone, or is the
named sheet itself, was named (its orders count as written, wherever the ERP moved it); one
whose temp name is still there alone never was (its orders are forgotten, to be written
again). Two pulls into one outbox at once (cron and a manual run, or `watch
--pull-out`) would both read "not pulled yet" and both write the same orders (and two
first opens of the journal at once fail), so a pull works under `pull_lock`: one OS lock per
outbox (`etl.locks`, as `run` locks a file), `OUTBOX/.konnect-etl/locks/orders-pull.lock`,
released by the OS even when the process is killed.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from etl import sqlitetx
from etl.config import STATE_DIR
from etl.errors import PullBusy
from etl.journaltables import LAYOUT
from etl.locks import file_lock
from etl.sqlitetx import immediate

_SCHEMA = """
CREATE TABLE IF NOT EXISTS pull_windows (
    scope TEXT PRIMARY KEY,
    window_from TEXT NOT NULL,
    window_to TEXT NOT NULL,
    pulled_at TEXT NOT NULL,
    file TEXT
);
"""
_PULLED_ORDERS = """
CREATE TABLE IF NOT EXISTS pulled_orders (
    order_id TEXT NOT NULL,
    status TEXT NOT NULL,
    order_date TEXT NOT NULL,
    pulled_at TEXT NOT NULL,
    location TEXT NOT NULL DEFAULT '',
    staged TEXT,
    PRIMARY KEY (order_id, status, location)
);
"""
_PENDING = """
CREATE TABLE IF NOT EXISTS pending_sheets (
    staged TEXT PRIMARY KEY,
    sheet TEXT NOT NULL,
    status TEXT NOT NULL,
    written_at TEXT NOT NULL
);
"""
_PENDING_INDEX = """
CREATE INDEX IF NOT EXISTS pulled_orders_staged ON pulled_orders (staged)
    WHERE staged IS NOT NULL
"""
# A journal from before locations were kept: its key (order_id, status) cannot take an
# order's second location, so the table is rebuilt once; its rows get location ''.
_ADD_LOCATION = f"""
ALTER TABLE pulled_orders RENAME TO pulled_orders_before_locations;
{_PULLED_ORDERS}
INSERT INTO pulled_orders (order_id, status, order_date, pulled_at)
    SELECT order_id, status, order_date, pulled_at FROM pulled_orders_before_locations;
DROP TABLE pulled_orders_before_locations;
"""
BUSY_SECONDS = 30.0  # how long a write waits for another connection's (tests shorten it)


# A pull of an older span (--from/--to in the past) never moves the remembered end back.
_UPSERT_WINDOW = """
INSERT INTO pull_windows VALUES (?, ?, ?, ?, ?)
ON CONFLICT (scope) DO UPDATE SET
    window_from = excluded.window_from,
    window_to = MAX(window_to, excluded.window_to),
    pulled_at = excluded.pulled_at,
    file = excluded.file
"""


@dataclass(frozen=True)
class Pending:
    """A sheet recorded before it is named: its hidden temp name and the name it gets
    (file names in the outbox)."""

    staged: str
    sheet: str


@dataclass(frozen=True)
class Window:
    """A span of order dates (timezone-aware) that one pull asked Konnect for."""

    start: datetime
    end: datetime


@contextmanager
def pull_lock(outbox: Path, status: str, wait_seconds: float) -> Iterator[None]:
    """Hold the pull lock of `outbox` (of its journal), waiting up to `wait_seconds`."""
    deadline = time.monotonic() + wait_seconds
    (outbox / STATE_DIR).mkdir(parents=True, exist_ok=True)  # a pull makes its outbox
    while True:
        with file_lock(outbox / STATE_DIR / "locks", "orders-pull") as held:
            if held:
                yield
                return
        if time.monotonic() >= deadline:
            raise PullBusy(
                f"another pull into {outbox} is still running (waited {wait_seconds:g} s): "
                f"this pull of {status} orders stopped without writing anything; the next "
                "one catches up (nothing is missed)"
            )
        time.sleep(0.2)


def scope_key(status: str, location: str | None, channel: str | None) -> str:
    return f"{status}|{location or '*'}|{(channel or '*').upper()}"


class PullState:
    """The pull tables of one journal file; WAL and a busy timeout, like `etl.journal`."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, timeout=BUSY_SECONDS, isolation_level=None)
        try:
            self._db.execute("PRAGMA journal_mode=WAL")
            made = sqlitetx.layout(self._db, path, LAYOUT)  # the journal file's numbering
            self._db.executescript(_SCHEMA + _PULLED_ORDERS + _PENDING)
            if not self._has_column("location"):
                self._add_locations()
            if not self._has_column("staged"):
                self._add_staged()
            self._db.execute(_PENDING_INDEX)
            if made < LAYOUT:
                sqlitetx.stamp(self._db, path, LAYOUT)
        except BaseException:
            self._db.close()
            raise

    def close(self) -> None:
        self._db.close()

    def _has_column(self, name: str) -> bool:
        return any(r[1] == name for r in self._db.execute("PRAGMA table_info(pulled_orders)"))

    def _add_locations(self) -> None:
        """Rebuild a journal's table from before locations were kept (once, all or nothing)."""
        with self._transaction():
            if self._has_column("location"):  # another process did it meanwhile
                return
            for statement in filter(str.strip, _ADD_LOCATION.split(";")):
                self._db.execute(statement)

    def _add_staged(self) -> None:
        """A journal from before sheets were recorded before being named (layout 1)."""
        with self._transaction():
            if not self._has_column("staged"):  # another process may have added it
                self._db.execute("ALTER TABLE pulled_orders ADD COLUMN staged TEXT")

    def last_window(self, scope: str) -> Window | None:
        row = self._db.execute(
            "SELECT window_from, window_to FROM pull_windows WHERE scope = ?", (scope,)
        ).fetchone()
        if row is None:
            return None
        return Window(datetime.fromisoformat(row[0]), datetime.fromisoformat(row[1]))

    def already_pulled(self, status: str, order_ids: Iterable[str] | Mapping[str, str]) -> set[str]:
        """The ids among `order_ids` that an earlier pull of `status` already wrote. Given
        as {orderId: locationCode}, only what was written for that location counts (and
        rows without one); an order without a location counts wherever it was written."""
        where = order_ids if isinstance(order_ids, Mapping) else None
        found: set[str] = set()
        ids = list(order_ids)
        for start in range(0, len(ids), 500):  # SQLite's limit on bound parameters
            batch = ids[start : start + 500]
            marks = ",".join("?" * len(batch))
            sql = "SELECT order_id, location FROM pulled_orders WHERE status = ? AND "
            sql += f"order_id IN ({marks})"
            for oid, location in self._db.execute(sql, (status, *batch)):
                if where is None or not location or not where[oid] or location == where[oid]:
                    found.add(oid)
        return found

    def record(
        self,
        windows: dict[str, Window],
        status: str,
        orders: dict[str, str],
        now: datetime,
        locations: Mapping[str, str] | None = None,
        pending: Pending | None = None,
    ) -> None:
        """Remember the windows and the (orderId -> IST order date) written, all at once,
        each order under its location (`locations`: orderId -> locationCode); with
        `pending`, as in that sheet, not named yet (`named` once it is)."""
        stamp = now.isoformat()
        places = locations or {}
        staged = pending.staged if pending else None
        with self._transaction():
            for scope, window in windows.items():
                self._db.execute(
                    _UPSERT_WINDOW,
                    (scope, window.start.isoformat(), window.end.isoformat(), stamp,
                     pending.sheet if pending else None),
                )  # fmt: skip
            if pending is not None:
                self._db.execute(
                    "INSERT INTO pending_sheets VALUES (?, ?, ?, ?)",
                    (pending.staged, pending.sheet, status, stamp),
                )
            self._db.executemany(
                "INSERT OR IGNORE INTO pulled_orders (order_id, status, order_date, pulled_at, "
                "location, staged) VALUES (?, ?, ?, ?, ?, ?)",
                [(oid, status, date, stamp, places.get(oid, ""), staged)
                 for oid, date in orders.items()],
            )  # fmt: skip

    def rename(self, pending: Pending, sheet: str) -> Pending:
        """The sheet gets `sheet` instead: its name was taken meanwhile (not by a pull)."""
        with self._transaction():
            self._db.execute(
                "UPDATE pending_sheets SET sheet = ? WHERE staged = ?", (sheet, pending.staged)
            )
            self._db.execute(
                "UPDATE pull_windows SET file = ? WHERE file = ?", (sheet, pending.sheet)
            )
        return Pending(pending.staged, sheet)

    def named(self, staged: str) -> None:
        """The sheet has its name: its orders are written, for good."""
        with self._transaction():
            self._settle(named=[staged], unnamed=[])

    def unnamed(self, staged: str) -> None:
        """The sheet never got its name: forget its orders (the next pull writes them)."""
        with self._transaction():
            self._settle(named=[], unnamed=[staged])

    def settle(self, outbox: Path) -> tuple[list[str], list[str]]:
        """Settle the sheets a pull that stopped part-way left pending (module docstring):
        the temp names of those named and of those never named, for the caller to remove."""
        named: list[str] = []
        unnamed: list[str] = []
        for (staged,) in self._db.execute("SELECT staged FROM pending_sheets"):
            (named if _was_named(outbox / staged) else unnamed).append(staged)
        if named or unnamed:
            with self._transaction():
                self._settle(named, unnamed)
        return named, unnamed

    def _settle(self, named: list[str], unnamed: list[str]) -> None:
        for staged in named:
            self._db.execute("UPDATE pulled_orders SET staged = NULL WHERE staged = ?", (staged,))
        for staged in unnamed:
            self._db.execute("DELETE FROM pulled_orders WHERE staged = ?", (staged,))
        for staged in named + unnamed:
            self._db.execute("DELETE FROM pending_sheets WHERE staged = ?", (staged,))

    def forget_pulled_before(self, when: datetime) -> None:
        """Drop orders written before `when`: the journal stays small over months."""
        with self._transaction():
            self._db.execute("DELETE FROM pulled_orders WHERE pulled_at < ?", (when.isoformat(),))

    def _transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        return immediate(self._db)


def _was_named(staged: Path) -> bool:
    """The temp name is dropped only once the sheet has its name: still there, it is the
    named sheet too (two links to one file) unless it was never named. Wherever an import
    agent moved the sheet on that disk, it is still the same file."""
    try:
        return staged.stat().st_nlink > 1
    except FileNotFoundError:
        return True
