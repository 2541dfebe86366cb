"""A state database another program keeps locked (a backup or sync tool, an open sqlite3
shell, a konnect-etl on another machine): one line naming it, in the log too, nothing lost."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from etl import sqlitetx
from etl.cli import app
from etl.config import STATE_DIR
from etl.hostfaults import what_to_check

STOCK = "location_id,sku,quantity\nDEL-WH-01,SKU-1,4\nDEL-WH-01,SKU-2,5\n"


@contextmanager
def held(database: Path) -> Iterator[None]:
    """Another connection holding `database`'s write lock (reads still work: WAL)."""
    with closing(sqlite3.connect(database, isolation_level=None)) as other:
        other.execute("BEGIN IMMEDIATE")
        yield


def run(inbox: Path, sandbox: Any) -> Any:
    env = {"KONNECT_BASE_URL": sandbox.url, "KONNECT_TOKEN": sandbox.token}
    return CliRunner().invoke(app, ["run", str(inbox), "--settle", "0"], env=env)


def test_a_locked_journal_stops_the_run_naming_it_in_the_log_and_the_next_run_goes_on(
    tmp_path: Path, sandbox: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    sandbox.faults(catalogue="open")
    monkeypatch.setattr(sqlitetx, "BUSY_SECONDS", 0.5)
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    assert run(inbox, sandbox).exit_code == 0  # the state folder and journal exist
    database = inbox / STATE_DIR / "journal.sqlite3"
    (inbox / "stock.csv").write_text(STOCK)
    with held(database):
        stopped = run(inbox, sandbox)
    said = " ".join(stopped.output.split())
    assert stopped.exit_code == 2, said
    assert f"cannot work in {inbox}: database is locked ({database} stayed locked" in said
    assert "by another program for over 0.5 s: a konnect-etl on another machine" in said
    assert "a backup or sync tool" in said and "Nothing is lost" in said
    logged = (inbox / STATE_DIR / "logs" / "konnect-etl.log").read_text()
    assert "stopped (exit 2): cannot work in" in logged and "database is locked" in logged
    assert run(inbox, sandbox).exit_code == 0  # the lock gone: the file goes through
    assert list((inbox / "done").glob("*/stock.summary.json"))


def test_the_hint_names_only_the_database_that_is_locked(tmp_path: Path) -> None:
    state = tmp_path / STATE_DIR
    state.mkdir()
    for name in ("journal.sqlite3", "protection.sqlite3"):
        with closing(sqlite3.connect(state / name)) as db:
            db.execute("CREATE TABLE t (x)")
    busy = sqlite3.OperationalError("database is locked")
    busy.sqlite_errorcode = sqlite3.SQLITE_BUSY
    with held(state / "protection.sqlite3"):
        hint = what_to_check(tmp_path, busy)
    assert f"({state / 'protection.sqlite3'} stayed locked" in hint
    assert "journal.sqlite3" not in hint


def test_release_while_the_protection_database_is_locked_names_the_file_not_the_cwd(
    tmp_path: Path, sandbox: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlitetx, "BUSY_SECONDS", 0.5)
    sandbox.faults(catalogue="open")
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    zeros = "".join(f"DEL-WH-01,SKU-{i},0\n" for i in range(12))  # held: all zero
    (inbox / "stock.csv").write_text("location_id,sku,quantity\n" + zeros)
    assert run(inbox, sandbox).exit_code == 1  # held: a file to look at
    [held_file] = (inbox / "held").glob("*/stock.csv")
    database = inbox / STATE_DIR / "protection.sqlite3"
    monkeypatch.chdir(tmp_path)
    with held(database):
        stopped = CliRunner().invoke(app, ["release", str(held_file)])
    said = " ".join(stopped.output.split())
    assert stopped.exit_code == 2, said
    assert f"cannot release {held_file}: database is locked ({database} stayed locked" in said
    assert "it stays where it is" in said and f"cannot work in {tmp_path}" not in said
    assert held_file.is_file() and not (inbox / "stock.csv").exists()
