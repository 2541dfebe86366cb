"""The state databases carry the layout they were written in (`PRAGMA user_version`): an
older version's database is brought up to date and stamped; one a newer version wrote is
refused (exit 2) rather than worked on without what that version records."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
from runs import run
from typer.testing import CliRunner

from etl import journaltables, protectiontables
from etl.cli import app
from etl.errors import ConfigError
from etl.journal import Journal
from etl.keystate import KeyState
from etl.pullstate import PullState

# the journal and protection database as the first versions made them (commit 1c49701)
OLD_JOURNAL = """
CREATE TABLE files (id INTEGER PRIMARY KEY, sha256 TEXT NOT NULL, name TEXT NOT NULL,
    feed TEXT NOT NULL, mapping TEXT NOT NULL, state TEXT NOT NULL DEFAULT 'processing',
    started_at TEXT NOT NULL, finished_at TEXT, summary_path TEXT, row_count INTEGER);
CREATE TABLE chunks (file_id INTEGER NOT NULL REFERENCES files (id),
    chunk_index INTEGER NOT NULL, state TEXT NOT NULL, ack_id TEXT, result TEXT,
    updated_at TEXT NOT NULL, PRIMARY KEY (file_id, chunk_index));
INSERT INTO files (sha256, name, feed, mapping, state, started_at, finished_at)
    VALUES ('abc', 'stock.csv', 'stock', 'generic/stock', 'done', '2026-11-26T10:00:00+00:00',
            '2026-11-26T10:00:05+00:00');
"""
OLD_PROTECTION = """
CREATE TABLE exports (id INTEGER PRIMARY KEY, mapping TEXT NOT NULL, exported_at REAL NOT NULL,
    file TEXT NOT NULL, keys BLOB NOT NULL);
CREATE TABLE released (sha256 TEXT PRIMARY KEY, name TEXT NOT NULL);
CREATE TABLE skips (key TEXT PRIMARY KEY);
"""


def database(path: Path, script: str = "", layout: int = 0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(path) as db:
        db.executescript(script)
        db.execute(f"PRAGMA user_version = {layout}")
    db.close()
    return path


def layout_of(path: Path) -> int:
    with sqlite3.connect(path) as db:
        found = int(db.execute("PRAGMA user_version").fetchone()[0])
    db.close()
    return found


def tables(path: Path) -> set[str]:
    with sqlite3.connect(path) as db:
        found = {str(r[0]) for r in db.execute("SELECT name FROM sqlite_master")}
    db.close()
    return found


def test_a_journal_an_older_version_made_is_brought_up_to_date_and_stamped(
    tmp_path: Path,
) -> None:
    path = database(tmp_path / "journal.sqlite3", OLD_JOURNAL)
    with Journal(path) as journal:
        [done] = journal.find_finished("abc")
    assert done.name == "stock.csv"
    assert "attempts" in tables(path)
    assert layout_of(path) == journaltables.LAYOUT >= 1


def test_a_new_journal_and_protection_database_are_stamped(tmp_path: Path) -> None:
    Journal(tmp_path / "journal.sqlite3").close()
    KeyState(tmp_path).close()
    assert layout_of(tmp_path / "journal.sqlite3") == journaltables.LAYOUT
    assert layout_of(tmp_path / "protection.sqlite3") == protectiontables.LAYOUT


def test_a_protection_database_an_older_version_made_gets_its_columns_and_stamp(
    tmp_path: Path,
) -> None:
    path = database(tmp_path / "protection.sqlite3", OLD_PROTECTION)
    KeyState(tmp_path).close()
    with sqlite3.connect(path) as db:
        columns = {str(r[1]) for r in db.execute("PRAGMA table_info(exports)")}
    db.close()
    assert {"error_rows", "digest", "feed", "locations", "key_count"} <= columns
    assert {"price_book", "cancels", "awbs", "invoices", "skips"} <= tables(path)  # `skips`: kept
    assert layout_of(path) == protectiontables.LAYOUT


def test_a_run_on_a_journal_a_newer_version_wrote_is_refused(tmp_path: Path, sandbox: Any) -> None:
    newer = journaltables.LAYOUT + 1
    path = database(tmp_path / ".konnect-etl" / "journal.sqlite3", OLD_JOURNAL, newer)
    (tmp_path / "stock.csv").write_text("location_id,sku,quantity\nDEL-WH-01,TS-BLK-S,4\n")
    result = run(tmp_path, sandbox)
    assert result.exit_code == 2
    said = " ".join(result.output.split())
    assert f"{path} was written by a newer konnect-etl" in said
    assert f"(state layout {newer}; this one knows up to {journaltables.LAYOUT})" in said
    assert "install that version or a newer one" in said
    assert (tmp_path / "stock.csv").is_file()  # not taken
    assert layout_of(path) == newer and "attempts" not in tables(path)  # not touched
    assert sandbox.ledger() == []


def test_a_watcher_on_a_journal_a_newer_version_wrote_stops_at_start(
    tmp_path: Path, sandbox: Any
) -> None:
    """Not a fault it backs off from pass after pass: a set-up problem, said at start."""
    newer = journaltables.LAYOUT + 1
    path = database(tmp_path / ".konnect-etl" / "journal.sqlite3", OLD_JOURNAL, newer)
    env = {"KONNECT_BASE_URL": sandbox.url, "KONNECT_TOKEN": sandbox.token}
    result = CliRunner().invoke(app, ["watch", str(tmp_path), "--poll", "0.2"], env=env)
    assert result.exit_code == 2, result.output
    assert f"{path} was written by a newer konnect-etl" in " ".join(result.output.split())
    assert layout_of(path) == newer


def test_history_on_a_protection_database_a_newer_version_wrote_is_refused(
    tmp_path: Path,
) -> None:
    newer = protectiontables.LAYOUT + 1
    path = database(tmp_path / ".konnect-etl" / "protection.sqlite3", OLD_PROTECTION, newer)
    result = CliRunner().invoke(app, ["history", str(tmp_path), "DEL-WH-01", "TS-BLK-S"])
    assert result.exit_code == 2
    said = " ".join(result.output.split())
    assert f"{path} was written by a newer konnect-etl (state layout {newer};" in said
    assert layout_of(path) == newer and "price_book" not in tables(path)


def test_an_outbox_journal_a_newer_version_wrote_is_refused_by_pull(tmp_path: Path) -> None:
    newer = journaltables.LAYOUT + 1
    path = database(tmp_path / "journal.sqlite3", "", newer)
    with pytest.raises(ConfigError, match="was written by a newer konnect-etl"):
        PullState(path)
    assert layout_of(path) == newer and "pull_windows" not in tables(path)
    older = database(tmp_path / "older" / "journal.sqlite3")
    PullState(older).close()
    assert layout_of(older) == journaltables.LAYOUT
