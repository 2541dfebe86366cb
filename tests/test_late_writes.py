"""An export that paused longer than the settle time and wrote on after its file was taken
and filed in done/: its late rows are sent after all (etl/latewrites.py)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from runs import run
from watchproc import done_dir, wait_for, watching

from etl import latewrites
from etl.inbox import Inbox

HEADER = "location_id,sku,quantity\n"


def test_rows_written_after_the_file_was_filed_in_done_are_sent_by_the_next_run(
    tmp_path: Path, sandbox: Any
) -> None:
    sandbox.faults(catalogue="open")
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    with (inbox / "stock.csv").open("w", encoding="utf-8") as export:
        export.write(HEADER + "DEL-WH-01,TS-BLK-S,1\nDEL-WH-01,TS-BLK-M,2\n")
        export.flush()
        assert run(inbox, sandbox).exit_code == 0  # taken during the export's pause
        export.write("DEL-WH-01,TS-BLK-L,3\nDEL-WH-01,TS-BLK-XL,4\n")  # into done/ now
    result = run(inbox, sandbox)
    assert result.exit_code == 0
    stock = sandbox.state()["stock"]
    assert [stock.get(f"DEL-WH-01|TS-BLK-{s}") for s in ("S", "M", "L", "XL")] == [1, 2, 3, 4]
    done = inbox / "done" / date.today().isoformat()
    assert (done / "stock.csv").is_file() and (done / "stock-2.csv").is_file()
    assert (done / "stock-2.csv").read_text() == (done / "stock.csv").read_text()
    assert run(inbox, sandbox).exit_code == 0  # once: nothing more is copied back
    assert not (done / "stock-3.csv").exists()


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
            wait_for((done_dir(inbox) / "stock.summary.json").is_file, 60, "the first part")
            export.write("DEL-WH-01,TS-BLK-M,2\n")
        wait_for((done_dir(inbox) / "stock-2.summary.json").is_file, 60, "the whole file")
    assert sandbox.state()["stock"]["DEL-WH-01|TS-BLK-M"] == 2
