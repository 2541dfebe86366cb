"""The protection database's tables (`etl.keystate`): made when missing, and the columns
added since a table was first made given to a database an older version made; one a newer
version made is refused (`LAYOUT`).

`exports`, `price_book`, `released`, `cancels`, `invoices` and `order_rows` are described in
`etl.keystate`; the AWB book makes its own table (`etl.awbbook`).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from etl import sqlitetx
from etl.sqlitetx import upgrading

SCHEMA = """
CREATE TABLE IF NOT EXISTS exports (
    id INTEGER PRIMARY KEY,
    mapping TEXT NOT NULL,
    exported_at REAL NOT NULL,
    file TEXT NOT NULL,
    keys BLOB NOT NULL,
    error_rows BLOB
);
CREATE INDEX IF NOT EXISTS exports_time ON exports (mapping, exported_at);
CREATE TABLE IF NOT EXISTS price_book (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    book BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS released (
    sha256 TEXT PRIMARY KEY,
    name TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS cancels (
    action TEXT PRIMARY KEY,
    file TEXT NOT NULL,
    row INTEGER NOT NULL,
    applied_at TEXT NOT NULL,
    settled INTEGER NOT NULL DEFAULT 1
);
CREATE TABLE IF NOT EXISTS invoices (
    number TEXT NOT NULL,
    order_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    file TEXT NOT NULL,
    row INTEGER NOT NULL,
    applied_at TEXT NOT NULL,
    PRIMARY KEY (number, order_id)
);
CREATE TABLE IF NOT EXISTS order_rows (
    feed TEXT NOT NULL,
    order_id TEXT NOT NULL,
    record TEXT NOT NULL,
    file TEXT NOT NULL,
    row INTEGER NOT NULL,
    applied_at TEXT NOT NULL,
    attempt TEXT,
    PRIMARY KEY (feed, order_id, record)
);
CREATE INDEX IF NOT EXISTS order_rows_time ON order_rows (applied_at);
"""
# Columns added since a table was first made: (table, column, declaration). A database made
# before is given them when opened; the defaults say what its rows were.
ADDED_COLUMNS = (
    ("exports", "error_rows", "BLOB"),  # errors files matched to their export
    ("cancels", "settled", "INTEGER NOT NULL DEFAULT 1"),  # 0: answer lost; before, all applied
    ("cancels", "attempt", "TEXT"),  # the journal attempt that recorded it: "id/started_at"
    ("exports", "digest", "TEXT"),  # which keys, in short: exports of the same keys share it
    ("exports", "feed", "TEXT"),  # newer exports are looked for in every mapping of the feed
    ("exports", "locations", "TEXT"),  # its locations, one a line: the fewer-rows guard's
    ("exports", "key_count", "INTEGER"),  # comparison, without unpacking a million keys
)


# The state layout this code writes, kept as the database's `PRAGMA user_version` (0: made
# before it was kept). Bump it whenever SCHEMA, ADDED_COLUMNS or the AWB book's table
# (`etl.awbbook`) change: an older version then refuses the database (`sqlitetx.layout`)
# instead of working on without what the newer one records. 1 (2026-11-28): as above;
# 2 (2026-11-28, one change: no version with only one of them was ever run on an inbox): the
# invoice book (`invoices`, `etl.invoicebook`) and the order-row book (`order_rows`,
# `etl.orderbook`).
LAYOUT = 2


def connect(path: Path) -> sqlite3.Connection:
    """The protection database at `path` (WAL: shared by processes), its tables up to date
    and stamped `LAYOUT`; ConfigError when a newer version wrote it."""
    db = sqlite3.connect(path, timeout=sqlitetx.BUSY_SECONDS, isolation_level=None)
    try:
        db.execute("PRAGMA journal_mode = WAL")
        made = sqlitetx.layout(db, path, LAYOUT)
        db.executescript(SCHEMA)
        if made < LAYOUT or _missing_columns(db):
            with upgrading(db, path, LAYOUT):  # another process may be at it too: look again
                for table, column, declaration in _missing_columns(db):
                    db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {declaration}")
    except BaseException:
        db.close()
        raise
    return db


def _missing_columns(db: sqlite3.Connection) -> list[tuple[str, str, str]]:
    """The `ADDED_COLUMNS` a database made by an older version lacks."""
    missing = []
    for table, column, declaration in ADDED_COLUMNS:
        columns = {row[1] for row in db.execute(f"PRAGMA table_info({table})")}
        if column not in columns:
            missing.append((table, column, declaration))
    return missing
