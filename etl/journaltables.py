"""The journal's tables (`etl.journal`), and one file's attempt as a record of it.

`files`: one row per attempt at processing an input file; `chunks`: one row per request body
of that file, with its state (`inflight`, `acknowledged`, `failed`, `unknown`); `attempts`:
more about an attempt, kept apart so an older journal needs no ALTER.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

# A file's state: "processing" until `finish_file` sets e.g. "done", "failed", "held".
FileState = str

SCHEMA = """
CREATE TABLE IF NOT EXISTS files (
    id INTEGER PRIMARY KEY,
    sha256 TEXT NOT NULL,
    name TEXT NOT NULL,
    feed TEXT NOT NULL,
    mapping TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'processing',
    started_at TEXT NOT NULL,
    finished_at TEXT,
    summary_path TEXT,
    row_count INTEGER
);
CREATE INDEX IF NOT EXISTS files_sha256 ON files (sha256);
CREATE TABLE IF NOT EXISTS chunks (
    file_id INTEGER NOT NULL REFERENCES files (id),
    chunk_index INTEGER NOT NULL,
    state TEXT NOT NULL,
    ack_id TEXT,
    result TEXT,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (file_id, chunk_index)
);
CREATE TABLE IF NOT EXISTS attempts (
    file_id INTEGER PRIMARY KEY REFERENCES files (id),
    size INTEGER,
    held_since TEXT
);
"""
# The state layout of the journal file, kept as its `PRAGMA user_version` (0: made before it
# was kept). Bump it whenever SCHEMA changes, or the other tables kept in the journal file:
# `late_writes` (`etl.latewrites`) and, in an outbox's, the pull tables (`etl.pullstate`).
# An older version then refuses the file (`sqlitetx.layout`) instead of working on without
# what the newer one records. 1 (2026-11-28): as above. 2 (2026-11-29): in an outbox's,
# `pending_sheets` and `pulled_orders.staged` (a sheet's orders recorded before it is named:
# an older version would count orders of a sheet never named as written, and miss them).
LAYOUT = 2
# `attempts` (2026-11-27): more about an attempt, in a table of its own so that an older
# journal needs no ALTER: `size`, the bytes its `sha256` covers (a leftover its export wrote
# on into is the same file grown, `continue_grown`); `held_since`, when Konnect first took
# only part of it (`etl.holdover`).


@dataclass(frozen=True)
class FileRecord:
    """One attempt at one input file, as the journal remembers it."""

    id: int
    sha256: str
    name: str
    feed: str
    mapping: str
    state: str
    started_at: str
    finished_at: str | None
    summary_path: str | None
    row_count: int | None

    @property
    def attempt(self) -> str:
        """How the protection state names this attempt: "id/started_at" (its start too: a
        journal made anew numbers from 1 again)."""
        return f"{self.id}/{self.started_at}"


RECORD = (  # FileRecord's columns
    "id, sha256, name, feed, mapping, state, started_at, finished_at, summary_path, row_count"
)


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def utc(stamp: str) -> datetime:
    """A journal stamp as an aware datetime (one without an offset is UTC)."""
    when = datetime.fromisoformat(stamp)
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)
