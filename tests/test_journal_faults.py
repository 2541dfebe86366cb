"""A journal write that fails mid-upload (a full disk, a database locked too long) is a host
fault: the file waits in processing/ and the next run finishes it - never `failed/` as an
internal error with the rest of it unsent."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
from runs import drop, run

from etl.journal import Journal


def test_a_failed_journal_write_leaves_the_file_to_resume(
    tmp_path: Path, sandbox: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    sandbox.faults(catalogue="open")
    inbox = tmp_path / "inbox"
    rows = [["location_id", "sku", "quantity"]]
    rows += [["DEL-WH-01", f"J-{i:05d}", "3"] for i in range(2000)]  # 4 chunks
    drop(inbox, "stock.csv", rows)
    record = Journal.record_chunks

    def disk_full(*args: Any, **kwargs: Any) -> None:
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(Journal, "record_chunks", disk_full)
    stopped = run(inbox, sandbox)
    assert stopped.exit_code == 2
    assert "database or disk is full" in stopped.stderr
    assert (inbox / "processing" / "stock.csv").is_file()
    assert not (inbox / "failed").exists()
    monkeypatch.setattr(Journal, "record_chunks", record)  # space freed
    assert run(inbox, sandbox).exit_code == 0
    assert not (inbox / "processing" / "stock.csv").exists()
    stock = sandbox.state()["stock"]
    assert all(stock[f"DEL-WH-01|J-{i:05d}"] == 3 for i in range(2000))
