"""A "month so far" re-export sends only its new records (etl/orderrepeats.py): a record an
earlier file applied, identical as it would be sent, is `ok` without being sent. Against the
real emulator on loopback; its ledger shows what reached Konnect.

Seed orders 20000000000000000001-010 are return_bag_accepted: ready for a credit note.
"""

from __future__ import annotations

import csv
import json
import shutil
from collections.abc import Awaitable, Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from runs import drop, oid, results, run

import etl.reconcile
from etl.guard_settings import Guards
from etl.keystate import KeyState
from etl.wording import local_time

LOCATION = "DEL-WH-01"
QC = ["orderId", "orderItemId", "quantity", "reasonCode"]
NOTES = ["orderId", "invoiceNumber", "invoiceType"]
DONE = f"done/{date.today().isoformat()}"


def returned(sandbox: Any, *orders: str) -> list[str]:
    """`orders`, return_bag_delivered, each with one item of 1 piece."""
    specs = [
        {"orderId": order, "state": "return_bag_delivered", "location": LOCATION,
         "items": [{"sku": "TS-BLK-S", "quantity": 1}], "is_self_ship": False}
        for order in orders
    ]  # fmt: skip
    return [str(added) for added in sandbox.add_orders(orders=specs)]


def qc_rows(orders: list[str], reason: str = "") -> list[list[str]]:
    return [QC, *[[o, f"{o}-1", "1", reason] for o in orders]]


def sent(sandbox: Any, path: str) -> list[str]:
    """The orders of every record that reached Konnect at `path`, applied or refused."""
    return [e["key"] for e in sandbox.ledger() if e["path"].endswith(path)]


def summary(inbox: Path, stem: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((inbox / DONE / f"{stem}.summary.json").read_text())
    return loaded


def not_sent(inbox: Path, feed: str, order: str, file: str, row: int) -> str:
    with KeyState(inbox / ".konnect-etl") as state:
        at = state.orders.earlier(feed, [order], None)[order][0].applied_at
    said = f"{file} (row {row}, {local_time(at)}) applied this row before"
    return f"already applied: {said}; not sent again"


def guards(inbox: Path, line: str) -> None:
    inbox.mkdir(exist_ok=True)
    (inbox / "konnect-etl.yaml").write_text(f"guards: {{{line}}}\n")


def month_so_far(inbox: Path, sandbox: Any, rows: list[list[str]], names: tuple[str, str]) -> Any:
    """`names[0]` with all `rows` but the last 2, then `names[1]` with every row: its run."""
    drop(inbox, names[0], rows[:-2])
    assert run(inbox, sandbox).exit_code == 0
    drop(inbox, names[1], rows)
    done = run(inbox, sandbox)
    assert done.exit_code == 0, done.output
    return done


def test_a_qc_re_export_sends_only_its_new_rows(tmp_path: Path, sandbox: Any) -> None:
    orders = returned(sandbox, *(f"3300000000000000020{n}" for n in range(1, 6)))
    done = month_so_far(tmp_path, sandbox, qc_rows(orders), ("return_qc_1.csv", "return_qc_2.csv"))
    assert sent(sandbox, "/return") == orders  # 3, then the 2 new: no replay refused
    assert summary(tmp_path, "return_qc_2")["already_applied"] == 3
    assert "5 ok (2 applied now, 3 already done in Konnect)" in done.output
    found = results(tmp_path, "return_qc_2")
    for row, order in zip((2, 3, 4), orders, strict=False):
        assert found[str(row)]["status"] == "ok"
        assert found[str(row)]["message"] == not_sent(
            tmp_path, "return_qc", order, "return_qc_1.csv", row
        )
    assert [found[r]["message"] for r in ("5", "6")] == ["", ""]


def test_a_credit_note_register_re_export_sends_only_its_new_notes(
    tmp_path: Path, sandbox: Any
) -> None:
    notes = [NOTES, *[[oid(20, n), f"CN/25-26/{n:05d}", "return"] for n in range(1, 6)]]
    names = ("invoice_cn_week1.csv", "invoice_cn_month.csv")
    done = month_so_far(tmp_path, sandbox, notes, names)
    assert sent(sandbox, "invoiceUpdate") == [oid(20, n) for n in range(1, 6)]
    assert summary(tmp_path, "invoice_cn_month")["already_applied"] == 3
    assert "3 already done in Konnect" in done.output
    assert results(tmp_path, "invoice_cn_month")["3"]["message"] == not_sent(
        tmp_path, "invoice", oid(20, 2), "invoice_cn_week1.csv", 3
    )


def test_a_row_changed_since_is_sent(tmp_path: Path, sandbox: Any) -> None:
    """Another reason is another record: Konnect judges it (one QC per order: refused)."""
    [order] = returned(sandbox, "33000000000000000301")
    drop(tmp_path, "return_qc_1.csv", qc_rows([order]))
    assert run(tmp_path, sandbox).exit_code == 0
    drop(tmp_path, "return_qc_2.csv", qc_rows([order], reason="9"))
    assert run(tmp_path, sandbox).exit_code == 1
    assert sent(sandbox, "/return") == [order, order]
    assert results(tmp_path, "return_qc_2")["2"]["status"] == "failed"


def test_the_guard_turned_off_sends_every_row(tmp_path: Path, sandbox: Any) -> None:
    guards(tmp_path, "repeated_orders: false")
    orders = returned(sandbox, *(f"3300000000000000040{n}" for n in range(1, 5)))
    month_so_far(tmp_path, sandbox, qc_rows(orders), ("return_qc_1.csv", "return_qc_2.csv"))
    assert sent(sandbox, "/return") == [*orders[:2], *orders]  # the replays reach Konnect
    assert summary(tmp_path, "return_qc_2")["already_applied"] == 2  # the look-up says so
    message = results(tmp_path, "return_qc_2")["2"]["message"]
    assert message.startswith("already applied: return QC taken")


def test_an_errors_file_dropped_back_is_sent(tmp_path: Path, sandbox: Any) -> None:
    """Its rows were refused, not applied: fixed, they go (the good row is not in it)."""
    orders = returned(sandbox, "33000000000000000501", "33000000000000000502")
    rows = qc_rows(orders)
    rows[2][2] = "3"  # more than the 1 piece shipped: Konnect refuses it
    drop(tmp_path, "return_qc_1.csv", rows)
    assert run(tmp_path, sandbox).exit_code == 1
    errors = tmp_path / "return_qc_1.errors.csv"
    shutil.copy(tmp_path / DONE / "return_qc_1.errors.csv", errors)
    with errors.open(encoding="utf-8-sig", newline="") as handle:
        fixed = [{**r, "quantity": "1"} for r in csv.DictReader(handle)]
    with errors.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, list(fixed[0]))
        writer.writeheader()
        writer.writerows(fixed)
    assert run(tmp_path, sandbox).exit_code == 0
    assert sent(sandbox, "/return") == [orders[0], orders[1], orders[1]]
    assert summary(tmp_path, "return_qc_1.errors-2")["already_applied"] == 0


def test_a_row_that_ended_unknown_is_sent_again(
    tmp_path: Path, sandbox: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The answer lost and no look-up answered: the book holds nothing of it, so the next
    file's same row is sent, and Konnect's refusal of the replay is looked up as before."""
    order, new = returned(sandbox, "33000000000000000601", "33000000000000000602")
    original = etl.reconcile.fetch_orders

    async def unanswered(*args: Any, **kwargs: Any) -> tuple[dict[str, Any], set[str]]:
        return {}, set()

    fetch: Callable[..., Awaitable[Any]] = unanswered
    monkeypatch.setattr(etl.reconcile, "fetch_orders", fetch)
    sandbox.faults(drop_rate=1.0, faults_on="writes", fault_seed=3)
    drop(tmp_path, "return_qc_1.csv", qc_rows([order]))
    run(tmp_path, sandbox)
    assert results(tmp_path, "return_qc_1")["2"]["status"] == "unknown"
    sandbox.faults(drop_rate=0.0)
    monkeypatch.setattr(etl.reconcile, "fetch_orders", original)
    drop(tmp_path, "return_qc_2.csv", qc_rows([order, new]))
    done = run(tmp_path, sandbox)
    assert done.exit_code == 0, done.output
    assert sent(sandbox, "/return") == [order, order, new]
    assert results(tmp_path, "return_qc_2")["2"]["message"].startswith("already applied: ")


def test_the_guard_setting() -> None:
    assert Guards().repeated_orders and not Guards.from_config(False).repeated_orders
    assert Guards.from_config({"repeated_orders": False}).repeated_cancels  # cancels: their own
    with pytest.raises(ValueError, match=r"guards\.repeated_orders must be true or false"):
        Guards.from_config({"repeated_orders": "no"})
