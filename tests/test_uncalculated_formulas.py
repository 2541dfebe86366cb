"""A formula whose result was never calculated is neither an empty cell nor its placeholder.

Programs that write .xlsx do not calculate formulas: XlsxWriter (pandas' `to_excel`, many
report scripts) stores 0 as every formula's result, openpyxl stores none, and both set
`fullCalcOnLoad` so that Excel calculates on opening. Read as stored, a stock of 40 went out
as 0, a formula row vanished, an Auto Dispatch showing Yes took the mapping's default "No".
Such a cell now rejects its row, naming it (etl.xlsxerrors, etl.errorvalues).

The fixtures in tests/fixtures/formulas/ are the same kind of sheets opened and saved by
LibreOffice Calc (`soffice --convert-to xlsx`), which stores every result: they read as before.
"""

from __future__ import annotations

import dataclasses
import re
import shutil
import zipfile
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import openpyxl
import pytest
import xlsxwriter
from runs import oid, run
from test_excel_errors import sent_keys, xlsx_results

from etl import xlsxerrors
from etl.errors import InputError
from etl.readers import read_sheet

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "formulas"
TODAY = date.today().isoformat()
NEVER_CALCULATED = (
    "this cell holds a formula whose result was never calculated (the file was written by a"
    " program, not saved by Excel): open the file in Excel and save it, or export values"
    " instead of formulas"
)
STOCK = ["location_id", "sku", "quantity"]


def said(column: str, formula: str) -> str:
    """The result file's message for one formula never calculated."""
    return f"'{column}': '{formula}' - {NEVER_CALCULATED}"


def statuses(rows: dict[str, dict[str, Any]]) -> dict[str, str]:
    return {n: r["status"] for n, r in rows.items()}


def rewrite(path: Path, part: str, change: Callable[[str], str]) -> None:
    """Change one XML part of the workbook at `path`, in place."""
    with zipfile.ZipFile(path) as archive:
        parts = {info.filename: archive.read(info) for info in archive.infolist()}
    parts[part] = change(parts[part].decode("utf-8")).encode("utf-8")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in parts.items():
            archive.writestr(name, data)


def xlsxwriter_stock(path: Path, rows: list[list[Any]]) -> Path:
    """A stock sheet as XlsxWriter writes it: a formula's stored result is 0, and the
    workbook says fullCalcOnLoad. A 'Data' sheet holds what the formulas read."""
    with xlsxwriter.Workbook(path) as book:
        sheet, data = book.add_worksheet("Stock"), book.add_worksheet("Data")
        data.write_row(0, 0, ["Item", "Opening", "Sold"])
        for i, (item, opening, sold) in enumerate([("TS-BLK-S", 50, 10), ("TS-BLK-M", 60, 5)]):
            data.write_row(i + 1, 0, [item, opening, sold])
        sheet.write_row(0, 0, STOCK)
        for i, row in enumerate(rows, start=1):
            sheet.write_row(i, 0, row)  # a text starting with "=" is written as a formula
    return path


def test_xlsxwriter_formula_quantities_are_rejected_not_sent_as_zero(
    tmp_path: Path, sandbox: Any
) -> None:
    """Excel shows 40 and 55; the file stores 0 for both. The typed row still goes out."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    xlsxwriter_stock(inbox / "stock.xlsx", [
        ["DEL-WH-01", "TS-BLK-S", "=Data!B2-Data!C2"],
        ["DEL-WH-01", "TS-BLK-M", "=Data!B3-Data!C3"],
        ["DEL-WH-01", "CAP-RED", 12],
    ])  # fmt: skip
    before = sandbox.state()["stock"]
    assert run(inbox, sandbox).exit_code == 1
    rows = xlsx_results(inbox, "stock")
    assert statuses(rows) == {"2": "rejected", "3": "rejected", "4": "ok"}
    assert rows["2"]["message"] == said("quantity", "=Data!B2-Data!C2")
    assert rows["3"]["message"] == said("quantity", "=Data!B3-Data!C3")
    assert sent_keys(sandbox) == {"DEL-WH-01|CAP-RED"}
    after = sandbox.state()["stock"]
    assert after["DEL-WH-01|CAP-RED"] == 12
    for key in ("DEL-WH-01|TS-BLK-S", "DEL-WH-01|TS-BLK-M"):
        assert after[key] == before[key] != 0  # never wiped to the stored 0


def test_helper_formulas_filled_down_past_the_data_leave_those_rows_blank(
    tmp_path: Path, sandbox: Any
) -> None:
    """A script filled a helper column (no field reads it) with formulas down to row 10:
    the rows below the data are as blank as they look; a formula in a column a field reads
    still rejects its row."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    rows: list[list[Any]] = [["DEL-WH-01", "CAP-RED", 12, "=C2*2"]]
    rows += [["", "", "", f"=C{n}*2"] for n in range(3, 11)]
    with xlsxwriter.Workbook(inbox / "stock.xlsx") as book:
        sheet = book.add_worksheet("Stock")
        sheet.write_row(0, 0, [*STOCK, "check"])
        for i, row in enumerate(rows, start=1):
            sheet.write_row(i, 0, row)
    assert run(inbox, sandbox).exit_code == 0
    assert statuses(xlsx_results(inbox, "stock")) == {"2": "ok"}
    assert sent_keys(sandbox) == {"DEL-WH-01|CAP-RED"}


def test_a_file_of_formulas_written_by_a_program_uploads_nothing(
    tmp_path: Path, sandbox: Any
) -> None:
    """Every quantity a formula (pandas' to_excel of a computed sheet): every row is
    rejected; no zero reaches Konnect."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    xlsxwriter_stock(inbox / "stock.xlsx", [
        ["DEL-WH-01", "TS-BLK-S", "=Data!B2-Data!C2"],
        ["DEL-WH-01", "TS-BLK-M", "=Data!B3-Data!C3"],
        ["DEL-WH-01", "TS-BLK-L", "=Data!B3*0+7"],
    ])  # fmt: skip
    before = sandbox.state()["stock"]
    assert run(inbox, sandbox).exit_code == 1
    assert sandbox.ledger() == []
    assert sandbox.state()["stock"] == before
    rows = xlsx_results(inbox, "stock")
    assert statuses(rows) == {"2": "rejected", "3": "rejected", "4": "rejected"}
    assert rows["4"]["message"] == said("quantity", "=Data!B3*0+7")


def openpyxl_stock(path: Path, rows: list[list[Any]]) -> Path:
    """A stock sheet as openpyxl writes it: formulas with no result (`<v />`), and the
    workbook says fullCalcOnLoad."""
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Upload"
    data = book.create_sheet("Data")
    data.append(["Godown", "Item", "Closing"])
    data.append(["DEL-WH-01", "TS-BLK-L", 30])
    data.append(["MUM-ST-02", "CAP-RED", 12])
    sheet.append(STOCK)
    for row in rows:
        sheet.append(row)
    book.save(path)
    return path


def no_calc_flag(path: Path) -> None:
    """The workbook no longer asks to be calculated on opening."""
    rewrite(path, "xl/workbook.xml", lambda xml: xml.replace(' fullCalcOnLoad="1"', ""))


def no_value_at_all(path: Path) -> None:
    """No fullCalcOnLoad, and the formula cells have no `<v>` at all (as other writers do)."""
    no_calc_flag(path)
    rewrite(path, "xl/worksheets/sheet1.xml", lambda xml: re.sub(r"<v\s*/>", "", xml))


FORMULA_ROWS = [
    ["DEL-WH-01", "TS-BLK-S", 40],
    ["=Data!A2", "=Data!B2", "=Data!C2"],  # rows of formulas only, between typed rows
    ["=Data!A3", "=Data!B3", "=Data!C3"],
    ["DEL-WH-01", "TS-BLK-M", 41],
    ["=Data!A2", "=Data!B3", "=Data!C3"],  # and at the end, below the last stored value
]


@pytest.mark.parametrize(
    "variant",
    [
        pytest.param(lambda path: None, id="openpyxl"),
        pytest.param(no_calc_flag, id="empty-value"),
        pytest.param(no_value_at_all, id="no-value"),
    ],
)
def test_rows_of_formulas_without_results_are_rejected_not_lost(
    tmp_path: Path, sandbox: Any, variant: Callable[[Path], None]
) -> None:
    """Such rows read as blank (skipped) or, at the end of the sheet, not at all: the file
    went out 'uploaded' with 2 of its 5 rows."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    variant(openpyxl_stock(inbox / "stock.xlsx", FORMULA_ROWS))
    assert run(inbox, sandbox).exit_code == 1
    rows = xlsx_results(inbox, "stock")
    assert statuses(rows) == {
        "2": "ok", "3": "rejected", "4": "rejected", "5": "ok", "6": "rejected"}  # fmt: skip
    assert rows["3"]["message"] == "; ".join([
        said("location_id", "=Data!A2"), said("sku", "=Data!B2"), said("quantity", "=Data!C2")
    ])  # fmt: skip
    assert rows["6"]["message"].endswith(said("quantity", "=Data!C3"))
    assert sent_keys(sandbox) == {"DEL-WH-01|TS-BLK-S", "DEL-WH-01|TS-BLK-M"}
    stock = sandbox.state()["stock"]
    assert (stock["DEL-WH-01|TS-BLK-S"], stock["DEL-WH-01|TS-BLK-M"]) == (40, 41)


def test_a_sheet_made_only_of_formulas_has_its_rows_reported(tmp_path: Path, sandbox: Any) -> None:
    """It failed "header but no data rows": calamine sees only the header."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    openpyxl_stock(inbox / "stock.xlsx", [[f"=Data!{c}{r}" for c in "ABC"] for r in (2, 3)])
    before = sandbox.state()["stock"]
    assert run(inbox, sandbox).exit_code == 1
    rows = xlsx_results(inbox, "stock")
    assert statuses(rows) == {"2": "rejected", "3": "rejected"}
    assert said("quantity", "=Data!C3") in rows["3"]["message"]
    assert sandbox.ledger() == [] and sandbox.state()["stock"] == before


def manifest(path: Path, writer: str) -> Path:
    """A courier manifest whose Auto Dispatch is a formula showing Yes (service Express)."""
    header = ["Order No", "AWB No", "Courier", "Auto Dispatch", "Service"]
    rows = [
        [oid(13, 1), "5012345678", "Blue Dart", "No", "Express"],
        [oid(13, 2), "5012345679", "Blue Dart", '=IF(E3="Express","Yes","No")', "Express"],
    ]
    if writer == "xlsxwriter":
        with xlsxwriter.Workbook(path, {"strings_to_numbers": False}) as book:
            sheet = book.add_worksheet("Manifest")
            for i, row in enumerate([header, *rows]):
                sheet.write_row(i, 0, row)
    else:
        book = openpyxl.Workbook()
        sheet = book.active
        assert sheet is not None
        for row in [header, *rows]:
            sheet.append(row)
        book.save(path)
    return path


@pytest.mark.parametrize("writer", ["xlsxwriter", "openpyxl"])
def test_an_auto_dispatch_formula_is_rejected_not_defaulted(
    tmp_path: Path, sandbox: Any, writer: str
) -> None:
    """The courier/awb mapping fills a blank Auto Dispatch with "No": the formula (stored
    as 0, or as nothing) went out as autoDispatch false for an order Excel shows Yes."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    manifest(inbox / "awb_manifest.xlsx", writer)
    assert run(inbox, sandbox, "--mapping", "courier/awb").exit_code == 1
    rows = xlsx_results(inbox, "awb_manifest")
    assert statuses(rows) == {"2": "ok", "3": "rejected"}
    assert rows["3"]["message"] == said("Auto Dispatch", '=IF(E3="Express","Yes","No")')
    assert sent_keys(sandbox) == {oid(13, 1)}
    assert sandbox.state()["orders"][oid(13, 2)]["awb"] is None


def test_a_workbook_saved_by_libreoffice_reads_its_formulas_as_before(
    tmp_path: Path, sandbox: Any
) -> None:
    """Every formula's result is stored and no recalculation is asked for: the values
    Calc showed are sent, the ones from formulas (=Data!C2) included."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    shutil.copy(FIXTURES / "stock_formulas_libreoffice.xlsx", inbox / "stock.xlsx")
    assert run(inbox, sandbox).exit_code == 0
    assert set(statuses(xlsx_results(inbox, "stock")).values()) == {"ok"}
    stock = sandbox.state()["stock"]
    keys = ("DEL-WH-01|TS-BLK-S", "DEL-WH-01|TS-BLK-M", "MUM-ST-02|CAP-RED")
    assert [stock[k] for k in keys] == [40, 0, 12]


def test_a_saved_manifest_sends_the_yes_its_formula_shows(tmp_path: Path, sandbox: Any) -> None:
    """Auto Dispatch =IF(E4="Express","Yes","No"), stored as Yes by LibreOffice: sent true
    (the order moves on to bag_picked); an AWB number made by a formula is sent too."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    shutil.copy(FIXTURES / "awb_manifest_libreoffice.xlsx", inbox)
    run(inbox, sandbox, "--mapping", "courier/awb")
    rows = xlsx_results(inbox, "awb_manifest_libreoffice")
    assert rows["4"]["status"] == "ok" and rows["8"]["status"] == "ok"
    orders = sandbox.state()["orders"]
    assert orders[oid(13, 2)]["state"] == "bag_picked"
    assert orders[oid(13, 5)]["awb"]["awbNumber"] == "2345678901236"


SHEET = "".join([
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>',
    '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>',
    '<row r="1"><c r="A1" t="inlineStr"><is><t>sku</t></is></c>',
    '<c r="B1" t="inlineStr"><is><t>qty</t></is></c>',
    '<c r="C1" t="inlineStr"><is><t>note</t></is></c></row>',
    '<row r="2"><c r="A2" t="inlineStr"><is><t>TS-BLK-S</t></is></c>',
    '<c r="B2"><f t="shared" ref="B2:B3" si="0">4*10</f><v>40</v></c>',
    '<c r="C2" t="str"><f>IF(B2&gt;100,"big","")</f><v></v></c></row>',
    '<row r="3"><c r="A3" t="inlineStr"><is><t>TS-BLK-M</t></is></c>',
    '<c r="B3"><f t="shared" si="0"/><v>40</v></c>',
    '<c r="C3" t="str"><f>"a"&amp;"b"</f><v>ab</v></c></row>',
    "</sheetData></worksheet>",
])  # fmt: skip
CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/'
    'package/2006/content-types"><Default Extension="rels" ContentType="application/'
    'vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType='
    '"application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/'
    'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName='
    '"/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.'
    'spreadsheetml.worksheet+xml"/></Types>'
)
RELS = (
    '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats'
    '.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.'
    'openxmlformats.org/officeDocument/2006/relationships/{kind}" Target="{target}"/>'
    "</Relationships>"
)
WORKBOOK = (
    '<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/'
    'spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships"><sheets><sheet name="Stock" sheetId="1" r:id="rId1"/></sheets>{calc}'
    "</workbook>"
)


def handmade(path: Path, sheet: str, calc: str = "") -> Path:
    """A minimal workbook around one sheet's XML, as Excel lays it out."""
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("[Content_Types].xml", CONTENT_TYPES)
        archive.writestr(
            "_rels/.rels", RELS.format(kind="officeDocument", target="xl/workbook.xml")
        )
        archive.writestr("xl/workbook.xml", WORKBOOK.format(calc=calc))
        archive.writestr(
            "xl/_rels/workbook.xml.rels",
            RELS.format(kind="worksheet", target="worksheets/sheet1.xml"),
        )
        archive.writestr("xl/worksheets/sheet1.xml", sheet)
    return path


def test_stored_results_are_read_shared_formulas_and_empty_text_results_too(
    tmp_path: Path,
) -> None:
    """As Excel saves: a shared formula's copy stores its result; a formula whose result is
    the empty text stores `<v></v>` (t="str"), which is empty, not uncalculated."""
    cells = read_sheet(handmade(tmp_path / "excel.xlsx", SHEET)).cells.values.tolist()
    assert cells == [["sku", "qty", "note"], ["TS-BLK-S", "40", ""], ["TS-BLK-M", "40", "ab"]]


def test_to_be_calculated_on_opening_a_stored_0_or_nothing_is_a_placeholder(
    tmp_path: Path,
) -> None:
    """fullCalcOnLoad: XlsxWriter stores 0 for every formula, Apache POI (which sets the
    flag too) the real results. A 0 or an empty result is taken for a placeholder; others
    are kept. A shared formula's copy has no text of its own: '=…' stands for it."""
    sheet = SHEET.replace('<f t="shared" si="0"/><v>40</v>', '<f t="shared" si="0"/><v>0</v>')
    path = handmade(tmp_path / "program.xlsx", sheet, '<calcPr fullCalcOnLoad="1"/>')
    cells = read_sheet(path).cells.values.tolist()
    mark = " (formula never calculated)"
    assert cells == [
        ["sku", "qty", "note"],
        ["TS-BLK-S", "40", f'=IF(B2>100,"big",""){mark}'],
        ["TS-BLK-M", f"=\u2026{mark}", "ab"],
    ]


def test_every_cell_of_an_array_formula_is_marked(tmp_path: Path) -> None:
    """XlsxWriter stores 0 in each cell an array formula fills: none of them is a value."""
    path = tmp_path / "array.xlsx"
    with xlsxwriter.Workbook(path) as book:
        sheet = book.add_worksheet("Stock")
        sheet.write_row(0, 0, ["sku", "qty", "opening"])
        sheet.write_column(1, 0, ["TS-BLK-S", "TS-BLK-M", "TS-BLK-L"])
        sheet.write_column(1, 2, [5, 6, 7])
        sheet.write_array_formula("B2:B4", "{=C2:C4*2}")
    column = read_sheet(path).cells[1].tolist()
    assert column == ["qty"] + ["=C2:C4*2 (formula never calculated)"] * 3


def test_formulas_in_cells_the_file_gives_no_place_fail_the_file(tmp_path: Path) -> None:
    """Cells without `r="B2"` follow in order; rather than guess which cell a formula
    never calculated is in, the file is refused saying what to do."""
    sheet = SHEET.replace('<c r="B3"><f t="shared" si="0"/><v>40</v>', '<c><f t="shared" si="0"/>')
    path = handmade(tmp_path / "unplaced.xlsx", sheet)
    with pytest.raises(InputError, match="open the file in Excel and save it"):
        read_sheet(path)
    stored = SHEET.replace(' r="B3"', "")  # its result stored: nothing to place
    saved = handmade(tmp_path / "saved.xlsx", stored)
    assert read_sheet(saved).cells.values.tolist()[2] == ["TS-BLK-M", "40", "ab"]


def test_a_sheet_without_formulas_is_not_searched_for_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One search for a formula tag decides; the cell-by-cell look runs only for a sheet
    that has one (the 100,000-row read stays as fast as before)."""

    class Never:
        def __getattr__(self, name: str) -> Any:
            raise AssertionError("a sheet without formulas was searched cell by cell")

    real = xlsxerrors._patterns(b"")
    never = dataclasses.replace(real, fast=Never(), cell=Never())
    monkeypatch.setattr(xlsxerrors, "_patterns", lambda prefix: never)
    path = xlsxwriter_stock(tmp_path / "plain.xlsx", [["DEL-WH-01", "TS-BLK-S", 4]])
    assert read_sheet(path).cells.values.tolist() == [STOCK, ["DEL-WH-01", "TS-BLK-S", "4"]]
    # Excel's own file: formulas with their results, no flag - nothing to look for either
    # (a million formula cells would cost seconds and hundreds of MB, for nothing)
    excel = handmade(tmp_path / "excel.xlsx", SHEET.replace("<v></v>", "<v>x</v>"))
    assert read_sheet(excel).cells.values.tolist()[1] == ["TS-BLK-S", "40", "x"]
