"""Hidden and filtered-out rows in every workbook format (.xlsx, .xls, .ods), in files
LibreOffice wrote (tests/fixtures/office/README.md says how each was made).

A cancel list filtered down to the orders to cancel and saved as .ods (LibreOffice's own
format) or .xls must not cancel the orders the filter hid, as an .xlsx does not; a stock
file's hidden row is sent, and named, whatever the format (etl.hiddenrows,
etl.rowvisibility).
"""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path
from typing import Any
from unittest.mock import Mock

import pytest
from runs import results, run

import etl.excelread
import etl.xlsxerrors
from etl import rowvisibility

OFFICE = Path(__file__).parent / "fixtures" / "office"
FORMATS = ["ods", "xls", "xlsx"]
WHERE = {
    "ods": "hidden or filtered out in LibreOffice",
    "xls": "hidden or filtered out in Excel or LibreOffice",
    "xlsx": "hidden or filtered out in Excel or LibreOffice",
}


def dropped(inbox: Path, name: str) -> Path:
    inbox.mkdir(exist_ok=True)
    return Path(shutil.copy(OFFICE / name, inbox / name))


def cancelled(sandbox: Any) -> set[str]:
    return {e["record"]["orderId"] for e in sandbox.ledger() if e["outcome"] == "applied"}


def hidden_message(suffix: str) -> str:
    return (
        f"this row is hidden in the workbook ({WHERE[suffix]}), and an order action is not"
        " sent from a row nobody sees: to send it, unhide the row (or clear the filter) and"
        " drop the file in again; to leave it out, delete the row"
    )


@pytest.mark.parametrize("suffix", FORMATS)
def test_orders_a_filter_hid_are_rejected_not_cancelled(
    tmp_path: Path, sandbox: Any, suffix: str
) -> None:
    """An autofilter keeps `cancel? = yes`: rows 3 and 5 (orders ...05, ...07) are filtered
    out. Only the two orders the user saw are cancelled."""
    dropped(tmp_path, f"cancel_filtered.{suffix}")
    assert run(tmp_path, sandbox).exit_code == 1
    assert cancelled(sandbox) == {"11000000000000000004", "11000000000000000006"}
    orders = sandbox.state()["orders"]
    assert orders["11000000000000000005"]["state"] == "placed"
    assert orders["11000000000000000007"]["state"] == "placed"
    found = results(tmp_path, "cancel_filtered")
    assert {row: found[row]["status"] for row in ("2", "3", "4", "5")} == {
        "2": "ok",
        "3": "rejected",
        "4": "ok",
        "5": "rejected",
    }
    assert found["3"]["message"] == hidden_message(suffix)


@pytest.mark.parametrize("suffix", ["ods", "xls"])
def test_rows_hidden_every_way_count_from_the_sheets_own_row_numbers(
    tmp_path: Path, sandbox: Any, suffix: str
) -> None:
    """A title above the header (row 1 empty, header on row 4); row 6 filtered out, rows 7-8
    a collapsed group, two hidden blank rows (one repeated row in the .ods) and row 12
    hidden: the rows rejected are the ones the user cannot see, by the numbers they see."""
    dropped(tmp_path, f"cancel_header_row4_filtered_grouped_hidden.{suffix}")
    assert run(tmp_path, sandbox).exit_code == 1
    sent = {f"300000000000000000{n:02d}" for n in (1, 5, 7)}
    assert cancelled(sandbox) == sent
    found = results(tmp_path, "cancel_header_row4_filtered_grouped_hidden")
    rejected = {row for row, line in found.items() if line["status"] == "rejected"}
    assert rejected == {"6", "7", "8", "12"}
    assert {found[row]["status"] for row in ("5", "9", "13")} == {"ok"}


@pytest.mark.parametrize("suffix", FORMATS)
def test_a_stock_files_hidden_row_is_sent_and_named(
    tmp_path: Path, sandbox: Any, suffix: str
) -> None:
    """Stock typed in Calc: title, header on row 3, row 11 (BAG-TOTE) hidden, a Total row."""
    sandbox.faults(catalogue="open")
    dropped(tmp_path, f"stock_row11_hidden.{suffix}")
    result = run(tmp_path, sandbox)
    assert result.exit_code == 0, result.output
    note = (
        f"row 11 is hidden in the workbook ({WHERE[suffix]}) and read like every other row:"
        " hidden rows are still the file's data; to leave rows out, delete them rather than"
        " hiding them"
    )
    assert note in " ".join(result.stdout.split())
    skus = [e["record"]["sku"] for e in sandbox.ledger()]
    assert len(skus) == 8 and "BAG-TOTE" in skus


def test_an_order_workbook_whose_hidden_rows_cannot_be_read_is_refused(
    tmp_path: Path, sandbox: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rather than sending rows nobody may have seen: nothing is cancelled. `.xlsx` too: its
    sheet XML unreadable where calamine read the cells (a part named unusually)."""
    monkeypatch.setattr(etl.excelread, "ods_hidden_rows", lambda *args: None)
    monkeypatch.setattr(etl.xlsxerrors, "_sheet_xml", Mock(side_effect=KeyError("sheet1.xml")))
    dropped(tmp_path, "cancel_filtered.ods")
    dropped(tmp_path, "cancel_filtered.xlsx")
    result = run(tmp_path, sandbox)
    assert result.exit_code == 1
    assert sandbox.ledger() == []
    failed = {p.name for p in (tmp_path / "failed").glob("*/cancel_filtered*")}
    assert {"cancel_filtered.ods", "cancel_filtered-2.xlsx"} <= failed, failed
    assert "hidden or filtered out cannot be read" in " ".join(result.stdout.split())


def test_a_stock_workbook_whose_hidden_rows_cannot_be_read_is_sent_with_a_warning(
    tmp_path: Path, sandbox: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(etl.excelread, "xls_hidden_rows", lambda *args: None)
    sandbox.faults(catalogue="open")
    dropped(tmp_path, "stock_row11_hidden.xls")
    result = run(tmp_path, sandbox)
    assert result.exit_code == 0, result.output
    assert len(sandbox.ledger()) == 8
    assert "could not be read from the file" in " ".join(result.stdout.split())


# --- reading the marks -----------------------------------------------------------------------

ODS = b"""<office:body><office:spreadsheet><table:table table:name="Other">
<table:table-row table:visibility="collapse"><table:table-cell/></table:table-row>
</table:table><table:table table:name="R&amp;D">
<table:table-row table:number-rows-repeated="2"><table:table-cell/></table:table-row>
<table:table-row-group table:display="false"><table:table-row-group>
<table:table-row><table:table-cell/></table:table-row></table:table-row-group>
<table:table-row table:number-rows-repeated="2"><table:table-cell/></table:table-row>
</table:table-row-group>
<table:table-row table:visibility="filter"><table:table-cell/></table:table-row>
<table:table-row><table:table-cell/></table:table-row>
<table:table-row table:visibility="collapse" table:number-rows-repeated="1048570"/>
</table:table></office:spreadsheet></office:body>"""


def test_ods_rows_count_repeats_and_rows_of_a_collapsed_group() -> None:
    """A group written `display="false"` hides its rows (nested groups too) even when the
    rows carry no mark; a hidden run repeated to the sheet's end stops at its last row."""
    assert rowvisibility.ods_hidden_rows(ODS, "R&D", 10) == [3, 4, 5, 6, 8, 9, 10]
    assert rowvisibility.ods_hidden_rows(ODS, "Other", 10) == [1]
    assert rowvisibility.ods_hidden_rows(ODS, "Missing", 10) is None
    assert rowvisibility.ods_hidden_rows(None, "R&D", 10) is None
    assert rowvisibility.ods_hidden_rows(b"<table:table-row/>", "R&D", 10) == []


def test_an_xls_hiding_no_row_is_not_read_again(monkeypatch: pytest.MonkeyPatch) -> None:
    """The byte search for a hidden ROW record decides; xlrd (which would parse every cell
    again) runs only for a file it flags."""

    def never(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("xlrd opened a workbook hiding no row")

    content = (OFFICE / "stock_row11_hidden.xls").read_bytes()
    assert rowvisibility.xls_hidden_rows(content, ".paste", 12) == [11]
    monkeypatch.setattr(rowvisibility.xlrd, "open_workbook", never)
    shown = (Path(__file__).parent / "data" / "readers" / "old-format.xls").read_bytes()
    assert rowvisibility.xls_hidden_rows(shown, "Sheet1", 100) == []


def xml_2003(rows: list[list[str]], hidden: set[int]) -> str:
    """An XML Spreadsheet 2003 workbook as Excel writes it, rows in `hidden` (1-based)
    carrying `ss:Hidden="1"` (hidden, or filtered out by an AutoFilter)."""
    lines = []
    for number, cells in enumerate(rows, start=1):
        flag = ' ss:Hidden="1"' if number in hidden else ""
        data = "".join(f'<Cell><Data ss:Type="String">{c}</Data></Cell>' for c in cells)
        lines.append(f"<Row{flag}>{data}</Row>")
    return (
        '<?xml version="1.0"?><?mso-application progid="Excel.Sheet"?>'
        '<Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet"'
        ' xmlns:ss="urn:schemas-microsoft-com:office:spreadsheet">'
        f'<Worksheet ss:Name="Cancel"><Table>{"".join(lines)}</Table></Worksheet></Workbook>'
    )


def test_an_xml_2003_cancel_list_filtered_down_cancels_only_what_shows(
    tmp_path: Path, sandbox: Any
) -> None:
    """The same filtered cancel list from an ERP's "XML Spreadsheet 2003" export (named
    .xls): the rows it marks hidden are rejected, not cancelled."""
    head = ["orderId", "orderItemId", "quantity", "reasonCode", "cancel?"]
    body = [[f"1100000000000000000{n}", f"1100000000000000000{n}-1", "1", "6", keep]
            for n, keep in ((4, "yes"), (5, "no"), (6, "yes"), (7, "no"))]  # fmt: skip
    tmp_path.mkdir(exist_ok=True)
    (tmp_path / "cancel_filtered.xls").write_text(xml_2003([head, *body], {3, 5}))
    assert run(tmp_path, sandbox).exit_code == 1
    assert cancelled(sandbox) == {"11000000000000000004", "11000000000000000006"}
    found = results(tmp_path, "cancel_filtered")
    assert [found[row]["status"] for row in "2345"] == ["ok", "rejected", "ok", "rejected"]
    assert found["5"]["message"] == hidden_message("xls")


def as_strict(source: Path, target: Path) -> None:
    """`source` rewritten as Excel's "Strict Open XML Spreadsheet" names its parts' XML."""
    names = {
        b"http://schemas.openxmlformats.org/spreadsheetml/2006/main": (
            b"http://purl.oclc.org/ooxml/spreadsheetml/main"
        ),
        b'http://schemas.openxmlformats.org/officeDocument/2006/relationships"': (
            b'http://purl.oclc.org/ooxml/officeDocument/relationships"'
        ),
    }
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for info in old.infolist():
            data = old.read(info.filename)
            if info.filename.startswith("xl/") and info.filename.endswith(".xml"):
                for before, after in names.items():
                    data = data.replace(before, after)
            new.writestr(info, data)


def test_a_strict_open_xml_cancel_list_has_its_hidden_rows_read(
    tmp_path: Path, sandbox: Any
) -> None:
    """Not "cannot be read": the sheet is found whatever namespace the workbook uses."""
    tmp_path.mkdir(exist_ok=True)
    as_strict(OFFICE / "cancel_filtered.xlsx", tmp_path / "cancel_filtered.xlsx")
    assert run(tmp_path, sandbox).exit_code == 1
    assert cancelled(sandbox) == {"11000000000000000004", "11000000000000000006"}
    found = results(tmp_path, "cancel_filtered")
    assert [found[row]["status"] for row in "2345"] == ["ok", "rejected", "ok", "rejected"]
