"""One write transaction on a SQLite connection opened with `isolation_level=None`; and
the state layout a database was written in (`PRAGMA user_version`).

The journal, the protection state and the pull state all write this way: BEGIN IMMEDIATE
takes the write lock at once (another process waits for it rather than two deadlocking
on an upgrade), and anything that fails, the COMMIT itself included (a full disk, a
deferred constraint), rolls back. A COMMIT that fails can leave the transaction open, and
the connection's next BEGIN would then fail for ever.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

from etl.errors import ConfigError

# How long a state database waits for another program's lock (a backup tool, a sqlite3
# shell, another konnect-etl) before the command stops saying so (`etl.hostfaults`).
BUSY_SECONDS = 30.0


@contextlib.contextmanager
def immediate(db: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    db.execute("BEGIN IMMEDIATE")
    try:
        yield db
        db.execute("COMMIT")
    except BaseException:
        with contextlib.suppress(sqlite3.Error):  # SQLite may have rolled back already
            db.execute("ROLLBACK")
        raise


def forget_before(db: sqlite3.Connection, table: str, column: str, at: str, days: int) -> None:
    """Delete the rows of `table` whose `column` (UTC, ISO) is over `days` before `at`: a
    book's entries past its keep_days, as a file records its own (inside its transaction)."""
    horizon = (datetime.fromisoformat(at) - timedelta(days=days)).isoformat()
    db.execute(f"DELETE FROM {table} WHERE {column} < ?", (horizon,))  # our names, not input


def layout(db: sqlite3.Connection, path: Path, known: int) -> int:
    """The state layout of the database at `path` (0: made before layouts were numbered);
    ConfigError when a newer konnect-etl wrote it: an older one would miss what it records
    there (the columns and tables it added, the rules it keeps)."""
    found = int(db.execute("PRAGMA user_version").fetchone()[0])
    if found > known:
        raise ConfigError(
            f"{path} was written by a newer konnect-etl (state layout {found}; this one knows"
            f" up to {known}): install that version or a newer one; an older one would miss"
            " what it records"
        )
    return found


@contextlib.contextmanager
def upgrading(db: sqlite3.Connection, path: Path, known: int) -> Iterator[sqlite3.Connection]:
    """One write transaction bringing the database at `path` up to layout `known`, stamped
    with it at commit; looked at again inside it, so a newer version that stamped it
    meanwhile is not stamped down (ConfigError, rolled back)."""
    with immediate(db):
        found = layout(db, path, known)
        yield db
        if found < known:
            db.execute(f"PRAGMA user_version = {int(known)}")


def stamp(db: sqlite3.Connection, path: Path, known: int) -> None:
    """Stamp the database at `path`, its tables made, with layout `known` (`upgrading`)."""
    with upgrading(db, path, known):
        pass
