"""Workbooks with several sheets: the sheet whose header fits is read, and no sheet's rows
are ever left behind unseen (etl.matching looks through every worksheet).

Every workbook here is a real file: XLSX written with openpyxl, XLS with xlwt, an ODS and an
XML Spreadsheet 2003 written as the applications write them.
"""

from __future__ import annotations

import json
import logging
import zipfile
from datetime import date
from pathlib import Path
from typing import Any

import openpyxl
import pytest
import xlwt
from runs import run
from typer.testing import CliRunner

from etl.cli import app
from etl.errors import InputError
from etl.mapping import choose_mapping, explain, load_mapping, load_mappings
from etl.matching import score
from etl.readers import SheetCache

SHIPPED = load_mappings(Path(__file__).resolve().parents[1] / "mappings")
TODAY = date.today().isoformat()
HEADER = ["location_id", "sku", "quantity"]
Rows = list[list[Any]]


def xlsx(
    path: Path, sheets: dict[str, Rows], hidden: tuple[str, ...] = (), state: str = "hidden"
) -> Path:
    book = openpyxl.Workbook()
    assert book.active is not None
    book.remove(book.active)
    for name, rows in sheets.items():
        sheet = book.create_sheet(name)
        for row in rows:
            sheet.append(row)
        if name in hidden:
            sheet.sheet_state = state
    book.save(path)
    return path


def xls(path: Path, sheets: dict[str, Rows]) -> Path:
    book = xlwt.Workbook()
    for name, rows in sheets.items():
        sheet = book.add_sheet(name)
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                sheet.write(r, c, value)
    book.save(str(path))
    return path


def ods(path: Path, sheets: dict[str, Rows]) -> Path:
    """An OpenDocument spreadsheet as LibreOffice stores one: a zip of XML parts."""
    office = "urn:oasis:names:tc:opendocument:xmlns:office:1.0"
    table = "urn:oasis:names:tc:opendocument:xmlns:table:1.0"
    text = "urn:oasis:names:tc:opendocument:xmlns:text:1.0"
    cell = '<table:table-cell office:value-type="string"><text:p>{}</text:p></table:table-cell>'
    body = "".join(
        f'<table:table table:name="{name}">'
        + "".join(
            "<table:table-row>" + "".join(cell.format(v) for v in row) + "</table:table-row>"
            for row in rows
        )
        + "</table:table>"
        for name, rows in sheets.items()
    )
    content = (
        f'<?xml version="1.0" encoding="UTF-8"?><office:document-content xmlns:office="{office}"'
        f' xmlns:table="{table}" xmlns:text="{text}" office:version="1.2"><office:body>'
        f"<office:spreadsheet>{body}</office:spreadsheet></office:body></office:document-content>"
    )
    kind = "application/vnd.oasis.opendocument.spreadsheet"
    manifest = (
        '<?xml version="1.0" encoding="UTF-8"?><manifest:manifest xmlns:manifest='
        '"urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">'
        f'<manifest:file-entry manifest:full-path="/" manifest:media-type="{kind}"/>'
        '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
        "</manifest:manifest>"
    )
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(zipfile.ZipInfo("mimetype"), kind)  # first and stored, as ODF asks
        archive.writestr("META-INF/manifest.xml", manifest, zipfile.ZIP_DEFLATED)
        archive.writestr("content.xml", content, zipfile.ZIP_DEFLATED)
    return path


def xml_2003(path: Path, sheets: dict[str, Rows], hidden: tuple[str, ...] = ()) -> Path:
    """An XML Spreadsheet 2003 file ("Save as XML Spreadsheet"), as many ERPs write `.xls`."""
    hide = (
        '<WorksheetOptions xmlns="urn:schemas-microsoft-com:office:excel">'
        "<Visible>SheetHidden</Visible></WorksheetOptions>"
    )
    parts = []
    for name, rows in sheets.items():
        cells = "".join(
            "<Row>"
            + "".join(f'<Cell><Data ss:Type="String">{v}</Data></Cell>' for v in row)
            + "</Row>"
            for row in rows
        )
        options = hide if name in hidden else ""
        parts.append(f'<Worksheet ss:Name="{name}"><Table>{cells}</Table>{options}</Worksheet>')
    path.write_text(
        '<?xml version="1.0"?>\n<?mso-application progid="Excel.Sheet"?>\n'
        '<Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet"'
        ' xmlns:ss="urn:schemas-microsoft-com:office:spreadsheet">'
        + "".join(parts)
        + "</Workbook>",
        encoding="utf-8",
    )
    return path


READ_ME = [["How to fill this file"], ["One row per store and SKU; quantity in pieces"]]
DATA_ON_ROW_4 = [["Stock as on 1 Dec"], [], [], HEADER, ["DEL-WH-01", "TS-BLK-S", 5]]
DELHI = [HEADER, ["DEL-WH-01", "TS-BLK-S", 5]]
SKUS = ["TS-BLK-S", "TS-BLK-M", "TS-BLK-L", "CAP-RED"]
MUMBAI = [HEADER, ["MUM-ST-02", "TS-WHT-M", 3], ["MUM-ST-02", "TS-BLK-S", 4]]


# --- choosing the sheet -------------------------------------------------------------------


def test_a_notes_sheet_first_and_the_data_on_the_second_sheet_is_read(tmp_path: Path) -> None:
    path = xlsx(tmp_path / "stock.xlsx", {"Read me": READ_ME, "Stock": DATA_ON_ROW_4})
    mapping, table = choose_mapping(SHIPPED, path)
    assert mapping.name == "generic/stock"
    assert (table.sheet.sheet_name, table.header_row) == ("Stock", 4)
    assert table.row_numbers.tolist() == [5]
    assert table.data.iloc[0].tolist() == ["DEL-WH-01", "TS-BLK-S", "5"]
    assert table.notes == []


def test_an_empty_first_sheet_no_longer_hides_the_data(tmp_path: Path) -> None:
    path = xlsx(tmp_path / "stock.xlsx", {"Sheet1": [], "Data": DELHI})
    assert choose_mapping(SHIPPED, path)[1].sheet.sheet_name == "Data"


def test_two_sheets_with_rows_for_the_same_mapping_fail_naming_both(tmp_path: Path) -> None:
    path = xlsx(tmp_path / "stock_by_store.xlsx", {"Delhi": DELHI, "Mumbai": MUMBAI})
    with pytest.raises(InputError) as raised:
        choose_mapping(SHIPPED, path)
    assert raised.value.code == "several_sheets"
    assert str(raised.value) == (
        "sheets 'Delhi' and 'Mumbai' both hold stock rows: konnect-etl reads one sheet per "
        "file. Put all rows on one sheet, or save each sheet as its own file"
    )


def test_three_sheets_with_rows_are_all_named(tmp_path: Path) -> None:
    sheets = {"Delhi": DELHI, "Mumbai": MUMBAI, "Pune": DELHI}
    with pytest.raises(InputError, match="sheets 'Delhi', 'Mumbai' and 'Pune' all hold stock"):
        choose_mapping(SHIPPED, xlsx(tmp_path / "stock.xlsx", sheets))


def test_sheets_of_two_feeds_fail_saying_which_holds_what(tmp_path: Path) -> None:
    prices = [
        ["location_id", "sku", "mrp", "esp", "currency"],
        ["DEL-WH-01", "TS-BLK-S", "999", "899", "INR"],
    ]
    path = xlsx(tmp_path / "upload.xlsx", {"Stock": DELHI, "Prices": prices})
    with pytest.raises(InputError) as raised:
        choose_mapping(SHIPPED, path)
    assert str(raised.value).startswith(
        "sheet 'Stock' holds stock rows and sheet 'Prices' holds price rows: konnect-etl reads "
        "one sheet per file. Save each sheet as its own file"
    )


def test_a_second_sheet_with_the_header_but_no_rows_is_no_conflict(tmp_path: Path) -> None:
    path = xlsx(tmp_path / "stock.xlsx", {"Template": [HEADER], "Delhi": DELHI})
    _, table = choose_mapping(SHIPPED, path)
    assert (table.sheet.sheet_name, len(table.data)) == ("Delhi", 1)


def test_a_sheet_with_rows_whose_header_lacks_a_column_is_noted(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    mumbai = [["location_id", "sku", "qty"], ["MUM-ST-02", "TS-WHT-M", 3]]
    path = xlsx(tmp_path / "stock.xlsx", {"Delhi": DELHI, "Mumbai": mumbai})
    with caplog.at_level(logging.WARNING, logger="etl.matching"):
        _, table = choose_mapping(SHIPPED, path)
    assert table.sheet.sheet_name == "Delhi"
    note = "sheet 'Mumbai' was not read: it has rows, but its header lacks 'quantity'"
    assert table.notes == [note]
    assert f"stock.xlsx: {note}" in caplog.messages


def test_a_sheet_that_goes_on_without_a_header_is_noted(tmp_path: Path) -> None:
    """Rows pasted onto Sheet2 when Sheet1 was "full": no header there, so nothing fits, and
    they would be left unread without a word. A notes sheet of another shape is no table."""
    more = [["MUM-ST-02", "TS-WHT-M", 3], ["MUM-ST-02", "CAP-RED", 4]]
    readme = [["Exported by ERP"], ["Call IT for help"]]
    path = xlsx(tmp_path / "stock.xlsx", {"Delhi": DELHI, "Sheet2": more, "Read me": readme})
    _, table = choose_mapping(SHIPPED, path)
    assert table.sheet.sheet_name == "Delhi"
    assert table.notes == [
        "sheet 'Sheet2' was not read: it has no header row, and its first row (MUM-ST-02,"
        " TS-WHT-M, 3) has as many cells as the header of sheet 'Delhi' - if its rows continue"
        " that table, move them under that header and send the file again (one sheet is read"
        " per file)"
    ]


def test_notes_sheets_that_share_a_word_with_the_header_are_not_noted(tmp_path: Path) -> None:
    glossary = [["Column", "Meaning"], ["sku", "the item code"], ["quantity", "pieces"]]
    path = xlsx(tmp_path / "stock.xlsx", {"Glossary": glossary, "Delhi": DELHI})
    assert choose_mapping(SHIPPED, path)[1].notes == []


# --- hidden sheets --------------------------------------------------------------------------


@pytest.mark.parametrize("state", ["hidden", "veryHidden"])
def test_a_hidden_sheet_is_not_read_but_mentioned_when_it_fits(tmp_path: Path, state: str) -> None:
    old = [HEADER, ["DEL-WH-01", "TS-BLK-S", 999]]
    sheets = {"Old": old, "Current": DELHI}
    path = xlsx(tmp_path / "stock.xlsx", sheets, hidden=("Old",), state=state)
    _, table = choose_mapping(SHIPPED, path)
    assert (table.sheet.sheet_name, table.data.iat[0, 2]) == ("Current", "5")
    assert table.notes == [
        "sheet 'Old' was not read because it is hidden, though its header fits too: if its "
        "rows should be uploaded, unhide it and save it as its own file"
    ]


def test_a_hidden_sheet_alone_fitting_is_refused_saying_how_to_read_it(tmp_path: Path) -> None:
    path = xlsx(tmp_path / "stock.xlsx", {"Read me": READ_ME, "Data": DELHI}, hidden=("Data",))
    with pytest.raises(InputError) as raised:
        choose_mapping(SHIPPED, path)
    assert raised.value.code == "no_mapping"
    assert "sheet 'Data' is hidden, and hidden sheets are not read: unhide it" in str(raised.value)
    assert "read: {sheet: Data}" in str(raised.value)


def test_a_mapping_that_names_a_hidden_sheet_reads_it(tmp_path: Path) -> None:
    path = xlsx(tmp_path / "stock.xlsx", {"Read me": READ_ME, "Data": DELHI}, hidden=("Data",))
    mapping = _mapping(tmp_path, "feed: stock\nread: {sheet: Data}\n")
    assert choose_mapping([mapping], path)[1].sheet.sheet_name == "Data"


# --- hidden rows ----------------------------------------------------------------------------


def test_hidden_and_filtered_out_rows_are_read_and_named(tmp_path: Path, sandbox: Any) -> None:
    """Rows hidden or filtered out in Excel are the file's data: sent like the others (as
    Excel's own "Save as CSV" keeps them), and the summary names them, so someone who hid
    rows to leave them out learns they went too. Hidden blank rows and a hidden title row
    above the header are not named."""
    data = [["DEL-WH-01", sku, 5] for sku in SKUS]
    rows = [["Stock as on 1 Dec"], HEADER, *data[:2], [], *data[2:]]
    path = xlsx(tmp_path / "stock.xlsx", {"Stock": rows})
    book = openpyxl.load_workbook(path)
    sheet = book["Stock"]
    sheet.auto_filter.ref = "A2:C7"
    for row in (1, 4, 5, 7):  # the title, two data rows, the blank row between them
        sheet.row_dimensions[row].hidden = True
    book.save(path)
    result = run(tmp_path, sandbox)
    assert result.exit_code == 0, result.output
    assert "Note stock.xlsx: rows 4 and 7 are hidden in the workbook" in result.stdout  # table
    assert sorted(e["record"]["sku"] for e in sandbox.ledger()) == sorted(SKUS)
    summary = json.loads((tmp_path / "done" / TODAY / "stock.summary.json").read_text())
    assert summary["warnings"] == [
        "rows 4 and 7 are hidden in the workbook (hidden or filtered out in Excel or"
        " LibreOffice) and read like every other row: hidden rows are still the file's data;"
        " to leave rows out, delete them rather than hiding them"
    ]


def test_rows_filtered_out_of_a_cancel_workbook_are_rejected_not_cancelled(
    tmp_path: Path, sandbox: Any
) -> None:
    """A manager filters the cancel list down to the orders to cancel and saves it: the rows
    filtered out were not meant to go, and a cancel cannot be undone."""
    go, keep = f"11{3:018d}", f"11{4:018d}"
    header = ["orderId", "orderItemId", "quantity", "reasonCode", "Cancel?"]
    rows = [header, [go, f"{go}-1", 1, 6, "YES"], [keep, f"{keep}-1", 1, 6, "NO - keep"]]
    path = xlsx(tmp_path / "cancel_28-11.xlsx", {"Cancel": rows})
    book = openpyxl.load_workbook(path)
    book["Cancel"].auto_filter.ref = "A1:E3"
    book["Cancel"].row_dimensions[3].hidden = True
    book.save(path)
    assert run(tmp_path, sandbox).exit_code == 1
    orders = sandbox.state()["orders"]
    assert orders[go]["state"] == "cancelled_fynd" and orders[keep]["state"] == "placed"
    result = openpyxl.load_workbook(tmp_path / "done" / TODAY / "cancel_28-11.result.xlsx")
    found = {r[5]: (r[6], r[7]) for r in result.active.iter_rows(min_row=2, values_only=True)}
    assert found[3] == (
        "rejected",
        "this row is hidden in the workbook (hidden or filtered out in Excel or LibreOffice),"
        " and an order action is not sent from a row nobody sees: to send it, unhide the row"
        " (or clear the filter) and drop the file in again; to leave it out, delete the row",
    )
    assert found[2][0] == "ok"


def test_a_workbook_without_hidden_rows_has_no_such_note(tmp_path: Path) -> None:
    _, table = choose_mapping(SHIPPED, xlsx(tmp_path / "stock.xlsx", {"Stock": DELHI}))
    assert table.notes == [] and table.sheet.hidden_rows is not None
    assert len(table.sheet.hidden_rows) == 0


# --- other workbook formats -----------------------------------------------------------------


def test_old_xls_with_a_notes_sheet_first(tmp_path: Path) -> None:
    path = xls(tmp_path / "stock.xls", {"Notes": READ_ME, "Stock": DATA_ON_ROW_4})
    _, table = choose_mapping(SHIPPED, path)
    assert (table.sheet.kind, table.sheet.sheet_name, table.header_row) == ("xls", "Stock", 4)


def test_old_xls_with_rows_on_two_sheets_fails(tmp_path: Path) -> None:
    path = xls(tmp_path / "stock.xls", {"Delhi": DELHI, "Mumbai": MUMBAI})
    with pytest.raises(InputError, match="sheets 'Delhi' and 'Mumbai' both hold stock rows"):
        choose_mapping(SHIPPED, path)


def test_ods_with_a_notes_sheet_first(tmp_path: Path) -> None:
    path = ods(tmp_path / "stock.ods", {"Notes": READ_ME, "Stock": DELHI})
    _, table = choose_mapping(SHIPPED, path)
    assert (table.sheet.sheet_name, table.data.iat[0, 1]) == ("Stock", "TS-BLK-S")


def test_xml_spreadsheet_sheets_are_looked_through_and_hidden_ones_skipped(
    tmp_path: Path,
) -> None:
    sheets = {"Notes": READ_ME, "Old": MUMBAI, "Stock": DELHI}
    path = xml_2003(tmp_path / "stock.xls", sheets, hidden=("Old",))
    _, table = choose_mapping(SHIPPED, path)
    assert (table.sheet.kind, table.sheet.sheet_name, len(table.data)) == ("xml", "Stock", 1)
    assert table.notes and table.notes[0].startswith("sheet 'Old' was not read because it is")


def test_xml_spreadsheet_with_rows_on_two_sheets_fails(tmp_path: Path) -> None:
    path = xml_2003(tmp_path / "stock.xls", {"Delhi": DELHI, "Mumbai": MUMBAI})
    with pytest.raises(InputError, match="sheets 'Delhi' and 'Mumbai' both hold stock rows"):
        choose_mapping(SHIPPED, path)


# --- what is read, and how much ---------------------------------------------------------------


def test_a_mapping_that_names_its_sheet_reads_only_that_sheet(tmp_path: Path) -> None:
    path = xlsx(tmp_path / "stock.xlsx", {"Delhi": DELHI, "Mumbai": MUMBAI})
    mapping = _mapping(tmp_path, "feed: stock\nread: {sheet: Mumbai}\n")
    cache = SheetCache(path)
    assert score(mapping, path, cache).fits
    assert (list(cache.sheets), cache.heads) == ([("Mumbai", None, None)], {})
    _, table = choose_mapping([mapping], path)
    assert table.data.iloc[:, 2].tolist() == ["3", "4"]


def test_a_mapping_that_names_its_sheet_reads_it_and_names_the_sheet_left(tmp_path: Path) -> None:
    """The mapping says which sheet holds the rows, so the file is read; but the rows of
    another sheet that fits are named, never left behind without a word."""
    path = xlsx(tmp_path / "stock_by_store.xlsx", {"Delhi": DELHI, "Mumbai": MUMBAI})
    text = 'feed: stock\nmatch: {filename: "stock_by_store*"}\nread: {sheet: Mumbai}\n'
    mapping, table = choose_mapping([*SHIPPED, _mapping(tmp_path, text)], path)
    assert (mapping.name, table.sheet.sheet_name, len(table.data)) == ("shop/stock", "Mumbai", 2)
    assert table.notes == [
        "sheet 'Delhi' has stock rows under a header that fits mapping shop/stock, and was not"
        " read: the mapping reads sheet 'Mumbai'. If those rows should be uploaded, correct"
        " read.sheet in the mapping, or save each sheet as its own file (one sheet is read per"
        " file)"
    ]


def test_sheet_numbers_count_from_0_and_the_first_sheet_left_is_a_warning(
    tmp_path: Path, sandbox: Any
) -> None:
    """`sheet: 1` written for "the first sheet" reads the second: the run goes ahead (the
    mapping chose its sheet), and its summary says which sheet 1 is and whose rows were left."""
    inbox = tmp_path / "inbox"
    (inbox / "mappings" / "shop").mkdir(parents=True)
    (inbox / "konnect-etl.yaml").write_text("mappings: ./mappings\n")
    (inbox / "mappings" / "shop" / "stock.yaml").write_text("feed: stock\nread: {sheet: 1}\n")
    xlsx(inbox / "stock.xlsx", {"Delhi": DELHI, "Mumbai": MUMBAI, "Notes": READ_ME})
    assert _run(inbox, sandbox).exit_code == 0
    summary = _summary(inbox, "done", "stock")
    assert (summary["sheet"], summary["rows"]["ok"]) == ("Mumbai", 2)
    assert summary["warnings"] == [
        "sheet 'Delhi' has stock rows under a header that fits mapping shop/stock, and was not"
        " read: its read.sheet is 1, and sheet 1 is 'Mumbai', the 2nd sheet (sheet numbers"
        " count from 0). If those rows should be uploaded, correct read.sheet in the mapping,"
        " or save each sheet as its own file (one sheet is read per file)"
    ]
    explained = CliRunner().invoke(
        app,
        [
            "mappings",
            "--config",
            str(inbox / "konnect-etl.yaml"),
            "--explain",
            str(inbox / "done" / TODAY / "stock.xlsx"),
        ],
    )
    assert "sheet 1 is 'Mumbai', the 2nd sheet" in explained.output
    assert "sheet 'Delhi' has stock rows" in explained.output


def test_a_single_sheet_workbook_is_read_once_whole(tmp_path: Path) -> None:
    path = xlsx(tmp_path / "stock.xlsx", {"Delhi": DELHI})
    cache = SheetCache(path)
    report = score(SHIPPED[[m.name for m in SHIPPED].index("generic/stock")], path, cache)
    assert report.fits and not report.head_only and cache.heads == {}


def test_other_sheets_are_only_looked_at_in_their_first_rows(tmp_path: Path) -> None:
    long = [HEADER] + [["DEL-WH-01", f"SKU-{i}", i] for i in range(500)]
    path = xlsx(tmp_path / "stock.xlsx", {"Read me": READ_ME, "Stock": long})
    cache = SheetCache(path)
    reports = [score(m, path, cache) for m in SHIPPED]
    # nothing was read whole while choosing (ginesys/stock's sheet 'Closing Stock' is absent)
    assert all(isinstance(whole, InputError) for whole in cache.sheets.values())
    heads = [head for head in cache.heads.values() if not isinstance(head, InputError)]
    assert len(heads) == 2 and max(len(head.cells) for head in heads) <= 51
    assert sum(r.fits for r in reports) == 1
    assert len(choose_mapping(SHIPPED, path)[1].data) == 500


def test_a_workbook_of_empty_sheets_says_it_is_empty(tmp_path: Path) -> None:
    path = xlsx(tmp_path / "stock.xlsx", {"One": [], "Two": []})
    with pytest.raises(InputError, match="the sheet 'One' is empty") as raised:
        choose_mapping(SHIPPED, path)
    assert raised.value.code == "empty"


def test_explain_names_the_sheet_each_mapping_looked_at(tmp_path: Path) -> None:
    path = xlsx(tmp_path / "stock.xlsx", {"Read me": READ_ME, "Stock": DATA_ON_ROW_4})
    reports = {r.mapping.name: r for r in explain(SHIPPED, path)}
    assert reports["generic/stock"].fits
    assert (
        reports["generic/stock"]
        .text()
        .startswith(
            "generic/stock (" + str(reports["generic/stock"].mapping.path) + "), sheet 'Stock': "
        )
    )
    # a mapping nothing fits looks at the sheet that came closest
    assert reports["courier/awb"].sheet_name in {"Read me", "Stock"}
    assert ", sheet '" in reports["courier/awb"].text()


def test_explain_shows_a_two_sheet_file_as_not_matching(tmp_path: Path) -> None:
    path = xlsx(tmp_path / "stock_by_store.xlsx", {"Delhi": DELHI, "Mumbai": MUMBAI})
    result = CliRunner().invoke(app, ["mappings", "--explain", str(path)])
    assert result.exit_code == 1, result.output
    words = " ".join(result.output.split())
    assert words.startswith("does not match generic/stock (")
    assert "sheet 'Delhi': row 1 has 'location_id', 'sku', 'quantity'" in words
    assert "sheets 'Delhi' and 'Mumbai' both hold stock rows" in words


def test_explain_of_a_notes_first_workbook_matches_the_data_sheet(tmp_path: Path) -> None:
    path = xlsx(tmp_path / "stock.xlsx", {"Read me": READ_ME, "Stock": DATA_ON_ROW_4})
    result = CliRunner().invoke(app, ["mappings", "--explain", str(path)])
    assert result.exit_code == 0, result.output
    words = " ".join(result.output.split())
    assert words.startswith("matches generic/stock (")
    assert "sheet 'Stock': row 4 has 'location_id', 'sku', 'quantity'" in words


# --- end to end against the emulator ---------------------------------------------------------


def _run(inbox: Path, sandbox: Any) -> Any:
    env = {"KONNECT_TOKEN": sandbox.token, "KONNECT_BASE_URL": sandbox.url}
    args = ["run", str(inbox), "--settle", "0"]
    return CliRunner().invoke(app, args, env=env, catch_exceptions=False)


def _summary(inbox: Path, where: str, stem: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(
        (inbox / where / TODAY / f"{stem}.summary.json").read_text()
    )
    return loaded


def test_run_refuses_a_workbook_with_stock_rows_on_two_sheets(tmp_path: Path, sandbox: Any) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    xlsx(inbox / "stock_by_store.xlsx", {"Delhi": DELHI, "Mumbai": MUMBAI})
    result = _run(inbox, sandbox)
    assert result.exit_code == 1, result.output
    assert (inbox / "failed" / TODAY / "stock_by_store.xlsx").is_file()
    summary = _summary(inbox, "failed", "stock_by_store")
    assert summary["outcome"] == "failed"
    assert "sheets 'Delhi' and 'Mumbai' both hold stock rows" in summary["file_errors"][0]
    assert sandbox.ledger() == []  # not even Delhi's row: half a file is never uploaded


def test_run_uploads_the_data_sheet_behind_a_read_me_sheet(tmp_path: Path, sandbox: Any) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    xlsx(inbox / "stock.xlsx", {"Read me": READ_ME, "Stock": DATA_ON_ROW_4})
    result = _run(inbox, sandbox)
    assert result.exit_code == 0, result.output
    summary = _summary(inbox, "done", "stock")
    assert (summary["outcome"], summary["rows"]["ok"], summary["header_row"]) == ("uploaded", 1, 4)
    assert sandbox.state()["stock"]["DEL-WH-01|TS-BLK-S"] == 5
    result_book = openpyxl.load_workbook(inbox / "done" / TODAY / "stock.result.xlsx")
    assert result_book.sheetnames == ["Stock"]  # the result says which sheet was read
    assert (summary["sheet"], summary["warnings"]) == ("Stock", [])


def test_a_sheet_left_unread_is_a_warning_in_the_summary(tmp_path: Path, sandbox: Any) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    mumbai = [["location_id", "sku", "qty"], ["MUM-ST-02", "TS-WHT-M", 3]]
    xlsx(inbox / "stock.xlsx", {"Delhi": DELHI, "Mumbai": mumbai})
    assert _run(inbox, sandbox).exit_code == 0
    summary = _summary(inbox, "done", "stock")
    assert summary["sheet"] == "Delhi"
    assert summary["warnings"] == [
        "sheet 'Mumbai' was not read: it has rows, but its header lacks 'quantity'"
    ]


def test_an_errors_file_from_the_second_sheet_can_be_dropped_back(
    tmp_path: Path, sandbox: Any
) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    rows = [*DATA_ON_ROW_4, ["MUM-ST-02", "TS-WHT-M", -2]]
    xlsx(inbox / "stock.xlsx", {"Read me": READ_ME, "Stock": rows})
    assert _run(inbox, sandbox).exit_code == 1
    errors = inbox / "done" / TODAY / "stock.errors.xlsx"
    book = openpyxl.load_workbook(errors)
    sheet = book["Stock"]
    table = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert table[0][:3] == HEADER and str(table[1][-1]) == "6"  # the row as Excel shows it
    sheet.cell(2, 3).value = 2  # fix the quantity, drop the file in again
    book.save(inbox / "stock-fixed.xlsx")
    assert _run(inbox, sandbox).exit_code == 0
    assert sandbox.state()["stock"]["MUM-ST-02|TS-WHT-M"] == 2


def _mapping(tmp_path: Path, text: str) -> Any:
    path = tmp_path / "mappings" / "shop" / "stock.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return load_mapping(path, tmp_path / "mappings")
