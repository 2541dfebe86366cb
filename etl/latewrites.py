"""Rows an export wrote after its file was taken: sent after all, never lost.

A file is taken once it has not changed for the settle time, and given back if it changes
while it is processed (`etl.claimed`). An export that pauses longer than both - a slow query
between pages - and then writes on, through the handle it kept open, writes into the file
where it now lies: `done/`, next to reports that cover only its first rows (or `failed/`,
when it had written only its header). So each file filed there is remembered for an hour,
with the size and SHA-256 of what was processed
(a table of its own in the inbox's journal file, `late_writes`), and every pass looks again:
a file that grew, whose first bytes are still the ones processed, is copied back into the
inbox (as `name.csv`, or `name-2.csv` beside a newer drop) and taken again whole - stock and
price are absolute, order actions already applied are recognised (`etl.reconcile`), and a
cancel already applied is not sent again (`etl.repeats`). A file whose first bytes changed
was edited by a person (opened in `done/` and saved): it is not sent, only logged.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

from etl import sqlitetx
from etl.filehash import Shorter, prefix_digest
from etl.inbox import Inbox
from etl.sqlitetx import immediate

log = logging.getLogger(__name__)

WATCHED_SECONDS = 3600.0  # an export that pauses for longer than this is not waited for
_SCHEMA = """
CREATE TABLE IF NOT EXISTS late_writes (
    path TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    bytes INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    filed_at REAL NOT NULL
)
"""


def remember(journal: Path | None, filed: Path, name: str, taken: tuple[int, float] | None) -> None:
    """`filed`, received as `name`, was processed as its first `taken` (size, time) bytes:
    when it is in `done/` or `failed/` (an export that had written only its header), look at
    it again for an hour (`journal`: the journal file's path). Best effort: a failure is
    logged, never stops the run."""
    if journal is None or taken is None or filed.parent.parent.name not in ("done", "failed"):
        return
    try:
        digest = prefix_digest(filed, taken[0])
        with _state(journal) as db, immediate(db):
            db.execute(
                "INSERT OR REPLACE INTO late_writes VALUES (?, ?, ?, ?, ?)",
                (str(filed), name, taken[0], digest, time.time()),
            )
    except (OSError, sqlite3.Error, Shorter) as exc:
        log.warning("%s: cannot watch it for rows written late (%s)", filed.name, exc)


def requeue_grown(
    inbox: Inbox, journal: Path | None, settle_seconds: float, trigger: str | None = None
) -> list[Path]:
    """Copy the remembered files that grew, and have not changed for `settle_seconds` since
    (a copy must not end in a half-written line), back into the inbox; the copies' paths.
    `journal`: the journal file's path (None, or no such file yet: nothing remembered).
    Best effort: a share or database failure is logged and tried again next pass; a damaged
    journal is raised (logged at every pass, it said nothing of what to do)."""
    if journal is None or not journal.is_file():
        return []
    try:
        with _state(journal) as db:
            copies, waiting = _look_at_all(inbox, db, settle_seconds, trigger)
            with immediate(db):  # after a last look: a file that grew at minute 59 is sent
                cutoff, marks = time.time() - WATCHED_SECONDS, ",".join("?" * len(waiting))
                db.execute(
                    f"DELETE FROM late_writes WHERE filed_at < ? AND path NOT IN ({marks})",
                    (cutoff, *waiting),
                )
                db.execute("DELETE FROM late_writes WHERE filed_at < ?", (cutoff - 86400,))
    except (OSError, sqlite3.Error) as exc:
        if getattr(exc, "sqlite_errorcode", 0) & 0xFF in DAMAGED:
            raise  # the journal itself: the watcher says so once, backs off, `status` knows
        log.warning("files filed in done/ could not be looked at for rows written late: %s", exc)
        return []
    return copies


DAMAGED = (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB)  # a journal to move aside


def _look_at_all(
    inbox: Inbox, db: sqlite3.Connection, settle_seconds: float, trigger: str | None
) -> tuple[list[Path], list[str]]:
    """(the copies given back, the paths to look at again even past their hour: grown and
    still being written, or not readable this time)."""
    copies: list[Path] = []
    waiting: list[str] = []
    rows = db.execute(
        "SELECT path, name, bytes, sha256 FROM late_writes ORDER BY filed_at"
    ).fetchall()
    for path, name, size, digest in rows:
        try:
            found = _look_at(inbox, Path(path), name, size, digest, db, settle_seconds, trigger)
        except OSError as exc:  # this file's share or disk: the others go on
            log.warning("%s could not be looked at for rows written late: %s", path, exc)
            found = WAIT
        waiting += [path] if found is WAIT else []
        copies += [found] if isinstance(found, Path) else []
    return copies, waiting


WAIT = object()  # `_look_at`: the file grew and is still being written


def _look_at(
    inbox: Inbox,
    filed: Path,
    name: str,
    size: int,
    digest: str,
    db: sqlite3.Connection,
    settle_seconds: float,
    trigger: str | None,
) -> Path | object | None:
    """The copy of `filed` given back to the inbox, if it grew; `WAIT` if it grew and is
    still being written; None if not, or not to be sent. Only a file that is gone or was
    changed is no longer looked at."""
    try:
        now = filed.stat()
    except FileNotFoundError:  # moved or removed by a person: nothing to look at any more
        _forget(db, filed)
        return None
    if now.st_size <= size:
        return None
    if time.time() - now.st_mtime < settle_seconds:
        return WAIT
    try:
        if prefix_digest(filed, size) != digest:
            raise Shorter
    except Shorter:
        log.info("%s was changed in %s after it was processed (edited?): not sent again",
                 filed.name, filed.parent)  # fmt: skip
        _forget(db, filed)
        return None
    return _copy_back(inbox, filed, name, size, db, trigger)


def _forget(db: sqlite3.Connection, filed: Path) -> None:
    with immediate(db):
        db.execute("DELETE FROM late_writes WHERE path = ?", (str(filed),))


def _copy_back(
    inbox: Inbox, filed: Path, name: str, size: int, db: sqlite3.Connection, trigger: str | None
) -> Path | None:
    """Copy `filed` into a folder of this process's own, then, in one transaction that
    first checks no other process did so (its recorded size still `size`), give the copy
    to the inbox and record the size and digest it has."""
    staging = inbox.root / ".konnect-etl" / "late" / str(os.getpid())
    staging.mkdir(parents=True, exist_ok=True)
    temp = staging / name
    try:
        before = filed.stat()
        copied, copied_digest = _copy(filed, temp)
        after = filed.stat()
        if (after.st_size, after.st_mtime_ns) != (before.st_size, before.st_mtime_ns):
            return None  # written to while copied: the copy may end mid-line; next pass
        with immediate(db):
            row = db.execute("SELECT bytes FROM late_writes WHERE path = ?", (str(filed),))
            if row.fetchone() != (size,):
                return None  # another process on this inbox copied it back already
            copy = inbox.give_back(temp, trigger)
            db.execute(
                "UPDATE late_writes SET bytes = ?, sha256 = ? WHERE path = ?",
                (copied, copied_digest, str(filed)),
            )
    finally:
        temp.unlink(missing_ok=True)
        with contextlib.suppress(OSError):  # this process's folder, empty again: not one per pid
            staging.rmdir()
    log.warning(
        "%s grew after it was processed (%d bytes more: its export wrote on after a pause"
        " longer than the settle time): the whole file goes through again as %s",
        filed.name, copied - size, copy.name,
    )  # fmt: skip
    return copy


def _copy(filed: Path, temp: Path) -> tuple[int, str]:
    """`filed` as it is now, into `temp` dated like the export: (its size, its SHA-256)."""
    mtime = filed.stat().st_mtime
    digest, size = hashlib.sha256(), 0
    with filed.open("rb") as source, temp.open("wb") as target:
        for block in iter(lambda: source.read(1 << 20), b""):
            digest.update(block)
            target.write(block)
            size += len(block)
        target.flush()
        os.fsync(target.fileno())
    os.utime(temp, (mtime, mtime))  # the export's time, for the out-of-order guard
    return size, digest.hexdigest()


@contextlib.contextmanager
def _state(journal_path: Path) -> Iterator[sqlite3.Connection]:
    with contextlib.closing(
        sqlite3.connect(journal_path, timeout=sqlitetx.BUSY_SECONDS, isolation_level=None)
    ) as db:
        db.execute(_SCHEMA)
        yield db
