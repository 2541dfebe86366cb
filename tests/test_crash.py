"""A `watch` process killed with SIGKILL in the middle of an upload, then started again.

The emulator's ledger is the witness: every stock key ends with the file's value and the
chunks acknowledged before the kill are not sent again; every pack is applied exactly once.
"""

from __future__ import annotations

import json
import signal
import sqlite3
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from watchproc import done_dir, start_watch, stop, wait_for

from etl.sandbox import SandboxSettings, serve_in_thread

ROWS = 50_000
CHUNK = 500
ORDERS = [str(50000000000000000001 + n).zfill(20) for n in range(200)]


def journal_chunks(inbox: Path, state: str) -> list[int]:
    path = inbox / ".konnect-etl" / "journal.sqlite3"
    if not path.is_file():
        return []
    try:
        with sqlite3.connect(path, timeout=10) as db:
            rows = db.execute(
                "SELECT chunk_index FROM chunks WHERE state = ? ORDER BY chunk_index", (state,)
            ).fetchall()
    except sqlite3.OperationalError:  # the watcher has not created the tables yet
        return []
    return [int(r[0]) for r in rows]


def kill_mid_upload(inbox: Path, sandbox: Any, least: int, most: int) -> list[int]:
    """Start a watcher, SIGKILL it once `least` chunks are acknowledged; those chunks."""
    process = start_watch(inbox, sandbox, settle=0)
    try:
        wait_for(lambda: len(journal_chunks(inbox, "acknowledged")) >= least, 60, "some acks")
        process.send_signal(signal.SIGKILL)
        process.wait(30)
    finally:
        stop(process)
    acknowledged = journal_chunks(inbox, "acknowledged")
    assert len(acknowledged) < most, "the upload finished before the kill: raise the latency"
    return acknowledged


def restart_until_done(inbox: Path, sandbox: Any, stem: str) -> dict[str, Any]:
    process = start_watch(inbox, sandbox, settle=0)
    try:
        summary = done_dir(inbox) / f"{stem}.summary.json"
        wait_for(summary.is_file, 90, f"{stem} in done/ after the restart")
    finally:
        assert stop(process) == 0
    loaded: dict[str, Any] = json.loads(summary.read_text())
    return loaded


def test_a_stock_upload_killed_midway_resumes_without_resending_acknowledged_chunks(
    tmp_path: Path, sandbox: Any
) -> None:
    sandbox.faults(catalogue="open", latency_ms=250)
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    lines = [f"LOC-{i % 7},SKU-{i:06d},{i % 97}\n" for i in range(ROWS)]
    (inbox / "stock.csv").write_text("location_id,sku,quantity\n" + "".join(lines))

    acknowledged = kill_mid_upload(inbox, sandbox, least=8, most=ROWS // CHUNK)
    assert (inbox / "processing" / "stock.csv").is_file()
    assert not done_dir(inbox).exists()  # no half report
    (marker,) = (inbox / ".konnect-etl" / "working").iterdir()  # etl.deaths: one death so far
    assert marker.read_text() == "1 0"  # one death, none after a stop request
    sandbox.faults(latency_ms=0)
    summary = restart_until_done(inbox, sandbox, "stock")

    assert summary["rows"] == {"total": ROWS, "ok": ROWS, "rejected": 0, "failed": 0,
                               "unknown": 0}  # fmt: skip
    assert summary["chunks"] == {
        "total": ROWS // CHUNK,
        "acknowledged": ROWS // CHUNK,
        "settled_by_lookup": 0,
    }
    stock = sandbox.state()["stock"]
    assert all(stock[f"LOC-{i % 7}|SKU-{i:06d}"] == i % 97 for i in range(ROWS))
    sent = Counter(entry["key"] for entry in sandbox.ledger())
    assert len(sent) == ROWS
    for chunk in acknowledged:  # acknowledged before the kill: never sent again
        rows = range(chunk * CHUNK, (chunk + 1) * CHUNK)
        assert all(sent[f"LOC-{i % 7}|SKU-{i:06d}"] == 1 for i in rows), chunk
    assert sum(sent.values()) - ROWS <= 4 * CHUNK  # only the chunks in flight were resent
    assert not (inbox / "processing" / "stock.csv").exists() and not marker.exists()


@pytest.fixture
def orders_sandbox(tmp_path: Path) -> Iterator[Any]:
    """200 self-ship orders waiting to be packed (dp_assigned) at one location."""
    seed = tmp_path / "seed.json"
    seed.write_text(json.dumps({
        "locations": ["DEL-WH-01"], "skus": ["TS-BLK-S"],
        "stock": {"DEL-WH-01|TS-BLK-S": 1000},
        "prices": {"DEL-WH-01|TS-BLK-S": {"mrp": 799, "esp": 599, "currency": "INR"}},
        "order_blocks": [{"first_id": ORDERS[0], "count": 200, "state": "dp_assigned",
                          "is_self_ship": True, "start": "2026-02-01T09:00:00+05:30"}],
    }))  # fmt: skip
    with serve_in_thread(SandboxSettings(port=0, seed=seed, latency_ms=700)) as running:
        yield running


def test_a_pack_file_killed_midway_packs_every_order_exactly_once(
    tmp_path: Path, orders_sandbox: Any
) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "pack.csv").write_text("orderId\n" + "".join(f"{o}\n" for o in ORDERS))

    kill_mid_upload(inbox, orders_sandbox, least=1, most=len(ORDERS) // 20)
    orders_sandbox.faults(latency_ms=0)
    summary = restart_until_done(inbox, orders_sandbox, "pack")

    assert summary["rows"]["ok"] == 200, summary
    applied = Counter(
        e["key"] for e in orders_sandbox.ledger() if e["outcome"] == "applied" and
        e["path"].endswith("/pack")
    )  # fmt: skip
    assert applied == Counter(dict.fromkeys(ORDERS, 1))
    states = orders_sandbox.state()["orders"]
    assert {states[o]["state"] for o in ORDERS} == {"bag_packed"}
