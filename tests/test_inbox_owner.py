"""One machine per inbox (`etl.inboxowner`): real processes, real files, real locks.

Another machine is a lease written with another host name, or a process whose
`etl.inboxowner.this_host` says another name; nothing of the lock layer is replaced.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from watchproc import stop, wait_for, watching

from etl.config import STATE_DIR
from etl.inboxowner import (
    FRESH_SECONDS,
    InboxTaken,
    Lease,
    one_machine,
    owner_path,
    read_owner,
)

HERE = socket.gethostname()
STOCK = "location_id,sku,quantity\nDEL-WH-01,TS-BLK-M,5\n"


def make_inbox(tmp_path: Path) -> Path:
    inbox = tmp_path / "inbox"
    (inbox / STATE_DIR).mkdir(parents=True)
    (inbox / "stock.csv").write_text(STOCK)
    return inbox


def lease_of(folder: Path, host: str, seen_ago: float, pid: int = 4242) -> None:
    now = time.time()
    document = {"host": host, "pid": pid, "started_epoch": now - seen_ago - 60,
                "heartbeat_epoch": now - seen_ago}  # fmt: skip
    owner_path(folder).parent.mkdir(parents=True, exist_ok=True)
    owner_path(folder).write_text(json.dumps(document))


def konnect_etl(*args: str, sandbox: Any = None, host: str | None = None,
                beat: float | None = None) -> subprocess.CompletedProcess[str]:  # fmt: skip
    """The command in a process of its own; `host`: the name it believes its machine has."""
    env = {**os.environ, "NO_PROXY": "127.0.0.1,localhost"}
    if sandbox is not None:
        env.update(KONNECT_BASE_URL=sandbox.url, KONNECT_TOKEN=sandbox.token)
    return subprocess.run([sys.executable, "-c", as_host(host, beat), *args], env=env,
                          capture_output=True, text=True, timeout=120)  # fmt: skip


def as_host(host: str | None, beat: float | None = None) -> str:
    """`python -c` code running konnect-etl as if on `host`, heartbeat every `beat` s."""
    lines = ["import sys", "import etl.inboxowner as owner"]
    if host is not None:
        lines.append(f"owner.this_host = lambda: {host!r}")
    if beat is not None:
        lines.append(f"owner.BEAT_SECONDS = {beat}")
    lines += ["from etl.cli import main", "sys.argv[0] = 'konnect-etl'", "main()"]
    return "\n".join(lines)


def refusal(inbox: Path, host: str, pid: int) -> str:
    """The whole line, as a pattern (the age changes)."""
    return (
        re.escape(f"not started on {HERE}: {inbox} is worked by konnect-etl on {host} (pid {pid},")
        + re.escape(" last seen ")
        + r"\d+ s ago"
        + re.escape(
            f"): one machine per inbox — stop konnect-etl there first (or, if {host} is gone"
            f" for good, wait 10 minutes or delete {owner_path(inbox)})"
        )
    )


def one_line(text: str) -> str:
    return " ".join(text.split())


def test_run_is_refused_while_another_machine_works_the_inbox(tmp_path: Path) -> None:
    inbox = make_inbox(tmp_path)
    lease_of(inbox, "failover-box", seen_ago=40)
    before = owner_path(inbox).read_bytes()
    done = konnect_etl("run", str(inbox), "--sandbox")
    assert done.returncode == 2, done.stderr
    assert re.fullmatch(
        "konnect-etl: " + refusal(inbox, "failover-box", 4242), one_line(done.stderr)
    )
    assert (inbox / "stock.csv").is_file()  # not taken
    assert owner_path(inbox).read_bytes() == before  # the other machine's lease, untouched
    assert not (inbox / STATE_DIR / "last-run.json").exists()  # its `status` is not ours
    log = (inbox / STATE_DIR / "logs" / "konnect-etl.log").read_text()
    refused = [line for line in log.splitlines() if "refused (exit 2)" in line]
    assert len(refused) == 1 and "WARNING" in refused[0]  # cron and Task Scheduler lose stderr
    assert f"not started on {HERE}: {inbox} is worked by konnect-etl on failover-box" in log


def test_watch_is_refused_and_leaves_the_other_watchers_status_alone(tmp_path: Path) -> None:
    inbox = make_inbox(tmp_path)
    lease_of(inbox, "failover-box", seen_ago=5)
    status = inbox / STATE_DIR / "status.json"
    status.write_text('{"state": "watching", "host": "failover-box"}')
    done = konnect_etl("watch", str(inbox), "--sandbox", "--poll", "0.5")
    assert done.returncode == 2
    assert "is worked by konnect-etl on failover-box" in one_line(done.stderr)
    assert status.read_text() == '{"state": "watching", "host": "failover-box"}'
    assert not list((inbox / STATE_DIR).rglob("journal.sqlite3*"))  # SQLite is one host's


def test_release_and_orders_pull_are_refused_too(tmp_path: Path) -> None:
    inbox = make_inbox(tmp_path)
    held = inbox / "held" / "2026-11-27" / "stock.csv"
    held.parent.mkdir(parents=True)
    held.write_text(STOCK)
    lease_of(inbox, "failover-box", seen_ago=5)
    done = konnect_etl("release", str(held))
    assert done.returncode == 2 and "one machine per inbox" in one_line(done.stderr)
    assert held.is_file()
    outbox = tmp_path / "outbox"
    lease_of(outbox, "erp-pc", seen_ago=5)
    done = konnect_etl("orders", "pull", "--status", "CREATED", "--out", str(outbox), "--sandbox")
    assert done.returncode == 2
    assert "is worked by konnect-etl on erp-pc" in one_line(done.stderr)
    assert "one machine per outbox" in one_line(done.stderr)
    log = (outbox / STATE_DIR / "logs" / "konnect-etl.log").read_text()
    assert "refused (exit 2)" in log and "one machine per outbox" in log


def test_a_stale_lease_of_another_machine_is_taken_over_with_one_warning(
    tmp_path: Path, sandbox: Any
) -> None:
    sandbox.faults(catalogue="open")
    inbox = make_inbox(tmp_path)
    lease_of(inbox, "old-server", seen_ago=FRESH_SECONDS + 60)
    done = konnect_etl("run", str(inbox), sandbox=sandbox)
    assert done.returncode == 0, done.stderr
    log = (inbox / STATE_DIR / "logs" / "konnect-etl.log").read_text()
    taken = [line for line in log.splitlines() if "taking over" in line]
    assert len(taken) == 1 and "WARNING" in taken[0] and "old-server" in taken[0]
    owner = read_owner(inbox)
    assert owner is not None and owner.host == HERE and owner.pid != 4242


def test_this_machines_own_old_lease_is_renewed_not_taken_over(tmp_path: Path) -> None:
    """A daily run finds its own lease a day old: renewed as is - no warning, and none of
    the pause after taking another machine's over (two machines taking it at once)."""
    inbox = make_inbox(tmp_path)
    lease_of(inbox, HERE.upper(), seen_ago=FRESH_SECONDS * 100)  # host names: any case
    assert Lease(inbox, "inbox", time.time()).take(time.time()) is False
    assert read_owner(inbox).age(time.time()) < 5  # type: ignore[union-attr]
    lease_of(inbox, "old-server", seen_ago=FRESH_SECONDS * 100)
    assert Lease(inbox, "inbox", time.time()).take(time.time()) is True


@pytest.mark.parametrize("host", ["", "PC-BEFORE-RENAME"])
def test_a_lease_of_an_empty_or_old_host_name_keeps_nothing_after_the_window(
    tmp_path: Path, host: str
) -> None:
    inbox = make_inbox(tmp_path)
    lease_of(inbox, host, seen_ago=30)
    with pytest.raises(InboxTaken, match="one machine per inbox"), one_machine(inbox):
        pass
    lease_of(inbox, host, seen_ago=FRESH_SECONDS + 1)
    with one_machine(inbox):
        pass
    lease_of(inbox, host, seen_ago=-10 * FRESH_SECONDS)  # its clock set a day ahead
    with one_machine(inbox):
        pass
    assert read_owner(inbox).host == HERE  # type: ignore[union-attr]


def test_processes_of_one_machine_share_the_inbox(tmp_path: Path, sandbox: Any) -> None:
    sandbox.faults(catalogue="open")
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    with watching(inbox, sandbox) as watcher:
        wait_for(lambda: getattr(read_owner(inbox), "pid", None) == watcher.pid, 30, "the lease")
        (tmp_path / "stock.csv").write_text(STOCK)
        done = konnect_etl("run", str(inbox), "-q", sandbox=sandbox)
        assert done.returncode == 0, done.stderr  # same host: not refused
        assert watcher.poll() is None
    owner = read_owner(inbox)
    assert owner is not None and owner.host == HERE


def test_a_second_machine_is_refused_while_a_watcher_beats(tmp_path: Path, sandbox: Any) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    watcher = start_watch_beating(inbox, sandbox, beat=0.2)
    try:
        wait_for(lambda: getattr(read_owner(inbox), "pid", None) == watcher.pid, 30, "the lease")
        first = read_owner(inbox).heartbeat  # type: ignore[union-attr]
        wait_for(lambda: read_owner(inbox).heartbeat > first + 0.3, 10, "heartbeats")  # type: ignore[union-attr]
        (inbox / "stock.csv").write_text(STOCK)
        done = konnect_etl("run", str(inbox), sandbox=sandbox, host="failover-box")
        assert done.returncode == 2
        assert f"is worked by konnect-etl on {HERE} (pid {watcher.pid}" in one_line(done.stderr)
    finally:
        assert stop(watcher) == 0


def test_a_watcher_whose_inbox_another_machine_took_over_stops(
    tmp_path: Path, sandbox: Any
) -> None:
    """Its machine paused (or cut off the share) past the window: it finishes and stops."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    watcher = start_watch_beating(inbox, sandbox, beat=0.2)
    try:
        wait_for(lambda: read_owner(inbox) is not None, 30, "the lease")
        lease_of(inbox, "failover-box", seen_ago=0)
        watcher.wait(30)
    finally:
        code = stop(watcher)
    assert code == 0
    assert read_owner(inbox).host == "failover-box"  # type: ignore[union-attr]
    log = (inbox / STATE_DIR / "logs" / "konnect-etl.log").read_text()
    assert "was taken over by konnect-etl on failover-box" in log


def test_a_run_whose_inbox_another_machine_took_over_takes_no_further_file(
    tmp_path: Path, sandbox: Any
) -> None:
    """The file in progress is finished and filed; the files after it are the new owner's."""
    sandbox.faults(catalogue="open", latency_ms=300)
    inbox = make_inbox(tmp_path)
    (inbox / "stock.csv").unlink()
    (inbox / "konnect-etl.yaml").write_text("concurrency: 1\n")  # 4 requests: over a second
    rows = "".join(f"DEL-WH-01,SKU-{n},{n}\n" for n in range(2000))  # 4 chunks of 500
    for name in ("a-stock.csv", "b-stock.csv", "c-stock.csv"):
        (inbox / name).write_text("location_id,sku,quantity\n" + rows)
    env = {**os.environ, "NO_PROXY": "127.0.0.1,localhost", "KONNECT_BASE_URL": sandbox.url,
           "KONNECT_TOKEN": sandbox.token}  # fmt: skip
    args = [sys.executable, "-c", as_host(None, beat=0.1), "run", str(inbox), "-q"]
    run = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        wait_for(lambda: any((inbox / "processing").glob("*.csv")), 60, "a file in processing")
        lease_of(inbox, "failover-box", seen_ago=0)
        run.wait(120)
    finally:
        run.kill()
    assert run.returncode == 0
    done = sorted(p.name for p in (inbox / "done").rglob("*-stock.csv"))
    waiting = sorted(p.name for p in inbox.glob("*-stock.csv"))
    assert len(done) == 1 and len(waiting) == 2, (done, waiting)
    assert not any((inbox / "processing").glob("*.csv"))
    log = (inbox / STATE_DIR / "logs" / "konnect-etl.log").read_text()
    assert "was taken over by konnect-etl on failover-box" in log
    assert "another machine took this inbox over: finishing the file in progress" in log
    assert read_owner(inbox).host == "failover-box"  # type: ignore[union-attr]
    assert not (inbox / STATE_DIR / "last-run.json").exists()  # `status` there is theirs


def start_watch_beating(inbox: Path, sandbox: Any, beat: float) -> subprocess.Popen[bytes]:
    """`watch` as `watchproc.start_watch` starts it, but with a heartbeat every `beat` s."""
    env = {**os.environ, "KONNECT_BASE_URL": sandbox.url, "KONNECT_TOKEN": sandbox.token,
           "NO_PROXY": "127.0.0.1,localhost"}  # fmt: skip
    args = [sys.executable, "-c", as_host(None, beat), "watch", str(inbox), "--poll", "0.5"]
    log = (inbox.parent / f"watch-{time.monotonic_ns()}.log").open("wb")
    return subprocess.Popen(args, env=env, stdout=log, stderr=subprocess.STDOUT)


def test_the_heartbeat_refreshes_during_a_long_command_and_outlives_a_share_hiccup(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    inbox = make_inbox(tmp_path)
    beats: list[float] = []

    def seen() -> bool:
        owner = read_owner(inbox)
        if owner is not None and owner.heartbeat not in beats:
            beats.append(owner.heartbeat)
        return len(beats) >= 3

    caplog.set_level(logging.DEBUG, "etl.inboxowner")
    with one_machine(inbox, beat_seconds=0.05):
        wait_for(seen, 10, "three heartbeats")
        owner_path(inbox).unlink()
        owner_path(inbox).mkdir()  # the share refuses the writes for a while
        time.sleep(0.3)
        owner_path(inbox).rmdir()
        wait_for(lambda: read_owner(inbox) is not None, 10, "heartbeats again")
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "could not write" in warnings[0].getMessage()
    assert not [t for t in threading.enumerate() if t.name == "konnect-etl lease"]


def test_status_shows_the_owner_and_flags_another_machine(tmp_path: Path, sandbox: Any) -> None:
    sandbox.faults(catalogue="open")
    inbox = make_inbox(tmp_path)
    assert konnect_etl("run", str(inbox), sandbox=sandbox).returncode == 0
    shown = konnect_etl("status", str(inbox))
    assert f"owner: {HERE} (pid " in shown.stdout and "another machine" not in shown.stdout
    document = json.loads(konnect_etl("status", str(inbox), "--json").stdout)
    assert document["owner"]["host"] == HERE and document["owner"]["this_host"] is True
    assert "files_held" in document and "exit_code" in document  # the keys as they were
    lease_of(inbox, "failover-box", seen_ago=40)
    shown = konnect_etl("status", str(inbox))
    assert shown.returncode == 0  # read-only: never refused
    assert "owner: failover-box (pid 4242), last seen" in shown.stdout
    assert "another machine works this inbox" in shown.stdout
    owner = json.loads(konnect_etl("status", str(inbox), "--json").stdout)["owner"]
    assert owner["other_machine_working"] is True and owner["fresh"] is True
    assert 30 < owner["heartbeat_age_seconds"] < 120


def test_history_is_never_refused(tmp_path: Path) -> None:
    inbox = make_inbox(tmp_path)
    lease_of(inbox, "failover-box", seen_ago=5)
    done = konnect_etl("history", str(inbox), "DEL-WH-01", "TS-BLK-M")
    assert "worked by" not in done.stderr and "no stock or price file" in done.stderr


def test_a_dry_run_takes_no_lease(tmp_path: Path) -> None:
    inbox = make_inbox(tmp_path)
    lease_of(inbox, "failover-box", seen_ago=5)
    done = konnect_etl("run", str(inbox), "--dry-run")
    assert "worked by" not in done.stderr and done.returncode in (0, 1)
    assert read_owner(inbox).host == "failover-box"  # type: ignore[union-attr]
    shutil.rmtree(inbox / STATE_DIR / "dry-run", ignore_errors=True)
