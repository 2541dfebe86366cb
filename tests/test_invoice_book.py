"""An invoice number Konnect refuses as used says which order an earlier file gave it to
(etl/invoicebook.py): Konnect's IN422 does not, and it cannot be searched by number. Against
the real emulator on loopback; the book is the inbox's protection database.

Seed orders 12000000000000000001-010 are bag_confirmed: ready for a tax invoice.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

from runs import drop, oid, results, run, run_process, upload_one

from etl.invoicebook import SentFor
from etl.keystate import KeyState
from etl.wording import local_time

HEAD = ["orderId", "invoiceNumber", "invoiceType"]
USED = (
    "IN422 - the invoice number or invoice type breaks Konnect's rules: invoiceNumber {} is"
    " already used by another order"
)


def invoices(*pairs: tuple[int, str]) -> list[list[str]]:
    """A register: one tax invoice per (seed order 12...n, invoice number)."""
    return [HEAD, *[[oid(12, n), number, "sale"] for n, number in pairs]]


def morning_and_evening(inbox: Path, sandbox: Any) -> dict[str, dict[str, Any]]:
    """invoice_1000.csv gives order ...004 the number invoice_0900.csv (run before) gave
    order ...002 on its row 3; its result rows."""
    drop(inbox, "invoice_1000.csv", invoices((4, "INV-B-2"), (5, "INV-B-5")))
    assert run(inbox, sandbox).exit_code == 1
    return results(inbox, "invoice_1000")


def said_of_morning(inbox: Path) -> str:
    """What a row refused for INV-B-2 adds: the morning's order, file, row and time."""
    with KeyState(inbox / ".konnect-etl") as state:
        entry = state.invoices.sent_for_others({"INV-B-2": "another order"})["INV-B-2"]
    assert entry.order == oid(12, 2) and (entry.file, entry.row) == ("invoice_0900.csv", 3)
    return (
        f"INV-B-2 was sent as the tax invoice of order {oid(12, 2)} by invoice_0900.csv"
        f" (row 3, {local_time(entry.applied_at)}): give this order the next number of your"
        " series; if INV-B-2 really is this order's, that row gave it to the wrong order -"
        " correct it in Konnect"
    )


MORNING = invoices((1, "INV-B-1"), (2, "INV-B-2"), (3, "INV-B-3"))


def test_a_number_reused_for_another_order_names_the_file_and_row_that_sent_it(
    tmp_path: Path, sandbox: Any
) -> None:
    drop(tmp_path, "invoice_0900.csv", MORNING)
    assert run(tmp_path, sandbox).exit_code == 0
    found = morning_and_evening(tmp_path, sandbox)
    assert found["2"]["status"] == "failed"
    assert found["2"]["message"] == f"{USED.format('INV-B-2')}; {said_of_morning(tmp_path)}"
    assert found["3"]["status"] == "ok" and found["3"]["message"] == ""


def test_the_book_outlives_the_process_that_wrote_it(tmp_path: Path, sandbox: Any) -> None:
    """The morning's file sent by a `run` process that has ended: the book is on disk."""
    drop(tmp_path, "invoice_0900.csv", MORNING)
    command, env = run_process(tmp_path, sandbox)
    assert subprocess.run(command, env=env, capture_output=True, check=False).returncode == 0
    found = morning_and_evening(tmp_path, sandbox)
    assert found["2"]["message"] == f"{USED.format('INV-B-2')}; {said_of_morning(tmp_path)}"


def test_a_number_found_applied_by_a_look_up_is_in_the_book(tmp_path: Path, sandbox: Any) -> None:
    """Every answer to the morning's file lost after Konnect applied it: the look-up shows
    the invoices, and the book has them as the morning's."""
    drop(tmp_path, "invoice_0900.csv", MORNING)
    sandbox.faults(drop_rate=1.0, faults_on="writes", fault_seed=3)
    assert run(tmp_path, sandbox).exit_code == 0
    assert results(tmp_path, "invoice_0900")["3"]["message"].startswith(
        "applied: Konnect's answer was lost; the look-up shows invoice INV-B-2"
    )
    sandbox.faults(drop_rate=0.0)
    found = morning_and_evening(tmp_path, sandbox)
    assert found["2"]["message"] == f"{USED.format('INV-B-2')}; {said_of_morning(tmp_path)}"


def test_a_number_the_book_does_not_know_is_refused_as_konnect_said(
    tmp_path: Path, sandbox: Any
) -> None:
    """INV-B-2 given to order ...002 outside this inbox (Konnect's own screen, another
    inbox); the morning's file here gave out INV-B-1 and INV-B-3 only: the refusal stays
    Konnect's alone."""
    record = {"orderId": oid(12, 2), "invoiceNumber": "INV-B-2", "invoiceType": "sale"}
    assert upload_one(sandbox, "invoice", [record]).state == "acknowledged"
    drop(tmp_path, "invoice_0900.csv", invoices((1, "INV-B-1"), (3, "INV-B-3")))
    assert run(tmp_path, sandbox).exit_code == 0
    found = morning_and_evening(tmp_path, sandbox)
    assert found["2"]["message"] == USED.format("INV-B-2")
    with KeyState(tmp_path / ".konnect-etl") as state:
        known = state.invoices.sent_for_others({"INV-B-1": "?", "INV-B-2": "?", "INV-B-3": "?"})
    assert {number: entry.order for number, entry in known.items()} == {
        "INV-B-1": oid(12, 1), "INV-B-3": oid(12, 3)
    }  # fmt: skip


def test_the_book_keeps_the_first_file_and_forgets_after_keep_days(tmp_path: Path) -> None:
    with KeyState(tmp_path) as state:
        book = state.invoices
        book.record([("INV-1", "o1", "return", 2)], "a.csv", "2026-10-01T09:00:00+00:00")
        book.record([("INV-1", "o1", "sale", 5), ("INV-2", "o2", "sale", 3)], "b.csv",
                    "2026-10-02T09:00:00+00:00")  # fmt: skip
        assert book.sent_for_others({"INV-1": "o9", "INV-2": "o2"}) == {
            "INV-1": SentFor("o1", "return", "a.csv", 2, "2026-10-01T09:00:00+00:00")
        }
        book.record([], "c.csv", "2026-10-31T10:00:00+00:00")  # 30 days after a.csv
        assert book.sent_for_others({"INV-1": "o9", "INV-2": "o9"}).keys() == {"INV-2"}
