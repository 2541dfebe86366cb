"""What has been sent to Konnect, kept in SQLite so a crash or a kill loses almost nothing.

Two tables: `files` (one row per attempt at processing an input file) and `chunks` (one row
per request body of that file). A chunk is marked `inflight` just before it is sent and
gets its result (`acknowledged`, `failed` or `unknown`) committed within moments of the
answer (results that arrive together share one transaction) and before the run reports it,
so after a kill -9 only the chunks in flight or just answered are in doubt. WAL mode and a
busy timeout let two processes share one inbox's journal.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from etl import sqlitetx
from etl.chunkresult import SETTLED, ChunkResult, ChunkState
from etl.journaltables import LAYOUT, RECORD, SCHEMA, FileRecord, FileState, utc, utc_now
from etl.sqlitetx import immediate


class Journal:
    """The inbox's SQLite journal. One connection, safe to share between threads."""

    def __init__(
        self,
        path: Path | str,
        *,
        busy_timeout: float | None = None,
        clock: Callable[[], str] = utc_now,
    ) -> None:
        busy_timeout = sqlitetx.BUSY_SECONDS if busy_timeout is None else busy_timeout
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._clock = clock
        self._lock = threading.Lock()
        self._db = sqlite3.connect(
            self.path, timeout=busy_timeout, isolation_level=None, check_same_thread=False
        )
        try:
            self._open(busy_timeout)
        except BaseException:
            self._db.close()
            raise

    def _open(self, busy_timeout: float) -> None:
        """Its tables made or brought up to date, and stamped `LAYOUT`; ConfigError when a
        newer version wrote it."""
        self._db.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
        self._db.execute("PRAGMA journal_mode = WAL")
        # WAL + NORMAL: a commit survives the process being killed (the crash we must
        # survive); only a power cut can lose the last commits, and resume reconciles those.
        self._db.execute("PRAGMA synchronous = NORMAL")
        made = sqlitetx.layout(self._db, self.path, LAYOUT)
        self._db.executescript(SCHEMA)  # idempotent; executescript manages its own commit
        if made < LAYOUT:
            sqlitetx.stamp(self._db, self.path, LAYOUT)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction (`etl.sqlitetx`), one thread at a time."""
        with self._lock, immediate(self._db) as db:
            yield db

    def _read(self, sql: str, args: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        with self._lock:
            return self._db.execute(sql, args).fetchall()

    def begin_file(
        self, sha256: str, name: str, feed: str, mapping: str, *, size: int | None = None
    ) -> int:
        """The id for processing this file: an unfinished earlier attempt's (crash resume),
        or a new one. `size`: the bytes `sha256` covers."""
        with self._write() as db:
            row = db.execute(
                "SELECT id FROM files WHERE sha256 = ? AND name = ? AND state = 'processing' "
                "ORDER BY id DESC LIMIT 1",
                (sha256, name),
            ).fetchone()
            if row is not None:
                return int(row[0])
            cursor = db.execute(
                "INSERT INTO files (sha256, name, feed, mapping, started_at) VALUES (?,?,?,?,?)",
                (sha256, name, feed, mapping, self._clock()),
            )
            file_id = int(cursor.lastrowid or 0)
            db.execute("INSERT INTO attempts (file_id, size) VALUES (?, ?)", (file_id, size))
            return file_id

    def finish_file(
        self,
        file_id: int,
        state: FileState,
        summary_path: Path | str | None,
        *,
        row_count: int | None = None,
    ) -> None:
        summary = str(summary_path) if summary_path is not None else None
        with self._write() as db:
            db.execute(
                "UPDATE files SET state = ?, finished_at = ?, summary_path = ?, "
                "row_count = COALESCE(?, row_count) WHERE id = ?",
                (state, self._clock(), summary, row_count, file_id),
            )

    def note_reports(self, file_id: int, summary_path: Path) -> None:
        """Where an attempt is about to write its reports: a stop before `finish_file` then
        leaves them known (`unfinished`), not an orphan set beside the next one."""
        with self._write() as db:
            db.execute(
                "UPDATE files SET summary_path = ? WHERE id = ? AND state = 'processing'",
                (str(summary_path), file_id),
            )

    def find_finished(self, sha256: str) -> list[FileRecord]:
        """Earlier finished attempts at a file with this content, oldest first."""
        rows = self._read(
            f"SELECT {RECORD} FROM files WHERE sha256 = ? AND state != 'processing' ORDER BY id",
            (sha256,),
        )
        return [FileRecord(*row) for row in rows]

    def unfinished(self, sha256: str, name: str) -> FileRecord | None:
        """The attempt at this file (content and name) that began and never finished (a
        resume): when it began (UTC, ISO) and, once `note_reports`, its summary's path."""
        rows = self._read(
            f"SELECT {RECORD} FROM files WHERE sha256 = ? AND name = ? "
            "AND state = 'processing' ORDER BY id DESC LIMIT 1",
            (sha256, name),
        )
        return FileRecord(*rows[0]) if rows else None

    def unfinished_by_name(self) -> dict[str, FileRecord]:
        """The latest unfinished attempt at each file name (the one a leftover of that name
        continues)."""
        rows = self._read(f"SELECT {RECORD} FROM files WHERE state = 'processing' ORDER BY id", ())
        return {record.name: record for record in (FileRecord(*row) for row in rows)}

    def held_since(self, file_id: int) -> tuple[datetime, datetime]:
        """(when Konnect first took only part of this attempt, now), by the journal's clock;
        the first call sets it. A stamp ahead of now (the clock was set back since) is set to
        now: the time then runs from this run, not from a moment still to come."""
        now = self._clock()
        with self._write() as db:
            db.execute(
                "INSERT INTO attempts (file_id, held_since) VALUES (?, ?) ON CONFLICT (file_id) "
                "DO UPDATE SET held_since = COALESCE(held_since, excluded.held_since)",
                (file_id, now),
            )
            [since] = db.execute(
                "SELECT held_since FROM attempts WHERE file_id = ?", (file_id,)
            ).fetchone()
            if utc(since) > utc(now):
                db.execute("UPDATE attempts SET held_since = ? WHERE file_id = ?", (now, file_id))
                since = now
        return utc(since), utc(now)

    def restart_hold(self, file_id: int) -> None:
        """Konnect answered nothing at all this time: the next partial answer starts the
        hold's time afresh (`held_since`)."""
        with self._write() as db:
            db.execute("UPDATE attempts SET held_since = NULL WHERE file_id = ?", (file_id,))

    def latest_unfinished(self, name: str) -> tuple[FileRecord, int] | None:
        """The latest unfinished attempt at a file of this name and the bytes its content
        hash covers, when it sent something; None if not (or its size is unknown: an
        attempt of an older version). Never an older attempt behind the latest one."""
        rows = self._read(
            f"SELECT {', '.join('f.' + c for c in RECORD.split(', '))}, a.size, "
            "EXISTS (SELECT 1 FROM chunks c WHERE c.file_id = f.id) FROM files f "
            "LEFT JOIN attempts a ON a.file_id = f.id "
            "WHERE f.name = ? AND f.state = 'processing' ORDER BY f.id DESC LIMIT 1",
            (name,),
        )
        if not rows or rows[0][-2] is None or not rows[0][-1]:
            return None
        return FileRecord(*rows[0][:-2]), int(rows[0][-2])

    def abandon(self, sha256: str, name: str) -> str | None:
        """Close the unfinished attempt at this file (content and name), if any, so that the
        file starts over; when that attempt began (UTC, ISO), or None."""
        with self._write() as db:
            row = db.execute(
                "SELECT id, started_at FROM files WHERE sha256 = ? AND name = ? AND "
                "state = 'processing' ORDER BY id DESC LIMIT 1",
                (sha256, name),
            ).fetchone()
            if row is None:
                return None
            db.execute(
                "UPDATE files SET state = 'abandoned', finished_at = ? WHERE sha256 = ? AND "
                "name = ? AND state = 'processing'",
                (self._clock(), sha256, name),
            )
            return str(row[1])

    def continue_attempt(self, file_id: int, sha256: str, size: int) -> None:
        """The unfinished attempt `file_id` goes on with this content (`etl.grown`)."""
        with self._write() as db:
            db.execute(
                "UPDATE files SET sha256 = ? WHERE id = ? AND state = 'processing'",
                (sha256, file_id),
            )
            db.execute("UPDATE attempts SET size = ? WHERE file_id = ?", (size, file_id))

    def partly_sent(self, name: str) -> bool:
        """Konnect answered a chunk of the latest unfinished attempt at a file of this name,
        or one was in flight: something of it may be applied. By name, not content: an
        export that wrote on into processing/ has another hash than the one sent."""
        rows = self._read(
            "SELECT 1 FROM chunks WHERE file_id = (SELECT id FROM files WHERE name = ? AND "
            "state = 'processing' ORDER BY id DESC LIMIT 1) LIMIT 1",
            (name,),
        )
        return bool(rows)

    def mark_inflight(self, file_id: int, index: int, digest: str = "") -> None:
        """Just before a chunk is sent: from now on its outcome is in doubt until recorded.
        `digest`: the body's `chunk_digest`, kept with the mark (see `inflight`)."""
        mark = ChunkResult(index, "unknown", digest=digest).to_json().decode()
        with self._write() as db:
            db.execute(
                "INSERT INTO chunks (file_id, chunk_index, state, result, updated_at) "
                "VALUES (?, ?, 'inflight', ?, ?) ON CONFLICT (file_id, chunk_index) DO UPDATE "
                "SET state = 'inflight', result = excluded.result, "
                "updated_at = excluded.updated_at",
                (file_id, index, mark, self._clock()),
            )

    def clear_inflight(self, file_id: int, index: int) -> None:
        """Forget an `inflight` mark: the chunk was surely not applied (every try refused)."""
        with self._write() as db:
            db.execute(
                "DELETE FROM chunks WHERE file_id = ? AND chunk_index = ? AND state = 'inflight'",
                (file_id, index),
            )

    def record_chunk(self, file_id: int, result: ChunkResult) -> None:
        """Commit a chunk's result at once, so a crash right after does not lose it."""
        self.record_chunks(file_id, [result])

    def record_chunks(self, file_id: int, results: Sequence[ChunkResult]) -> None:
        """Commit the results of several chunks in one transaction (one wait for the disk):
        all of them are durable when this returns, or none is."""
        now = self._clock()
        rows = [(file_id, r.index, r.state, r.ack_id, r.to_json().decode(), now) for r in results]
        with self._write() as db:
            db.executemany(
                "INSERT INTO chunks (file_id, chunk_index, state, ack_id, result, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (file_id, chunk_index) DO UPDATE SET "
                "state = excluded.state, ack_id = excluded.ack_id, result = excluded.result, "
                "updated_at = excluded.updated_at",
                rows,
            )

    def chunk_results(
        self, file_id: int, states: tuple[ChunkState, ...] = SETTLED
    ) -> dict[int, ChunkResult]:
        """Recorded results of this file's chunks in `states` (default: those that must not
        be sent again)."""
        marks = ",".join("?" * len(states))
        rows = self._read(
            f"SELECT result FROM chunks WHERE file_id = ? AND state IN ({marks}) "
            "AND result IS NOT NULL ORDER BY chunk_index",
            (file_id, *states),
        )
        results = [ChunkResult.from_json(row[0]) for row in rows]
        return {r.index: r for r in results}

    def forget_chunks(self, finished_before: datetime) -> int:
        """Delete the chunk results of files finished before `finished_before` (UTC); the
        files' own lines stay (duplicates are still recognised). The number deleted."""
        stamp = finished_before.replace(tzinfo=UTC).isoformat(timespec="milliseconds")
        with self._write() as db:
            cursor = db.execute(
                "DELETE FROM chunks WHERE file_id IN (SELECT id FROM files "
                "WHERE state != 'processing' AND finished_at < ?)",
                (stamp,),
            )
            return cursor.rowcount

    def inflight(self, file_id: int) -> dict[int, str]:
        """Chunks that were sent but whose answer never got recorded (a crash mid-request):
        index -> the digest of the body sent ("" for marks from before digests were kept)."""
        rows = self._read(
            "SELECT chunk_index, result FROM chunks WHERE file_id = ? AND state = 'inflight' "
            "ORDER BY chunk_index",
            (file_id,),
        )
        return {int(i): ChunkResult.from_json(r).digest if r else "" for i, r in rows}
