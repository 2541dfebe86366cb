"""`--sandbox` never counts for live runs, and never works in a folder live runs use
(etl/session.py `journal_path`, `check_sandbox_folder`).

A trial against the built-in emulator used to share the inbox's journal and protection
records: an e-mailed sample tried with `run --sandbox` made the day's real export (older by
its time) "superseded by a newer export" that only the emulator ever got, and order files
tried so were set aside as already sent.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from runs import run
from test_out_of_order import aged, sent, write
from typer.testing import CliRunner

from etl.cli import app


def sandbox_run(inbox: Path) -> Any:
    return CliRunner().invoke(app, ["run", str(inbox), "--sandbox", "--settle", "0"])


def test_a_sandbox_trial_does_not_count_for_the_live_runs(tmp_path: Path, sandbox: Any) -> None:
    """A sample tried with --sandbox in a new inbox, then the day's export (two hours older
    than the sample) sent live: every row reaches Konnect."""
    write(tmp_path / "stock_sample.csv", ["DEL-WH-01,TS-BLK-S,4", "DEL-WH-01,TS-BLK-M,4"])
    tried = sandbox_run(tmp_path)
    assert tried.exit_code == 0, tried.output
    today = ["DEL-WH-01,TS-BLK-S,9", "DEL-WH-01,TS-BLK-M,7"]
    aged(write(tmp_path / "stock_today.csv", today), 7200)
    live = run(tmp_path, sandbox)
    assert live.exit_code == 0, live.output
    assert sent(sandbox, "DEL-WH-01|TS-BLK-S") == [9] and sent(sandbox, "DEL-WH-01|TS-BLK-M") == [7]
    assert (tmp_path / ".konnect-etl" / "sandbox" / "protection.sqlite3").is_file()


def test_sandbox_is_refused_in_an_inbox_live_runs_use(tmp_path: Path, sandbox: Any) -> None:
    write(tmp_path / "stock_a.csv", ["DEL-WH-01,TS-BLK-S,4"])
    assert run(tmp_path, sandbox).exit_code == 0
    waiting = write(tmp_path / "stock_b.csv", ["DEL-WH-01,TS-BLK-S,5"])
    tried = sandbox_run(tmp_path)
    assert tried.exit_code == 2
    assert "is an inbox live runs use" in tried.output and "test folder" in tried.output
    assert waiting.is_file()  # left for the live run
    assert sent(sandbox, "DEL-WH-01|TS-BLK-S") == [4]


@pytest.mark.timeout(60)
def test_watch_sandbox_is_refused_in_an_inbox_live_runs_use(tmp_path: Path, sandbox: Any) -> None:
    write(tmp_path / "stock_a.csv", ["DEL-WH-01,TS-BLK-S,4"])
    assert run(tmp_path, sandbox).exit_code == 0
    watched = CliRunner().invoke(app, ["watch", str(tmp_path), "--sandbox", "--poll", "1"])
    assert watched.exit_code == 2 and "is an inbox live runs use" in watched.output


def test_a_sandbox_pull_is_refused_into_an_outbox_live_pulls_write_in(
    tmp_path: Path, sandbox: Any
) -> None:
    out = tmp_path / "erp-import"
    env = {"KONNECT_TOKEN": sandbox.token, "KONNECT_BASE_URL": sandbox.url}
    pull = ["orders", "pull", "--status", "CREATED", "--out", str(out)]
    assert CliRunner().invoke(app, pull, env=env).exit_code == 0
    sheets = sorted(p.name for p in out.iterdir() if p.is_file())
    tried = CliRunner().invoke(app, [*pull, "--sandbox"])
    assert tried.exit_code == 2 and "an outbox live pulls write in" in tried.output
    assert sorted(p.name for p in out.iterdir() if p.is_file()) == sheets


def test_a_sandbox_pull_can_be_repeated_in_the_folder_it_made(tmp_path: Path) -> None:
    """Only the sandbox's own journal is there: a second trial (and --again) is no live
    outbox's pull."""
    out = tmp_path / "erp-try"
    pull = ["orders", "pull", "--status", "CREATED", "--out", str(out), "--sandbox"]
    for args in (pull, pull, [*pull, "--again", "--from", "2026-01-01"]):
        done = CliRunner().invoke(app, args)
        assert done.exit_code == 0, done.output
    assert not (out / ".konnect-etl" / "journal.sqlite3").exists()


def test_a_file_a_sandbox_run_held_is_released_for_the_next_sandbox_run(tmp_path: Path) -> None:
    """The hold was decided from the sandbox's records: `release` writes there too."""
    zeros = [f"DEL-WH-01,TS-{n},{0 if n < 8 else 5}" for n in range(12)]
    write(tmp_path / "stock.csv", zeros)
    assert sandbox_run(tmp_path).exit_code == 1
    [held] = (tmp_path / "held").glob("*/stock.csv")
    assert CliRunner().invoke(app, ["release", str(held)]).exit_code == 0
    sandbox_run(tmp_path)  # sent (the emulator's catalogue knows none of these SKUs)
    assert list((tmp_path / "done").glob("*/stock.summary.json"))
    assert not list((tmp_path / "held").glob("*/stock-2.csv"))


def test_a_folder_a_sandbox_pull_wrote_in_is_an_outbox_to_run(tmp_path: Path) -> None:
    """Its journal is the sandbox's: `run` there is refused as before (the sheets are the
    ERP's, as far as run can tell)."""
    out = tmp_path / "erp-import"
    pull = ["orders", "pull", "--status", "CREATED", "--out", str(out), "--sandbox"]
    assert CliRunner().invoke(app, pull).exit_code == 0
    refused = CliRunner().invoke(app, ["run", str(out), "--sandbox"])
    assert refused.exit_code == 2 and "is an outbox of konnect-etl orders pull" in refused.output
