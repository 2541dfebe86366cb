"""A leftover the process keeps dying on (killed for memory) does not block the inbox for
good: after three deaths in a row it goes to failed/ saying why, and the files behind it go
on. The marker a killed process leaves is what tests/test_crash.py shows a real SIGKILL
leaving; here it is written as three such kills would leave it."""

from __future__ import annotations

import hashlib
import json
import os
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from runs import drop, run

from etl import deaths
from etl.chunkresult import ChunkResult
from etl.filehash import content_hash
from etl.inbox import Inbox
from etl.journal import Journal
from etl.session import journal_path
from etl.stopping import StopRequest

TODAY = date.today().isoformat()
HEADER = ["location_id", "sku", "quantity"]


def killed_on(inbox: Path, name: str, times: int) -> Path:
    """`name` left in processing/ by `times` processes that died on it, one after the other."""
    (inbox / "processing").mkdir(parents=True)
    drop(inbox / "processing", name, [HEADER, ["DEL-WH-01", "TS-BLK-S", "3"]])
    working = inbox / ".konnect-etl" / "working"
    working.mkdir(parents=True)
    marker = working / hashlib.sha256(os.fsencode(name)).hexdigest()
    marker.write_text(str(times))
    return marker


@pytest.mark.parametrize("rows", [1, 60_000])
def test_a_file_the_process_died_on_three_times_is_set_aside(
    tmp_path: Path, sandbox: Any, rows: int
) -> None:
    """Set aside with advice that fits it: a file of 1 MB or more may be too big for the
    machine; a smaller one (a 5 KB workbook made to exhaust memory) is not, but damaged."""
    marker = killed_on(tmp_path, "big.csv", 3)
    drop(tmp_path / "processing", "big.csv", [HEADER, *[["DEL-WH-01", "TS-BLK-S", "3"]] * rows])
    drop(tmp_path, "small.csv", [HEADER, ["DEL-WH-01", "TS-BLK-M", "4"]])
    result = run(tmp_path, sandbox)
    assert result.exit_code == 1, result.output
    summary = json.loads((tmp_path / "failed" / TODAY / "big.summary.json").read_text())
    said = summary["file_errors"][0]
    assert said.startswith("konnect-etl stopped 3 times in a row while working on this file")
    if rows > 1:
        assert "lack of memory" in said and "split the file into smaller ones" in said
    else:
        assert " bytes it is not too big, so it may be damaged" in said
        assert "open it in Excel and save it again, or export it as CSV" in said
    assert (tmp_path / "failed" / TODAY / "big.csv").is_file()
    assert [e["record"]["sku"] for e in sandbox.ledger()] == ["TS-BLK-M"]  # the file behind
    assert not marker.exists()


@pytest.mark.parametrize("times", [1, 2])
def test_a_file_the_process_died_on_fewer_times_is_resumed(
    tmp_path: Path, sandbox: Any, times: int
) -> None:
    """A power cut, a reboot: the file is resumed as before, and its marker goes."""
    marker = killed_on(tmp_path, "big.csv", times)
    assert run(tmp_path, sandbox).exit_code == 0
    assert (tmp_path / "done" / TODAY / "big.csv").is_file() and not marker.exists()


def test_a_new_file_of_that_name_starts_its_count_afresh(tmp_path: Path, sandbox: Any) -> None:
    """The marker of a file cleared from processing/ by hand does not count against a new
    file of the same name taken from the inbox."""
    marker = killed_on(tmp_path, "big.csv", 3)
    (tmp_path / "processing" / "big.csv").unlink()
    drop(tmp_path, "big.csv", [HEADER, ["DEL-WH-01", "TS-BLK-M", "4"]])
    assert run(tmp_path, sandbox).exit_code == 0
    assert (tmp_path / "done" / TODAY / "big.csv").is_file() and not marker.exists()


def test_a_kill_after_a_stop_request_is_no_death(tmp_path: Path) -> None:
    """`systemctl stop` sends SIGTERM and, after TimeoutStopSec, SIGKILL: that kill is
    most often the stop asked for, so it counts half towards setting the file aside (three
    restarts in an outage sent a good order file to failed/); a memory watchdog that asks
    first still gets the file set aside, after six such kills."""
    marker = killed_on(tmp_path, "confirm.csv", 1)
    with deaths.working_on(Inbox(tmp_path), "confirm.csv", resuming=True) as before:
        assert before == deaths.Deaths(1, 0) and marker.read_text() == "2 0"  # if killed now
        StopRequest().request("SIGTERM")
        assert marker.read_text() == "1 1"  # a kill after the stop request counts half
    assert not marker.exists()
    # a memory watchdog that sends SIGTERM first (earlyoom): such kills still add up
    assert not deaths.Deaths(1, 3).too_many and deaths.Deaths(1, 4).too_many
    assert deaths.Deaths(0, 6).too_many and deaths.Deaths(3, 0).too_many


def test_a_file_set_aside_says_what_konnect_acknowledged_of_it(
    tmp_path: Path, sandbox: Any
) -> None:
    """Killed three times after Konnect had acknowledged part of it: the summary says so
    (`partial`, the acknowledged requests and their ids), not "nothing applied"."""
    killed_on(tmp_path, "confirm.csv", 3)
    claimed = tmp_path / "processing" / "confirm.csv"
    with Journal(journal_path(tmp_path)) as journal:
        file_id = journal.begin_file(
            content_hash(claimed), "confirm.csv", "confirm", "generic/confirm",
            size=claimed.stat().st_size,
        )  # fmt: skip
        for index in (0, 1):
            journal.record_chunk(file_id, ChunkResult(index, "acknowledged", f"ack-{index}"))
        journal.mark_inflight(file_id, 2)  # sent when the process was killed: no answer
    assert run(tmp_path, sandbox).exit_code == 1
    summary = json.loads((tmp_path / "failed" / TODAY / "confirm.summary.json").read_text())
    assert summary["outcome"] == "partial"
    assert summary["chunks"] == {"total": 2, "acknowledged": 2, "settled_by_lookup": 0}
    assert summary["ack_ids"] == ["ack-0", "ack-1"]
    said = summary["file_errors"][0]
    assert "Konnect acknowledged 2 requests of it before (their ack_ids are in" in said
    assert "1 request of it went without an answer: maybe applied" in said
