"""Totals and report footers are skipped (counted and logged), never rejected as bad data.

A row is skipped when its key cells (location + SKU, or the order ID) hold nothing but a
label such as "Total", "Grand Total" or "Report generated on ...". A row whose key has a
value is never skipped by this rule, whatever it says (etl/totals.py).
"""

from __future__ import annotations

import csv
import json
import logging
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from runs import oid, run

from etl.errors import MappingError
from etl.konnect import ENDPOINTS
from etl.mapping import apply_mapping, generic_mapping, load_mapping
from etl.model import Sheet
from etl.readers import to_table

TODAY = date.today().isoformat()


def drop(path: Path, rows: list[list[str]], delimiter: str = ",", encoding: str = "utf-8") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding=encoding) as handle:
        csv.writer(handle, delimiter=delimiter).writerows(rows)


def summary(inbox: Path, stem: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(
        (inbox / "done" / TODAY / f"{stem}.summary.json").read_text()
    )
    return loaded


def results(inbox: Path, stem: str) -> dict[str, dict[str, str]]:
    path = inbox / "done" / TODAY / f"{stem}.result.csv"
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return {r["row"]: r for r in csv.DictReader(handle)}


def keys_sent(sandbox: Any, endpoint: str) -> list[str]:
    path = ENDPOINTS[endpoint].path
    return [e["key"] for e in sandbox.ledger() if e["path"] == path]


def table(rows: list[list[str]], name: str = "stock.csv") -> Any:
    cells = pd.DataFrame(rows, dtype="str")
    sheet = Sheet(cells, np.arange(1, len(rows) + 1, dtype=np.int64), Path(name), "csv")
    return to_table(sheet, 0)


def test_generic_stock_totals_and_footers_are_skipped_and_the_file_uploads(
    tmp_path: Path, sandbox: Any
) -> None:
    inbox = tmp_path / "inbox"
    drop(inbox / "stock.csv", [
        ["location_id", "sku", "quantity"],
        ["DEL-WH-01", "TS-BLK-S", "25"],
        ["DEL-WH-01", "TS-BLK-M", "40"],
        ["Total", "", "65"],
        ["Grand Total", "", "65"],
        ["Report generated on 05-01-2026 10:00 by admin", "", ""],
    ])  # fmt: skip
    result = run(inbox, sandbox)
    assert result.exit_code == 0, result.output
    report = summary(inbox, "stock")
    assert report["outcome"] == "uploaded" and report["skipped_rows"] == 3
    assert report["rows"] == {"total": 2, "ok": 2, "rejected": 0, "failed": 0, "unknown": 0}
    assert keys_sent(sandbox, "inventory") == ["DEL-WH-01|TS-BLK-S", "DEL-WH-01|TS-BLK-M"]


def test_a_row_with_a_key_is_never_skipped_even_if_it_says_total(
    tmp_path: Path, sandbox: Any
) -> None:
    inbox = tmp_path / "inbox"
    drop(inbox / "stock.csv", [
        ["location_id", "sku", "quantity", "note"],
        ["DEL-WH-01", "TS-BLK-S", "25", ""],
        ["Total", "CAP-RED", "5", ""],          # a SKU: sent, Konnect refuses the location
        ["DEL-WH-01", "Total", "3", ""],        # a location: sent, Konnect refuses the SKU
        ["DEL-WH-01", "", "7", "Total"],        # a location, no SKU: rejected, not skipped
        ["", "", "4", "Total care shampoo"],    # no key, but not a total label: rejected
        ["", "", "36", "Total"],                # no key, a label: skipped
    ])  # fmt: skip
    assert run(inbox, sandbox).exit_code == 1
    rows = results(inbox, "stock")
    assert {n: r["status"] for n, r in rows.items()} == {
        "2": "ok", "3": "failed", "4": "failed", "5": "rejected", "6": "rejected"}  # fmt: skip
    assert "SKU is empty" in rows["5"]["message"] and "empty" in rows["6"]["message"]
    report = summary(inbox, "stock")
    assert report["skipped_rows"] == 1
    assert report["warnings"] == ["skipped as totals or report footers, not data: row 7"]
    assert "Total|CAP-RED" in keys_sent(sandbox, "inventory")


def test_pos_price_total_line_is_skipped_not_sent_to_the_value_map(
    tmp_path: Path, sandbox: Any
) -> None:
    inbox = tmp_path / "inbox"
    drop(inbox / "pos_price.csv", [
        ["Store", "Item Code", "Description", "MRP", "Selling Price"],
        ["CP Delhi Warehouse", "TS-BLK-S", "Crew T-shirt", "Rs. 799.00", "Rs. 599.00"],
        ["Bandra West", "TS-WHT-M", "Crew T-shirt", "Rs.799", "Rs.649"],
        ["Total", "", "", "", ""],
    ], delimiter=";", encoding="cp1252")  # fmt: skip
    result = run(inbox, sandbox)
    assert result.exit_code == 0, result.output
    report = summary(inbox, "pos_price")
    assert (report["mapping"], report["outcome"], report["skipped_rows"]) == (
        "pos/price",
        "uploaded",
        1,
    )
    assert "not in the value map" not in (inbox / "done").joinpath(
        TODAY, "pos_price.result.csv"
    ).read_text(encoding="utf-8-sig")


def test_order_file_footer_in_the_order_id_column_is_skipped(tmp_path: Path, sandbox: Any) -> None:
    inbox = tmp_path / "inbox"
    drop(inbox / "confirm.csv", [
        ["orderId", "orderItemId", "quantity"],
        [oid(11, 1), f"{oid(11, 1)}-1", "1"],
        ["Total", "", "1"],
        ["Printed on: 05/01/2026", "", ""],
    ])  # fmt: skip
    result = run(inbox, sandbox)
    assert result.exit_code == 0, result.output
    assert summary(inbox, "confirm")["skipped_rows"] == 2
    assert keys_sent(sandbox, "confirm") == [oid(11, 1)]


REGISTER = ["Order ID", "Invoice No", "Invoice Type", "Ack Date", "Item ID", "Qty",
            "Taxable Value", "CGST", "SGST", "Invoice Amount"]  # fmt: skip


def test_a_registers_sums_line_without_a_label_does_not_hold_the_last_invoice_back(
    tmp_path: Path, sandbox: Any
) -> None:
    """`=SUM()` under Qty and the amounts, no "Total": no order, invoice number, type or
    item, only numbers. It was taken for an item of the last order, which never went."""
    inbox = tmp_path / "inbox"
    drop(inbox / "invoice_register.csv", [
        REGISTER,
        [oid(12, 1), "INV-T-0001", "Tax Invoice", "06-01-2026", f"{oid(12, 1)}-1", "1",
         "534.82", "32.09", "32.09", "599.00"],
        [oid(12, 3), "INV-T-0003", "Tax Invoice", "06-01-2026", f"{oid(12, 3)}-1", "1",
         "713.39", "42.80", "42.81", "799.00"],
        ["", "", "", "", "", "2", "1,248.21", "74.89", "74.90", "₹1,398.00"],
    ])  # fmt: skip
    result = run(inbox, sandbox)
    assert result.exit_code == 0, result.output
    report = summary(inbox, "invoice_register")
    assert report["warnings"] == ["skipped as totals or report footers, not data: row 4"]
    assert keys_sent(sandbox, "invoice") == [oid(12, 1), oid(12, 3)]


def test_a_keyless_row_with_an_item_id_of_digits_is_data_not_a_sums_line(
    tmp_path: Path, sandbox: Any
) -> None:
    """Order ID merged over its rows, item IDs all digits: the row is an item of the order
    above (any field that is no number filled: never a total), so that order waits."""
    inbox = tmp_path / "inbox"
    drop(inbox / "confirm.csv", [
        ["orderId", "orderItemId", "quantity"],
        [oid(11, 2), f"{oid(11, 2)}-1", "1"],
        ["", "778812", "2"],
    ])  # fmt: skip
    assert run(inbox, sandbox).exit_code == 1
    assert summary(inbox, "confirm")["skipped_rows"] == 0
    assert keys_sent(sandbox, "confirm") == []


@pytest.mark.parametrize("last", [False, True])
def test_an_item_whose_order_and_item_cells_were_left_blank_holds_its_order_back(
    tmp_path: Path, sandbox: Any, last: bool
) -> None:
    """`,,2` between orders (merged Order No, the item ID left blank) is data, not a sums line:
    one number, and orders below it. Its order waits, as before; a sums line is the register's
    last row, with two numbers or more."""
    inbox = tmp_path / "inbox"
    rows = [
        ["orderId", "orderItemId", "quantity"],
        [oid(11, 2), f"{oid(11, 2)}-1", "1"],
        ["", "", "2"],
        [oid(11, 4), f"{oid(11, 4)}-1", "1"],
    ]
    drop(inbox / "confirm.csv", rows[:2] + rows[3:] + rows[2:3] if last else rows)
    assert run(inbox, sandbox).exit_code == 1
    assert summary(inbox, "confirm")["skipped_rows"] == 0
    assert keys_sent(sandbox, "confirm") == ([oid(11, 2)] if last else [oid(11, 4)])


def test_skipped_totals_are_logged_with_their_row_numbers(caplog: Any) -> None:
    rows = [
        ["location_id", "sku", "quantity"],
        ["DEL-WH-01", "TS-BLK-S", "25"],
        ["Sub Total", "", "25"],
        ["", "", ""],
        ["** Grand Total **", "", "25"],
    ]
    with caplog.at_level(logging.INFO, logger="etl.totals"):
        mapped = apply_mapping(generic_mapping("stock"), table(rows))
    assert mapped.frame["sku"].tolist() == ["TS-BLK-S"] and mapped.problems == []
    assert mapped.skipped_rows == 3  # two totals and the blank row
    assert "stock.csv: skipped as totals or report footers, not data: rows 3, 5" in caplog.text


@pytest.mark.parametrize(
    "label", ["Total", "TOTAL:", "Grand Total", "Sub-total", "Site Total", "Total for DEL-WH-01",
              "Report generated on 05-01-2026", "Printed on 05/01/2026", "Page 2 of 3"],
)  # fmt: skip
def test_total_and_footer_labels(label: str) -> None:
    rows = [["location_id", "sku", "quantity"], [label, "", "12"]]
    assert apply_mapping(generic_mapping("stock"), table(rows)).skipped_rows == 1


@pytest.mark.parametrize(
    "text",
    ["Total care shampoo", "Totally", "Subtotal bag", "Report", "Colgate Total 120",
     "Total-Care Shampoo"],
)  # fmt: skip
def test_text_that_only_starts_like_a_label_is_data(text: str) -> None:
    rows = [["location_id", "sku", "quantity"], [text, "", "12"]]
    mapped = apply_mapping(generic_mapping("stock"), table(rows))
    assert mapped.skipped_rows == 0 and len(mapped.frame) == 1


def test_a_product_name_is_no_label_further_along_a_row_without_its_key() -> None:
    """The SKU was lost, the name says 'Total': a row to fix, not a footer to drop."""
    header = ["location_id", "sku", "quantity", "description"]
    rows = [header, ["", "", "4", "Colgate Total 120"], ["", "", "4", "Face wash"]]
    rows += [["", "", "8", "Total"]]  # numbers before the label: still a totals line
    mapped = apply_mapping(generic_mapping("stock"), table(rows))
    assert mapped.skipped_rows == 1 and len(mapped.frame) == 2


def test_a_sku_ending_in_total_is_a_product_when_the_location_is_a_constant(
    tmp_path: Path,
) -> None:
    """A single-store file: the SKU is its only key column. "Colgate Total" is a product
    (sent); a leading label in the SKU column is still a totals line."""
    path = tmp_path / "stock.yaml"
    path.write_text(
        "feed: stock\nfields:\n  location_id: {constant: MUM-ST-02}\n"
        "  sku: {column: Code}\n  quantity: {column: Qty}\n",
        encoding="utf-8",
    )
    rows = [["Code", "Qty"], ["Colgate Total", "5"], ["HIMALAYA TOTAL", "4"], ["TS-BLK-S", "9"]]
    # TotalEnergies' lubricants: a code that starts with the brand is no label either
    rows += [["TOTAL5W30-1L", "2"], ["TOTAL 20W40 5L", "3"], ["TOTAL(4L)-QUARTZ", "1"]]
    rows += [["Grand Total", "18"], ["Total 1,264", ""], ["Total (3 items)", "6"]]
    rows += [["Grand Total 12 items", ""], ["Sub Total 45 Nos", ""], ["Total (3 items) 1264", ""]]
    mapped = apply_mapping(load_mapping(path), table(rows))
    assert mapped.frame["sku"].tolist() == [
        "Colgate Total", "HIMALAYA TOTAL", "TS-BLK-S", "TOTAL5W30-1L", "TOTAL 20W40 5L",
        "TOTAL(4L)-QUARTZ"]  # fmt: skip
    assert mapped.skipped_rows == 6


def test_a_mapping_can_turn_the_rule_off(tmp_path: Path) -> None:
    path = tmp_path / "stock.yaml"
    path.write_text("feed: stock\nskip: {totals: false}\n", encoding="utf-8")
    rows = [["location_id", "sku", "quantity"], ["DEL-WH-01", "A", "1"], ["Total", "", "1"]]
    mapped = apply_mapping(load_mapping(path), table(rows))
    assert mapped.skipped_rows == 0 and len(mapped.frame) == 2
    path.write_text("feed: stock\nskip: {totals: maybe}\n", encoding="utf-8")
    with pytest.raises(MappingError, match="expected true or false"):
        load_mapping(path)
