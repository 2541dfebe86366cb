"""Dates in canonical invoice and status files reach Konnect parsed, never as typed.

The generic mappings read `ackDate`, `promised_delivery_date` and `estimated_delivery_date`
day first (as Indian ERPs write them), as ISO text, Excel serials or month names, and send
IST wall time: `YYYY-MM-DD HH:MM:SS` for ackDate, `YYYY-MM-DD` for the delivery dates. A
column that shows the other order, or a date that does not exist, is rejected.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from runs import drop, oid, results, run

from etl.datestep import DateStep
from etl.errors import MappingError
from etl.konnect import ENDPOINTS
from etl.mapping import load_mapping

TODAY = date.today().isoformat()


def received(sandbox: Any, feed: str) -> dict[str, dict[str, Any]]:
    """orderId -> the record Konnect applied for `feed`."""
    path = ENDPOINTS[feed].path
    entries = sandbox.ledger()
    return {
        e["key"]: e["record"] for e in entries if e["path"] == path and e["outcome"] == "applied"
    }


def test_invoice_ack_dates_in_every_typed_form_are_sent_as_ist_datetimes(
    tmp_path: Path, sandbox: Any
) -> None:
    inbox = tmp_path / "inbox"
    typed = {
        oid(12, 1): "05/01/2026",               # day first, as Indian ERPs write
        oid(12, 2): "46027",                    # an Excel serial (a date cell saved as number)
        oid(12, 3): "05-01-2026 14:30",         # day first with a time
        oid(12, 4): "2026-01-05T14:30:00",      # ISO
        oid(12, 5): "2026-01-05T09:00:00Z",     # UTC: converted to IST
        oid(12, 7): "7-Jan-26",                 # a month name
    }  # fmt: skip
    header = ["orderId", "invoiceNumber", "invoiceType", "ackDate"]
    drop(
        inbox, "invoice.csv", [header] + [[o, f"INV-{o[-2:]}", "sale", d] for o, d in typed.items()]
    )
    result = run(inbox, sandbox)
    assert result.exit_code == 0, result.output
    ack = {order: record["ackDate"] for order, record in received(sandbox, "invoice").items()}
    assert ack == {
        oid(12, 1): "2026-01-05 00:00:00",
        oid(12, 2): "2026-01-05 00:00:00",
        oid(12, 3): "2026-01-05 14:30:00",
        oid(12, 4): "2026-01-05 14:30:00",
        oid(12, 5): "2026-01-05 14:30:00",
        oid(12, 7): "2026-01-07 00:00:00",
    }


def test_status_delivery_dates_are_sent_as_dates(tmp_path: Path, sandbox: Any) -> None:
    inbox = tmp_path / "inbox"
    drop(inbox, "status.csv", [
        ["orderId", "orderStatus", "promised_delivery_date", "estimated_delivery_date"],
        [oid(13, 1), "bag_picked", "7-Jan-26", "46029"],
        [oid(16, 1), "delivery_done", "07/01/2026", "2026-01-07"],
        [oid(16, 2), "delivery_done", "07-01-2026 18:00", ""],
    ])  # fmt: skip
    result = run(inbox, sandbox)
    assert result.exit_code == 0, result.output
    meta = {order: record.get("meta", {}) for order, record in received(sandbox, "status").items()}
    assert meta[oid(13, 1)]["promised_delivery_date"] == "2026-01-07"
    assert meta[oid(13, 1)]["estimated_delivery_date"] == "2026-01-07"
    assert meta[oid(16, 1)]["promised_delivery_date"] == "2026-01-07"
    assert meta[oid(16, 1)]["estimated_delivery_date"] == "2026-01-07"
    assert meta[oid(16, 2)]["promised_delivery_date"] == "2026-01-07"
    assert "estimated_delivery_date" not in meta[oid(16, 2)]


def test_swapped_impossible_and_unreadable_dates_are_rejected_and_not_sent(
    tmp_path: Path, sandbox: Any
) -> None:
    inbox = tmp_path / "inbox"
    drop(inbox, "status.csv", [
        ["orderId", "orderStatus", "promised_delivery_date", "estimated_delivery_date"],
        [oid(13, 2), "bag_picked", "05/01/2026", ""],    # fits both ways, but row 3 ...
        [oid(13, 3), "bag_picked", "01/13/2026", ""],    # ... is month first: both held
        [oid(13, 4), "bag_picked", "", "31/02/2026"],    # no such day
        [oid(16, 3), "delivery_done", "", "soon"],
        [oid(16, 4), "delivery_done", "", ""],
        [oid(16, 5), "delivery_done", "13/01/2026", ""],  # only day first: read, sent
    ])  # fmt: skip
    assert run(inbox, sandbox).exit_code == 1
    rows = results(inbox, "status")
    assert {n: r["status"] for n, r in rows.items()} == {
        "2": "rejected", "3": "rejected", "4": "rejected", "5": "rejected", "6": "ok",
        "7": "ok"}  # fmt: skip
    for n in ("2", "3"):
        assert "day and month may be swapped" in rows[n]["message"]
        assert "'01/13/2026'" in rows[n]["message"] and "read day first" in rows[n]["message"]
    assert "not a date when read day first (dd/mm/yyyy)" in rows["4"]["message"]
    assert "not a date" in rows["5"]["message"]
    assert list(received(sandbox, "status")) == [oid(16, 4), oid(16, 5)]
    assert received(sandbox, "status")[oid(16, 5)]["meta"]["promised_delivery_date"] == "2026-01-13"


def test_date_order_option_is_checked_when_the_mapping_loads(tmp_path: Path) -> None:
    base = "feed: status\nfields:\n  orderId: orderId\n  orderStatus: orderStatus\n"
    base += "  promised_delivery_date: {column: Promised, transforms: [%s]}\n"
    path = tmp_path / "status.yaml"
    path.write_text(base % "{date: {order: sideways}}", encoding="utf-8")
    with pytest.raises(MappingError, match="'sideways' is not day-first or month-first"):
        load_mapping(path)
    path.write_text(base % "{date: {order: day-first, formats: ['%d/%m/%Y']}}", encoding="utf-8")
    with pytest.raises(MappingError, match="give formats or order, not both"):
        load_mapping(path)
    path.write_text(base % "{date: {order: month-first}}", encoding="utf-8")
    [step] = {f.name: f for f in load_mapping(path).fields}["promised_delivery_date"].transforms
    values, failures = step.apply(pd.Series(["01/05/2026", "12/31/2026"], dtype="str"))
    assert values.tolist() == ["2026-01-05", "2026-12-31"] and failures == []


def test_month_names_are_read_without_a_declared_order() -> None:
    """Any date column without formats: a month name is never ambiguous."""
    step = DateStep()
    values, failures = step.apply(pd.Series(["7-Jan-26", "07 January 2026", "Jan 7, 2026"]))
    assert values.tolist() == ["2026-01-07"] * 3 and failures == []
