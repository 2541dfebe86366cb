"""Excel error values (#N/A, #REF!...) are a failed formula, never data: the row is rejected.

A failed VLOOKUP is `#N/A` in a CSV, an error cell in a workbook (which python-calamine reads
as empty in .xls and .ods: etl.xlserrors and etl.odserrors put the text back). The .xls and
.ods fixtures were computed and saved by LibreOffice: tests/data/errors/make_fixtures.py.
"""

from __future__ import annotations

import csv
import shutil
import zipfile
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from openpyxl import Workbook, load_workbook
from runs import drop, oid, results, run
from typer.testing import CliRunner

from etl import xlserrors
from etl.cli import app
from etl.errorvalues import EXCEL_ERRORS, MESSAGE, error_cells
from etl.mapping import apply_mapping, load_mapping
from etl.model import Mapped, Sheet
from etl.odserrors import error_spans, ods_content, restore_ods_errors
from etl.readers import read_sheet, to_table

ERRORS = Path(__file__).resolve().parent / "data" / "errors"
READERS = Path(__file__).resolve().parent / "data" / "readers"
TODAY = date.today().isoformat()

STOCK_WITH_DEFAULT = """\
feed: stock
match:
  filename: ["na_quantity*"]
  headers: [Store, Item Code, Qty]
fields:
  location_id: {column: Store}
  sku: {column: Item Code}
  quantity: {column: Qty, default: "0", transforms: [integer]}
"""


def said(column: str, value: str) -> str:
    """The result file's message for one error cell."""
    return f"'{column}': '{value}' - {MESSAGE}"


def xlsx_results(inbox: Path, stem: str) -> dict[str, dict[str, Any]]:
    sheet = load_workbook(inbox / "done" / TODAY / f"{stem}.result.xlsx").active
    assert sheet is not None
    header, *rows = sheet.iter_rows(values_only=True)
    found = [dict(zip(header, row, strict=True)) for row in rows]
    return {str(row["row"]): {k: v or "" for k, v in row.items()} for row in found}


def sent_keys(sandbox: Any) -> set[str]:
    """The key of every record the emulator received (applied or refused)."""
    return {e["key"] for e in sandbox.ledger()}


@pytest.mark.parametrize("text", [*EXCEL_ERRORS, " #N/A ", "#n/a", "Err:502", "#DIV/0!\t"])
def test_every_error_value_is_recognised(text: str) -> None:
    assert error_cells(pd.Series([text], dtype="str")).tolist() == [True]


@pytest.mark.parametrize("text", ["", "#", "#NA", "Order #N/A", "#N/A 12", "Err:5", "E", "N/A"])
def test_text_that_only_looks_like_an_error_is_data(text: str) -> None:
    assert error_cells(pd.Series([text, "SKU-1"], dtype="str")).tolist() == [False, False]


def test_errors_are_found_in_every_chunk_of_a_large_column() -> None:
    """Big files' columns come as several Arrow chunks, sliced out of larger buffers."""
    texts = ["SKU-1", "", "#N/A", "Err:502", "E", " #REF!", "#1"] * 3
    big = pa.array(["x", *texts, "y"], type=pa.large_string())
    parts = pa.chunked_array([big.slice(1, 7), big.slice(8, 7), big.slice(15, 7)])
    cells = pd.Series(pd.arrays.ArrowStringArray(parts))
    assert error_cells(cells).tolist() == [False, False, True, True, False, True, False] * 3


def test_csv_error_values_are_rejected_and_never_sent(tmp_path: Path, sandbox: Any) -> None:
    """Excel saves a failed formula's error text to CSV; Konnect must never get it."""
    inbox = tmp_path / "inbox"
    drop(inbox, "awb.csv", [
        ["orderId", "awbNumber", "courierName", "autoDispatch"],
        [oid(13, 1), "5012345678", "Blue Dart", "Yes"],
        [oid(13, 2), "#N/A", "Blue Dart", "No"],
        [oid(13, 3), "5012345680", "#REF!", "No"],
        [oid(13, 4), "5012345681", "Blue Dart", "#GETTING_DATA"],
    ])  # fmt: skip
    assert run(inbox, sandbox).exit_code == 1
    rows = results(inbox, "awb")
    assert {n: r["status"] for n, r in rows.items()} == {
        "2": "ok", "3": "rejected", "4": "rejected", "5": "rejected"}  # fmt: skip
    assert rows["3"]["message"] == said("awbNumber", "#N/A")
    assert rows["4"]["message"] == said("courierName", "#REF!")
    assert rows["5"]["message"] == said("autoDispatch", "#GETTING_DATA")
    assert sent_keys(sandbox) == {oid(13, 1)}
    assert sandbox.state()["orders"][oid(13, 3)]["awb"] is None


def test_two_failed_lookups_are_not_also_called_duplicates(tmp_path: Path) -> None:
    drop(tmp_path, "stock.csv", [
        ["location_id", "sku", "quantity"],
        ["DEL-WH-01", "#N/A", "4"],
        ["DEL-WH-01", "#N/A", "#N/A"],
    ])  # fmt: skip
    CliRunner().invoke(app, ["validate", str(tmp_path / "stock.csv")], catch_exceptions=False)
    with (tmp_path / "stock.result.csv").open(encoding="utf-8-sig", newline="") as handle:
        rows = {row["row"]: row["message"] for row in csv.DictReader(handle)}
    na = said("sku", "#N/A")
    assert rows == {"2": na, "3": f"{na}; {said('quantity', '#N/A')}"}


def test_xlsx_error_cells_in_text_columns_are_rejected(tmp_path: Path, sandbox: Any) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["orderId", "awbNumber", "courierName"])
    sheet.append([oid(13, 1), "5012345678", "Blue Dart"])
    sheet.append([oid(13, 2), "5012345679", "#N/A"])
    sheet.append([oid(13, 3), "#VALUE!", "Blue Dart"])
    for cell in (sheet["C3"], sheet["B4"]):
        cell.data_type = "e"  # an error cell, as Excel stores a failed formula's result
    book.save(inbox / "awb.xlsx")
    assert run(inbox, sandbox).exit_code == 1
    rows = xlsx_results(inbox, "awb")
    assert rows["3"]["status"] == "rejected" and rows["4"]["status"] == "rejected"
    assert rows["3"]["message"] == said("courierName", "#N/A")
    assert rows["4"]["message"] == said("awbNumber", "#VALUE!")
    assert sent_keys(sandbox) == {oid(13, 1)}


@pytest.mark.parametrize("kind", ["xls", "ods"])
def test_failed_vlookup_in_xls_and_ods_is_rejected_not_defaulted(
    tmp_path: Path, sandbox: Any, kind: str
) -> None:
    """calamine reads these error cells as empty: the mapping's `default: "0"` would have
    sent a stock of 0 for a quantity the sheet could not look up."""
    mappings, inbox = tmp_path / "mappings", tmp_path / "inbox"
    mappings.mkdir()
    inbox.mkdir()
    (mappings / "stock.yaml").write_text(STOCK_WITH_DEFAULT, encoding="utf-8")
    (inbox / "konnect-etl.yaml").write_text(f"mappings: {mappings}\n", encoding="utf-8")
    shutil.copy(ERRORS / f"na_quantity.{kind}", inbox)
    before = sandbox.state()["stock"]
    assert run(inbox, sandbox).exit_code == 1
    rows = xlsx_results(inbox, "na_quantity")
    assert {n: r["status"] for n, r in rows.items()} == {
        "2": "ok", "3": "rejected", "4": "rejected", "5": "ok", "6": "rejected"}  # fmt: skip
    assert rows["3"]["message"] == said("Qty", "#N/A")
    assert rows["4"]["message"] == said("Item Code", "#DIV/0!")
    # LibreOffice's own name for the error in .ods; Excel's code in .xls
    assert rows["6"]["message"] == said("Qty", "Err:502" if kind == "ods" else "#VALUE!")
    assert sent_keys(sandbox) == {"DEL-WH-01|TS-BLK-M", "DEL-WH-01|TS-BLK-L"}
    after = sandbox.state()["stock"]
    assert after["DEL-WH-01|TS-BLK-L"] == 0  # a really empty cell still takes the default
    for sku in ("TS-BLK-S", "TS-WHT-M"):
        assert after[f"DEL-WH-01|{sku}"] == before[f"DEL-WH-01|{sku}"]


@pytest.mark.parametrize("kind", ["xls", "ods"])
def test_courier_manifest_with_failed_lookups_sends_only_the_good_order(
    tmp_path: Path, sandbox: Any, kind: str
) -> None:
    """The built-in courier/awb mapping fills a blank Auto Dispatch with "No": an error cell
    read as blank sent `autoDispatch: false`."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    shutil.copy(ERRORS / f"na_awb_manifest.{kind}", inbox)
    assert run(inbox, sandbox, "--mapping", "courier/awb").exit_code == 1
    rows = xlsx_results(inbox, "na_awb_manifest")
    assert {n: r["status"] for n, r in rows.items()} == {
        "2": "ok", "3": "rejected", "4": "rejected", "5": "rejected"}  # fmt: skip
    assert rows["3"]["message"] == said("AWB No", "#N/A")
    assert rows["4"]["message"] == said("Courier", "#N/A")
    assert rows["5"]["message"] == said("Auto Dispatch", "#N/A")
    assert sent_keys(sandbox) == {oid(13, 1)}
    orders = sandbox.state()["orders"]
    assert [orders[oid(13, n)]["awb"] for n in (2, 3, 4)] == [None, None, None]


@pytest.mark.parametrize("kind", ["xls", "ods"])
def test_error_cells_keep_their_place_beside_merged_cells(kind: str) -> None:
    """The table starts at B2; B3:C4 is merged (covered cells take a column)."""
    sheet = read_sheet(ERRORS / f"errors_beside_merged_cells.{kind}")
    assert sheet.row_numbers.tolist() == [2, 3, 4, 5, 6]
    assert sheet.cells.values.tolist() == [
        ["a", "b", "c", "d", "e"],
        ["merged", "", "#N/A", "", ""],
        ["", "", "plain", "", ""],
        ["row", "#N/A", "#DIV/0!", "#N/A", "end"],
        ["other", "Err:502" if kind == "ods" else "#VALUE!", "", "", ""],
    ]


ODS_ROWS = """<table:table table:name="Other"><table:table-row><table:table-cell
 calcext:value-type="error"><text:p>#REF!</text:p></table:table-cell></table:table-row>
</table:table><table:table table:name="R&amp;D"><table:table-column/>
<table:table-row table:number-rows-repeated="2"><table:table-cell/></table:table-row>
<table:table-header-rows><table:table-row><table:covered-table-cell
 table:number-columns-repeated="2"/><table:table-cell office:value-type="string"
 calcext:value-type="error" table:number-columns-repeated="2"><office:annotation><text:p>a
 note</text:p></office:annotation><text:p>#N/A</text:p></table:table-cell><table:table-cell
 calcext:value-type="string"><text:p>x</text:p></table:table-cell></table:table-row>
</table:table-header-rows><table:table-row table:number-rows-repeated="3"><table:table-cell/>
<table:table-cell calcext:value-type="error"><text:p>#DIV/0!</text:p></table:table-cell>
</table:table-row><table:table-row table:number-rows-repeated="1048570"><table:table-cell
 table:number-columns-repeated="16384"/></table:table-row></table:table>"""


def test_ods_repeated_rows_and_cells_are_counted(tmp_path: Path) -> None:
    """LibreOffice writes identical neighbours once, with a repeat count; a comment's text
    is not the cell's."""
    xml = ODS_ROWS.encode()
    assert list(error_spans(xml, "R&D")) == [(2, 1, 2, 2, "#N/A"), (3, 3, 1, 1, "#DIV/0!")]
    path = tmp_path / "repeated.ods"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("content.xml", xml)
    cells = pd.DataFrame([[""] * 4 for _ in range(5)], dtype="str")
    restore_ods_errors(ods_content(path), "R&D", cells, first_row=1, first_col=0)
    assert cells.values.tolist() == [
        ["", "", "", ""],
        ["", "", "#N/A", "#N/A"],
        ["", "#DIV/0!", "", ""],
        ["", "#DIV/0!", "", ""],
        ["", "#DIV/0!", "", ""],
    ]


def test_an_xls_without_error_cells_is_not_read_twice(monkeypatch: pytest.MonkeyPatch) -> None:
    """The cheap look at the workbook stream decides; xlrd runs only for a file it flags."""
    assert not xlserrors.may_hold_errors((READERS / "old-format.xls").read_bytes())
    assert xlserrors.may_hold_errors((ERRORS / "na_quantity.xls").read_bytes())

    def never(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("xlrd opened a workbook without error cells")

    monkeypatch.setattr(xlserrors.xlrd, "open_workbook", never)
    assert read_sheet(READERS / "old-format.xls").cells.size


def mapped(tmp_path: Path, mapping: str, cells: dict[int, list[str]]) -> Mapped:
    mapping_file = tmp_path / "mapping.yaml"
    mapping_file.write_text(mapping, encoding="utf-8")
    frame = pd.DataFrame(cells, dtype="str")
    rows = np.arange(1, len(frame) + 1, dtype=np.int64)
    sheet = Sheet(frame, rows, tmp_path / "file.csv", "csv")
    return apply_mapping(load_mapping(mapping_file), to_table(sheet, 0))


def problems(found: Mapped) -> list[tuple[int, str, str, str]]:
    return [(p.row, p.column, p.value, p.code) for p in found.problems]


def test_a_template_names_the_cell_with_the_error_and_constants_are_not_checked(
    tmp_path: Path,
) -> None:
    mapping = (
        "feed: stock\nfields:\n  location_id: {template: '{Site}-{Bin}'}\n"
        "  sku: {column: SKU, default: 'X'}\n  quantity: {constant: '#N/A'}\n"
    )
    cells = {
        0: ["Site", "DEL", "DEL", "#NAME?"],
        1: ["Bin", "#REF!", "A1", "B1"],
        2: ["SKU", "TS-BLK-M", "#N/A", "TS-BLK-S"],
    }
    result = mapped(tmp_path, mapping, cells)
    assert result.frame["sku"].tolist() == ["TS-BLK-M", "", "TS-BLK-S"]  # no default 'X'
    assert [p for p in problems(result) if p[3] == "excel_error"] == [
        (2, "Bin", "#REF!", "excel_error"),
        (3, "SKU", "#N/A", "excel_error"),
        (4, "Site", "#NAME?", "excel_error"),
    ]


def test_an_ack_number_excel_showed_in_scientific_notation_is_rejected(tmp_path: Path) -> None:
    mapping = (
        "feed: invoice\nfields:\n  orderId: {column: orderId}\n  invoiceNumber: {column: inv}\n"
        "  invoiceType: {constant: sale}\n  ackNumber: {column: ack}\n"
    )
    cells = {
        0: ["orderId", oid(12, 1), oid(12, 2)],
        1: ["inv", "INV-1", "INV-2"],
        2: ["ack", "1.12610E+14", "112610000012345"],
    }
    found = problems(mapped(tmp_path, mapping, cells))
    assert found == [(2, "ack", "1.12610E+14", "id_scientific")]
