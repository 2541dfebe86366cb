"""One write transaction on a SQLite connection opened with `isolation_level=None`.

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
