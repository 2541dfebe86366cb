"""An export that paused longer than the settle time and wrote on after its file was taken
and filed in done/: its late rows are sent after all (etl/latewrites.py)."""

from __future__ import annotations

import errno
import sqlite3
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from runs import run
from watchproc import done_dir, wait_for, watching

from etl import latewrites
from etl.inbox import Inbox

HEADER = "location_id,sku,quantity\n"


def _pausing_export(tmp_path: Path, sandbox: Any, first: str, later: str) -> tuple[Path, int]:
    """An export writes `first`, pauses while a run takes the file, then writes `later`
    through the handle it kept: (the inbox, that run's exit code)."""
    sandbox.faults(catalogue="open")
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    with (inbox / "stock.csv").open("w", encoding="utf-8") as export:
        export.write(first)
        export.flush()
        taken = run(inbox, sandbox).exit_code
        export.write(later)  # into done/ (or failed/) now
    return inbox, taken


def test_rows_written_after_the_file_was_filed_in_done_are_sent_by_the_next_run(
    tmp_path: Path, sandbox: Any
) -> None:
    first = HEADER + "DEL-WH-01,TS-BLK-S,1\nDEL-WH-01,TS-BLK-M,2\n"
    later = "DEL-WH-01,TS-BLK-L,3\nDEL-WH-01,TS-BLK-XL,4\n"
    inbox, taken = _pausing_export(tmp_path, sandbox, first, later)
    assert taken == 0  # taken during the export's pause
    result = run(inbox, sandbox)
    assert result.exit_code == 0
    stock = sandbox.state()["stock"]
    assert [stock.get(f"DEL-WH-01|TS-BLK-{s}") for s in ("S", "M", "L", "XL")] == [1, 2, 3, 4]
    done = inbox / "done" / date.today().isoformat()
    assert (done / "stock.csv").is_file() and (done / "stock-2.csv").is_file()
    assert (done / "stock-2.csv").read_text() == (done / "stock.csv").read_text()
    assert run(inbox, sandbox).exit_code == 0  # once: nothing more is copied back
    assert not (done / "stock-3.csv").exists()
    assert list((inbox / ".konnect-etl" / "late").iterdir()) == []  # no folder left per process


def test_a_filed_file_edited_by_a_person_or_still_being_written_is_not_copied_back(
    tmp_path: Path, sandbox: Any
) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "stock.csv").write_text(HEADER + "DEL-WH-01,TS-BLK-S,1\n", encoding="utf-8")
    assert run(inbox, sandbox).exit_code == 0
    filed = inbox / "done" / date.today().isoformat() / "stock.csv"
    journal = inbox / ".konnect-etl" / "journal.sqlite3"
    with filed.open("a", encoding="utf-8") as export:  # still writing: changed just now
        export.write("DEL-WH-01,TS-BLK-M,2\n")
    assert latewrites.requeue_grown(Inbox(inbox), journal, settle_seconds=60) == []
    filed.write_text(HEADER + "DEL-WH-01,TS-BLK-S,9\nDEL-WH-01,TS-BLK-M,2\n")  # edited
    assert latewrites.requeue_grown(Inbox(inbox), journal, settle_seconds=0) == []
    assert not (inbox / "stock.csv").exists()
    assert sandbox.state()["stock"]["DEL-WH-01|TS-BLK-S"] == 1


def test_a_watcher_sends_the_rows_an_export_wrote_into_done(tmp_path: Path, sandbox: Any) -> None:
    sandbox.faults(catalogue="open")
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    with watching(inbox, sandbox, settle=0.5):
        with (inbox / "stock.csv").open("w", encoding="utf-8") as export:
            export.write(HEADER + "DEL-WH-01,TS-BLK-S,1\n")
            export.flush()
            # the file itself, not its reports: they are written before it is moved, and a
            # row written in between sends the file back to the inbox (etl.claimed), not late
            wait_for((done_dir(inbox) / "stock.csv").is_file, 60, "the first part filed")
            export.write("DEL-WH-01,TS-BLK-M,2\n")
        wait_for((done_dir(inbox) / "stock-2.summary.json").is_file, 60, "the whole file")
    assert sandbox.state()["stock"]["DEL-WH-01|TS-BLK-M"] == 2


def _filed_and_grown(tmp_path: Path, sandbox: Any) -> tuple[Path, Path]:
    """An inbox whose stock.csv was filed in done/ and then written on: (inbox, journal)."""
    sandbox.faults(catalogue="open")
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "stock.csv").write_text(HEADER + "DEL-WH-01,TS-BLK-S,1\n", encoding="utf-8")
    assert run(inbox, sandbox).exit_code == 0
    filed = inbox / "done" / date.today().isoformat() / "stock.csv"
    with filed.open("a", encoding="utf-8") as export:
        export.write("DEL-WH-01,TS-BLK-M,2\n")
    return inbox, inbox / ".konnect-etl" / "journal.sqlite3"


def test_a_share_error_while_looking_keeps_the_file_watched(
    tmp_path: Path, sandbox: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    inbox, journal = _filed_and_grown(tmp_path, sandbox)
    digest = latewrites.prefix_digest
    failures = [OSError(errno.EIO, "Input/output error")]

    def flaky(path: Path, size: int) -> str:
        if failures:
            raise failures.pop()
        return digest(path, size)

    monkeypatch.setattr(latewrites, "prefix_digest", flaky)
    assert latewrites.requeue_grown(Inbox(inbox), journal, settle_seconds=0) == []
    [copy] = latewrites.requeue_grown(Inbox(inbox), journal, settle_seconds=0)
    assert copy == inbox / "stock.csv"


def test_a_file_another_process_copied_back_meanwhile_is_not_copied_twice(
    tmp_path: Path, sandbox: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    inbox, journal = _filed_and_grown(tmp_path, sandbox)
    copy = latewrites._copy

    def other_process_first(filed: Path, temp: Path) -> tuple[int, str]:
        with sqlite3.connect(journal) as db:  # the other process recorded its copy
            db.execute("UPDATE late_writes SET bytes = ?", (filed.stat().st_size,))
        return copy(filed, temp)

    monkeypatch.setattr(latewrites, "_copy", other_process_first)
    assert latewrites.requeue_grown(Inbox(inbox), journal, settle_seconds=0) == []
    assert not (inbox / "stock.csv").exists()
    assert not list((inbox / ".konnect-etl" / "late").rglob("*.csv"))  # no temp left


def test_a_file_that_grew_just_before_its_hour_ended_is_still_sent(
    tmp_path: Path, sandbox: Any
) -> None:
    inbox, journal = _filed_and_grown(tmp_path, sandbox)
    with sqlite3.connect(journal) as db:  # filed an hour and a minute ago
        db.execute("UPDATE late_writes SET filed_at = filed_at - 3660")
    assert len(latewrites.requeue_grown(Inbox(inbox), journal, settle_seconds=0)) == 1
    with sqlite3.connect(journal) as db:  # and then no longer watched
        assert db.execute("SELECT count(*) FROM late_writes").fetchone() == (0,)


def test_the_journal_locked_never_stops_a_run(
    tmp_path: Path, sandbox: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    def locked(journal: Path) -> Any:
        raise sqlite3.OperationalError("database is locked")

    monkeypatch.setattr(latewrites, "_state", locked)
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for name in ("a_stock.csv", "b_stock.csv"):
        (inbox / name).write_text(HEADER + "DEL-WH-01,TS-BLK-S,1\n", encoding="utf-8")
    assert run(inbox, sandbox).exit_code == 0
    assert len(list(inbox.glob("done/*/?_stock.summary.json"))) == 2


def test_a_header_only_file_in_failed_gets_its_rows_sent_when_they_come(
    tmp_path: Path, sandbox: Any
) -> None:
    inbox, taken = _pausing_export(tmp_path, sandbox, HEADER, "DEL-WH-01,TS-BLK-S,7\n")
    assert taken == 1  # an empty export: failed/
    assert run(inbox, sandbox).exit_code == 0
    assert sandbox.state()["stock"]["DEL-WH-01|TS-BLK-S"] == 7


def test_a_file_still_being_written_when_its_hour_ends_is_looked_at_until_it_settles(
    tmp_path: Path, sandbox: Any
) -> None:
    inbox, journal = _filed_and_grown(tmp_path, sandbox)
    with sqlite3.connect(journal) as db:
        db.execute("UPDATE late_writes SET filed_at = filed_at - 3660")
    assert latewrites.requeue_grown(Inbox(inbox), journal, settle_seconds=60) == []
    [copy] = latewrites.requeue_grown(Inbox(inbox), journal, settle_seconds=0)
    assert copy == inbox / "stock.csv"


def test_one_unreadable_file_does_not_keep_the_others_from_being_sent(
    tmp_path: Path, sandbox: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    inbox, journal = _filed_and_grown(tmp_path, sandbox)
    other = inbox / "done" / date.today().isoformat() / "aaa_stock.csv"
    other.write_text(HEADER + "DEL-WH-01,TS-BLK-S,1\nDEL-WH-01,TS-BLK-L,3\n", encoding="utf-8")
    with sqlite3.connect(journal) as db:  # the other file is looked at first
        [mine] = db.execute("SELECT * FROM late_writes").fetchall()
        db.execute("DELETE FROM late_writes")
        db.execute(
            "INSERT INTO late_writes VALUES (?, 'aaa_stock.csv', 10, 'x', ?)", (str(other), 0)
        )
        db.execute("INSERT INTO late_writes VALUES (?, ?, ?, ?, ?)", mine)
    digest = latewrites.prefix_digest

    def denied(path: Path, size: int) -> str:
        if path == other:
            raise PermissionError(errno.EACCES, "Permission denied")
        return digest(path, size)

    monkeypatch.setattr(latewrites, "prefix_digest", denied)
    [copy] = latewrites.requeue_grown(Inbox(inbox), journal, settle_seconds=0)
    assert copy == inbox / "stock.csv"


def test_a_copy_taken_while_the_export_wrote_is_not_given_back(
    tmp_path: Path, sandbox: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """It may end in half a line ("TS-BLK-L,12" of 125): the next pass copies it whole."""
    inbox, journal = _filed_and_grown(tmp_path, sandbox)
    copy = latewrites._copy

    def export_writes_meanwhile(filed: Path, temp: Path) -> tuple[int, str]:
        copied = copy(filed, temp)
        with filed.open("a", encoding="utf-8") as export:
            export.write("DEL-WH-01,TS-BLK-L,125\n")
        return copied

    monkeypatch.setattr(latewrites, "_copy", export_writes_meanwhile)
    assert latewrites.requeue_grown(Inbox(inbox), journal, settle_seconds=0) == []
    assert not (inbox / "stock.csv").exists()
