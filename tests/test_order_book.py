"""What a look-up finds is told by the order rows earlier files of the inbox applied
(etl/orderbook.py): a partial return's second QC, which Konnect refuses (one QC per order),
is not `ok`; a re-export whose answers were lost does not claim the earlier file's rows as
applied now. Against the real emulator on loopback; the book is the inbox's protection
database.

Seed orders 20000000000000000001-010 are return_bag_accepted: ready for a credit note.
"""

from __future__ import annotations

import csv
import json
import subprocess
from datetime import date
from pathlib import Path
from typing import Any

from runs import drop, oid, results, run, run_process, upload_one

from etl.keystate import KeyState
from etl.wording import local_time

LOCATION = "DEL-WH-01"
QC = ["orderId", "orderItemId", "quantity", "reasonCode"]
PARTIAL = "33000000000000000002"  # items -1 (1 piece) and -2 (2 pieces), returned


def returned(sandbox: Any, order_id: str, *pieces: int) -> str:
    """Order `order_id`, return_bag_delivered, with items of `pieces` each."""
    items = [{"sku": "TS-BLK-S", "quantity": n} for n in pieces]
    spec = {"orderId": order_id, "state": "return_bag_delivered", "location": LOCATION}
    [added] = sandbox.add_orders(orders=[{**spec, "items": items, "is_self_ship": False}])
    return str(added)


def summary(inbox: Path, stem: str) -> dict[str, Any]:
    path = inbox / "done" / date.today().isoformat() / f"{stem}.summary.json"
    loaded: dict[str, Any] = json.loads(path.read_text())
    return loaded


def applied(sandbox: Any, path: str) -> list[str]:
    """The orders Konnect applied an action at `path` to, in the order it did."""
    ledger = sandbox.ledger()
    return [e["key"] for e in ledger if e["path"].endswith(path) and e["outcome"] == "applied"]


def when(inbox: Path, feed: str, order_id: str) -> str:
    """The local time the book has for the first record of `order_id` it holds."""
    with KeyState(inbox / ".konnect-etl") as state:
        return local_time(state.orders.earlier(feed, [order_id], None)[order_id][0].applied_at)


def qc_day2_and_day3(inbox: Path, sandbox: Any, day2: Any = run) -> dict[str, Any]:
    """Day 2 QCs item -1 of the partial return, day 3 item -2: day 3's result rows."""
    returned(sandbox, PARTIAL, 1, 2)
    drop(inbox, "return_qc_day2.csv", [QC, [PARTIAL, f"{PARTIAL}-1", "1", ""]])
    assert day2(inbox, sandbox) == 0
    drop(inbox, "return_qc_day3.csv", [QC, [PARTIAL, f"{PARTIAL}-2", "2", ""]])
    done = run(inbox, sandbox)
    assert done.exit_code == 1, done.output
    return results(inbox, "return_qc_day3")


def second_item_refused(inbox: Path) -> str:
    return (
        "X409 - the order is not in a state that allows this action: not applied: Konnect took"
        f" this order's return QC from return_qc_day2.csv (row 2,"
        f" {when(inbox, 'return_qc', PARTIAL)}), which named item {PARTIAL}-1 (1 piece) only;"
        f" Konnect takes one return QC per order, so item {PARTIAL}-2 cannot be added from a"
        " file: record it in Konnect"
    )


def in_process(inbox: Path, sandbox: Any) -> int:
    return int(run(inbox, sandbox).exit_code)


def as_a_process(inbox: Path, sandbox: Any) -> int:
    command, env = run_process(inbox, sandbox)
    return subprocess.run(command, env=env, capture_output=True, check=False).returncode


def test_a_partial_returns_second_item_is_not_applied_and_names_the_first_qc(
    tmp_path: Path, sandbox: Any
) -> None:
    """Konnect refuses day 3's QC (X409: the return is accepted): it shows no reason for item
    -2, as for an item in good condition - but day 2's file named item -1 only."""
    row = qc_day2_and_day3(tmp_path, sandbox, in_process)["2"]
    assert row["status"] == "failed"
    assert row["message"] == second_item_refused(tmp_path)
    assert summary(tmp_path, "return_qc_day3")["already_applied"] == 0
    assert applied(sandbox, "/return") == [PARTIAL]  # day 2's only
    items = sandbox.state()["orders"][PARTIAL]["items"]
    assert [i["returnReasonCode"] for i in items] == [None, None]


def test_the_book_outlives_the_process_that_wrote_it(tmp_path: Path, sandbox: Any) -> None:
    """Day 2's file sent by a `run` process that has ended: the book is on disk."""
    row = qc_day2_and_day3(tmp_path, sandbox, as_a_process)["2"]
    assert row["status"] == "failed" and row["message"] == second_item_refused(tmp_path)


def test_a_qc_the_book_does_not_know_keeps_konnects_refusal(tmp_path: Path, sandbox: Any) -> None:
    """Item -1's QC taken outside this inbox: which items Konnect's QC named cannot be told,
    so the refusal of item -2 stays a refusal, saying so - never `ok`."""
    returned(sandbox, PARTIAL, 1, 2)
    qc = {"orderId": PARTIAL, "orderItems": [{"orderItemId": f"{PARTIAL}-1", "quantity": 1}]}
    assert upload_one(sandbox, "return_qc", [qc]).state == "acknowledged"
    drop(tmp_path, "return_qc_day3.csv", [QC, [PARTIAL, f"{PARTIAL}-2", "2", ""]])
    assert run(tmp_path, sandbox).exit_code == 1
    row = results(tmp_path, "return_qc_day3")["2"]
    assert row["status"] == "failed"
    assert row["message"].startswith("X409 - the order is not in a state that allows this action")
    assert row["message"].endswith(
        f"; Konnect's order view cannot tell whether item {PARTIAL}-2 was in the return QC it"
        " took (it shows no reason, as for an item in good condition): check the order in"
        " Konnect"
    )


def sending_repeats(inbox: Path) -> None:
    """`guards: {repeated_orders: false}`: records an earlier file applied are sent again
    (by default they are not, tests/test_order_reexport.py), and the look-ups judge them - as
    they do a record another process applied after this file's book was read."""
    inbox.mkdir(exist_ok=True)
    (inbox / "konnect-etl.yaml").write_text("guards: {repeated_orders: false}\n")


def test_a_qc_file_dropped_again_is_already_applied_by_the_first(
    tmp_path: Path, sandbox: Any
) -> None:
    """Day 2's whole QC (both items, good condition) dropped again, re-saved (other bytes,
    same rows), sent again: Konnect refuses the replay; the book names the file that applied
    it."""
    sending_repeats(tmp_path)
    returned(sandbox, PARTIAL, 1, 2)
    rows = [QC, [PARTIAL, f"{PARTIAL}-1", "1", ""], [PARTIAL, f"{PARTIAL}-2", "2", ""]]
    drop(tmp_path, "return_qc_day2.csv", rows)
    assert run(tmp_path, sandbox).exit_code == 0
    with (tmp_path / "return_qc_day2 again.csv").open("w", newline="") as handle:
        csv.writer(handle, quoting=csv.QUOTE_ALL).writerows(rows)
    done = run(tmp_path, sandbox)
    assert done.exit_code == 0, done.output
    found = results(tmp_path, "return_qc_day2 again")
    assert {found[n]["status"] for n in ("2", "3")} == {"ok"}
    assert found["2"]["message"].startswith("already applied: return_qc_day2.csv (row 2, ")
    assert found["2"]["message"] == (
        f"already applied: return_qc_day2.csv (row 2, {when(tmp_path, 'return_qc', PARTIAL)})"
        " applied this row before; the look-up shows return QC taken, now return_bag_accepted"
    )
    assert summary(tmp_path, "return_qc_day2 again")["already_applied"] == 2
    assert applied(sandbox, "/return") == [PARTIAL]


def re_export(inbox: Path, sandbox: Any, names: tuple[str, str], rows: list[list[str]]) -> Any:
    """`names[0]` sends all `rows` but the last (header first); then `names[1]`, every
    row, sent again, with every answer lost after Konnect applied or refused it: its result
    rows."""
    sending_repeats(inbox)
    drop(inbox, names[0], rows[:-1])
    assert run(inbox, sandbox).exit_code == 0
    sandbox.faults(drop_rate=1.0, faults_on="writes", fault_seed=3)
    drop(inbox, names[1], rows)
    done = run(inbox, sandbox)
    assert done.exit_code == 0, done.output
    said = summary(inbox, Path(names[1]).stem)
    assert said["rows"]["ok"] == 3 and said["already_applied"] == 2
    found = results(inbox, Path(names[1]).stem)
    assert found["4"]["message"].startswith("applied: Konnect's answer was lost")
    return found


def test_a_qc_re_export_with_lost_answers_counts_the_earlier_files_rows_as_already_applied(
    tmp_path: Path, sandbox: Any
) -> None:
    """The QC sheet 'month so far': yesterday's 2 orders again and 1 new, every answer lost
    (the replays' refusals too): applied now is the new row only, as Konnect's ledger says."""
    orders = [returned(sandbox, f"330000000000000001{n:02d}", 1) for n in (1, 2, 3)]
    rows = [QC, *[[o, f"{o}-1", "1", ""] for o in orders]]
    found = re_export(tmp_path, sandbox, ("return_qc_1.csv", "return_qc_2.csv"), rows)
    assert found["3"]["message"] == (
        f"already applied: return_qc_1.csv (row 3, {when(tmp_path, 'return_qc', orders[1])})"
        " applied this row before; the look-up shows return QC taken, now return_bag_accepted"
    )
    assert applied(sandbox, "/return") == orders  # file 1's two, then the new one


def test_a_credit_note_register_re_export_with_lost_answers_claims_only_its_new_notes(
    tmp_path: Path, sandbox: Any
) -> None:
    """Last week's credit notes re-exported with this week's, every answer lost: the
    summary's already_applied counts last week's, and only the new note is applied now."""
    head = ["orderId", "invoiceNumber", "invoiceType"]
    notes = [head, *[[oid(20, n), f"CN/25-26/{n:05d}", "return"] for n in (1, 2, 3)]]
    found = re_export(tmp_path, sandbox, ("invoice_cn_week1.csv", "invoice_cn_month.csv"), notes)
    assert found["2"]["message"] == (
        f"already applied: invoice_cn_week1.csv (row 2, {when(tmp_path, 'invoice', oid(20, 1))})"
        " applied this row before; the look-up shows credit note CN/25-26/00001 on this order,"
        " now credit_note_generated"
    )
    assert applied(sandbox, "invoiceUpdate") == [oid(20, n) for n in (1, 2, 3)]


def test_the_book_keeps_the_first_file_leaves_out_the_attempt_asking_and_forgets(
    tmp_path: Path,
) -> None:
    with KeyState(tmp_path) as state:
        book = state.orders
        book.record("pack", [("o1", '{"orderId":"o1"}', 2)], "a.csv", "2026-10-01T09:00:00+00:00",
                    "1/a")  # fmt: skip
        book.record("pack", [("o1", '{"orderId":"o1"}', 5)], "b.csv", "2026-10-02T09:00:00+00:00",
                    "2/b")  # fmt: skip
        began = "2026-10-03T00:00:00+00:00"  # when the attempt asking began
        [first] = book.earlier("pack", ["o1", "o2"], "2/b", began)["o1"]
        assert (first.file, first.row, first.record) == ("a.csv", 2, {"orderId": "o1"})
        assert book.earlier("pack", ["o1"], "1/a", began) == {}  # its own: not an earlier file's
        assert book.earlier("confirm", ["o1"], None, began) == {}
        # an attempt begun before a.csv applied it (a file held meanwhile): not earlier
        assert book.earlier("pack", ["o1"], "3/c", "2026-10-01T08:00:00+00:00") == {}
        # 30 days are counted from when the attempt began (a file resumed reads what it read),
        # else from now
        assert book.earlier("pack", ["o1"], "3/c", "2026-10-31T08:00:00+00:00") != {}
        assert book.earlier("pack", ["o1"], "3/c", "2026-10-31T10:00:00+00:00") == {}
        assert book.earlier("pack", ["o1"], None) == {}  # now: over 30 days ago
        book.record("pack", [], "c.csv", "2026-10-31T10:00:00+00:00", None)  # 30 days on
        assert book.earlier("pack", ["o1"], "3/c", "2026-10-31T08:00:00+00:00") == {}  # gone
