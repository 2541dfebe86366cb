"""Health and the pieces that keep `watch` honest: status, readiness, locks, network shares."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from runs import drop, run
from typer.testing import CliRunner

from etl import lastrun, service, watch
from etl.cli import app
from etl.events import mount_type
from etl.health import Heartbeat
from etl.locks import file_lock
from etl.settling import Settler
from etl.stopping import StopRequest

MOUNTS = """\
/dev/sda1 / ext4 rw,relatime 0 0
//fileserver/konnect /mnt/share cifs rw,vers=3.0 0 0
fileserver:/export /srv/nfs nfs4 rw 0 0
/dev/sdb1 /mnt/share/local\\040disk ext4 rw 0 0
"""


def status(inbox: Path, *extra: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["status", str(inbox), *extra])
    return result.exit_code, result.output


def test_status_says_alive_dead_or_never_ran(tmp_path: Path) -> None:
    assert status(tmp_path)[0] == 2  # no watcher ever ran here
    beat = Heartbeat(tmp_path, poll_seconds=10, mode="events+polling", started=time.time())
    beat.in_flight = ["stock.csv"]
    beat.write(time.time())
    code, output = status(tmp_path)
    assert code == 0 and "alive" in output and "files_in_flight: stock.csv\n" in output
    assert "last_error: none" in output and "None" not in output and "{}" not in output
    beat.write(time.time() - 600)  # the heartbeat stopped ten minutes ago
    code, output = status(tmp_path)
    assert code == 1 and "looks dead" in output
    assert status(tmp_path, "--max-age", "900")[0] == 0
    beat.state = "stopped"
    beat.write(time.time())
    assert status(tmp_path)[0] == 1


def test_a_watcher_that_cannot_start_says_why_in_the_log_and_in_status(tmp_path: Path) -> None:
    """A config mistake under systemd, NSSM or Task Scheduler, which keep no stderr: the
    reason is in the inbox's log file and `status`, not "stopped" as if asked to stop."""
    (tmp_path / "konnect-etl.yaml").write_text("retries: five\n", encoding="utf-8")
    started = CliRunner().invoke(app, ["watch", str(tmp_path), "--sandbox", "--poll", "1"])
    assert started.exit_code == 2
    logged = (tmp_path / ".konnect-etl" / "logs" / "konnect-etl.log").read_text()
    assert "stopped (exit 2): " in logged and "retries" in logged
    code, output = status(tmp_path)
    assert code == 1 and "the watcher could not start at " in output and "retries" in output


def test_status_flags_a_file_that_could_not_be_taken_for_too_long(tmp_path: Path) -> None:
    beat = Heartbeat(tmp_path, poll_seconds=10, mode="polling", started=time.time())
    now = time.time()
    beat.still_not_taken(["locked.csv", "open.xlsx"], now - 300)
    beat.still_not_taken(["locked.csv"], now)  # open.xlsx was taken meanwhile
    beat.write(now)
    code, output = status(tmp_path)
    assert code == 1, output
    assert "1 file(s) could not be taken for over 120 s" in output and "locked.csv" in output
    assert "open.xlsx" not in output
    beat.still_not_taken(["locked.csv", "new.csv"], now)
    beat.write(now)
    assert status(tmp_path, "--max-age", "600")[0] == 0  # not that long yet
    loaded = json.loads(status(tmp_path, "--max-age", "600", "--json")[1])
    assert sorted(loaded["files_not_taken"]) == ["locked.csv", "new.csv"]
    beat.still_not_taken([], now)  # taken at last
    beat.write(now)
    assert status(tmp_path)[0] == 0


def test_status_flags_a_watcher_that_keeps_failing(tmp_path: Path) -> None:
    """Konnect down for hours: the watcher is alive and retrying, but someone must know."""
    beat = Heartbeat(tmp_path, poll_seconds=10, mode="polling", started=time.time())
    now = time.time()
    beat.error("PUT /ims/v3/inventory: could not reach Konnect (ConnectError)", now - 300)
    beat.error("PUT /ims/v3/inventory: could not reach Konnect (ConnectError)", now)
    beat.write(now)
    code, output = status(tmp_path)
    assert code == 1 and "failing for 300 s" in output and "could not reach Konnect" in output
    assert status(tmp_path, "--max-age", "600")[0] == 0  # not that long yet
    beat.working()  # Konnect is back
    beat.write(now)
    code, output = status(tmp_path)
    assert code == 0, output


def _status_90_minutes_on(
    inbox: Path, beat: Heartbeat, monkeypatch: pytest.MonkeyPatch
) -> tuple[int, str]:
    """`status` with the clock moved on (a file's arrival time, its ctime, cannot be set back)
    and the watcher alive: its exit code and its words on one line."""
    later = time.time() + 90 * 60 + 20
    monkeypatch.setattr(service, "time", SimpleNamespace(time=lambda: later))
    beat.write(later)
    code, output = status(inbox)
    return code, " ".join(output.split())


def test_status_flags_a_file_left_in_the_inbox_for_over_an_hour(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A trigger file never written, a name nothing takes: the watcher is alive and the file
    waits for good; without a look at the inbox nobody would know. Trigger files, office lock
    files and folders are not files waiting. (The clock is moved on: a file's arrival time,
    its ctime, cannot be set back.)"""
    beat = Heartbeat(tmp_path, poll_seconds=10, mode="polling", started=time.time())
    (tmp_path / "stock.csv").write_text("location_id,sku,quantity\n")
    (tmp_path / "orders.csv.done").write_text("")
    (tmp_path / "~$prices.xlsx").write_text("")
    (tmp_path / "done").mkdir()
    beat.write(time.time())
    assert status(tmp_path)[0] == 0  # just dropped
    code, said = _status_90_minutes_on(tmp_path, beat, monkeypatch)
    assert code == 1, said
    assert "alive: last scan 0 s ago; but 1 file waited in the inbox over 60 min" in said
    assert "without being taken: stock.csv (90 min). A file is taken once it stops" in said
    loaded = json.loads(status(tmp_path, "--json")[1])
    assert list(loaded["files_waiting_in_inbox"]) == ["stock.csv"] and not loaded["alive"]
    assert status(tmp_path, "--max-age", str(2 * 3600))[0] == 0  # a daily run waits longer


def test_status_flags_files_in_a_folder_dropped_into_the_inbox(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`Reports 28-11/stock.csv`: never read, and `status` stayed OK for good."""
    beat = Heartbeat(tmp_path, poll_seconds=10, mode="polling", started=time.time())
    (tmp_path / "Reports 28-11").mkdir()
    (tmp_path / "Reports 28-11" / "stock.csv").write_text("location_id,sku,quantity\n")
    (tmp_path / "mappings").mkdir()
    (tmp_path / "mappings" / "pos.yaml").write_text("feed: stock\n")
    beat.write(time.time())
    assert status(tmp_path)[0] == 0  # just dropped: `run` and `watch` warn of it
    code, said = _status_90_minutes_on(tmp_path, beat, monkeypatch)
    assert code == 1, said
    assert "but 1 file in folders of the inbox will never be read: Reports 28-11/stock.csv" in said
    assert "(90 min); files in sub-folders are not read: move them into the inbox itself" in said
    day_on = time.time() + 25 * 3600  # a folder kept there on purpose: a problem for a day only
    monkeypatch.setattr(service, "time", SimpleNamespace(time=lambda: day_on))
    beat.write(day_on)
    assert status(tmp_path)[0] == 0


def test_status_flags_files_that_got_no_row_through_three_times_in_a_row(
    tmp_path: Path, sandbox: Any
) -> None:
    """The ERP changed its export, a store code was renamed: every file is finished, and
    rejected whole. The tool runs on; only unread reports say so - `status` says it too,
    until a file gets a row through."""
    header = ["location_id", "sku", "quantity"]
    for n in range(3):
        drop(tmp_path, f"stock{n}.csv", [header, ["GONE-01", "TS-BLK-M", "-4"]])
        assert run(tmp_path, sandbox).exit_code == 1
        code, output = status(tmp_path)
        assert code == (1 if n == 2 else 0), output
    said = " ".join(output.split())
    assert "need a look (see their reports); but none of" in said
    assert "the last 3 files got a row through: stock2.csv (rejected, 1 row), stock1.csv" in said
    loaded = json.loads(status(tmp_path, "--json")[1])
    assert len(loaded["files_nothing_through"]) == 3 and loaded["alive"] is False
    drop(tmp_path, "stock3.csv", [header, ["DEL-WH-01", "TS-BLK-M", "4"]])
    assert run(tmp_path, sandbox).exit_code == 0
    assert status(tmp_path)[0] == 0


def test_status_after_a_run_that_found_no_file_does_not_say_every_row_uploaded(
    tmp_path: Path, sandbox: Any
) -> None:
    """A file waiting for its trigger: the run takes nothing, exits 0 - not 'uploaded'."""
    (tmp_path / "konnect-etl.yaml").write_text("trigger_suffix: .done\n")
    drop(tmp_path, "stock.csv", [["location_id", "sku", "quantity"], ["DEL-WH-01", "CAP-RED", "4"]])
    assert run(tmp_path, sandbox).exit_code == 0
    code, output = status(tmp_path)
    said = " ".join(output.split())
    assert code == 0 and "exit 0, no file was ready in the inbox" in said, said
    assert json.loads(status(tmp_path, "--json")[1])["files_finished"] == 0


def test_status_json_is_machine_readable(tmp_path: Path) -> None:
    beat = Heartbeat(tmp_path, poll_seconds=5, mode="polling", started=time.time())
    beat.error("cannot work in the inbox: gone", time.time())
    beat.write(time.time())
    code, output = status(tmp_path, "--json")
    loaded = json.loads(output)
    assert code == 0 and loaded["alive"] is True and loaded["mode"] == "polling"
    assert loaded["last_error"]["message"] == "cannot work in the inbox: gone"
    assert loaded["version"] and loaded["pid"] == os.getpid()


def test_a_growing_file_is_not_ready_even_with_an_old_mtime(tmp_path: Path) -> None:
    """Copy tools keep the source's mtime; the size still grows while they copy."""
    path = tmp_path / "stock.csv"
    path.write_text("location_id,sku,quantity\n")
    os.utime(path, (time.time() - 3600, time.time() - 3600))
    settler, now = Settler(5.0), time.time()
    assert settler.ready([path], now)[0] == []  # first sight: the clock starts now
    with path.open("a") as handle:
        handle.write("DEL-WH-01,TS-BLK-S,1\n")
    os.utime(path, (time.time() - 3600, time.time() - 3600))
    ready, wait = settler.ready([path], now + 4)
    assert ready == [] and wait > 4  # it changed: the clock starts again
    assert settler.ready([path], now + 9.5)[0] == [path]


def test_a_clock_stepped_back_costs_a_waiting_file_one_settle_time_not_the_step(
    tmp_path: Path,
) -> None:
    """NTP steps the clock back an hour while a file settles: it is ready a settle time
    later, not an hour later (a device without a clock, stepped back years: never)."""
    path = tmp_path / "stock.csv"
    path.write_text("location_id,sku,quantity\n")
    now = time.time() + 3600  # the clock ran an hour ahead when the file was first seen
    os.utime(path, (now - 60, now - 60))
    settler = Settler(5.0)
    assert settler.ready([path], now)[0] == []
    stepped = now - 3600
    ready, wait = settler.ready([path], stepped)
    assert ready == [] and wait <= 5
    assert settler.ready([path], stepped + 5.5)[0] == [path]


def test_a_file_lock_is_held_by_one_holder_at_a_time(tmp_path: Path) -> None:
    with file_lock(tmp_path, "stock.csv") as first:
        with file_lock(tmp_path, "stock.csv") as second:
            assert first and not second
        with file_lock(tmp_path, "price.csv") as other:
            assert other
    with file_lock(tmp_path, "stock.csv") as again:
        assert again


def test_network_shares_are_recognised_from_the_mount_table() -> None:
    assert mount_type(Path("/mnt/share/inbox"), MOUNTS) == "cifs"
    assert mount_type(Path("/srv/nfs"), MOUNTS) == "nfs4"
    assert mount_type(Path("/mnt/share/local disk/inbox"), MOUNTS) == "ext4"
    assert mount_type(Path("/mnt/shared"), MOUNTS) == "ext4"  # not inside /mnt/share


def test_status_says_dead_at_once_when_the_watcher_was_killed(tmp_path: Path) -> None:
    """kill -9 leaves a fresh heartbeat behind: its pid, gone from this host, tells."""
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    beat = Heartbeat(tmp_path, poll_seconds=10, mode="polling", started=time.time())
    beat.write(time.time())
    status_file = tmp_path / ".konnect-etl" / "status.json"
    document = json.loads(status_file.read_text())
    assert document["pid"] == os.getpid()
    status_file.write_text(json.dumps({**document, "pid": gone.pid}))
    code, output = status(tmp_path)
    assert code == 1 and "is not running" in output
    assert status(tmp_path / "unmounted")[0] == 2
    assert "is not there" in status(tmp_path / "unmounted")[1]


def test_the_heartbeat_goes_on_while_a_file_is_in_flight_without_progress(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A slow Konnect: no chunk finishes for minutes, but the watcher is working."""
    monkeypatch.setattr(watch, "BUSY_BEAT_SECONDS", 0.05)
    beat = Heartbeat(tmp_path, poll_seconds=10, mode="polling", started=time.time())
    beat.write(time.time() - 600)  # the last chunk finished ten minutes ago
    beat.in_flight = ["stock.csv"]
    done = threading.Event()
    beating = threading.Thread(
        target=watch._beat_while_busy,
        args=(SimpleNamespace(heartbeat=beat, stop=StopRequest()), done),
    )
    beating.start()
    time.sleep(1.3)  # write_soon writes at most once a second
    done.set()
    beating.join()
    code, output = status(tmp_path)
    assert code == 0 and "alive" in output


def test_status_judges_the_scheduled_runs_after_a_watcher_was_stopped_for_good(
    tmp_path: Path, sandbox: Any
) -> None:
    """Moved from the watch service to a timer: the stopped watcher's status.json stays, and
    `status` judged it, PROBLEM after every good run. Runs after a watcher's clean stop are
    judged now; a watcher stopped after the last run, or one that died, is still a problem."""
    beat = Heartbeat(tmp_path, poll_seconds=10, mode="events+polling", started=time.time() - 90)
    beat.state = "stopped"
    beat.write(time.time() - 60)
    drop(
        tmp_path, "stock.csv", [["location_id", "sku", "quantity"], ["DEL-WH-01", "TS-BLK-M", "4"]]
    )
    assert run(tmp_path, sandbox).exit_code == 0
    code, output = status(tmp_path)
    said = " ".join(output.split())
    assert code == 0 and "exit 0, every row of every file uploaded" in said, said
    assert "(the watcher was stopped at " in said and "the scheduled runs since are judged" in said
    shown = json.loads(status(tmp_path, "--json")[1])
    assert shown["alive"] and shown["watcher"].startswith("the watcher was stopped at ")

    beat.write(time.time())  # stopped again, after that run: the watcher is what is judged
    code, output = status(tmp_path)
    assert code == 1 and "the watcher was stopped at" in output
    beat.state = "running"  # a watcher that died (no heartbeat for 10 minutes), then a run
    beat.write(time.time() - 600)
    assert run(tmp_path, sandbox).exit_code == 0
    code, output = status(tmp_path)
    assert code == 1 and "looks dead" in output


def test_a_watcher_ended_by_an_exception_is_not_stopped_on_purpose(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only an asked-for stop writes "stopped" (which lets later runs be judged instead);
    a loop ended by an exception leaves "ended", a watcher `status` finds gone."""
    from etl.health import read_status

    def broken(watcher: Any) -> float:
        raise RuntimeError("a bug of ours")

    monkeypatch.setattr(watch, "_one_pass", broken)
    beat = Heartbeat(tmp_path, poll_seconds=0.2, mode="polling", started=time.time())
    options = watch.WatchOptions(poll_seconds=0.2, events=False)
    watcher = watch.Watcher(tmp_path, lambda: None, options, StopRequest(), beat)  # type: ignore[arg-type]
    with pytest.raises(RuntimeError):
        watch.watch_inbox(watcher)
    assert (read_status(tmp_path) or {})["state"] == "ended"


def test_status_judges_a_scheduled_run_by_how_its_last_run_ended(
    tmp_path: Path, sandbox: Any
) -> None:
    """A cron / Task Scheduler deployment has no watcher: `status` reads last-run.json. OK
    after a run that finished; a problem after one that could not run (Konnect unreachable,
    the reason given), and when no run came for an hour (a crontab gone)."""
    assert status(tmp_path)[0] == 2  # nothing ever ran here
    drop(
        tmp_path, "stock.csv", [["location_id", "sku", "quantity"], ["DEL-WH-01", "TS-BLK-M", "4"]]
    )
    assert run(tmp_path, sandbox, "--dry-run").exit_code == 0
    assert status(tmp_path)[0] == 2  # a dry run is not the job
    assert run(tmp_path, sandbox).exit_code == 0
    code, output = status(tmp_path)
    assert code == 0 and "exit 0, every row of every file uploaded" in output, output

    (tmp_path / "konnect-etl.yaml").write_text("retries: 0\n")
    drop(
        tmp_path, "later.csv", [["location_id", "sku", "quantity"], ["DEL-WH-01", "TS-BLK-M", "5"]]
    )
    with socket.socket() as closed:  # a port nothing listens on
        closed.bind(("127.0.0.1", 0))
        down = SimpleNamespace(url=f"http://127.0.0.1:{closed.getsockname()[1]}", token="t")
        assert run(tmp_path, down).exit_code == 2
    code, output = status(tmp_path)
    said = " ".join(output.split())
    assert (
        code == 1 and "PROBLEM" in said and "exit 2, PUT /ims/v3/inventory: could not reach" in said
    )
    last = json.loads((tmp_path / ".konnect-etl" / "last-run.json").read_text())
    assert last["files_waiting"] == ["later.csv"] and last["exit_code"] == 2

    assert run(tmp_path, sandbox).exit_code == 0  # Konnect back: the file waiting goes
    assert status(tmp_path)[0] == 0
    last = json.loads((tmp_path / ".konnect-etl" / "last-run.json").read_text())
    last["finished_epoch"] -= 2 * 3600
    (tmp_path / ".konnect-etl" / "last-run.json").write_text(json.dumps(last))
    code, output = status(tmp_path)
    assert code == 1 and "no run for 2 h 0 min (limit 60 min)" in " ".join(output.split())
    said = " ".join(status(tmp_path, "--max-age", "5")[1].split())
    assert "(limit 5 s)" in said  # not "limit 0 min"
    assert status(tmp_path, "--max-age", str(3 * 3600))[0] == 0


def test_a_file_one_cron_run_could_not_take_is_judged_at_the_next_run_not_by_the_clock() -> None:
    """One run could not take stock.csv (Excel held it open): until the next run nobody
    knows more, so `status` minutes later still says OK; two runs 5 minutes apart that
    could not take it make it a problem (a review saw PROBLEM 3 minutes after one blip)."""
    now = time.time()
    once = {"finished_epoch": now - 180, "exit_code": 1, "meaning": "finished",
            "files_not_taken_epoch": {"stock.csv": now - 180}}  # fmt: skip
    assert lastrun.verdict(once, now, None)[0]
    twice = {**once, "finished_epoch": now - 10, "files_not_taken_epoch": {"stock.csv": now - 310}}
    healthy, said = lastrun.verdict(twice, now, None)
    assert not healthy and "1 file(s) could not be taken for over 120 s" in said
