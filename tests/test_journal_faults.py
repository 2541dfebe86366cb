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


def test_a_damaged_journal_is_named_with_what_moving_it_aside_costs(
    tmp_path: Path, sandbox: Any
) -> None:
    """A share gone during a write can leave journal.sqlite3 damaged: every run stops (exit
    2), and the line says which database, how to go on, and what that costs."""
    drop(tmp_path, "a.csv", [["location_id", "sku", "quantity"], ["DEL-WH-01", "TS-BLK-M", "4"]])
    assert run(tmp_path, sandbox).exit_code == 0
    journal = tmp_path / ".konnect-etl" / "journal.sqlite3"
    data = journal.read_bytes()
    journal.write_bytes(data[:4096] + b"\x55" * (len(data) - 4096))  # every page after the first
    drop(tmp_path, "b.csv", [["location_id", "sku", "quantity"], ["DEL-WH-01", "TS-BLK-M", "5"]])
    stopped = run(tmp_path, sandbox)
    assert stopped.exit_code == 2
    said = " ".join(stopped.output.split())
    assert f"{journal} is damaged" in said and "protection.sqlite3 is damaged" not in said
    assert "Move it aside (with its -wal and -shm files) and the next run starts a new one" in said
    assert "check its orders in Konnect first" in said
