"""`keep_days`: old day folders of done/, failed/, duplicates/ removed; the journal trimmed."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from etl.chunkresult import ChunkResult
from etl.cli import app
from etl.config import ConfigError, load_settings
from etl.inbox import Inbox
from etl.journal import Journal
from etl.retention import prune

TODAY = date.today()


def day(days_ago: int) -> str:
    return (TODAY - timedelta(days=days_ago)).isoformat()


def run(inbox: Path, sandbox: Any) -> Any:
    env = {"KONNECT_TOKEN": sandbox.token, "KONNECT_BASE_URL": sandbox.url}
    return CliRunner().invoke(app, ["run", str(inbox), "--settle", "0"], env=env)


def folder_with_file(path: Path) -> Path:
    path.mkdir(parents=True)
    (path / "stock.csv").write_text("location_id,sku,quantity\n")
    return path


def test_run_removes_day_folders_older_than_keep_days_and_nothing_else(
    tmp_path: Path, sandbox: Any, caplog: pytest.LogCaptureFixture
) -> None:
    sandbox.faults(catalogue="open")
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "konnect-etl.yaml").write_text("keep_days: 30\n")
    outside = folder_with_file(tmp_path / "elsewhere")
    old = [folder_with_file(inbox / kind / day(31)) for kind in ("done", "failed", "duplicates")]
    old.append(folder_with_file(inbox / "done" / day(400)))
    kept = [
        folder_with_file(inbox / "done" / day(30)),  # exactly keep_days old: kept
        folder_with_file(inbox / "failed" / day(2)),
        folder_with_file(inbox / "held" / day(90)),  # waits for a person: never removed
        folder_with_file(inbox / "done" / "archive-2020"),  # not one of our day folders
        folder_with_file(inbox / "done" / "2020-13-45"),
        folder_with_file(inbox / "processing-2020-01-01"),
    ]
    link = inbox / "done" / day(60)
    link.symlink_to(outside)  # a link named like a day folder: never followed
    (inbox / "new.csv").write_text("location_id,sku,quantity\nDEL-WH-01,KEEP-1,4\n")

    result = run(inbox, sandbox)

    assert result.exit_code == 0, result.output
    assert [p for p in old if p.exists()] == []
    assert [p for p in kept if not (p / "stock.csv").is_file()] == []
    assert link.is_symlink() and (outside / "stock.csv").is_file()
    assert (inbox / "done" / TODAY.isoformat() / "new.summary.json").is_file()
    said = f"removed 4 day folder(s) older than 30 days (keep_days): done/{day(400)}, done/"
    assert said in caplog.text


def test_without_keep_days_nothing_is_removed(tmp_path: Path, sandbox: Any) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    ancient = folder_with_file(inbox / "done" / "2001-01-01")
    assert run(inbox, sandbox).exit_code == 0
    assert (ancient / "stock.csv").is_file()


def stamps(*values: str) -> Any:
    """A journal clock that answers `values` in turn."""
    queue = list(values)
    return lambda: queue.pop(0)


def test_the_journal_forgets_chunks_of_files_finished_before_the_cutoff(tmp_path: Path) -> None:
    old, new = "2026-01-01T10:00:00.000+00:00", "2026-03-01T10:00:00.000+00:00"
    journal = Journal(tmp_path / "journal.sqlite3", clock=stamps(old, old, old, new, new, new, new))
    first = journal.begin_file("aaa", "old.csv", "stock", "generic/stock")  # started: old
    journal.record_chunks(first, [ChunkResult(0, "acknowledged", "ack-1")])  # old
    journal.finish_file(first, "done", None)  # finished: old
    second = journal.begin_file("bbb", "new.csv", "stock", "generic/stock")  # new
    journal.record_chunks(second, [ChunkResult(0, "acknowledged", "ack-2")])  # new
    journal.finish_file(second, "done", None)  # new
    unfinished = journal.begin_file("ccc", "crashed.csv", "stock", "generic/stock")
    journal._clock = lambda: old  # an attempt that never finished keeps what resume needs
    journal.record_chunks(unfinished, [ChunkResult(0, "acknowledged", "ack-3")])

    forgotten = journal.forget_chunks(datetime(2026, 2, 1, tzinfo=UTC))

    assert forgotten == 1
    assert journal.chunk_results(first) == {}
    assert journal.chunk_results(second)[0].ack_id == "ack-2"
    assert journal.chunk_results(unfinished)[0].ack_id == "ack-3"
    assert [r.name for r in journal.find_finished("aaa")] == ["old.csv"]  # still recognised
    journal.close()
    with sqlite3.connect(tmp_path / "journal.sqlite3") as db:
        assert db.execute("SELECT count(*) FROM chunks").fetchone() == (2,)


@pytest.mark.parametrize("value", ["0", "-3", "1.5", "true", "ninety"])
def test_keep_days_must_be_a_whole_number_of_days(tmp_path: Path, value: str) -> None:
    """0 is refused (it would remove yesterday's reports); the message says what to write."""
    (tmp_path / "konnect-etl.yaml").write_text(f"keep_days: {value}\n")
    with pytest.raises(ConfigError, match=r"keep_days': .* is not a whole number of days, 1 or"):
        load_settings(inbox=tmp_path, environ={})


def test_dry_run_reports_older_than_keep_days_go_too(tmp_path: Path) -> None:
    """`run --dry-run` leaves a set of reports per file name tried; kept like the day folders."""
    dry = tmp_path / ".konnect-etl" / "dry-run"
    dry.mkdir(parents=True)
    old, recent = dry / "old.result.csv", dry / "recent.result.csv"
    for report, days_ago in ((old, 40), (recent, 2)):
        report.write_text("row,status,message\n")
        then = datetime.combine(TODAY - timedelta(days=days_ago), datetime.min.time()).timestamp()
        os.utime(report, (then, then))
    prune(Inbox(tmp_path), None, 30, TODAY)
    assert not old.exists() and recent.exists()


def test_keep_days_from_the_config_file(tmp_path: Path) -> None:
    (tmp_path / "konnect-etl.yaml").write_text("keep_days: 90\n")
    assert load_settings(inbox=tmp_path, environ={}).keep_days == 90
    assert load_settings(inbox=tmp_path / "none", environ={}).keep_days is None


def test_two_processes_pruning_at_once_do_not_complain(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A watcher and a cron `run` on one inbox: both remove the same folders at once."""
    inbox = Inbox(tmp_path)
    for kind in ("done", "failed"):
        for days_ago in (40, 41):
            folder = tmp_path / kind / day(days_ago)
            folder.mkdir(parents=True)
            for i in range(400):
                (folder / f"file-{i}.csv").write_text("x")
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(lambda _: prune(inbox, None, 30, TODAY), range(2)))
    assert list((tmp_path / "done").iterdir()) == list((tmp_path / "failed").iterdir()) == []
    assert "could not remove" not in caplog.text


def test_a_busy_journal_does_not_stop_the_folders_going(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Another process holds the journal: the chunks are trimmed next time, files still flow."""
    folder_with_file(tmp_path / "done" / day(40))
    journal = Journal(tmp_path / "journal.sqlite3", busy_timeout=0.1)
    other = sqlite3.connect(tmp_path / "journal.sqlite3", isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    try:
        pruned = prune(Inbox(tmp_path), journal, 30, TODAY)
    finally:
        other.execute("ROLLBACK")
        other.close()
        journal.close()
    assert [f.name for f in pruned.folders] == [day(40)]
    assert "could not trim the journal (keep_days: 30): database is locked" in caplog.text


def test_read_only_files_and_folders_in_an_old_day_folder_are_removed_too(tmp_path: Path) -> None:
    """An ERP export with the read-only attribute, a folder copied from a share without write
    permission: still the owner's own files, so keep_days removes them with the day folder."""
    old = folder_with_file(tmp_path / "done" / day(40))
    copied = old / "copied from the share"
    copied.mkdir()
    (copied / "export.csv").write_text("x")
    (old / "stock.csv").chmod(0o444)
    (copied / "export.csv").chmod(0o444)
    copied.chmod(0o555)
    kept = folder_with_file(tmp_path / "done" / day(10))
    command = [sys.executable, "-c", "import sys; from datetime import date; from pathlib import "
               "Path; from etl.inbox import Inbox; from etl.retention import prune; print(len("
               "prune(Inbox(Path(sys.argv[1])), None, 30, date.fromisoformat(sys.argv[2]))"
               ".folders))", str(tmp_path), TODAY.isoformat()]  # fmt: skip
    if os.geteuid() == 0:  # root may remove anything: without its override it is an owner only
        if shutil.which("setpriv") is None:
            pytest.skip("running as root, and no setpriv (util-linux) to drop its override")
        command[:0] = ["setpriv", "--bounding-set=-dac_override,-dac_read_search,-fowner"]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    assert (done.returncode, done.stdout.strip()) == (0, "1"), done.stderr
    assert not old.exists()
    assert kept.exists()
