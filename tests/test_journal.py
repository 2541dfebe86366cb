"""The SQLite journal: crash resume, per-chunk results, and two processes on one inbox."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

from etl.chunkresult import ChunkResult
from etl.journal import Journal


def journal_at(tmp_path: Path) -> Journal:
    return Journal(tmp_path / ".konnect-etl" / "journal.sqlite3")


def test_an_unfinished_file_is_resumed_under_the_same_id(tmp_path: Path) -> None:
    with journal_at(tmp_path) as journal:
        first = journal.begin_file("sha-1", "stock.csv", "stock", "tally")
    with journal_at(tmp_path) as journal:  # a new process after a crash
        assert journal.begin_file("sha-1", "stock.csv", "stock", "tally") == first
        assert journal.begin_file("sha-1", "other.csv", "stock", "tally") != first


def test_a_finished_file_is_found_by_content_and_not_resumed(tmp_path: Path) -> None:
    with journal_at(tmp_path) as journal:
        first = journal.begin_file("sha-1", "stock.csv", "stock", "tally")
        journal.finish_file(first, "done", tmp_path / "stock.summary.json", row_count=12)
        [record] = journal.find_finished("sha-1")
        assert (record.id, record.state, record.row_count) == (first, "done", 12)
        assert record.summary_path is not None and record.finished_at is not None
        assert journal.begin_file("sha-1", "stock.csv", "stock", "tally") != first
        assert journal.find_finished("sha-other") == []


def test_chunk_results_round_trip_and_only_settled_ones_are_returned(tmp_path: Path) -> None:
    ok = ChunkResult(0, "acknowledged", "ack-1", {1: ("X404SKU", "unknown sku")}, [], "")
    refused = ChunkResult(1, "failed", None, {0: ("HTTP400", "bad")}, [], "bad")
    doubt = ChunkResult(2, "unknown", None, {}, [0, 1], "no answer")
    with journal_at(tmp_path) as journal:
        file_id = journal.begin_file("sha-1", "stock.csv", "stock", "tally")
        for result in (ok, refused, doubt):
            journal.mark_inflight(file_id, result.index)
            journal.record_chunk(file_id, result)
        journal.mark_inflight(file_id, 3)
        assert journal.chunk_results(file_id) == {0: ok, 1: refused}
        assert journal.chunk_results(file_id, ("unknown",)) == {2: doubt}
        assert journal.inflight(file_id) == {3: ""}
        journal.clear_inflight(file_id, 3)
        assert journal.inflight(file_id) == {}


def test_results_are_committed_at_once(tmp_path: Path) -> None:
    journal = journal_at(tmp_path)
    file_id = journal.begin_file("sha-1", "stock.csv", "stock", "tally")
    journal.record_chunk(file_id, ChunkResult(0, "acknowledged", "ack-1"))
    # read through a separate connection while the journal is still open (no close/flush)
    db = sqlite3.connect(journal.path)
    assert db.execute("SELECT state, ack_id FROM chunks").fetchall() == [("acknowledged", "ack-1")]
    assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    db.close()
    journal.close()


def test_a_batch_of_results_is_committed_together_and_replaces_marks(tmp_path: Path) -> None:
    batch = [ChunkResult(i, "acknowledged", f"ack-{i}") for i in range(3)]
    with journal_at(tmp_path) as journal:
        file_id = journal.begin_file("sha-1", "stock.csv", "stock", "tally")
        journal.mark_inflight(file_id, 1)
        journal.record_chunks(file_id, batch)
        db = sqlite3.connect(journal.path)  # another connection sees all three at once
        rows = db.execute("SELECT chunk_index, state FROM chunks ORDER BY chunk_index")
        assert rows.fetchall() == [(0, "acknowledged"), (1, "acknowledged"), (2, "acknowledged")]
        db.close()
        assert journal.inflight(file_id) == {}
        assert journal.chunk_results(file_id) == dict(enumerate(batch))


def test_two_journals_write_the_same_file_at_once(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite3"
    Journal(path).close()

    def worker(name: str) -> None:
        with Journal(path) as journal:
            file_id = journal.begin_file(name, f"{name}.csv", "stock", "tally")
            for i in range(20):
                journal.mark_inflight(file_id, i)
                journal.record_chunk(file_id, ChunkResult(i, "acknowledged", f"{name}-{i}"))

    threads = [threading.Thread(target=worker, args=(n,)) for n in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with Journal(path) as journal:
        for name in ("a", "b"):
            file_id = journal.begin_file(name, f"{name}.csv", "stock", "tally")
            assert len(journal.chunk_results(file_id)) == 20


def test_another_process_sees_and_shares_the_journal(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite3"
    script = (
        "import sys; from etl.journal import Journal; from etl.chunkresult import ChunkResult\n"
        "j = Journal(sys.argv[1]); f = j.begin_file('sha', 'x.csv', 'stock', 'm')\n"
        "[j.record_chunk(f, ChunkResult(i, 'acknowledged', str(i))) for i in range(30)]\n"
        "print(f)\n"
    )
    with Journal(path) as journal:
        child = subprocess.Popen([sys.executable, "-c", script, str(path)], stdout=subprocess.PIPE)
        mine = journal.begin_file("sha-mine", "y.csv", "stock", "m")
        for i in range(30):
            journal.record_chunk(mine, ChunkResult(i, "failed", None, {}, [], "no"))
        out, _ = child.communicate(timeout=30)
        assert child.returncode == 0
        theirs = int(out)
        assert len(journal.chunk_results(theirs)) == 30
        assert len(journal.chunk_results(mine)) == 30
