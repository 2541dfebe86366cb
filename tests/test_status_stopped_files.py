"""`konnect-etl status` and the files that wait on someone: a stock file the guards held
(waiting for `konnect-etl release`), and a file a killed run left half-sent in processing/.
Both stayed `OK` (exit 0) for as long as they waited; a review saw it with `status || mail`."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from datetime import date
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from runs import drop, run
from typer.testing import CliRunner

import etl
from etl import service
from etl.cli import app

TODAY = date.today().isoformat()
HEADER = ["location_id", "sku", "quantity"]
SKUS = ("TS-BLK-S", "TS-BLK-M", "TS-BLK-L", "TS-WHT-M", "JN-SLIM-32", "JN-SLIM-34")


def status(inbox: Path, *extra: str) -> tuple[int, str]:
    """`status INBOX` with its words on one line."""
    result = CliRunner().invoke(app, ["status", str(inbox), *extra])
    return result.exit_code, " ".join(result.output.split())


def status_json(inbox: Path) -> dict[str, Any]:
    result = CliRunner().invoke(app, ["status", str(inbox), "--json"])
    loaded: dict[str, Any] = json.loads(result.output)
    return loaded


def mostly_zero_stock(inbox: Path) -> None:
    """7 of 12 items to 0: held (`etl.guards`)."""
    quantities = [0] * 7 + [5] * 5
    pairs = [(loc, sku) for loc in ("DEL-WH-01", "MUM-ST-02") for sku in SKUS]
    rows = [[loc, sku, qty] for (loc, sku), qty in zip(pairs, quantities, strict=True)]
    drop(inbox, "stock.csv", [HEADER, *rows])


def test_a_held_file_is_a_problem_until_it_is_released(tmp_path: Path, sandbox: Any) -> None:
    mostly_zero_stock(tmp_path)
    assert run(tmp_path, sandbox).exit_code == 1  # held: the run says it once
    code, said = status(tmp_path)
    assert code == 1 and said.startswith("PROBLEM"), said
    assert "but 1 file held in held/, waiting for konnect-etl release (nothing of it is" in said
    assert re.search(rf"{TODAY}/stock\.csv \(held \d+ s ago, at ", said), said  # 0 s, or 1 loaded
    assert "this stock file would set 7 of its 12 items to 0" in said
    held = tmp_path / "held" / TODAY / "stock.csv"
    assert f'if it is right: konnect-etl release "{held.absolute()}"' in said
    loaded = status_json(tmp_path)
    entry = loaded["files_held"][f"{TODAY}/stock.csv"]
    assert loaded["alive"] is False and "would set 7 of its 12" in entry["reason"]
    assert entry["release"] == f'konnect-etl release "{held.absolute()}"' and entry["since"]

    assert CliRunner().invoke(app, ["release", str(held)]).exit_code == 0
    code, said = status(tmp_path)
    assert code == 0 and "held" not in said, said  # released: gone from held/
    assert status_json(tmp_path)["files_held"] == {}
    assert run(tmp_path, sandbox).exit_code == 0
    assert status(tmp_path)[0] == 0


def test_a_held_file_deleted_as_wrong_stops_showing_its_report_stays(
    tmp_path: Path, sandbox: Any
) -> None:
    mostly_zero_stock(tmp_path)
    assert run(tmp_path, sandbox).exit_code == 1
    assert status(tmp_path)[0] == 1
    (tmp_path / "held" / TODAY / "stock.csv").unlink()
    assert (tmp_path / "held" / TODAY / "stock.summary.json").is_file()
    assert status(tmp_path)[0] == 0


# A process working on processing/<name> as `run` does (`etl.runner._under_lock`): the file's
# lock held, its marker written (`etl.deaths`); it waits to be killed.
WORKER = """
import sys, time
from pathlib import Path
from etl import deaths
from etl.inbox import Inbox
inbox = Inbox(Path(sys.argv[1]))
with inbox.lock(sys.argv[2]) as mine, deaths.working_on(inbox, sys.argv[2], resuming=True):
    assert mine
    print("working", flush=True)
    time.sleep(120)
"""


def worker(inbox: Path, name: str) -> subprocess.Popen[str]:
    """A live process at work on `processing/<name>`, its attempt begun 10 minutes ago."""
    env = {**os.environ, "PYTHONPATH": str(Path(etl.__file__).parent.parent)}
    process = subprocess.Popen(
        [sys.executable, "-c", WORKER, str(inbox), name], stdout=subprocess.PIPE, text=True, env=env
    )
    assert process.stdout is not None and process.stdout.readline() == "working\n"
    (marker,) = (inbox / ".konnect-etl" / "working").iterdir()
    os.utime(marker, (time.time() - 600, time.time() - 600))
    return process


def kill(process: subprocess.Popen[str]) -> None:
    process.send_signal(signal.SIGKILL)
    process.wait(30)


def half_sent(inbox: Path, name: str) -> None:
    """`name` in processing/, as a run claimed it."""
    drop(inbox / "processing", name, [HEADER, ["DEL-WH-01", "TS-BLK-M", "4"]])


def test_a_file_a_killed_run_left_in_processing_is_a_problem_until_a_run_continues_it(
    tmp_path: Path, sandbox: Any
) -> None:
    drop(tmp_path, "first.csv", [HEADER, ["DEL-WH-01", "TS-BLK-S", "3"]])
    assert run(tmp_path, sandbox).exit_code == 0  # last-run.json: exit 0
    half_sent(tmp_path, "stock.csv")
    process = worker(tmp_path, "stock.csv")
    try:
        code, said = status(tmp_path)  # a live run at work on it, 10 minutes in: no problem
        assert code == 0 and "left in processing" not in said, said
    finally:
        kill(process)
    code, said = status(tmp_path)
    assert code == 1 and said.startswith("PROBLEM last run"), said
    assert "; but 1 file left in processing/: stock.csv (taken 10 min ago, at " in said
    assert "the run that took it stopped without finishing (killed? rebooted?" in said
    assert "the next run continues it" in said
    loaded = status_json(tmp_path)
    assert loaded["files_left_in_processing"]["stock.csv"]["seconds"] >= 600
    assert loaded["alive"] is False

    assert run(tmp_path, sandbox).exit_code == 0  # the next run continues it
    assert not (tmp_path / "processing" / "stock.csv").exists()
    assert status(tmp_path)[0] == 0


def test_a_run_killed_on_a_new_inbox_is_not_never_ran(tmp_path: Path) -> None:
    """Its first run was killed: no last-run.json. "Never ran" (exit 2) sent people to the
    crontab; the file left is what to look at."""
    half_sent(tmp_path, "stock.csv")
    kill(worker(tmp_path, "stock.csv"))
    code, said = status(tmp_path)
    assert code == 1, said
    assert said.startswith("PROBLEM no run has finished here yet; but 1 file left in processing/")
    assert list(status_json(tmp_path)["files_left_in_processing"]) == ["stock.csv"]


def not_left(inbox: Path) -> str:
    """`status` half an hour on, when the file waiting in processing/ is not left: its words
    (PROBLEM, exit 1: the last run's reason)."""
    assert (inbox / "processing" / "stock.csv").is_file()
    later = time.time() + 1800
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(service, "time", SimpleNamespace(time=lambda: later))
        code, said = status(inbox)
        assert status_json(inbox)["files_left_in_processing"] == {}
    assert code == 1 and "left in processing" not in said, said
    return said


def test_a_file_waiting_while_konnect_is_down_is_not_said_to_be_left(tmp_path: Path) -> None:
    """The run ended, exit 2, and its line says why and that the file waits; no process
    died on it."""
    (tmp_path / "konnect-etl.yaml").write_text("retries: 0\n")
    drop(tmp_path, "stock.csv", [HEADER, ["DEL-WH-01", "TS-BLK-M", "5"]])
    with socket.socket() as closed:  # a port nothing listens on
        closed.bind(("127.0.0.1", 0))
        down = SimpleNamespace(url=f"http://127.0.0.1:{closed.getsockname()[1]}", token="t")
        assert run(tmp_path, down).exit_code == 2
    assert "could not reach" in not_left(tmp_path)


def test_a_file_waiting_for_retry_failed_minutes_is_not_said_to_be_left(
    tmp_path: Path, sandbox: Any
) -> None:
    """Konnect took part of it (`etl.holdover`, as tests/test_holdover.py makes it): the
    file waits on purpose, and the last run's line says until when."""
    (tmp_path / "konnect-etl.yaml").write_text("retries: 1\nconcurrency: 1\n")
    rows = [["DEL-WH-01", f"FLAKY-{i:04d}", "5"] for i in range(2000)]
    drop(tmp_path, "stock.csv", [HEADER, *rows])
    sandbox.faults(catalogue="open", error_rate=0.6, fault_seed=15)
    assert run(tmp_path, sandbox).exit_code == 2
    assert "(retry_failed_minutes: 30) the next runs send them again" in not_left(tmp_path)
