"""A flaky Konnect: some requests of a file answered only 5xx through every retry, or orders
in doubt that cannot be looked up.

The file waits in processing/ (exit 2) and the next runs send what Konnect did not take (or
look the orders up again), for `retry_failed_minutes` from the first attempt; newer files
wait behind it. Against the real emulator, one request at a time (`concurrency: 1`), two
tries each (`retries: 1`): `error_rate` 0.6 with `fault_seed` 15 takes the first and last of
four requests and answers the middle two 5xx twice in a row.
"""

from __future__ import annotations

import os
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from runs import drop, oid, results, run

from etl.config import ConfigError, load_settings
from etl.holdover import not_taken
from etl.journal import ChunkResult
from etl.konnect import ENDPOINTS

ROWS = 2000  # four requests of 500


def flaky(sandbox: Any) -> None:
    sandbox.faults(catalogue="open", error_rate=0.6, fault_seed=15)


def stock_file(inbox: Path, name: str, quantity: int, mtime: float = 0) -> None:
    drop(inbox, name, [["location_id", "sku", "quantity"]]
         + [["DEL-WH-01", f"FLAKY-{i:04d}", str(quantity)] for i in range(ROWS)])  # fmt: skip
    if mtime:
        os.utime(inbox / name, (mtime, mtime))


def inbox_with(tmp_path: Path, config: str = "") -> Path:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "konnect-etl.yaml").write_text(f"retries: 1\nconcurrency: 1\n{config}")
    return inbox


def applied(sandbox: Any) -> int:
    return sum(e["outcome"] == "applied" for e in sandbox.ledger())


def test_requests_konnect_did_not_take_are_sent_by_the_next_run_before_newer_files(
    tmp_path: Path, sandbox: Any
) -> None:
    inbox = inbox_with(tmp_path)
    stock_file(inbox, "stock.csv", 5, mtime=1_700_000_000)
    stock_file(inbox, "stock-later.csv", 9, mtime=1_700_000_100)
    flaky(sandbox)
    held = run(inbox, sandbox)
    assert held.exit_code == 2, held.output
    assert (inbox / "processing" / "stock.csv").is_file() and not (inbox / "done").exists()
    assert "but not the other 2 (1,000 rows" in held.output, held.output
    assert "retry_failed_minutes: 30" in held.output
    assert (inbox / "stock-later.csv").is_file()  # the newer file was not sent before it
    taken = applied(sandbox)
    assert taken == 1000

    sandbox.faults(error_rate=0.0)
    assert run(inbox, sandbox).exit_code == 0
    assert applied(sandbox) == 2 * ROWS  # the two requests not taken, once; then the newer file
    stock = sandbox.state()["stock"]  # the newer file's quantities, the middle ones included
    assert {stock[f"DEL-WH-01|FLAKY-{i:04d}"] for i in range(ROWS)} == {9}
    rows = results(inbox, "stock")
    assert {r["status"] for r in rows.values()} == {"ok"} and len(rows) == ROWS


def test_after_retry_failed_minutes_the_rows_are_reported_failed(
    tmp_path: Path, sandbox: Any
) -> None:
    """A request that always breaks the server holds the inbox up for that long at most."""
    inbox = inbox_with(tmp_path)
    stock_file(inbox, "stock.csv", 5)
    flaky(sandbox)
    assert run(inbox, sandbox).exit_code == 2
    begun = datetime.now(UTC) - timedelta(minutes=31)
    with sqlite3.connect(inbox / ".konnect-etl" / "journal.sqlite3") as db:
        db.execute("UPDATE files SET started_at = ?", (begun.isoformat(),))
    # both requests fail twice again, while a look-up is answered: Konnect is there
    sandbox.faults(error_rate=0.6, fault_seed=32)
    done = run(inbox, sandbox)
    assert done.exit_code == 1, done.output
    rows = results(inbox, "stock")
    assert sum(r["status"] == "ok" for r in rows.values()) == 1000
    failed = [r["message"] for r in rows.values() if r["status"] != "ok"]
    assert len(failed) == 1000
    assert all("nothing was applied" in m or "may or may not" in m for m in failed)


def test_retry_failed_minutes_0_reports_them_failed_at_once(tmp_path: Path, sandbox: Any) -> None:
    inbox = inbox_with(tmp_path, "retry_failed_minutes: 0\n")
    stock_file(inbox, "stock.csv", 5)
    flaky(sandbox)
    assert run(inbox, sandbox).exit_code == 1
    rows = results(inbox, "stock")
    assert sum(r["status"] == "ok" for r in rows.values()) == 1000


def test_only_requests_konnect_never_answered_count_as_not_taken() -> None:
    every = dict.fromkeys(range(2), ("UNAVAILABLE", "Konnect answered HTTP 503"))
    assert not_taken(ChunkResult(0, "failed", None, every))
    assert not_taken(ChunkResult(0, "unknown", None, {}, [0, 1], "no answer"))
    refused = dict.fromkeys(range(2), ("X413", "too many records"))
    assert not not_taken(ChunkResult(0, "failed", None, refused))  # the same again: refused
    assert not not_taken(ChunkResult(0, "acknowledged", "ack-1", {}, [1], "counts differ"))


@pytest.mark.parametrize("value", [-1, "soon", True])
def test_retry_failed_minutes_must_be_minutes(tmp_path: Path, value: Any) -> None:
    (tmp_path / "konnect-etl.yaml").write_text(f"retry_failed_minutes: {value}\n")
    with pytest.raises(ConfigError, match="retry_failed_minutes"):
        load_settings(inbox=tmp_path, environ={})


def confirmed(sandbox: Any) -> list[str]:
    path = ENDPOINTS["confirm"].path
    return [e["key"] for e in sandbox.ledger() if e["path"] == path and e["outcome"] == "applied"]


def confirm_file(inbox: Path, orders: list[str]) -> None:
    drop(inbox, "confirm.csv", [["orderId", "orderItemId", "quantity"]]
         + [[o, f"{o}-1", "1"] for o in orders])  # fmt: skip


def test_an_order_request_refused_for_now_is_sent_by_the_next_run_and_no_other(
    tmp_path: Path, sandbox: Any
) -> None:
    """500/503 apply nothing: that request alone is sent again; each order confirmed once."""
    inbox = inbox_with(tmp_path)
    orders = [oid(30, n) for n in range(1, 120, 2)]  # one item each; three requests of 20
    confirm_file(inbox, orders)
    sandbox.faults(error_rate=0.5, fault_seed=29)  # taken, 503, 503, taken
    held = run(inbox, sandbox)
    assert held.exit_code == 2, held.output
    assert "but not the other 1 (20 rows" in held.output
    assert (inbox / "processing" / "confirm.csv").is_file()
    assert len(confirmed(sandbox)) == 40
    sandbox.faults(error_rate=0.0)
    assert run(inbox, sandbox).exit_code == 0
    assert sorted(confirmed(sandbox)) == sorted(orders)  # every order once
    assert {r["status"] for r in results(inbox, "confirm").values()} == {"ok"}


def test_an_order_whose_answer_and_look_ups_were_lost_is_settled_by_the_next_run(
    tmp_path: Path, sandbox: Any
) -> None:
    """Applied, but every answer lost, the look-ups' too: not `unknown` for a person to check
    in Konnect; the next run looks it up and finds it applied. Never sent twice."""
    inbox = inbox_with(tmp_path)
    confirm_file(inbox, [oid(11, 7)])
    sandbox.faults(drop_rate=1.0, fault_seed=1)
    held = run(inbox, sandbox)
    assert held.exit_code == 2 and "1 row in doubt" in held.output, held.output
    sandbox.faults(drop_rate=0.0)
    assert run(inbox, sandbox).exit_code == 0
    row = results(inbox, "confirm")["2"]
    assert row["status"] == "ok" and "already applied" in row["message"]
    assert confirmed(sandbox) == [oid(11, 7)]  # sent once, never blindly again
