"""Faults of the host against real `konnect-etl watch` processes: a file that may not be moved
(permission denied) and a full disk. Both need root: `chattr +i` and `mount -t tmpfs`."""

from __future__ import annotations

import errno
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from watchproc import done_dir, logs, start_watch, stop, wait_for, watching

from etl.hostfaults import what_to_check

HEADER = "location_id,sku,quantity\n"


def stock_csv(prefix: str, count: int) -> str:
    return HEADER + "".join(f"DEL-WH-01,{prefix}-{i:05d},7\n" for i in range(count))


def summary(inbox: Path, stem: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((done_dir(inbox) / f"{stem}.summary.json").read_text())
    return loaded


def has_summary(inbox: Path, stem: str) -> bool:
    return (done_dir(inbox) / f"{stem}.summary.json").is_file()


def sh(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, check=False)


def immutable_works(folder: Path) -> bool:
    probe = folder / "probe"
    probe.write_text("")
    try:
        return sh("chattr", "+i", str(probe)).returncode == 0
    finally:
        sh("chattr", "-i", str(probe))
        probe.unlink()


@contextmanager
def mounted(folder: Path, fs_type: str, source: str, *options: str) -> Iterator[Path]:
    """`mount -t fs_type source folder`; skips the test when mounting is not permitted."""
    folder.mkdir(exist_ok=True)
    done = sh("mount", "-t", fs_type, *options, source, str(folder))
    if done.returncode != 0:
        pytest.skip(f"cannot mount a {fs_type} here: {done.stderr.strip()}")
    try:
        yield folder
    finally:
        sh("umount", "-l", str(folder))


@contextmanager
def immutable_capable(tmp_path: Path) -> Iterator[Path]:
    """A folder where `chattr +i` works: tmp_path, or a small loop-mounted ext4 image."""
    if shutil.which("chattr") is None:
        pytest.skip("chattr (e2fsprogs) is not installed")
    if immutable_works(tmp_path):
        yield tmp_path
        return
    image = tmp_path / "ext4.img"
    with image.open("wb") as handle:
        handle.truncate(16 << 20)
    if sh("mkfs.ext4", "-q", "-F", str(image)).returncode != 0:
        pytest.skip("no chattr +i on the temp file system, and mkfs.ext4 failed")
    with mounted(tmp_path / "ext4", "ext4", str(image), "-o", "loop") as folder:
        yield folder


@pytest.fixture
def inbox(tmp_path: Path, sandbox: Any) -> Iterator[Path]:
    """An empty inbox where `chattr +i` works, and an emulator that knows every SKU."""
    sandbox.faults(catalogue="open")
    with immutable_capable(tmp_path) as base:
        (base / "inbox").mkdir()
        yield base / "inbox"


@contextmanager
def immutable(path: Path) -> Iterator[None]:
    """`chattr +i path` for the block: not even root may rename, delete or add there."""
    assert sh("chattr", "+i", str(path)).returncode == 0
    try:
        yield
    finally:
        sh("chattr", "-i", str(path))


def test_a_file_that_cannot_be_moved_is_named_once_skipped_and_taken_when_allowed(
    inbox: Path, sandbox: Any
) -> None:
    locked = inbox / "locked.csv"
    locked.write_text(stock_csv("LOCK", 3))
    with watching(inbox, sandbox, settle=0.3) as process:
        with immutable(locked):
            wait_for(lambda: "locked.csv: cannot be moved" in logs(inbox), 20, "the line")
            (inbox / "other.csv").write_text(stock_csv("FREE", 2))
            wait_for(lambda: has_summary(inbox, "other"), 30, "other.csv in done/")
            assert locked.is_file() and process.poll() is None
        # the operator fixes it
        wait_for(lambda: has_summary(inbox, "locked"), 30, "locked.csv in done/")
    complaints = [line for line in logs(inbox).splitlines() if "cannot be moved" in line]
    assert len(complaints) == 1, complaints  # said once, not at every poll
    assert "check the permissions" in complaints[0]
    assert summary(inbox, "locked")["rows"]["ok"] == 3
    assert summary(inbox, "other")["rows"]["ok"] == 2


def fill(folder: Path) -> Path:
    """Write to `folder` until the file system is full; the file to delete to free it."""
    filler = folder / ".filler"
    with filler.open("wb", buffering=0) as handle:
        try:
            while True:
                handle.write(b"\0" * 65536)
        except OSError as exc:
            assert exc.errno == errno.ENOSPC
    with filler.open("ab", buffering=0) as handle:  # the last few bytes as well
        try:
            while True:
                handle.write(b"\0")
        except OSError:
            pass
    return filler


def test_a_full_disk_is_reported_and_the_file_finished_once_space_is_freed(
    tmp_path: Path, sandbox: Any
) -> None:
    sandbox.faults(catalogue="open")
    with mounted(tmp_path / "inbox", "tmpfs", "tmpfs", "-o", "size=2m") as inbox:
        process = start_watch(inbox, sandbox, settle=0.5)
        try:
            (inbox / "first.csv").write_text(stock_csv("ONE", 2))
            wait_for(lambda: has_summary(inbox, "first"), 30, "first.csv in done/")
            (inbox / "stock.csv").write_text(stock_csv("FULL", 50))
            filler = fill(inbox)
            wait_for(lambda: "the disk is full" in logs(inbox), 20, "the disk-full line")
            time.sleep(2)  # full for a while: it backs off (1 s, 2 s...) instead of spinning
            assert process.poll() is None and "failure 8 in a row" not in logs(inbox)
            held = list(inbox.glob("stock.csv")) + list((inbox / "processing").glob("stock*"))
            assert held, "the input must not be lost while the disk is full"
            filler.unlink()
            # the reports are written first, then the input is moved next to them
            wait_for(lambda: (done_dir(inbox) / "stock.csv").is_file(), 30, "stock.csv in done/")
            assert process.poll() is None
            rows = summary(inbox, "stock")["rows"]
            result = (done_dir(inbox) / "stock.result.csv").read_text().splitlines()
            leftovers = list((inbox / "processing").iterdir())
        finally:
            stop(process)
    assert rows == {"total": 50, "ok": 50, "rejected": 0, "failed": 0, "unknown": 0}
    assert len(result) == 51 and leftovers == []
    assert "working again on the inbox" in logs(inbox)


def sqlite_error(code: int, text: str) -> sqlite3.Error:
    exc = sqlite3.OperationalError(text)
    exc.sqlite_errorcode = code
    return exc


def test_the_fault_line_says_what_to_check(tmp_path: Path) -> None:
    full = OSError(errno.ENOSPC, "No space left on device")
    assert "the disk is full" in what_to_check(tmp_path, full)
    assert "the disk is full" in what_to_check(tmp_path, sqlite_error(13, "disk is full"))
    denied = PermissionError(errno.EACCES, "Permission denied")
    assert "permission denied" in what_to_check(tmp_path, denied)
    assert "permission denied" in what_to_check(tmp_path, sqlite_error(8, "readonly database"))
    assert what_to_check(tmp_path, ValueError("something else")) == ""


def test_an_old_day_folder_that_cannot_be_removed_is_logged_and_files_still_flow(
    inbox: Path, sandbox: Any
) -> None:
    (inbox / "done" / "2020-01-01").mkdir(parents=True)
    (inbox / "konnect-etl.yaml").write_text("keep_days: 30\n")
    stuck = inbox / "done" / "2020-01-01" / "stock.csv"
    stuck.write_text(HEADER)
    (inbox / "new.csv").write_text(stock_csv("NEW", 2))
    with immutable(stuck), watching(inbox, sandbox, settle=0.3) as process:
        wait_for(lambda: has_summary(inbox, "new"), 30, "new.csv in done/")
        assert process.poll() is None
    assert stuck.is_file()
    assert "could not remove" in logs(inbox) and "2020-01-01" in logs(inbox)
    assert summary(inbox, "new")["rows"]["ok"] == 2


def konnect_etl(sandbox: Any, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """`konnect-etl ARGS` as a real process against the emulator."""
    env = {**os.environ, "KONNECT_BASE_URL": sandbox.url, "KONNECT_TOKEN": sandbox.token,
           "NO_PROXY": "127.0.0.1,localhost"}  # fmt: skip
    command = [sys.executable, "-m", "etl", *args]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=timeout)


def test_a_read_only_inbox_stops_run_and_watch_with_one_line_and_exit_code_2(
    inbox: Path, sandbox: Any
) -> None:
    """Nothing written there yet (no state folder): no traceback, nothing lost."""
    (inbox / "stock.csv").write_text(stock_csv("RO", 2))
    with immutable(inbox):
        for command in (["run", str(inbox)], ["watch", str(inbox), "--poll", "0.5"]):
            done = konnect_etl(sandbox, *command, "--settle", "0")
            assert done.returncode == 2, done.stderr
            assert "Traceback" not in done.stderr
            assert f"cannot work in {inbox}" in done.stderr
            assert "permission denied: check that this user may" in done.stderr
    assert (inbox / "stock.csv").is_file()
    assert konnect_etl(sandbox, "run", str(inbox), "--settle", "0").returncode == 0
    assert summary(inbox, "stock")["rows"]["ok"] == 2


def test_files_a_run_may_not_move_make_it_exit_1_and_are_named(inbox: Path, sandbox: Any) -> None:
    assert konnect_etl(sandbox, "run", str(inbox)).returncode == 0  # state folders made
    (inbox / "stock.csv").write_text(stock_csv("RO", 2))
    with immutable(inbox):
        done = konnect_etl(sandbox, "run", str(inbox), "--settle", "0")
    assert done.returncode == 1, done.stdout + done.stderr
    table = " ".join(done.stdout.split())
    assert "Not taken (may not be moved into processing/, see the log): stock.csv" in table
    assert "stock.csv: cannot be moved into processing/" in done.stderr
    assert (inbox / "stock.csv").is_file()
    # `status` of a cron deployment: a moment (Excel holding it open) is no problem; a file
    # still not taken runs later is (it said OK, "see their reports", with none written)
    assert konnect_etl(sandbox, "status", str(inbox)).returncode == 0
    state = inbox / ".konnect-etl" / "last-run.json"
    entry = json.loads(state.read_text())
    assert list(entry["files_not_taken_epoch"]) == ["stock.csv"]
    entry["files_not_taken_epoch"]["stock.csv"] -= 300  # first refused 5 minutes ago
    state.write_text(json.dumps(entry))
    with immutable(inbox / "stock.csv"):
        assert konnect_etl(sandbox, "run", str(inbox), "--settle", "0").returncode == 1
    looked = konnect_etl(sandbox, "status", str(inbox))
    assert looked.returncode != 0, looked.stdout
    said = " ".join(looked.stdout.split())
    assert "1 file(s) could not be taken for over 120 s" in said, said
    assert "may not be moved into processing/; see the log): stock.csv" in said
    assert konnect_etl(sandbox, "run", str(inbox), "--settle", "0").returncode == 0
    assert konnect_etl(sandbox, "status", str(inbox)).returncode == 0


def test_a_watcher_on_an_inbox_that_turns_read_only_waits_and_goes_on_when_writable(
    inbox: Path, sandbox: Any
) -> None:
    with watching(inbox, sandbox, settle=0.3) as process:
        (inbox / "first.csv").write_text(stock_csv("ONE", 1))
        wait_for(lambda: has_summary(inbox, "first"), 30, "first.csv in done/")
        (inbox / "stock.csv").write_text(stock_csv("RO", 3))
        with immutable(inbox):  # e.g. the share remounted read-only
            wait_for(lambda: "stock.csv: cannot be moved" in logs(inbox), 20, "the line")
            time.sleep(1.5)  # three more polls: said once, the watcher still alive
            assert process.poll() is None and (inbox / "stock.csv").is_file()
            probe = konnect_etl(sandbox, "status", str(inbox), "--max-age", "1")
            assert probe.returncode == 1 and "could not be taken" in probe.stdout, probe.stdout
        wait_for(lambda: has_summary(inbox, "stock"), 30, "stock.csv in done/")
        assert konnect_etl(sandbox, "status", str(inbox), "--max-age", "1").returncode == 0
    assert logs(inbox).count("stock.csv: cannot be moved") == 1
    assert summary(inbox, "stock")["rows"]["ok"] == 3


def test_commands_that_write_next_to_a_file_in_a_read_only_folder_say_so_in_one_line(
    inbox: Path, sandbox: Any
) -> None:
    sheet = inbox / "orders.csv"
    sheet.write_text("orderId\nFY-1001\n")
    with immutable(inbox):
        pull = ["orders", "pull", "--status", "CREATED", "--out", str(inbox / "out"), "--sandbox"]
        for command in (["validate", str(sheet)], ["documents", str(sheet), "--sandbox"], pull):
            done = konnect_etl(sandbox, *command)
            assert done.returncode == 2, done.stderr
            assert "Traceback" not in done.stderr
            assert f"cannot work in {inbox}: [Errno 1] Operation not permitted" in done.stderr
            assert "(permission denied: check that this user may" in done.stderr


def test_a_watcher_takes_nothing_from_an_unmounted_shares_mount_point(
    tmp_path: Path, sandbox: Any
) -> None:
    """The share (here a folder of its own tmpfs, bind-mounted on the inbox path) is
    unmounted: the empty mount point left on the local disk is not the inbox. A file dropped
    there is not taken, the watcher says why and counts as failing; mounted again, it goes on."""
    sandbox.faults(catalogue="open")
    with mounted(tmp_path / "backing", "tmpfs", "tmpfs", "-o", "size=16m") as backing:
        share = backing / "share"
        share.mkdir()
        inbox = tmp_path / "inbox"
        inbox.mkdir()
        assert sh("mount", "--bind", str(share), str(inbox)).returncode == 0
        process = start_watch(inbox, sandbox, settle=0.2)
        try:
            (inbox / "first.csv").write_text(stock_csv("ONE", 2))
            wait_for(lambda: has_summary(inbox, "first"), 30, "first.csv in done/")
            assert sh("umount", "-l", str(inbox)).returncode == 0
            (inbox / "local.csv").write_text(stock_csv("LOCAL", 2))  # onto the local disk
            wait_for(lambda: "is not the one the watcher started on" in logs(inbox), 30, "a log")
            time.sleep(1.5)
            assert sorted(p.name for p in inbox.iterdir()) == [".konnect-etl", "local.csv"]
            status = json.loads((inbox / ".konnect-etl" / "status.json").read_text())
            assert status["failing_since"] is not None
            assert sh("mount", "--bind", str(share), str(inbox)).returncode == 0
            (inbox / "second.csv").write_text(stock_csv("TWO", 2))
            wait_for(lambda: has_summary(inbox, "second"), 30, "second.csv in done/")
            assert "working again" in logs(inbox)
        finally:
            stop(process)
            sh("umount", "-l", str(inbox))
    assert (inbox / "local.csv").is_file() and not (inbox / "processing").exists()
