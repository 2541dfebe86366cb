"""A file claimed from the inbox stays its claimer's: its lock is held from the rename into
processing/ to the end of the work on it.

Let go in between, another process resuming leftovers (every `run` start, every `watch`
scan) took the file for one a crash left: processed with that process's options, "resuming"
a crash that never happened, while the claiming run said "No files were ready". A run that
leaves a file to another live process says so, in the log and in its closing lines.
"""

from __future__ import annotations

import logging
import subprocess
import threading
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from runs import drop, run, run_process

from etl import runner
from etl.config import Settings
from etl.inbox import Inbox, trigger_path
from etl.job import Job
from etl.journal import Journal
from etl.runner import RunOptions, RunResult, resume_leftovers, run_inbox, take_files
from etl.session import all_mappings, client_settings, journal_path

HEADER = ["location_id", "sku", "quantity"]
ROWS = [HEADER, ["DEL-WH-01", "TS-BLK-S", 4]]


def konnect_job(inbox: Path, sandbox: Any, journal: Journal) -> Job:
    client = client_settings(Settings(), base_url=sandbox.url, token=sandbox.token)
    return Job(all_mappings(Settings()), client, journal)


def test_a_run_resuming_leftovers_leaves_a_file_another_run_has_just_claimed(
    tmp_path: Path, sandbox: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run (trigger files) claims stock_a.csv; just then, as it removes the trigger file,
    a second `konnect-etl run` process starts and resumes leftovers. It leaves stock_a.csv
    to the run that claimed it, and says so instead of "No files were ready"."""
    inbox = tmp_path / "inbox"
    drop(inbox, "stock_a.csv", ROWS)
    trigger_path(inbox / "stock_a.csv", ".done").touch()
    second: list[subprocess.CompletedProcess[str]] = []

    def second_run_starts(path: Path, suffix: str) -> Path:
        command, env = run_process(inbox, sandbox)
        second.append(subprocess.run(command, env=env, capture_output=True, text=True, timeout=120))
        return trigger_path(path, suffix)

    monkeypatch.setattr(runner, "trigger_path", second_run_starts)
    options = RunOptions(settle_seconds=0, trigger_suffix=".done", max_wait=0)
    with Journal(journal_path(inbox)) as journal:
        result = run_inbox(inbox, konnect_job(inbox, sandbox, journal), options)

    assert [(f.summary["received_as"], f.outcome) for f in result.files] == [
        ("stock_a.csv", "uploaded")
    ]
    (other,) = second
    assert other.returncode == 0, other.stderr
    assert "stock_a.csv is being worked on by another konnect-etl process; left to it" in (
        other.stderr
    )
    assert "resuming" not in other.stderr
    said = " ".join(other.stdout.split())
    assert "No files were ready" not in said
    assert "Left to another konnect-etl process (it is working on them): stock_a.csv" in said
    assert len(sandbox.ledger()) == 1  # sent once, by the run that claimed it


def test_a_lock_taken_for_a_moment_does_not_make_a_run_skip_a_leftover(
    tmp_path: Path, sandbox: Any
) -> None:
    """`konnect-etl status` takes a leftover's lock for a moment to see whether a live
    process works on it (`etl.leftlook`); a run resuming the file just then waits that
    moment out rather than leaving the file to nobody."""
    inbox = tmp_path
    drop(inbox / "processing", "stock.csv", ROWS)
    result = RunResult()
    with Journal(journal_path(inbox)) as journal, ExitStack() as probe:
        job = konnect_job(inbox, sandbox, journal)
        assert probe.enter_context(Inbox(inbox).lock("stock.csv"))
        threading.Timer(0.1, probe.close).start()
        resume_leftovers(Inbox(inbox), job, RunOptions(settle_seconds=0), result)
    assert [f.outcome for f in result.files] == ["uploaded"] and not result.busy


def test_a_leftover_another_process_works_on_is_left_to_it_said_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """`watch` looks at processing/ at every scan: the file another process works on is
    named in its result each time, in the log once."""
    inbox = tmp_path
    drop(inbox / "processing", "stock.csv", ROWS)
    caplog.set_level(logging.INFO, "etl.runner")
    results = [RunResult(), RunResult()]
    with ExitStack() as other:
        assert other.enter_context(Inbox(inbox).lock("stock.csv"))
        for result in results:
            resume_leftovers(Inbox(inbox), Job(all_mappings(Settings())), RunOptions(), result)
    assert [r.busy for r in results] == [["stock.csv"], ["stock.csv"]]
    said = [r.getMessage() for r in caplog.records]
    assert said == ["stock.csv is being worked on by another konnect-etl process; left to it"]


def test_a_file_another_process_claimed_first_is_named_not_passed_over(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Two processes found stock.csv ready; the other one moved it into processing/ first."""
    inbox = tmp_path / "inbox"
    drop(inbox, "stock.csv", ROWS)
    ready = [inbox / "stock.csv"]
    assert Inbox(inbox).claim(inbox / "stock.csv") == inbox / "processing" / "stock.csv"
    caplog.set_level(logging.INFO, "etl.runner")
    result = RunResult()
    take_files(Inbox(inbox), ready, Job(all_mappings(Settings())), RunOptions(settle_seconds=0),
               result)  # fmt: skip
    assert result.busy == ["stock.csv"] and not result.files
    assert "stock.csv was taken by another konnect-etl process first" in caplog.text


def test_the_closing_lines_name_a_file_left_to_another_process(
    tmp_path: Path, sandbox: Any
) -> None:
    """`run` while another process works on a leftover: not "No files were ready"; exit 0
    (nothing of this run failed)."""
    drop(tmp_path / "processing", "stock.csv", ROWS)
    with ExitStack() as other:
        assert other.enter_context(Inbox(tmp_path).lock("stock.csv"))
        said = run(tmp_path, sandbox)
    assert said.exit_code == 0
    assert "No files were ready" not in said.output
    assert "Left to another konnect-etl process" in said.output
