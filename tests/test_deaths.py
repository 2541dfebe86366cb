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


def test_a_file_the_process_died_on_three_times_is_set_aside(tmp_path: Path, sandbox: Any) -> None:
    marker = killed_on(tmp_path, "big.csv", 3)
    drop(tmp_path, "small.csv", [HEADER, ["DEL-WH-01", "TS-BLK-M", "4"]])
    result = run(tmp_path, sandbox)
    assert result.exit_code == 1, result.output
    summary = json.loads((tmp_path / "failed" / TODAY / "big.summary.json").read_text())
    said = summary["file_errors"][0]
    assert said.startswith("konnect-etl stopped 3 times in a row while working on this file")
    assert "lack of memory" in said and "split the file into smaller ones" in said
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
