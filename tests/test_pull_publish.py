"""A pulled sheet is named only once its orders are durably recorded, and never taken back:
a full disk or a kill between any two steps of a pull (`etl.pullsheet`) misses no order and
writes none twice, counted across every sheet an import agent took. Against the emulator; the
full disk is a journal that refuses every write from the moment the sheet is linked, and the
kills are a real `os._exit` in a child process at the seam."""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_pull import EARLY, pull, rows_of, sheets
from test_pull_review_fixes import FakeKonnect, order, pull_from

from etl import pullstate
from etl.logsetup import FollowingFileHandler

EVERY = ("--status", "CREATED", "--from", EARLY)
ALL_CREATED = 310  # the emulator's CREATED orders from EARLY on


def ids_in(*folders: Path) -> Counter[str]:
    """How many sheets each orderId is in, over every folder given."""
    seen: Counter[str] = Counter()
    for folder in folders:
        for sheet in folder.glob("orders-*"):
            seen.update({r["orderId"] for r in rows_of(sheet)})
    return seen


class FullDisk:
    """The outbox's disk fills the moment a sheet is linked (the reviewer's tmpfs, at the
    worst point): every journal write after it fails as SQLite's COMMIT does. An import
    agent copies each sheet into `erp` as soon as its name appears."""

    def __init__(self, erp: Path) -> None:
        self.erp, self.full, self.linked = erp, False, []
        erp.mkdir(parents=True, exist_ok=True)

    def link(self, real: Any) -> Any:
        def link(source: Any, target: Any) -> None:
            real(source, target)
            if Path(target).name.startswith("orders-"):
                self.linked.append(Path(target))
                shutil.copy(target, self.erp / Path(target).name)  # taken at once
                self.full = True

        return link

    def immediate(self, real: Any) -> Any:
        @contextlib.contextmanager
        def immediate(db: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
            self.refuse()
            with real(db) as held:
                yield held
                self.refuse()  # the COMMIT

        return immediate

    def refuse(self) -> None:
        if self.full:
            raise sqlite3.OperationalError("database or disk is full")


def test_a_full_disk_after_the_sheet_is_named_never_takes_it_back(
    tmp_path: Path, sandbox: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    out, erp = tmp_path / "out", tmp_path / "erp"
    disk = FullDisk(erp)
    monkeypatch.setattr(os, "link", disk.link(os.link))
    monkeypatch.setattr(pullstate, "immediate", disk.immediate(pullstate.immediate))
    first = pull(sandbox, out, *EVERY)
    assert first.exit_code == 0, first.output
    [named] = disk.linked
    assert sheets(out) == [named]  # still there: its orders are recorded (pending)
    assert "could not mark its orders done" in first.output
    named.rename(tmp_path / "moved-by-the-erp.csv")  # an agent that moves what it took
    disk.full = False  # space freed
    again = pull(sandbox, out, *EVERY)
    assert again.exit_code == 0 and "no new CREATED orders" in again.output, again.output
    taken = ids_in(erp)
    assert len(taken) == ALL_CREATED and set(taken.values()) == {1}  # none missed, none twice


def test_a_full_disk_before_the_record_names_no_sheet(
    tmp_path: Path, sandbox: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    out, erp = tmp_path / "out", tmp_path / "erp"
    disk = FullDisk(erp)
    disk.full = True  # full from the start: the pull's record is refused
    monkeypatch.setattr(os, "link", disk.link(os.link))
    monkeypatch.setattr(pullstate, "immediate", disk.immediate(pullstate.immediate))
    pull(sandbox, out, "--status", "CREATED", "--from", EARLY, "--to", "2026-01-10")
    failed = pull(sandbox, out, *EVERY)  # the journal exists now: only the record fails
    assert failed.exit_code == 2 and "so no sheet was written" in failed.output, failed.output
    assert disk.linked == [] and sheets(out) == []
    assert [p.name for p in out.iterdir() if p.name.endswith(".tmp")] == []
    disk.full = False
    assert pull(sandbox, out, *EVERY).exit_code == 0
    assert len(ids_in(erp)) == ALL_CREATED and set(ids_in(erp).values()) == {1}


def crash(sandbox: Any, out: Path, seam: str) -> subprocess.CompletedProcess[str]:
    """`orders pull` in a child that is killed (`os._exit`) at `seam`."""
    patches = {
        "link": "real = os.link\nos.link = lambda s, d: os._exit(9)",
        "linked": "real = os.link\ndef link(*a):\n    real(*a)\n    os._exit(9)\nos.link = link",
        "done": "import etl.pullstate\netl.pullstate.PullState.named = lambda *a: os._exit(9)",
        # a Ctrl+C the instant the sheet got its name (the process alive, not killed)
        "stopped": "import etl.pullsheet\ndef stop(*a):\n    raise KeyboardInterrupt\n"
        "etl.pullsheet.fsync_dir = stop",
    }
    argv = ["konnect-etl", "orders", "pull", "--out", str(out), "--format", "csv", *EVERY]
    script = f"import os, sys\n{patches[seam]}\nfrom etl.cli import app\nsys.argv = {argv!r}\napp()"
    env = {**os.environ, "KONNECT_TOKEN": sandbox.token, "KONNECT_BASE_URL": sandbox.url}
    return subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True)


def test_killed_after_recording_before_naming_the_next_pull_writes_them_once(
    tmp_path: Path, sandbox: Any
) -> None:
    out = tmp_path / "out"
    assert crash(sandbox, out, "link").returncode == 9
    assert sheets(out) == []  # recorded as pending, never named: nothing to import
    again = pull(sandbox, out, *EVERY)
    assert again.exit_code == 0, again.output
    assert len(ids_in(out)) == ALL_CREATED and set(ids_in(out).values()) == {1}
    assert [p.name for p in out.iterdir() if p.name.endswith(".tmp")] == []  # its temp gone


@pytest.mark.parametrize("seam", ["linked", "done", "stopped"])
def test_killed_once_the_sheet_is_named_its_orders_count_as_written(
    tmp_path: Path, sandbox: Any, seam: str
) -> None:
    """Killed right after the link (the temp name still there) or before the done mark, or
    stopped by Ctrl+C then; the ERP moves the sheet away (on that disk) before the next
    pull: none written twice."""
    out, erp = tmp_path / "out", tmp_path / "erp"
    assert crash(sandbox, out, seam).returncode not in (0, 2)
    [named] = sheets(out)
    erp.mkdir()
    named.rename(erp / named.name)
    again = pull(sandbox, out, *EVERY)
    assert again.exit_code == 0 and "no new CREATED orders" in again.output, again.output
    assert len(ids_in(erp)) == ALL_CREATED and set(ids_in(erp).values()) == {1}
    assert [p.name for p in out.iterdir() if p.name.endswith(".tmp")] == []


def test_a_stopped_pulls_temp_files_are_swept_after_an_hour(tmp_path: Path, sandbox: Any) -> None:
    out = tmp_path / "out"
    out.mkdir()
    hour_ago = time.time() - 3700
    old = [out / ".konnect-etl-b2190c30cb6f09ad.tmp", out / ".orders-CREATED-x.ab12cd34.xlsx.tmp"]
    young, other = out / ".konnect-etl-0123456789abcdef.tmp", out / ".backup.tmp"
    for path in [*old, young, other]:
        path.write_bytes(b"half a sheet")
        os.utime(path, (hour_ago, hour_ago) if path != young else None)
    os.utime(other, (hour_ago, hour_ago))
    assert pull(sandbox, out, *EVERY).exit_code == 0
    assert not any(p.exists() for p in old)
    assert young.exists() and other.exists()  # maybe still being written; not ours


def test_an_order_without_an_id_is_left_out_with_one_warning_a_pull(tmp_path: Path) -> None:
    nameless = order(2, locationCode="MUM-ST-02")
    del nameless["orderId"]
    out = tmp_path / "out"
    with FakeKonnect([order(1), nameless]) as fake:
        results = [pull_from(fake, out, "--from", EARLY) for _ in range(3)]
    assert [r.exit_code for r in results] == [0, 0, 0]
    assert [len(rows_of(s)) for s in sheets(out)] == [1]  # one sheet, order 1 alone
    assert "no new CREATED orders" in results[2].output
    log = (out / ".konnect-etl" / "logs" / "konnect-etl.log").read_text(encoding="utf-8")
    warned = [line for line in log.splitlines() if "without an orderId" in line]
    assert len(warned) == 3  # one a pull, one line each
    assert (
        "location MUM-ST-02" in warned[0]
        and f"items {nameless['items'][0]['orderItemId']}" in warned[0]
    )


def test_a_log_file_on_a_full_disk_loses_the_line_not_a_traceback_on_stderr(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    handler = FollowingFileHandler(tmp_path / "konnect-etl.log")

    class Full:
        def write(self, text: str) -> None:
            raise OSError(28, "No space left on device")

        def flush(self) -> None:
            raise OSError(28, "No space left on device")

    handler._checked = time.monotonic()  # type: ignore[attr-defined]  # not following now
    real, handler.stream = handler.stream, Full()  # type: ignore[assignment]
    try:
        handler.emit(logging.makeLogRecord({"msg": "pulled CREATED orders", "levelno": 20}))
    finally:
        handler.stream = real
        handler.close()
    assert capsys.readouterr().err == ""


def test_an_outbox_journal_of_layout_1_is_upgraded_in_place(tmp_path: Path, sandbox: Any) -> None:
    """Its orders stay pulled; it gets `pending_sheets` and `pulled_orders.staged`, and the
    stamp 2 that an older version refuses (it would count a sheet never named as written)."""
    out = tmp_path / "out"
    assert (
        pull(sandbox, out, "--status", "CREATED", "--from", EARLY, "--to", "2026-01-10").exit_code
        == 0
    )
    path = out / ".konnect-etl" / "journal.sqlite3"
    with contextlib.closing(sqlite3.connect(path)) as db, db:  # as layout 1 left it
        db.execute("DROP TABLE pending_sheets")
        db.execute("DROP INDEX pulled_orders_staged")
        db.execute("ALTER TABLE pulled_orders DROP COLUMN staged")
        db.execute("PRAGMA user_version = 1")
    assert pull(sandbox, out, *EVERY).exit_code == 0
    with contextlib.closing(sqlite3.connect(path)) as db:
        assert int(db.execute("PRAGMA user_version").fetchone()[0]) == 2
        columns = {r[1] for r in db.execute("PRAGMA table_info(pulled_orders)")}
        assert "staged" in columns
        assert db.execute("SELECT COUNT(*) FROM pending_sheets").fetchone() == (0,)
        assert db.execute(
            "SELECT COUNT(*) FROM pulled_orders WHERE staged IS NOT NULL"
        ).fetchone() == (0,)
    assert len(ids_in(out)) == ALL_CREATED and set(ids_in(out).values()) == {1}
