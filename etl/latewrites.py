"""Rows an export wrote after its file was taken: sent after all, never lost.

A file is taken once it has not changed for the settle time, and given back if it changes
while it is processed (`etl.runner`). An export that pauses longer than both - a slow query
between pages - and then writes on, through the handle it kept open, writes into the file
where it now lies: `done/`, next to reports that cover only its first rows. So each file
filed in `done/` is remembered for an hour, with the size and SHA-256 of what was processed
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

from etl.inbox import Inbox
from etl.journal import Journal
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


def remember(
    journal: Journal | None, filed: Path, name: str, taken: tuple[int, float] | None
) -> None:
    """`filed`, received as `name`, was processed as its first `taken` (size, time) bytes:
    when it is in `done/`, look at it again for an hour."""
    if journal is None or taken is None or filed.parent.parent.name != "done":
        return
    digest = _prefix_digest(filed, taken[0])
    if digest is None:
        return
    with _state(journal.path) as db, immediate(db):
        db.execute(
            "INSERT OR REPLACE INTO late_writes VALUES (?, ?, ?, ?, ?)",
            (str(filed), name, taken[0], digest, time.time()),
        )


def requeue_grown(
    inbox: Inbox, journal: Path | None, settle_seconds: float, trigger: str | None = None
) -> list[Path]:
    """Copy the remembered files that grew, and have not changed for `settle_seconds` since
    (a copy must not end in a half-written line), back into the inbox; the copies' paths.
    `journal`: the journal file's path (None, or no such file yet: nothing remembered)."""
    if journal is None or not journal.is_file():
        return []
    copies = []
    with _state(journal) as db:
        with immediate(db):
            cutoff = time.time() - WATCHED_SECONDS
            db.execute("DELETE FROM late_writes WHERE filed_at < ?", (cutoff,))
        for path, name, size, digest in db.execute(
            "SELECT path, name, bytes, sha256 FROM late_writes"
        ).fetchall():
            filed = Path(path)
            try:
                now = filed.stat()
            except OSError:  # moved or removed by a person: nothing to look at any more
                _forget(db, filed)
                continue
            if now.st_size > size and time.time() - now.st_mtime >= settle_seconds:
                copy = _grown(inbox, filed, name, size, digest, db, trigger)
                copies += [copy] if copy else []
    return copies


def _forget(db: sqlite3.Connection, filed: Path) -> None:
    with immediate(db):
        db.execute("DELETE FROM late_writes WHERE path = ?", (str(filed),))


def _grown(
    inbox: Inbox,
    filed: Path,
    name: str,
    size: int,
    digest: str,
    db: sqlite3.Connection,
    trigger_suffix: str | None,
) -> Path | None:
    if _prefix_digest(filed, size) != digest:
        log.info("%s was changed in %s after it was processed (edited?): not sent again",
                 filed.name, filed.parent)  # fmt: skip
        _forget(db, filed)
        return None
    copy, copied, copied_digest = _copy_into(inbox, filed, name, trigger_suffix)
    with immediate(db):
        db.execute(
            "UPDATE late_writes SET bytes = ?, sha256 = ? WHERE path = ?",
            (copied, copied_digest, str(filed)),
        )
    log.warning(
        "%s grew after it was processed (%d bytes more: its export wrote on after a pause"
        " longer than the settle time): the whole file goes through again as %s",
        filed.name, copied - size, copy.name,
    )  # fmt: skip
    return copy


def _copy_into(
    inbox: Inbox, filed: Path, name: str, trigger_suffix: str | None
) -> tuple[Path, int, str]:
    """A copy of `filed` as it is now, given back to the inbox under `name` (or `name-2`),
    dated like the export; (its path, its size, its SHA-256)."""
    mtime = filed.stat().st_mtime
    staging = inbox.root / ".konnect-etl" / "late"
    staging.mkdir(parents=True, exist_ok=True)
    temp = staging / name
    digest = hashlib.sha256()
    with filed.open("rb") as source, temp.open("wb") as target:
        for block in iter(lambda: source.read(1 << 20), b""):
            digest.update(block)
            target.write(block)
        target.flush()
        os.fsync(target.fileno())
    os.utime(temp, (mtime, mtime))  # the export's time, for the out-of-order guard
    size = temp.stat().st_size
    return inbox.give_back(temp, trigger_suffix), size, digest.hexdigest()


def _prefix_digest(path: Path, size: int) -> str | None:
    """SHA-256 of the first `size` bytes of `path` (None: unreadable or shorter)."""
    digest, left = hashlib.sha256(), size
    try:
        with path.open("rb") as handle:
            while left > 0:
                block = handle.read(min(left, 1 << 20))
                if not block:
                    return None
                digest.update(block)
                left -= len(block)
    except OSError:
        return None
    return digest.hexdigest()


@contextlib.contextmanager
def _state(journal_path: Path) -> Iterator[sqlite3.Connection]:
    with contextlib.closing(
        sqlite3.connect(journal_path, timeout=30.0, isolation_level=None)
    ) as db:
        db.execute(_SCHEMA)
        yield db
