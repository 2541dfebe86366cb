"""What to check when the machine, not the file, stops the work: a full disk, a refused
permission, a damaged state database - said in the one line the operator sees."""

from __future__ import annotations

import errno
import shutil
import sqlite3
from contextlib import closing, suppress
from pathlib import Path

from etl import sqlitetx
from etl.config import STATE_DIR


def what_to_check(root: Path, exc: BaseException) -> str:
    """A hint for the operator when the fault is a full disk, a refused permission or a
    damaged state database ("" otherwise)."""
    code = getattr(exc, "sqlite_errorcode", 0) & 0xFF  # SQLite says "disk I/O error" too
    full = getattr(exc, "errno", None) == errno.ENOSPC or code == sqlite3.SQLITE_FULL
    if not full and (isinstance(exc, OSError) or code == sqlite3.SQLITE_IOERR):
        with suppress(OSError):
            full = shutil.disk_usage(root).free < 1 << 20
    if full:
        return " (the disk is full: free some space there; waiting files are kept)"
    if isinstance(exc, PermissionError) or code in (sqlite3.SQLITE_PERM, sqlite3.SQLITE_READONLY):
        return " (permission denied: check that this user may create and rename files there)"
    if code in (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB):
        return _damaged(root)
    if code in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
        return _locked(root)
    return ""


def _locked(root: Path) -> str:
    """Which state database another program keeps locked, and that nothing is lost."""
    state = root / STATE_DIR
    held = [p for p in sorted(state.glob("*.sqlite3")) if _busy(p)] or [state / "*.sqlite3"]
    names = " and ".join(str(p) for p in held)
    return (
        f" ({names} stayed locked by another program for over {sqlitetx.BUSY_SECONDS:g} s: a"
        " konnect-etl on another machine working on the same folder, a backup or sync tool,"
        " or an open sqlite3 shell."
        " Nothing is lost; the next run goes on where this one stopped)"
    )


def _busy(path: Path) -> bool:
    """Whether another connection holds `path`'s write lock now (asked without waiting)."""
    try:
        with closing(sqlite3.connect(path, timeout=0, isolation_level=None)) as db:
            db.execute("BEGIN IMMEDIATE")
            db.execute("ROLLBACK")
    except sqlite3.OperationalError as exc:
        return (getattr(exc, "sqlite_errorcode", 0) & 0xFF) in (
            sqlite3.SQLITE_BUSY,
            sqlite3.SQLITE_LOCKED,
        )
    return False


def _damaged(root: Path) -> str:
    """Which state database under `root` is damaged, and what moving it aside costs."""
    state = root / STATE_DIR
    damaged = [p for p in sorted(state.glob("*.sqlite3")) if not _intact(p)] or [
        state / "journal.sqlite3"
    ]
    names = " and ".join(str(p) for p in damaged)
    return (
        f" ({names} is damaged - a share that went away during a write can do that. Move it"
        " aside (with its -wal and -shm files) and the next run starts a new one; then files"
        " already processed are no longer recognised as repeats, and an order file left in"
        " processing/ is sent as new: check its orders in Konnect first)"
    )


def _intact(path: Path) -> bool:
    try:
        with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)) as db:
            return bool(db.execute("PRAGMA quick_check").fetchone() == ("ok",))
    except sqlite3.Error:
        return False
