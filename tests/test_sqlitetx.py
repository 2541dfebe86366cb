"""The one write-transaction helper the journal, protection state and pull state share."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from etl.sqlitetx import immediate


def _database(tmp_path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(tmp_path / "state.sqlite3", isolation_level=None)
    db.executescript(
        "PRAGMA foreign_keys = ON;"
        "CREATE TABLE parent (id INTEGER PRIMARY KEY);"
        "CREATE TABLE child (parent INTEGER REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED);"
    )
    return db


def test_a_commit_that_fails_rolls_back_and_the_next_transaction_works(tmp_path: Path) -> None:
    db = _database(tmp_path)
    with pytest.raises(sqlite3.IntegrityError), immediate(db):  # checked only at COMMIT
        db.execute("INSERT INTO child VALUES (1)")
    assert not db.in_transaction
    with immediate(db):
        db.execute("INSERT INTO parent VALUES (7)")
    assert db.execute("SELECT count(*) FROM child").fetchone() == (0,)
    assert db.execute("SELECT id FROM parent").fetchall() == [(7,)]


def test_an_error_inside_rolls_back_everything_written(tmp_path: Path) -> None:
    db = _database(tmp_path)
    with pytest.raises(RuntimeError), immediate(db):
        db.execute("INSERT INTO parent VALUES (1)")
        raise RuntimeError("disk went away")
    assert not db.in_transaction
    assert db.execute("SELECT count(*) FROM parent").fetchone() == (0,)
