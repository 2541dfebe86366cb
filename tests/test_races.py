"""Several processes on one inbox, and what happens between looking and acting.

Each test sets up the moment a reviewer caught: a file written again after `run` found it
ready, two processes finishing files under the same name, a file name so long its reports
cannot have it, a second `run` while the first is still telling someone about a file.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from runs import drop, run, run_process, start_and_wait_for_claim
from typer.testing import CliRunner

from etl import pipeline, turns
from etl.claimed import process_claimed
from etl.cli import app
from etl.config import Settings
from etl.errors import WaitsBehind
from etl.inbox import Inbox
from etl.job import FileResult, Job
from etl.journal import Journal
from etl.locks import waiting_lock
from etl.runner import RunOptions, RunResult, run_inbox, take_files
from etl.session import all_mappings, client_settings, journal_path

HEADER = ["location_id", "sku", "quantity"]
CONFIRM = ["orderId", "orderItemId", "quantity"]
INVOICE = ["orderId", "invoiceNumber", "invoiceType"]
SIZES = ("S", "M", "L")


def today(inbox: Path, where: str = "done") -> Path:
    return inbox / where / date.today().isoformat()


def summary(path: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return loaded


def age(path: Path, seconds: float) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


@contextmanager
def konnect_job(inbox: Path, sandbox: Any) -> Iterator[Job]:
    """What `run` works with: every mapping, the emulator, the inbox's journal."""
    journal = Journal(journal_path(inbox))
    try:
        client = client_settings(Settings(), base_url=sandbox.url, token=sandbox.token)
        yield Job(all_mappings(Settings()), client, journal)
    finally:
        journal.close()


def test_a_file_written_again_after_it_was_found_ready_waits_and_is_sent_whole(
    tmp_path: Path, sandbox: Any
) -> None:
    """`run` found first.csv and stock.csv ready; while it sent first.csv the ERP wrote a new
    stock.csv over the old one, pausing half-way. It is not taken half-written from the
    list made before: it waits to settle again (within the run's waiting time), then goes."""
    inbox = tmp_path / "inbox"
    drop(inbox, "first.csv", [HEADER, ["DEL-WH-01", "TS-BLK-S", 9]])
    drop(inbox, "stock.csv", [HEADER, ["DEL-WH-01", "TS-BLK-M", 1]])
    age(inbox / "first.csv", 120)
    age(inbox / "stock.csv", 60)
    rest = "".join(f"DEL-WH-01,TS-BLK-{size},5\n" for size in SIZES[1:])
    export = (inbox / "stock.csv").open("r+", encoding="utf-8")
    pause = threading.Timer(0.3, lambda: (export.write(rest), export.close()))

    def erp_writes_again(file: FileResult) -> None:
        if file.summary["received_as"] == "first.csv":  # stock.csv is next on the list
            export.truncate(0)
            export.write("location_id,sku,quantity\nDEL-WH-01,TS-BLK-S,5\n")
            export.flush()
            pause.start()  # the ERP pauses, then writes the rest

    options = RunOptions(settle_seconds=0.5, max_wait=10, on_file=erp_writes_again)
    with konnect_job(inbox, sandbox) as job:
        run_inbox(inbox, job, options)
    pause.join()
    stock = sandbox.state()["stock"]
    assert [stock.get(f"DEL-WH-01|TS-BLK-{size}") for size in SIZES] == [5, 5, 5]
    assert summary(today(inbox) / "stock.summary.json")["rows"]["ok"] == 3
    assert not (inbox / "stock.csv").exists()


def test_without_its_settler_a_file_changed_within_the_settle_time_is_left(
    tmp_path: Path,
) -> None:
    """`watch` hands over its ready list without the Settler that made it: a file modified
    within the settle time since then is left in the inbox, for a later scan to settle."""
    inbox = tmp_path / "inbox"
    drop(inbox, "stock.csv", [HEADER, ["DEL-WH-01", "TS-BLK-S", 5]])  # written just now
    result = RunResult()
    ready = [inbox / "stock.csv"]
    job = Job(all_mappings(Settings()))
    left = take_files(Inbox(inbox), ready, job, RunOptions(settle_seconds=5), result)
    assert left == ready and ready[0].is_file() and not result.files


def test_two_processes_finishing_files_of_one_name_never_replace_each_others(
    tmp_path: Path, sandbox: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """done/ has today's stock.csv; a crash left processing/stock.csv (one bad row), and a
    new stock.csv was claimed as processing/stock-2.csv. Both would be filed as
    done/stock-2.*: while the first writes its reports under that name, the second must take
    another, or one input and its reports are lost (and its errors file deleted as stale)."""
    inbox = tmp_path / "inbox"
    today(inbox).mkdir(parents=True)
    drop(today(inbox), "stock.csv", [HEADER, ["DEL-WH-01", "TS-BLK-S", 1]])
    (today(inbox) / "stock.summary.json").write_text("{}")
    resumed = [HEADER, ["DEL-WH-01", "TS-BLK-S", 2], ["DEL-WH-01", "TS-BLK-M", -1]]
    drop(inbox / "processing", "stock.csv", resumed)
    drop(inbox / "processing", "stock-2.csv", [HEADER, ["DEL-WH-01", "TS-BLK-S", 3]])
    chosen, other_done = threading.Event(), threading.Event()
    write_reports = pipeline.write_reports

    def slow_reports(*args: Any, **kwargs: Any) -> Any:
        if not chosen.is_set():  # the first process: its name chosen, its reports slow
            chosen.set()
            other_done.wait(10)
        return write_reports(*args, **kwargs)

    monkeypatch.setattr(pipeline, "write_reports", slow_reports)
    results: dict[str, FileResult] = {}

    def finish(name: str) -> None:
        with konnect_job(inbox, sandbox) as job:
            results[name] = process_claimed(Inbox(inbox), inbox / "processing" / name, job)

    first = threading.Thread(target=finish, args=("stock.csv",))
    first.start()
    assert chosen.wait(10)
    finish("stock-2.csv")  # the second process, meanwhile
    other_done.set()
    first.join()
    paths = [result.final_path for result in results.values()]
    assert None not in paths and len(set(paths)) == 2
    for name, result in results.items():
        assert result.final_path is not None
        report = result.final_path.with_suffix(".summary.json")
        assert summary(report)["received_as"] == name
        assert result.final_path.read_text().count("\n") == summary(report)["rows"]["total"] + 1
    bad = results["stock.csv"].final_path
    assert bad is not None and bad.with_name(f"{bad.stem}.errors.csv").is_file()
    assert (today(inbox) / "stock.csv").read_text().endswith(",1\n")  # the earlier one


def long_name(size: int) -> str:
    """A name of `size` bytes in UTF-8 (e-acute is two), as an ERP in Hindi or French makes."""
    base = "stock_"
    name = base + "é" * ((size - len(base) - 4) // 2) + ".csv"
    name = name.replace("_", "__", size - len(name.encode()))
    assert len(name.encode()) == size
    return name


def test_a_240_byte_file_name_is_processed_and_does_not_block_the_inbox(
    tmp_path: Path, sandbox: Any
) -> None:
    """Allowed by the file system (at most 255 bytes), but the temp files of its reports
    were longer: the file was sent, then stuck in processing/, and every run after it
    stopped on it (exit 2) before any other file."""
    inbox = tmp_path / "inbox"
    name = long_name(240)
    drop(inbox, name, [HEADER, ["DEL-WH-01", "TS-BLK-S", 7]])
    drop(inbox, "other.csv", [HEADER, ["DEL-WH-01", "TS-BLK-M", 8]])
    assert run(inbox, sandbox).exit_code == 0
    assert (today(inbox) / name).is_file()
    assert summary(today(inbox) / f"{name[:-4]}.summary.json")["rows"]["ok"] == 1
    assert (today(inbox) / "other.summary.json").is_file()
    assert not any((inbox / "processing").iterdir())
    assert sandbox.state()["stock"]["DEL-WH-01|TS-BLK-S"] == 7


def test_a_name_too_long_for_its_reports_is_processed_under_a_shorter_one(
    tmp_path: Path, sandbox: Any
) -> None:
    """252 bytes: `<stem>.summary.json` cannot exist. The file is processed under a name cut
    short (the log says which); one an earlier version left in processing/ too."""
    inbox = tmp_path / "inbox"
    dropped, left = long_name(252), long_name(254)
    drop(inbox, dropped, [HEADER, ["DEL-WH-01", "TS-BLK-S", 4]])
    drop(inbox / "processing", left, [HEADER, ["DEL-WH-01", "TS-BLK-M", 6]])
    drop(inbox, "other.csv", [HEADER, ["DEL-WH-01", "TS-BLK-L", 8]])
    result = run(inbox, sandbox)
    assert result.exit_code == 0, result.output
    assert f"{dropped}: the file name is too long" in result.output
    inputs = sorted(p.name for p in today(inbox).glob("stock_*.csv") if ".result." not in p.name)
    assert len(inputs) == 2 and all(len(n.encode()) < 250 for n in inputs)
    assert all(n.startswith("stock_éé") and n.endswith(".csv") for n in inputs)
    assert not any((inbox / "processing").iterdir())
    stock = sandbox.state()["stock"]
    assert [stock[f"DEL-WH-01|TS-BLK-{size}"] for size in "SML"] == [4, 6, 8]


def test_a_second_run_takes_a_new_file_while_the_first_tells_about_the_old_one(
    tmp_path: Path, sandbox: Any
) -> None:
    """The notification hook (a webhook, an e-mail: seconds) ran with the file's lock held,
    after the file had left processing/: a second run that claimed a new stock.csv could
    not lock it, and left it in processing/ (exit 0)."""
    inbox = tmp_path / "inbox"
    drop(inbox, "stock.csv", [HEADER, ["DEL-WH-01", "TS-BLK-S", 3]])
    second: list[subprocess.CompletedProcess[bytes]] = []

    def meanwhile_another_run(file: FileResult) -> None:
        if second:
            return
        drop(inbox, "stock.csv", [HEADER, ["DEL-WH-01", "TS-BLK-S", 4]])  # the next export
        env = {**os.environ, "KONNECT_BASE_URL": sandbox.url, "KONNECT_TOKEN": sandbox.token}
        args = [sys.executable, "-m", "etl", "run", str(inbox), "--settle", "0", "-q"]
        second.append(subprocess.run(args, env=env, capture_output=True, timeout=60))

    options = RunOptions(settle_seconds=0, on_file=meanwhile_another_run)
    with konnect_job(inbox, sandbox) as job:
        run_inbox(inbox, job, options)
    assert second[0].returncode == 0, second[0].stderr
    assert not any((inbox / "processing").iterdir())
    assert (today(inbox) / "stock-2.summary.json").is_file()
    assert sandbox.state()["stock"]["DEL-WH-01|TS-BLK-S"] == 4


def test_validate_writes_the_reports_of_a_252_byte_name_under_a_shorter_stem(
    tmp_path: Path,
) -> None:
    """`validate` (and `watch --dry-run`) name the reports after the file: `<stem>.summary.json`
    of a 252-byte name cannot exist, and the command failed with "file name too long"."""
    name = long_name(252)
    drop(tmp_path, name, [HEADER, ["DEL-WH-01", "TS-BLK-S", 7]])
    result = CliRunner().invoke(app, ["validate", str(tmp_path / name)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    (found,) = tmp_path.glob("*.summary.json")
    assert len(os.fsencode(found.name)) <= 255 and found.name.startswith(name[:40])


def test_a_second_run_does_not_send_an_order_file_while_the_first_sends_another(
    tmp_path: Path, sandbox: Any
) -> None:
    """Overlapping cron runs, Konnect slow: the first confirms two orders, the second finds
    the invoice file for them. It waits for its turn, so the invoices are sent after the
    confirms (sent at once they were refused: the orders were not confirmed yet). Konnect
    answers in 10 s, long enough for the second process to start on a loaded machine (3 s
    was not), and at once from when the second says it waits."""
    sandbox.faults(latency_ms=10_000, catalogue="open")
    inbox = tmp_path / "inbox"
    orders = [f"30{n:018d}" for n in (10, 12)]
    drop(inbox, "confirm.csv", [["orderId", "orderItemId", "quantity"]]
         + [[o, f"{o}-1", "1"] for o in orders])  # fmt: skip
    first = start_and_wait_for_claim(inbox, sandbox, "confirm.csv")
    invoices = [[o, f"INV-R{n}", "sale"] for n, o in enumerate(orders)]
    drop(inbox, "invoice.csv", [["orderId", "invoiceNumber", "invoiceType"], *invoices])
    command, env = run_process(inbox, sandbox)
    said = tmp_path / "second.log"
    with said.open("w") as log:
        second = subprocess.Popen(command, env=env, stderr=log, text=True)
        deadline = time.monotonic() + 60
        while "waits:" not in said.read_text() and second.poll() is None:
            assert time.monotonic() < deadline, said.read_text()
            time.sleep(0.05)
        sandbox.faults(latency_ms=0)
        assert first.wait(60) == 0 and second.wait(60) == 0, said.read_text()
    ledger = [e for e in sandbox.ledger() if e["key"] in orders]
    assert [e["path"].rsplit("/", 1)[-1] for e in ledger] == ["confirm"] * 2 + ["invoiceUpdate"] * 2
    assert all(e["outcome"] == "applied" for e in ledger), ledger
    assert "waits: another konnect-etl process is sending an order file" in said.read_text()


def test_an_order_file_claimed_meanwhile_does_not_overtake_one_given_up_on(
    tmp_path: Path, sandbox: Any
) -> None:
    """Two processes: the first gives up on a confirm file (Konnect down) while the second,
    holding the invoice file for those orders, waits for its turn. Given the turn then, the
    invoices went out before the confirms and were refused (IN403). Now the second run stops
    with the invoice file in processing/, nothing of it sent, and the next run continues the
    confirm file first, though `invoice.csv` sorts before it."""
    sandbox.faults(catalogue="open")
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "konnect-etl.yaml").write_text("retries: 1\n")
    orders = [f"30{n:018d}" for n in (14, 16)]
    drop(inbox, "orders_confirm.csv", [["orderId", "orderItemId", "quantity"]]
         + [[o, f"{o}-1", "1"] for o in orders])  # fmt: skip
    sandbox.faults(error_rate=1.0)
    assert run(inbox, sandbox).exit_code == 2
    waiting = inbox / "processing" / "orders_confirm.csv"
    assert waiting.is_file()
    sandbox.faults(error_rate=0.0)
    drop(inbox, "invoice.csv", [["orderId", "invoiceNumber", "invoiceType"]]
         + [[o, f"INV-W{n}", "sale"] for n, o in enumerate(orders)])  # fmt: skip
    claimed = Inbox(inbox).claim(inbox / "invoice.csv")  # by the second run, before the give-up
    with konnect_job(inbox, sandbox) as job, pytest.raises(WaitsBehind) as stopped:
        process_claimed(Inbox(inbox), claimed, job)
    assert str(stopped.value).startswith(
        "invoice.csv: not sent; it waits in processing/ behind orders_confirm.csv, an order file "
        "begun earlier that stopped part-way and is to be continued first"
    )
    assert [e for e in sandbox.ledger() if e["outcome"] == "applied"] == []
    assert claimed.is_file() and waiting.is_file()

    assert run(inbox, sandbox).exit_code == 0
    ledger = [e for e in sandbox.ledger() if e["key"] in orders and e["outcome"] == "applied"]
    assert [e["path"].rsplit("/", 1)[-1] for e in ledger] == ["confirm"] * 2 + ["invoiceUpdate"] * 2
    assert {p.name for p in today(inbox).iterdir()} >= {"orders_confirm.csv", "invoice.csv"}


def _deleted_while_it_waited(inbox: Path, sandbox: Any, name: str, rows: list[list[str]]) -> None:
    """An order file that stopped part-way (Konnect down) and was then deleted from
    processing/ by hand: its journal attempt stays unfinished, under that name, for good."""
    drop(inbox, name, rows)
    sandbox.faults(error_rate=1.0)
    assert run(inbox, sandbox).exit_code == 2
    sandbox.faults(error_rate=0.0)
    (inbox / "processing" / name).unlink()


def test_a_stale_attempt_of_the_same_name_neither_lets_a_file_overtake_nor_stops_another(
    tmp_path: Path, sandbox: Any
) -> None:
    """Yesterday's invoice.csv and confirm.csv stopped part-way and were deleted by hand.
    Today's invoice.csv must still wait behind today's confirm file given up on (by name it
    passed for the earlier attempt), and today's confirm.csv, claimed by another process, must
    not stop an invoice file of other orders (by name it passed for one that stopped)."""
    sandbox.faults(catalogue="open")
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "konnect-etl.yaml").write_text("retries: 1\n")
    old = f"30{40:018d}"
    _deleted_while_it_waited(inbox, sandbox, "invoice.csv", [INVOICE, [old, "INV-OLD", "sale"]])
    orders = [f"30{n:018d}" for n in (14, 16)]
    drop(inbox, "orders_confirm.csv", [CONFIRM] + [[o, f"{o}-1", "1"] for o in orders])
    sandbox.faults(error_rate=1.0)
    assert run(inbox, sandbox).exit_code == 2
    sandbox.faults(error_rate=0.0)
    drop(inbox, "invoice.csv", [INVOICE] + [[o, f"INV-W{n}", "sale"] for n, o in enumerate(orders)])
    claimed = Inbox(inbox).claim(inbox / "invoice.csv")
    with konnect_job(inbox, sandbox) as job, pytest.raises(WaitsBehind):
        process_claimed(Inbox(inbox), claimed, job)
    assert run(inbox, sandbox).exit_code == 0  # confirms first, then the invoices
    ledger = [e for e in sandbox.ledger() if e["key"] in orders]
    assert [e["path"].rsplit("/", 1)[-1] for e in ledger] == ["confirm"] * 2 + ["invoiceUpdate"] * 2

    other = tmp_path / "other"
    other.mkdir()
    (other / "konnect-etl.yaml").write_text("retries: 1\n")
    _deleted_while_it_waited(other, sandbox, "confirm.csv", [CONFIRM, [old, f"{old}-1", "1"]])
    drop(other, "confirm.csv", [CONFIRM, [f"30{18:018d}", f"30{18:018d}-1", "1"]])
    taken = Inbox(other).claim(other / "confirm.csv")
    drop(other, "invoice.csv", [INVOICE, [f"30{20:018d}", "INV-Z1", "sale"]])
    with Inbox(other).lock(taken.name) as mine:  # another process has it, before its turn
        assert mine
        assert run(other, sandbox).exit_code != 2


def test_a_file_waiting_for_its_turn_counts_as_work_in_progress(
    tmp_path: Path, sandbox: Any
) -> None:
    """Another process sends an order file: this one's waits for its turn. The watcher must
    say it is working on it (`on_start`, its heartbeat), or `status` calls it dead."""
    inbox = tmp_path / "inbox"
    order = f"11{5:018d}"
    drop(inbox, "confirm.csv", [["orderId", "orderItemId", "quantity"], [order, f"{order}-1", "1"]])
    started: list[str] = []
    options = RunOptions(settle_seconds=0, on_start=started.append)
    with konnect_job(inbox, sandbox) as job:
        with waiting_lock(journal_path(inbox).parent, turns.ORDERS, "test holds the turn"):
            worker = threading.Thread(target=run_inbox, args=(inbox, job, options))
            worker.start()
            deadline = time.monotonic() + 30
            while not started and time.monotonic() < deadline:
                time.sleep(0.05)
            assert started == ["confirm.csv"] and worker.is_alive()  # started, and waiting
            assert sandbox.ledger() == []
        worker.join(60)
    assert sandbox.state()["orders"][order]["state"] == "bag_confirmed"
