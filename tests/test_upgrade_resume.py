"""A stock file left part-sent by a version that kept no digest of its request bodies (before
2026-11-27), resumed by this one: no acknowledged request can be matched to the rows it held,
so each is sent again (absolute values: the same stock again) - and the summary says so,
how many and why, instead of "what Konnect had acknowledged then was not sent again"."""

from __future__ import annotations

import json
import signal
import sqlite3
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from runs import run, start_and_wait_for_claim

ROWS, CHUNK = 6000, 500


def acknowledged(inbox: Path) -> list[int]:
    with sqlite3.connect(inbox / ".konnect-etl" / "journal.sqlite3", timeout=10) as db:
        rows = db.execute("SELECT chunk_index FROM chunks WHERE state = 'acknowledged'")
        found = sorted(int(r[0]) for r in rows)
    db.close()
    return found


def stop_part_way(inbox: Path, sandbox: Any) -> list[int]:
    """A `run` killed (SIGKILL) once Konnect acknowledged two requests; those chunks."""
    process = start_and_wait_for_claim(inbox, sandbox, "stock.csv")
    deadline = time.monotonic() + 60
    while len(acknowledged(inbox)) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait(30)
    done = acknowledged(inbox)
    assert 2 <= len(done) < ROWS // CHUNK, "the upload finished before the kill"
    return done


def as_an_older_version_recorded_it(inbox: Path) -> None:
    """The journal as a version before 2026-11-27 left it: results without a body digest."""
    with sqlite3.connect(inbox / ".konnect-etl" / "journal.sqlite3") as db:
        db.execute("UPDATE chunks SET result = json_remove(result, '$.digest')")
    db.close()


@pytest.mark.parametrize("older", [True, False], ids=["older-journal", "this-version"])
def test_a_resume_says_which_acknowledged_requests_it_sent_again(
    tmp_path: Path, sandbox: Any, older: bool
) -> None:
    sandbox.faults(catalogue="open", latency_ms=300)
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "konnect-etl.yaml").write_text("concurrency: 1\n", encoding="utf-8")
    lines = "".join(f"LOC-1,SKU-{i:05d},{i % 97}\n" for i in range(ROWS))
    (inbox / "stock.csv").write_text("location_id,sku,quantity\n" + lines, encoding="utf-8")
    done = stop_part_way(inbox, sandbox)
    if older:
        as_an_older_version_recorded_it(inbox)
    sandbox.faults(latency_ms=0)

    assert run(inbox, sandbox).exit_code == 0
    sent = Counter(entry["key"] for entry in sandbox.ledger())
    twice = {i // CHUNK for i in range(ROWS) if sent[f"LOC-1|SKU-{i:05d}"] > 1}
    assert (set(done) <= twice) is older  # the behaviour: an older journal's are sent again
    [summary] = inbox.glob("done/*/stock.summary.json")
    [note] = [w for w in json.loads(summary.read_text())["warnings"] if "resumed" in w]
    if older:
        assert f"; {len(done)} requests Konnect had acknowledged then were sent again" in note
        assert "(recorded by an older version, which kept no record of what each held)" in note
        assert "with the file's own values: they are absolute" in note
        assert "not sent again" not in note
    else:
        assert note.endswith("what Konnect had acknowledged then was not sent again")
    assert all(sent[f"LOC-1|SKU-{i:05d}"] >= 1 for i in range(ROWS))
