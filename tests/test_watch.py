"""`konnect-etl watch` as real processes against the real emulator on loopback."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from watchproc import done_dir, logs, start_watch, stop, wait_for, watching

from etl.sandbox import SandboxSettings, serve_in_thread

HEADER = "location_id,sku,quantity\n"


def stock_lines(prefix: str, count: int, quantity: int = 7) -> list[str]:
    return [f"DEL-WH-01,{prefix}-{i:05d},{quantity}\n" for i in range(count)]


def summary(inbox: Path, stem: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((done_dir(inbox) / f"{stem}.summary.json").read_text())
    return loaded


def has_summary(inbox: Path, stem: str) -> bool:
    return (done_dir(inbox) / f"{stem}.summary.json").is_file()


def make_inbox(tmp_path: Path) -> Path:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    return inbox


def test_a_file_copied_in_slowly_is_taken_only_once_complete(tmp_path: Path, sandbox: Any) -> None:
    sandbox.faults(catalogue="open")
    inbox = make_inbox(tmp_path)
    lines = stock_lines("SLOW", 400)
    with watching(inbox, sandbox, settle=1.5):
        with (inbox / "stock.csv").open("w") as handle:
            handle.write(HEADER)
            for piece in range(5):  # a slow copy: a piece every 0.7 s, 2.8 s in all
                handle.writelines(lines[piece * 80 : (piece + 1) * 80])
                handle.flush()
                time.sleep(0.7)
        wait_for(lambda: has_summary(inbox, "stock"), 30, "stock.csv in done/")
    assert summary(inbox, "stock")["rows"] == {
        "total": 400, "ok": 400, "rejected": 0, "failed": 0, "unknown": 0
    }  # fmt: skip
    assert len(sandbox.ledger()) == 400  # taken once, whole
    assert not (inbox / "stock.csv").exists()


def test_a_trigger_file_gates_processing(tmp_path: Path, sandbox: Any) -> None:
    sandbox.faults(catalogue="open")
    inbox = make_inbox(tmp_path)
    (inbox / "konnect-etl.yaml").write_text("trigger_suffix: .done\n")
    (inbox / "stock.csv").write_text(HEADER + "".join(stock_lines("TRIG", 3)))
    with watching(inbox, sandbox, settle=0):
        time.sleep(2)  # four polls: without its trigger the file must stay where it is
        assert (inbox / "stock.csv").is_file() and sandbox.ledger() == []
        (inbox / "stock.csv.done").write_text("")
        wait_for(lambda: has_summary(inbox, "stock"), 30, "stock.csv in done/")
    assert not (inbox / "stock.csv.done").exists()  # the trigger is removed afterwards
    assert summary(inbox, "stock")["rows"]["ok"] == 3
    assert " ERROR " not in logs(inbox)  # a clean run and stop logs no error (nor watchdog's)


def test_two_watchers_on_one_inbox_process_each_file_exactly_once(
    tmp_path: Path, sandbox: Any
) -> None:
    sandbox.faults(catalogue="open", latency_ms=20)
    inbox = make_inbox(tmp_path)
    polling_only = ("--no-events",)  # as on a network share
    with watching(inbox, sandbox, settle=0.3), watching(inbox, sandbox, *polling_only, settle=0.3):
        time.sleep(1)
        for n in range(6):
            (inbox / f"stock{n:02d}.csv").write_text(HEADER + "".join(stock_lines(f"F{n}", 30)))
        wait_for(lambda: len(list(done_dir(inbox).glob("*.summary.json"))) >= 6, 60, "6 files")
        time.sleep(0.5)  # a double would show up now
    names = sorted(p.name for p in done_dir(inbox).glob("*.summary.json"))
    assert names == [f"stock{n:02d}.summary.json" for n in range(6)]
    per_key = Counter(entry["key"] for entry in sandbox.ledger())
    assert len(per_key) == 6 * 30 and set(per_key.values()) == {1}
    assert not list((inbox / "processing").iterdir())


def test_a_watcher_survives_its_inbox_vanishing_and_stops_cleanly_on_sigterm(
    tmp_path: Path, sandbox: Any
) -> None:
    sandbox.faults(catalogue="open")
    inbox = make_inbox(tmp_path)
    process = start_watch(inbox, sandbox, settle=0.3)
    try:
        (inbox / "first.csv").write_text(HEADER + "".join(stock_lines("ONE", 2)))
        wait_for(lambda: has_summary(inbox, "first"), 30, "first.csv in done/")
        inbox.rename(tmp_path / "gone")  # the share disappears...
        time.sleep(2)
        inbox.mkdir()  # ...and comes back, empty
        (inbox / "second.csv").write_text(HEADER + "".join(stock_lines("TWO", 2)))
        wait_for(lambda: has_summary(inbox, "second"), 30, "second.csv in done/")
        assert process.poll() is None
        # SIGTERM in the middle of an upload: the file is finished, then the watcher exits 0
        sandbox.faults(latency_ms=300)
        (inbox / "stock.csv").write_text(HEADER + "".join(stock_lines("TERM", 6000)))
        wait_for(lambda: len(sandbox.ledger()) > 4, 30, "the upload to start")
        process.send_signal(signal.SIGTERM)
        assert process.wait(60) == 0
    finally:
        stop(process)
    assert "cannot work in the inbox" in logs(inbox)
    assert "restarting the watcher" in logs(inbox)  # the file-event observer was renewed
    assert summary(inbox, "second")["rows"]["ok"] == 2
    assert summary(inbox, "stock")["rows"]["ok"] == 6000  # finished, whole report
    status = json.loads((inbox / ".konnect-etl" / "status.json").read_text())
    assert status["state"] == "stopped" and status["files_in_flight"] == []


def run_stopped_twice(
    inbox: Path, sandbox: Any, settle: str, started: Callable[[], bool], then: float = 0.0
) -> tuple[int, list[str], dict[str, str]]:
    """`run INBOX` in a process of its own, sent SIGTERM twice `then` seconds after
    `started()`; its exit code, and the command and environment to run it again."""
    env = {**os.environ, "KONNECT_BASE_URL": sandbox.url, "KONNECT_TOKEN": sandbox.token}
    command = [sys.executable, "-m", "etl", "run", str(inbox), "--settle", settle]
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        wait_for(started, 30, "the run to get going")
        time.sleep(then)
        process.send_signal(signal.SIGTERM)
        time.sleep(0.2)
        process.send_signal(signal.SIGTERM)
        return process.wait(60), command, env
    finally:
        stop(process)


def test_run_stopped_twice_leaves_the_file_to_resume_and_does_not_exit_0(
    tmp_path: Path, sandbox: Any
) -> None:
    """A cron `run` killed by a shutdown (SIGTERM twice): not a clean run, nothing lost."""
    sandbox.faults(catalogue="open", latency_ms=300)
    inbox = make_inbox(tmp_path)
    (inbox / "stock.csv").write_text(HEADER + "".join(stock_lines("TERM", 6000)))
    code, command, env = run_stopped_twice(inbox, sandbox, "0", lambda: len(sandbox.ledger()) > 4)
    assert code == 1
    assert [p.name for p in (inbox / "processing").iterdir()] == ["stock.csv"]
    assert not done_dir(inbox).exists()  # no report, not even half of one
    sandbox.faults(latency_ms=0)
    resumed = subprocess.run(command, env=env, capture_output=True, check=False, timeout=120)
    assert resumed.returncode == 0, resumed.stderr
    assert summary(inbox, "stock")["rows"]["ok"] == 6000
    assert len({entry["key"] for entry in sandbox.ledger()}) == 6000


def test_run_stopped_twice_while_waiting_for_a_file_to_settle_exits_0(
    tmp_path: Path, sandbox: Any
) -> None:
    """Nothing was taken yet: stopping the wait is a clean stop, the file stays put."""
    inbox = make_inbox(tmp_path)
    (inbox / "stock.csv").write_text(HEADER + "".join(stock_lines("WAIT", 3)))
    started = (inbox / ".konnect-etl").is_dir  # then a second into the 30 s settle wait
    assert run_stopped_twice(inbox, sandbox, "30", started, then=1.0)[0] == 0
    assert (inbox / "stock.csv").is_file() and sandbox.ledger() == []


def test_a_watcher_waits_out_a_konnect_outage_and_finishes_the_file(tmp_path: Path) -> None:
    """Konnect down when the file comes: it waits in processing/, the watcher says Konnect is
    unreachable (not the share), backs off, and uploads it once Konnect answers again."""
    with socket.socket() as probe:  # a port with nothing behind it, for now
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    inbox = make_inbox(tmp_path)
    (inbox / "konnect-etl.yaml").write_text("retries: 1\n")
    down = SimpleNamespace(url=f"http://127.0.0.1:{port}", token="sandbox-token")
    with watching(inbox, down, settle=0.3):
        (inbox / "stock.csv").write_text(HEADER + "".join(stock_lines("OUT", 3)))
        wait_for(lambda: "could not reach Konnect" in logs(inbox), 30, "the outage noticed")
        assert (inbox / "processing" / "stock.csv").is_file()
        status_file = inbox / ".konnect-etl" / "status.json"
        wait_for(lambda: json.loads(status_file.read_text())["last_error"] is not None, 30, "")
        waiting = json.loads(status_file.read_text())  # it waits: in processing/, not in flight
        assert waiting["files_in_flight"] == [] and waiting["failing_since"] is not None
        with serve_in_thread(SandboxSettings(port=port, catalogue="open")) as back:
            wait_for(lambda: has_summary(inbox, "stock"), 90, "the file finished")
            assert len({e["key"] for e in back.ledger()}) == 3
    assert summary(inbox, "stock")["rows"]["ok"] == 3
    assert "cannot work in the inbox" not in logs(inbox)


def test_a_watcher_applies_keep_days_once_a_day_even_with_nothing_to_do(
    tmp_path: Path, sandbox: Any
) -> None:
    inbox = make_inbox(tmp_path)
    (inbox / "konnect-etl.yaml").write_text("keep_days: 7\n")
    old = inbox / "done" / (date.today() - timedelta(days=8)).isoformat()
    old.mkdir(parents=True)
    (old / "stock.csv").write_text(HEADER)
    with watching(inbox, sandbox):
        wait_for(lambda: not old.exists(), 20, "the 8-day-old folder removed")
        again = inbox / "failed" / old.name  # appears later the same day: left for tomorrow
        again.mkdir(parents=True)
        time.sleep(2)  # four polls
        assert again.is_dir()
    assert logs(inbox).count("older than 7 days (keep_days)") == 1
