"""Our errors file, fixed by a person and dropped back in, is read by the mapping that wrote
it, whatever that mapping says about the export's layout: a fixed `read.header_row` (the
errors file has its header on row 1) and a file name glob anchored at the end
(`*_stock.csv` does not match `del_stock.errors.csv`, but the export `del_stock.csv` did).
A user's own file that is merely named like ours is read as before."""

from __future__ import annotations

import csv
import json
from datetime import date
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from runs import run

TODAY = date.today().isoformat()
MARG = """
feed: stock
description: Marg stock export, three title rows
match: {headers: [Godown, Item Code, Closing Qty]}
read: {sheet: Stock, header_row: 4}
fields:
  location_id: {column: Godown}
  sku: {column: Item Code}
  quantity: {column: Closing Qty, transforms: [integer]}
"""
SHOP = """
feed: stock
match: {filename: [GLOB], headers: [Store, Item Code, Qty]}
read: {header_row: ROW}
fields:
  location_id: {column: Store}
  sku: {column: Item Code}
  quantity: {column: Qty, transforms: [integer]}
"""
SHOP_ROWS = [["Store", "Item Code", "Qty"], ["DEL-WH-01", "TS-BLK-S", "5"],
             ["DEL-WH-01", "TS-BLK-M", "-2"], ["MUM-ST-02", "CAP-RED", "x"]]  # fmt: skip


def inbox_with(tmp_path: Path, name: str, text: str) -> Path:
    """An inbox whose konnect-etl.yaml adds the mapping `shop/<name>.yaml`."""
    inbox = tmp_path / "inbox"
    (inbox / "m" / "shop").mkdir(parents=True)
    (inbox / "m" / "shop" / f"{name}.yaml").write_text(text.lstrip(), encoding="utf-8")
    (inbox / "konnect-etl.yaml").write_text("mappings: ./m\n", encoding="utf-8")
    return inbox


def write_csv(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows)
    return path


def read_csv(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        return list(csv.reader(handle))


def summary(inbox: Path, where: str, stem: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(
        (inbox / where / TODAY / f"{stem}.summary.json").read_text()
    )
    return loaded


def sent_since(sandbox: Any, before: int) -> dict[str, int]:
    return {e["key"]: e["record"]["quantity"] for e in sandbox.ledger()[before:]}


def taken_again(inbox: Path, export: str) -> list[tuple[str, str]]:
    """(mapping, outcome) of every file done today but the export (its errors file's name
    may be -2'd)."""
    summaries = [json.loads(p.read_text()) for p in (inbox / "done" / TODAY).glob("*.json")]
    return [(s["mapping"], s["outcome"]) for s in summaries if s["input"] != export]


def fixed_csv(inbox: Path, stem: str, name: str, at: tuple[str, str] = ("3", "4")) -> Path:
    """The first run's errors file with its quantities fixed, as a person saves it back."""
    rows = read_csv(inbox / "done" / TODAY / f"{stem}.errors.csv")
    header = rows[0]
    assert header[-2:] == ["error", "row"] and [r[-1] for r in rows[1:]] == list(at)
    quantity = header.index("Qty")
    rows[1][quantity], rows[2][quantity] = "2", "7"
    return write_csv(inbox / name, rows)


@pytest.mark.parametrize("sheet_named", ["Stock", "1"])
def test_an_xlsx_errors_file_of_a_mapping_with_title_rows_comes_back_on_its_mapping(
    tmp_path: Path, sandbox: Any, sheet_named: str
) -> None:
    """`header_row: 4` is the export's layout; our errors file has its header on row 1, and
    one sheet (`sheet: 1`, the export's second, is not in it)."""
    inbox = inbox_with(tmp_path, "marg", MARG.replace("sheet: Stock", f"sheet: {sheet_named}"))
    book = openpyxl.Workbook()
    assert book.active is not None
    book.active.title = "Read me"
    sheet = book.create_sheet("Stock")
    for row in [["Marg ERP 9+"], ["Stock Status as on 01-04-2026"], [],
                ["Godown", "Item Code", "Closing Qty"], ["DEL-WH-01", "TS-BLK-S", 5],
                ["DEL-WH-01", "TS-BLK-M", -2], ["MUM-ST-02", "CAP-RED", "x"]]:  # fmt: skip
        sheet.append(row)
    book.save(inbox / "marg stock.xlsx")
    assert run(inbox, sandbox).exit_code == 1
    assert sent_since(sandbox, 0) == {"DEL-WH-01|TS-BLK-S": 5}
    before = len(sandbox.ledger())

    book = openpyxl.load_workbook(inbox / "done" / TODAY / "marg stock.errors.xlsx")
    errors = book["Stock"]
    assert [c.value for c in errors[1]] == ["Godown", "Item Code", "Closing Qty", "error", "row"]
    errors.cell(2, 3).value, errors.cell(3, 3).value = 2, 7  # the person fixes the cells
    book.save(inbox / "marg stock.errors.xlsx")
    result = run(inbox, sandbox)
    assert result.exit_code == 0, result.output
    again = summary(inbox, "done", "marg stock.errors-2")
    assert (again["mapping"], again["header_row"], again["rows"]["ok"]) == ("shop/marg", 1, 2)
    assert sent_since(sandbox, before) == {"DEL-WH-01|TS-BLK-M": 2, "MUM-ST-02|CAP-RED": 7}


def test_a_csv_errors_file_comes_back_past_header_row_and_an_anchored_glob(
    tmp_path: Path, sandbox: Any
) -> None:
    text = SHOP.replace("GLOB", "'STK??????.csv'").replace("ROW", "3")
    inbox = inbox_with(tmp_path, "stk", text)
    write_csv(inbox / "STK202604.csv", [["ShopSoft export"], ["branch: all"], *SHOP_ROWS])
    assert run(inbox, sandbox).exit_code == 1
    before = len(sandbox.ledger())
    fixed_csv(inbox, "STK202604", "STK202604.errors.csv", at=("5", "6"))
    result = run(inbox, sandbox)
    assert result.exit_code == 0, result.output
    assert summary(inbox, "done", "STK202604.errors-2")["mapping"] == "shop/stk"
    assert sent_since(sandbox, before) == {"DEL-WH-01|TS-BLK-M": 2, "MUM-ST-02|CAP-RED": 7}


@pytest.mark.parametrize(
    ("name", "drop_error"),
    [("STK202604.errors.csv", True), ("Copy of STK202604.errors.csv", False)],
)
def test_an_errors_file_with_error_deleted_or_a_copys_name_comes_back_past_header_row(
    tmp_path: Path, sandbox: Any, name: str, drop_error: bool
) -> None:
    """The `error` column read and deleted (`row` kept), or a copy Google Drive or Outlook
    named `Copy of ...`: it was refused, "header lacks 'Store', ...", as its header was
    looked for on row 3 (the export's) and its name did not match the glob."""
    text = SHOP.replace("GLOB", "'STK??????.csv'").replace("ROW", "3")
    inbox = inbox_with(tmp_path, "stk", text)
    write_csv(inbox / "STK202604.csv", [["ShopSoft export"], ["branch: all"], *SHOP_ROWS])
    assert run(inbox, sandbox).exit_code == 1
    before = len(sandbox.ledger())
    fixed = fixed_csv(inbox, "STK202604", name, at=("5", "6"))
    if drop_error:
        write_csv(fixed, [[*r[:-2], r[-1]] for r in read_csv(fixed)])
    result = run(inbox, sandbox)
    assert result.exit_code == 0, result.output
    assert taken_again(inbox, "STK202604.csv") == [("shop/stk", "uploaded")]
    assert sent_since(sandbox, before) == {"DEL-WH-01|TS-BLK-M": 2, "MUM-ST-02|CAP-RED": 7}


def test_a_row_cleared_in_an_order_errors_file_does_not_hold_back_the_order_above(
    tmp_path: Path, sandbox: Any
) -> None:
    """Row 3 (an order Konnect does not know) cleared with Delete, its `error` and `row`
    cells left: it read as an item of the order above, with no order id, so the order fixed
    on row 2 was not sent ("merged cells?"). Only our two cells left: a blank row."""
    sandbox.faults(catalogue="open")
    inbox = tmp_path / "inbox"
    order = f"30{50:018d}"
    inbox.mkdir()
    write_csv(inbox / "confirm.csv", [
        ["orderId", "orderItemId", "quantity"], [order, f"{order}-1", "0"],
        ["99999999999999999999", "99999999999999999999-1", "1"]])  # fmt: skip
    assert run(inbox, sandbox).exit_code == 1
    rows = read_csv(inbox / "done" / TODAY / "confirm.errors.csv")
    assert [r[-1] for r in rows[1:]] == ["2", "3"]
    rows[1][2] = "1"
    rows[2][:3] = ["", "", ""]
    write_csv(inbox / "confirm.errors.csv", rows)
    result = run(inbox, sandbox)
    assert result.exit_code == 0, result.output
    assert [e["key"] for e in sandbox.ledger() if e["outcome"] == "applied"] == [order]
    again = [json.loads(p.read_text()) for p in (inbox / "done" / TODAY).glob("*-2.summary.json")]
    assert [(s["rows"]["ok"], s["rows"]["total"]) for s in again] == [(1, 1)]


BACK_AS = ["del_stock.errors.csv", "del_stock.errors (1).csv", "del_stock.errors.xlsx"]


@pytest.mark.parametrize("name", [*BACK_AS, "del_stock-2.errors.csv"])
def test_an_errors_file_comes_back_past_a_glob_anchored_at_the_end_of_the_name(
    tmp_path: Path, sandbox: Any, name: str
) -> None:
    """`*_stock.csv` matched `del_stock.csv`, so it matches its errors file: as we wrote it,
    as a browser's copy (` (1)`), saved as .xlsx by Excel (the extension of the export is
    not compared), and as we name it for the day's second `del_stock.csv`."""
    inbox = inbox_with(tmp_path, "stock", SHOP.replace("GLOB", "'*_stock.csv'").replace("ROW", "1"))
    write_csv(inbox / "del_stock.csv", SHOP_ROWS)
    assert run(inbox, sandbox).exit_code == 1
    before = len(sandbox.ledger())
    fixed = fixed_csv(inbox, "del_stock", name)
    if fixed.suffix == ".xlsx":  # Excel: File > Save As > Excel Workbook
        rows = read_csv(fixed)
        book = openpyxl.Workbook()
        sheet = book.active
        assert sheet is not None
        for row in rows:
            sheet.append([int(c) if c.isdigit() else c for c in row])
        book.save(fixed)
    assert run(inbox, sandbox).exit_code == 0
    assert taken_again(inbox, "del_stock.csv") == [("shop/stock", "uploaded")]
    assert sent_since(sandbox, before) == {"DEL-WH-01|TS-BLK-M": 2, "MUM-ST-02|CAP-RED": 7}


def test_a_users_own_file_named_like_an_errors_file_is_matched_by_its_own_name(
    tmp_path: Path, sandbox: Any
) -> None:
    """Without our `error` and `row` columns it is not ours: `*_stock.csv` does not match
    `del_stock.errors.csv`, and `header_row: 3` is where its header is looked for."""
    text = SHOP.replace("GLOB", "'*_stock.csv'").replace("ROW", "3")
    inbox = inbox_with(tmp_path, "stock", text)
    write_csv(inbox / "del_stock.errors.csv", [["title"], [], *SHOP_ROWS[:2]])
    assert run(inbox, sandbox).exit_code == 1
    said = summary(inbox, "failed", "del_stock.errors")["file_errors"][0]
    assert "its header fits shop/stock, but the file name does not match '*_stock.csv'" in said
    looks_ours = [[*SHOP_ROWS[0], "error", "row"], [*SHOP_ROWS[1], "", "2"]]
    write_csv(inbox / "del_stock.errors.csv", [["title"], [], *looks_ours])
    assert run(inbox, sandbox).exit_code == 1  # our columns, but on row 3: not our layout
    said = summary(inbox, "failed", "del_stock.errors-2")["file_errors"][0]
    assert "the file name does not match '*_stock.csv'" in said
    assert sandbox.ledger() == []


def test_the_closest_mapping_named_is_one_whose_file_name_glob_matches(
    tmp_path: Path, sandbox: Any
) -> None:
    inbox = inbox_with(tmp_path, "stock", SHOP.replace("GLOB", "'*_stock.csv'").replace("ROW", "3"))
    write_csv(inbox / "del_stock.csv", SHOP_ROWS)  # the header is on row 1, not 3
    assert run(inbox, sandbox).exit_code == 1
    said = summary(inbox, "failed", "del_stock")["file_errors"][0]
    assert "no mapping fits del_stock.csv; closest: shop/stock (" in said


def test_the_mapping_whose_glob_names_the_errors_files_extension_wins(
    tmp_path: Path, sandbox: Any
) -> None:
    """Two exports alike but for the extension: the errors file of `del_stock.xlsx` is the
    `*_stock.xlsx` mapping's, though `*_stock.csv` would take it too (another extension)."""
    text = SHOP.replace("ROW", "1")
    inbox = inbox_with(tmp_path, "csv", text.replace("GLOB", "'*_stock.csv'"))
    (inbox / "m" / "shop" / "xlsx.yaml").write_text(text.replace("GLOB", "'*_stock.xlsx'"))
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    for row in SHOP_ROWS:
        sheet.append(row)
    book.save(inbox / "del_stock.xlsx")
    assert run(inbox, sandbox).exit_code == 1
    book = openpyxl.load_workbook(inbox / "done" / TODAY / "del_stock.errors.xlsx")
    errors = book.worksheets[0]
    errors.cell(2, 3).value, errors.cell(3, 3).value = 2, 7
    book.save(inbox / "del_stock.errors.xlsx")
    before = len(sandbox.ledger())
    assert run(inbox, sandbox).exit_code == 0
    assert summary(inbox, "done", "del_stock.errors-2")["mapping"] == "shop/xlsx"
    assert sent_since(sandbox, before) == {"DEL-WH-01|TS-BLK-M": 2, "MUM-ST-02|CAP-RED": 7}


@pytest.mark.parametrize("policy", ["first", "last"])
def test_a_sorted_errors_file_sends_the_row_the_export_used_not_the_one_it_replaced(
    tmp_path: Path, sandbox: Any, policy: str
) -> None:
    """`duplicates: last` keeps the export's last row of a key (`first`, its first). Its
    errors file has both rows; the person fixes the row used and sorts the sheet by
    quantity, which puts the replaced row where the used one was: the fix goes out, not the
    value the export replaced."""
    text = SHOP.replace("GLOB", "'wms_*.csv'").replace("ROW", "1")
    inbox = inbox_with(tmp_path, "wms", text + f"policies: {{duplicates: {policy}}}\n")
    export = [["DEL-WH-01", "CAP-RED", "5"], ["DEL-WH-01", "CAP-RED", "7x"]]  # 7x: the used row
    write_csv(inbox / "wms_stock.csv", [SHOP_ROWS[0], *export[:: 1 if policy == "last" else -1]])
    assert run(inbox, sandbox).exit_code == 1
    assert sent_since(sandbox, 0) == {}
    rows = read_csv(inbox / "done" / TODAY / "wms_stock.errors.csv")
    fixed = [row[:2] + (["4"] if row[2] == "7x" else row[2:3]) + row[3:] for row in rows[1:]]
    fixed.sort(key=lambda row: int(row[2]), reverse=policy == "first")  # the fix not in place
    write_csv(inbox / "wms_stock.errors.csv", [rows[0], *fixed])
    result = run(inbox, sandbox)
    assert result.exit_code == 0, result.output
    assert sent_since(sandbox, 0) == {"DEL-WH-01|CAP-RED": 4}


def test_a_fixed_copy_of_a_row_pasted_below_it_is_the_one_sent(
    tmp_path: Path, sandbox: Any
) -> None:
    """The person copies the refused row to the bottom of the errors file and fixes the
    copy, leaving the original: both carry the same `row`; of the two, the later one is
    the export's last row (`duplicates: last`), and the fix goes out."""
    text = SHOP.replace("GLOB", "'wms_*.csv'").replace("ROW", "1")
    inbox = inbox_with(tmp_path, "wms", text + "policies: {duplicates: last}\n")
    export = [["DEL-WH-01", "CAP-RED", "5"], ["DEL-WH-01", "CAP-RED", "7x"]]
    write_csv(inbox / "wms_stock.csv", [SHOP_ROWS[0], *export])
    assert run(inbox, sandbox).exit_code == 1
    rows = read_csv(inbox / "done" / TODAY / "wms_stock.errors.csv")
    refused = next(row for row in rows[1:] if row[2] == "7x")
    write_csv(inbox / "wms_stock.errors.csv", [*rows, [*refused[:2], "4", *refused[3:]]])
    run(inbox, sandbox)
    assert sent_since(sandbox, 0) == {"DEL-WH-01|CAP-RED": 4}
