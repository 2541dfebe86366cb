"""A cancel row an earlier file applied is not sent again (etl/repeats.py).

Demo seed (docs/sandbox.md): 11... and 30... placed; even-numbered orders have item -1 (1 piece) and
item -2 (2 pieces).
"""

from __future__ import annotations

import json
import subprocess
from datetime import date
from pathlib import Path
from typing import Any

from runs import drop, oid, results, run, run_process, start_and_wait_for_claim

from etl.cancelbook import AppliedRow
from etl.keystate import KeyState

HEADER = ["orderId", "orderItemId", "quantity", "reasonCode"]


def cancelled(sandbox: Any, order: str) -> dict[str, int]:
    items = sandbox.state()["orders"][order]["items"]
    return {i["orderItemId"].rsplit("-", 1)[1]: i["cancelledQuantity"] for i in items}


def summary(inbox: Path, stem: str) -> dict[str, Any]:
    path = inbox / "done" / date.today().isoformat() / f"{stem}.summary.json"
    loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return loaded


def first_file(inbox: Path) -> list[list[str]]:
    rows = [
        HEADER,
        [oid(11, 2), f"{oid(11, 2)}-2", "1", "6"],  # 1 of 2 pieces
        [oid(11, 4), f"{oid(11, 4)}-1", "1", "6"],  # the whole item (of 1 piece)
        [oid(11, 6), f"{oid(11, 6)}-1", "1", "5"],  # no such reason code
    ]
    drop(inbox, "cancel.csv", rows)
    return rows


def test_a_fixed_original_dropped_again_cancels_nothing_twice(tmp_path: Path, sandbox: Any) -> None:
    inbox = tmp_path / "inbox"
    rows = first_file(inbox)
    assert run(inbox, sandbox).exit_code == 1
    assert [r["status"] for r in results(inbox, "cancel").values()] == ["ok", "ok", "rejected"]
    rows[3][3] = "6"  # the user fixes the bad row in the original and drops all of it again
    drop(inbox, "cancel.csv", rows)
    assert run(inbox, sandbox).exit_code == 0
    again = results(inbox, "cancel-2")
    assert [r["status"] for r in again.values()] == ["ok", "ok", "ok"]
    assert again["2"]["message"].startswith("already applied from cancel.csv (row 2, ")
    assert "not sent again" in again["3"]["message"]
    assert again["4"]["message"] == ""  # the fixed row: sent
    assert cancelled(sandbox, oid(11, 2)) == {"1": 0, "2": 1}  # not 2 of 2
    assert cancelled(sandbox, oid(11, 4)) == {"1": 1, "2": 0}
    assert cancelled(sandbox, oid(11, 6)) == {"1": 1, "2": 0}
    assert sandbox.state()["orders"][oid(11, 2)]["state"] == "placed"
    # a cancel is in its own book, not the order-row book: a cancel sent again is one more
    # piece, never "the same record, applied" (etl.orderbook.FEEDS)
    with KeyState(inbox / ".konnect-etl") as state:
        assert state.orders.earlier("cancel", [oid(11, n) for n in (2, 4, 6)], None) == {}


def test_an_hourly_export_repeats_rows_and_another_reason_is_another_cancel(
    tmp_path: Path, sandbox: Any
) -> None:
    inbox = tmp_path / "inbox"
    item = [oid(11, 8), f"{oid(11, 8)}-2", "1"]
    drop(inbox, "cancel_0800.csv", [HEADER, [*item, "6"]])
    assert run(inbox, sandbox).exit_code == 0
    # the day's cancellations so far, every hour: the 08:00 row again, and a new one
    drop(
        inbox,
        "cancel_0900.csv",
        [HEADER, [*item, "6"], [oid(30, 2), f"{oid(30, 2)}-2", "1", "7"]],
    )
    quiet = run(inbox, sandbox, "-q")  # under cron: the one row not sent is still said
    assert quiet.exit_code == 0 and "cancel_0900.csv: 1 cancel row not sent" in quiet.stderr
    assert cancelled(sandbox, oid(11, 8)) == {"1": 0, "2": 1}
    assert cancelled(sandbox, oid(30, 2)) == {"1": 0, "2": 1}
    rows = results(inbox, "cancel_0900")
    assert "already applied from cancel_0800.csv (row 2" in rows["2"]["message"]
    assert rows["3"]["message"] == ""
    warnings = summary(inbox, "cancel_0900")["warnings"]
    assert warnings == [
        "1 cancel row not sent: an earlier file applied the same cancel (cancel_0800.csv)"
    ]
    drop(inbox, "cancel_damaged.csv", [HEADER, [*item, "9"]])  # the other piece, damaged
    assert run(inbox, sandbox).exit_code == 0
    assert cancelled(sandbox, oid(11, 8)) == {"1": 0, "2": 2}


def test_two_processes_never_send_one_cancel_twice(tmp_path: Path, sandbox: Any) -> None:
    """A cron `run` starts while another process is still sending a cancel file with the same
    row (Konnect is slow): it waits until that file is recorded, then does not send it."""
    sandbox.faults(latency_ms=3000)
    inbox = tmp_path / "inbox"
    row = [oid(30, 6), f"{oid(30, 6)}-2", "1", "6"]
    drop(inbox, "cancel_a.csv", [HEADER, row])
    first = start_and_wait_for_claim(inbox, sandbox, "cancel_a.csv")
    drop(inbox, "cancel_b.csv", [HEADER, row, [oid(30, 8), f"{oid(30, 8)}-1", "1", "6"]])
    command, env = run_process(inbox, sandbox)
    second = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    assert first.wait(60) == 0 and second.returncode == 0, second.stderr
    assert cancelled(sandbox, oid(30, 6)) == {"1": 0, "2": 1}  # not 2 of 2
    assert cancelled(sandbox, oid(30, 8)) == {"1": 1, "2": 0}
    assert "already applied from cancel_a.csv (row 2" in results(inbox, "cancel_b")["2"]["message"]


def test_the_guard_turned_off_sends_a_repeat(tmp_path: Path, sandbox: Any) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "konnect-etl.yaml").write_text("guards: {repeated_cancels: false}\n")
    row = [oid(11, 10), f"{oid(11, 10)}-2", "1", "6"]
    drop(inbox, "cancel_a.csv", [HEADER, row])
    drop(inbox, "cancel_b.csv", [HEADER, row, [oid(30, 4), f"{oid(30, 4)}-1", "1", "6"]])
    assert run(inbox, sandbox).exit_code == 0
    assert cancelled(sandbox, oid(11, 10)) == {"1": 0, "2": 2}


def test_what_a_resumed_file_counts_and_what_is_forgotten(tmp_path: Path) -> None:
    """A file resumed after a stop does not count what its own attempt recorded (its rows
    must be cut into the same chunks again), but does count every other file's, whenever
    recorded; entries older than 30 days go."""
    with KeyState(tmp_path) as state:
        state.cancels.record([("o|i|1|6", 2)], "a.csv", "2026-10-20T08:00:00.000+00:00")
        state.cancels.record(
            [("o|i|1|6", 5), ("o|j|1|6", 3)], "b.csv", "2026-11-27T08:00:00.000+00:00"
        )
        a, b = "2026-10-20T08:00:00.000+00:00", "2026-11-27T08:00:00.000+00:00"
        assert state.cancels.applied(["o|i|1|6", "o|j|1|6", "x"], None) == {
            "o|i|1|6": AppliedRow("b.csv", 5, b),  # a.csv's, 38 days older: forgotten
            "o|j|1|6": AppliedRow("b.csv", 3, b),
        }
        state.cancels.record([("o|j|1|6", 9)], "c.csv", b)
        assert state.cancels.applied(["o|j|1|6"], None)["o|j|1|6"].file == "b.csv"  # the first
        state.cancels.record([("o|k|1|6", 4)], "d.csv", b, attempt=f"7/{b}")
        assert state.cancels.applied(["o|k|1|6"], f"7/{b}") == {}  # its own
        others = state.cancels.applied(["o|j|1|6", "o|k|1|6"], f"7/{a}")  # a journal made anew
        assert others.keys() == {"o|j|1|6", "o|k|1|6"}
