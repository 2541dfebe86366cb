"""Readers: every file becomes text cells with the row numbers the user sees in Excel."""

from __future__ import annotations

import csv
import io
import json
import logging
import re
import shutil
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from etl.cli import app
from etl.errors import InputError
from etl.excelread import format_floats
from etl.model import Sheet
from etl.readers import file_kind, read_sheet, sheet_names, to_table

DATA = Path(__file__).parent / "data" / "readers"


def rows(sheet: Sheet) -> list[list[str]]:
    return [list(row) for row in sheet.cells.itertuples(index=False)]


def assert_all_text(sheet: Sheet) -> None:
    assert list(sheet.cells.columns) == list(range(sheet.cells.shape[1]))
    assert all(isinstance(v, str) for v in sheet.cells.to_numpy().ravel())
    assert sheet.row_numbers.dtype == np.int64
    assert len(sheet.row_numbers) == len(sheet.cells)


# --- file kinds ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fixture", "name", "kind"),
    [
        ("title-rows.xlsx", "export.csv", "xlsx"),  # zip content wins over the name
        ("old-format.xls", "export.xlsx", "xls"),  # OLE2 content wins over the name
        ("pipe.csv", "stock.txt", "csv"),
        ("pipe.csv", "stock.tsv", "csv"),
        ("pipe.csv", "stock.dat", "csv"),
        ("not-excel.xlsx", "stock.xlsx", "csv"),  # text is text, whatever the name
        ("binary-junk.csv", "stock.xlsx", "xlsx"),  # binary, no magic: a damaged workbook
    ],
)
def test_file_kind_sniffs_content_then_suffix(
    tmp_path: Path, fixture: str, name: str, kind: str
) -> None:
    target = tmp_path / name
    shutil.copy(DATA / fixture, target)
    assert file_kind(target) == kind


def test_workbook_with_a_csv_name_is_read_as_a_workbook(tmp_path: Path) -> None:
    target = tmp_path / "stock.csv"
    shutil.copy(DATA / "title-rows.xlsx", target)
    assert read_sheet(target).cells.iat[3, 0] == "Location"


# --- CSV: encodings and delimiters --------------------------------------------------------


@pytest.mark.parametrize(
    ("fixture", "encoding", "delimiter", "cell"),
    [
        ("utf8-bom.csv", "utf-8-sig", ",", "Crème brûlée"),
        ("utf8-no-bom.csv", "utf-8", ",", "Crème brûlée"),
        ("cp1252-semicolon.csv", "cp1252", ";", "€uro"),
        ("latin1-undefined-byte.csv", "latin-1", ",", "café\x81"),
        ("utf16-bom-tab.csv", "utf-16", "\t", "कुर्ता"),
        ("utf16be-bom.csv", "utf-16", ",", "5"),
        ("pipe.csv", "utf-8", "|", "B"),
        ("semicolons-inside-quotes.csv", "utf-8", ",", "Doe; Jane; Jr"),
    ],
)
def test_csv_encoding_and_delimiter_are_detected(
    fixture: str, encoding: str, delimiter: str, cell: str
) -> None:
    sheet = read_sheet(DATA / fixture)
    assert (sheet.kind, sheet.encoding, sheet.delimiter) == ("csv", encoding, delimiter)
    assert cell in sheet.cells.to_numpy().ravel().tolist()
    assert sheet.numeric is None
    assert_all_text(sheet)


def test_first_cell_carries_no_byte_order_mark() -> None:
    assert read_sheet(DATA / "utf8-bom.csv").cells.iat[0, 0] == "sku"
    assert read_sheet(DATA / "utf16-bom-tab.csv").cells.iat[0, 0] == "sku"


def test_cp1252_file_keeps_decimal_commas_as_text() -> None:
    assert rows(read_sheet(DATA / "cp1252-semicolon.csv"))[1] == ["Café", "5", "1,50"]


@pytest.mark.parametrize(
    "text",
    ["CAFÉ–MUG", "DÉ—CO", "PÂ€TE", "Ê…", "ËŠ"],  # each pair is also valid UTF-8
)
def test_cp1252_text_that_happens_to_be_valid_utf8_is_read_as_cp1252(
    tmp_path: Path, text: str
) -> None:
    """Read as UTF-8, "É–" would silently become "ɖ": C1 codes and IPA letters give it away."""
    path = tmp_path / "stock.csv"
    data = f"sku,quantity\n{text},5\n".encode("cp1252")
    data.decode("utf-8")  # the trap: these bytes are valid UTF-8
    path.write_bytes(data)
    sheet = read_sheet(path)
    assert sheet.encoding == "cp1252" and rows(sheet)[1] == [text, "5"]


@pytest.mark.parametrize("text", ["Café ₹499 – ok", "naïve “quotes”", "Ñandú", "ṭhāṇe"])
def test_real_utf8_stays_utf8(tmp_path: Path, text: str) -> None:
    path = tmp_path / "stock.csv"
    path.write_bytes(f"sku,name\nA,{text}\n".encode())
    sheet = read_sheet(path)
    assert sheet.encoding == "utf-8" and rows(sheet)[1] == ["A", text]


def test_a_byte_order_mark_says_utf8_whatever_the_letters(tmp_path: Path) -> None:
    path = tmp_path / "stock.csv"
    path.write_bytes("sku,name\nA,ɖɀ\u0085\n".encode("utf-8-sig"))
    assert rows(read_sheet(path))[1] == ["A", "ɖɀ\u0085"]


def test_dos_end_of_file_mark_is_not_a_row(tmp_path: Path) -> None:
    """`copy a.csv+b.csv c.csv` on Windows ends the file with Ctrl-Z (0x1A)."""
    path = tmp_path / "stock.csv"
    path.write_bytes(b"location_id,sku,quantity\r\nDEL-WH-01,A,1\r\n\x1a")
    assert rows(read_sheet(path)) == [["location_id", "sku", "quantity"], ["DEL-WH-01", "A", "1"]]
    path.write_bytes(b"\x1a")
    with pytest.raises(InputError, match="empty"):
        read_sheet(path)


def test_utf8_and_cp1252_that_looks_like_utf8_in_one_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "stock.csv"
    path.write_bytes("sku,name\nA,Café\n".encode() + "B,CAFÉ–MUG\n".encode("cp1252"))
    with pytest.raises(InputError, match="mixes text encodings: line 3 is not UTF-8"):
        read_sheet(path)


def test_a_cp1252_pair_that_is_valid_utf8_does_not_make_a_file_mixed(tmp_path: Path) -> None:
    """ "É®" in cp1252 is the UTF-8 of "ɮ" (IPA): no sign of real UTF-8 next to "Café"."""
    path = tmp_path / "stock.csv"
    path.write_bytes("sku,name\nNESCAFÉ®,Café\n".encode("cp1252"))
    sheet = read_sheet(path)
    assert sheet.encoding == "cp1252" and rows(sheet)[1] == ["NESCAFÉ®", "Café"]


def test_explicit_encoding_and_delimiter_override_detection() -> None:
    sheet = read_sheet(DATA / "cp1252-semicolon.csv", encoding="latin-1", delimiter=",")
    assert sheet.encoding == "iso8859-1"
    assert rows(sheet)[0] == ["Artikel;Menge;Preis", ""]
    assert rows(sheet)[2] == ["\x80uro;3;2", "00"]  # latin-1 has no euro sign at 0x80


def test_a_pinned_delimiter_missing_from_most_lines_gives_way_to_the_files_own(
    tmp_path: Path,
) -> None:
    """A `;` mapping's errors file, fixed in an Excel whose list separator is `,` and saved
    again, is a `,` file: read with `,`, not as one column. A pinned delimiter on most lines
    stays (`Rs. 1,25,000` in a `;` file puts `,` on most lines, too)."""
    resaved = tmp_path / "resaved.csv"
    resaved.write_text('Store,Item Code,MRP\nIndiranagar,W-01,"Rs. 1,25,000.00"\nX;Y,W-02,5\n')
    sheet = read_sheet(resaved, delimiter=";")
    assert sheet.delimiter == "," and rows(sheet)[1] == ["Indiranagar", "W-01", "Rs. 1,25,000.00"]
    semicolons = tmp_path / "pos.csv"
    semicolons.write_text("Store;MRP\nIndiranagar;Rs. 1,25,000.00\nBandra;Rs. 1,999\nX,Y,Z\n")
    sheet = read_sheet(semicolons, delimiter=";")
    assert sheet.delimiter == ";" and rows(sheet)[1] == ["Indiranagar", "Rs. 1,25,000.00"]
    assert read_sheet(semicolons, delimiter=",").delimiter == ","  # on most lines, too


def test_explicit_utf8_still_reads_a_bom_file() -> None:
    assert read_sheet(DATA / "utf8-bom.csv", encoding="utf-8").cells.iat[0, 0] == "sku"


@pytest.mark.parametrize(
    ("options", "code"),
    [({"encoding": "utf-8"}, "encoding"), ({"encoding": "klingon"}, "config")],
)
def test_wrong_explicit_encoding_is_an_input_error(options: dict[str, str], code: str) -> None:
    with pytest.raises(InputError) as raised:
        read_sheet(DATA / "cp1252-semicolon.csv", **options)
    assert raised.value.code == code


POS_HEADER = "Store;Item Code;Description;MRP;Selling Price"
POS_ROW = "CP Delhi Warehouse;CAFÉ-01;Café mug – 300 ml;₹799.00;599.00"


def test_utf8_without_bom_reads_as_utf8_though_the_mapping_names_cp1252(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A POS mapped as cp1252 that now exports UTF-8: read the mapping's way, SKU CAFÉ-01 went
    to Konnect as CAFÃ‰-01 (status ok) and ₹799.00 became â‚¹799.00."""
    path = tmp_path / "pos_price.csv"
    path.write_bytes(f"{POS_HEADER}\r\n{POS_ROW}\r\n".encode())
    with caplog.at_level(logging.DEBUG, logger="etl.csvread"):
        sheet = read_sheet(path, encoding="cp1252")
    assert rows(sheet)[1] == POS_ROW.split(";")
    assert sheet.encoding == "utf-8"
    assert "pos_price.csv: read as UTF-8, not as the cp1252 its mapping names" in caplog.text


@pytest.mark.parametrize("encoding", [None, "cp1252", "windows-1252"])
def test_a_real_cp1252_file_still_reads_as_cp1252(tmp_path: Path, encoding: str | None) -> None:
    """cp1252 has no ₹: Excel's "CSV (Comma delimited)" writes '?' in its place."""
    with pytest.raises(UnicodeEncodeError):
        "₹".encode("cp1252")
    row = POS_ROW.replace("₹", "?") + ";€9"
    path = tmp_path / "pos_price.csv"
    path.write_bytes(f"{POS_HEADER};Offer\r\n{row}\r\n".encode("cp1252"))
    sheet = read_sheet(path, encoding=encoding)
    assert rows(sheet)[1] == row.split(";")
    assert sheet.encoding == "cp1252"


@pytest.mark.parametrize("text", ["CAFÉ–MUG", "NESCAFÉ®", "DÉ—CO"])  # each also valid UTF-8
def test_cp1252_pairs_that_are_valid_utf8_keep_the_mappings_encoding(
    tmp_path: Path, text: str
) -> None:
    path = tmp_path / "pos_price.csv"
    path.write_bytes(f"sku;name\r\n{text};5\r\n".encode("cp1252"))
    sheet = read_sheet(path, encoding="cp1252")
    assert sheet.encoding == "cp1252" and rows(sheet)[1] == [text, "5"]


def test_the_shipped_pos_mapping_sends_a_utf8_export_as_written(tmp_path: Path) -> None:
    path = tmp_path / "pos_price.csv"
    path.write_bytes(f"{POS_HEADER}\r\n{POS_ROW}\r\n".encode())
    result = CliRunner().invoke(app, ["validate", str(path)], catch_exceptions=False)
    assert "pos/price" in result.output
    with (tmp_path / "pos_price.result.csv").open(encoding="utf-8-sig", newline="") as handle:
        (row,) = csv.DictReader(handle)  # the mapping's reports: {delimiter: ","}
    assert (row["Item Code"], row["MRP"], row["status"]) == ("CAFÉ-01", "₹799.00", "ok")
    summary = json.loads((tmp_path / "pos_price.summary.json").read_text(encoding="utf-8"))
    assert summary["warnings"] == [
        "read as UTF-8, not as the cp1252 its mapping names (it is UTF-8)"
    ]


# --- CSV: rows as the user sees them ------------------------------------------------------


def test_blank_lines_stay_and_multiline_cell_is_one_record() -> None:
    sheet = read_sheet(DATA / "blank-lines.csv")
    assert sheet.row_numbers.tolist() == [1, 2, 3, 4, 5]
    assert rows(sheet) == [
        ["sku", "qty", "note"],
        ["", "", ""],
        ["A", "1", "two\r\nlines"],
        ["", "", ""],
        ["B", "2", "x"],
    ]
    table = to_table(sheet, 0)
    assert table.row_numbers.tolist() == [2, 3, 4, 5]


def test_ragged_rows_are_padded_and_extra_fields_kept() -> None:
    sheet = read_sheet(DATA / "ragged.csv")
    assert rows(sheet) == [
        ["sku", "qty", "note", ""],
        ["A", "1", "", ""],
        ["B", "2", "x", "extra"],
        ["C", "3", "y", ""],
    ]
    assert_all_text(sheet)


def test_cells_are_never_inferred_or_turned_into_missing_values() -> None:
    assert rows(read_sheet(DATA / "na-strings.csv"))[1:] == [
        ["NA", "null", "N/A"],
        ["0012", "", "1e5"],
        ["  padded  ", "", "#N/A"],
    ]


def test_large_csv_with_more_columns_than_the_sample_shows(tmp_path: Path) -> None:
    # the fast parser is told the column count from a sample; later rows must still fit
    body = "a,b\n" * 5000 + "c,d,e,f,g,h,i,j,k,l,m,n,o,p,q,r,s,t,u,v,w,x,y,z\n"
    (tmp_path / "wide.csv").write_text(body)
    sheet = read_sheet(tmp_path / "wide.csv")
    assert sheet.cells.shape == (5001, 24)
    assert rows(sheet)[0][:3] == ["a", "b", ""]


# --- workbooks ----------------------------------------------------------------------------


def test_title_rows_keep_excel_row_numbers() -> None:
    sheet = read_sheet(DATA / "title-rows.xlsx")
    assert (sheet.kind, sheet.sheet_name) == ("xlsx", "Stock")
    assert sheet.row_numbers.tolist() == [1, 2, 3, 4, 5, 6]
    table = to_table(sheet, 3)
    assert table.header == ["Location", "SKU", "Qty", "MRP", "Updated", "Active"]
    assert table.header_row == 4
    assert table.row_numbers.tolist() == [5, 6]
    assert table.data.to_numpy().tolist() == [
        ["DEL-01", "0012", "5", "499.5", "2026-11-26", "TRUE"],
        ["BOM-02", "SKU-2", "12", "0.1", "2026-11-26 14:30:00", "FALSE"],
    ]


def test_leading_empty_rows_do_not_shift_row_numbers() -> None:
    sheet = read_sheet(DATA / "leading-empty.xlsx")
    assert sheet.row_numbers.tolist() == [3, 4, 5]
    assert rows(sheet) == [["sku", "qty"], ["A", "1"], ["B", "2"]]


def test_every_cell_type_reads_as_the_text_the_user_sees() -> None:
    sheet = read_sheet(DATA / "cell-types.xlsx")
    assert_all_text(sheet)
    seen = dict(zip(rows(sheet)[0], rows(sheet)[1], strict=True))
    assert seen == {
        "int": "12",
        "whole float": "12",
        "tenth": "0.1",
        "negative": "-3.25",
        "15 digits": "123456789012345",
        "1e15": "1000000000000000",
        "tiny": "0.00000015",
        "date": "2026-11-26",
        "datetime": "2026-11-26 14:30:00",
        "midnight": "2026-11-26",
        "time": "14:30:00",
        "true": "TRUE",
        "false": "FALSE",
        "text": "0012",
        "error": "#N/A",
        "empty": "",
        "after empty": "x",
    }


def test_numeric_mask_marks_numbers_and_dates_only() -> None:
    sheet = read_sheet(DATA / "cell-types.xlsx")
    assert sheet.numeric is not None
    assert sheet.numeric.shape == sheet.cells.shape
    assert not sheet.numeric[0].any()  # the header row is text
    marked = dict(zip(rows(sheet)[0], sheet.numeric[1].tolist(), strict=True))
    assert [name for name, flag in marked.items() if flag] == [
        "int", "whole float", "tenth", "negative", "15 digits", "1e15", "tiny",
        "date", "datetime", "midnight", "time",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0.1 + 0.2, "0.3"),  # a formula's floating-point leftovers, as Excel shows the cell
        (799 * 1.18, "942.82"),  # 942.8199999999999
        (12.0, "12"),
        (-0.0, "0"),
        (1e15, "1000000000000000"),
        (123456789012345.0, "123456789012345"),
        (1.234567890123457e17, "123456789012346000"),  # Excel keeps 15 digits
        (1e20, "100000000000000000000"),
        (2.5e-5, "0.000025"),
        (-3.25, "-3.25"),
        (1234.56789012345, "1234.56789012345"),
        (1e-300, "1e-300"),
    ],
)
def test_float_text_is_what_excel_shows_without_scientific_notation(
    value: float, text: str
) -> None:
    """Up to Excel's 15 significant digits, never in scientific notation; a number a user can
    type into Excel (15 digits or fewer) reads back as the same number."""
    assert format_floats(np.array([value])).tolist() == [text]
    if len(repr(value).lstrip("-").replace(".", "").strip("0")) <= 15:
        assert float(text) == value


def test_old_xls_workbook() -> None:
    sheet = read_sheet(DATA / "old-format.xls")
    assert (sheet.kind, sheet.sheet_name) == ("xls", "Stock")
    table = to_table(sheet, 2)
    assert table.header == ["sku", "qty", "mrp", "updated"]
    assert table.row_numbers.tolist() == [4, 5]
    assert table.data.to_numpy().tolist() == [
        ["0012", "5", "499.5", "2026-11-26"],
        ["B", "1000000000000000", "0.1", ""],
    ]
    assert sheet.numeric is not None
    assert sheet.numeric[3].tolist() == [False, True, True, True]


def test_sheet_by_name_index_and_case() -> None:
    assert sheet_names(DATA / "title-rows.xlsx") == ["Stock", "Prices"]
    assert sheet_names(DATA / "pipe.csv") == []
    for choice in ("Prices", 1, " prices "):
        sheet = read_sheet(DATA / "title-rows.xlsx", sheet=choice)
        assert (sheet.sheet_name, sheet.cells.iat[1, 0]) == ("Prices", "A")


@pytest.mark.parametrize("choice", ["Closing", 2, -1])
def test_unknown_sheet_names_the_sheets_that_exist(choice: str | int) -> None:
    with pytest.raises(InputError, match="'Stock', 'Prices'") as raised:
        read_sheet(DATA / "title-rows.xlsx", sheet=choice)
    assert raised.value.code == "sheet"


def test_default_sheet_is_the_first_visible_one() -> None:
    assert read_sheet(DATA / "hidden-first.xlsx").sheet_name == "Visible"
    assert read_sheet(DATA / "hidden-first.xlsx", sheet=0).cells.iat[0, 0] == "secret"


def test_empty_sheet_is_an_input_error(tmp_path: Path) -> None:
    openpyxl.Workbook().save(tmp_path / "blank.xlsx")
    with pytest.raises(InputError, match="empty") as raised:
        read_sheet(tmp_path / "blank.xlsx")
    assert raised.value.code == "empty"


# --- files that cannot be read ------------------------------------------------------------


@pytest.mark.parametrize(
    ("fixture", "code", "words"),
    [
        ("empty.csv", "empty", "the file is empty"),
        ("binary-junk.csv", "binary", "not a text (CSV) file"),
        ("truncated.xlsx", "unreadable", "this is not a readable Excel workbook"),
        ("encrypted.xlsx", "password", "password-protected workbooks cannot be read"),
        # saved by LibreOffice 7.4 ("MS Excel 97", password 'secret'): its encrypted cells
        # read as a cell in column 55,007, "damaged", before the FILEPASS record was heeded
        ("encrypted.xls", "password", "password-protected workbooks cannot be read"),
        ("missing.csv", "unreadable", "cannot be opened"),
    ],
)
def test_unreadable_files_raise_input_error(fixture: str, code: str, words: str) -> None:
    with pytest.raises(InputError, match=re.escape(words)) as raised:
        read_sheet(DATA / fixture)
    assert raised.value.code == code


def test_sheet_names_of_a_damaged_workbook_is_an_input_error() -> None:
    with pytest.raises(InputError):
        sheet_names(DATA / "truncated.xlsx")


# --- to_table -------------------------------------------------------------------------------


def make_sheet(cells: list[list[str]], first_row: int = 1) -> Sheet:
    numbers = np.arange(first_row, first_row + len(cells), dtype=np.int64)
    return Sheet(pd.DataFrame(cells, dtype="str"), numbers, Path("x.csv"), "csv")


def test_to_table_keeps_duplicate_and_blank_headers_positional() -> None:
    sheet = make_sheet([[" sku ", "qty", "", "qty", "", ""], ["A", "1", "x", "2", "", ""]], 7)
    table = to_table(sheet, 0)
    assert table.header == ["sku", "qty", "", "qty"]  # trailing empty columns dropped
    assert list(table.data.columns) == [0, 1, 2, 3]
    assert table.data.to_numpy().tolist() == [["A", "1", "x", "2"]]
    assert (table.header_row, table.row_numbers.tolist(), table.sheet) == (7, [8], sheet)


def test_to_table_keeps_trailing_column_that_has_data() -> None:
    table = to_table(make_sheet([["sku", ""], ["A", "note"]]), 0)
    assert table.header == ["sku", ""]
    assert table.data.to_numpy().tolist() == [["A", "note"]]


def test_to_table_header_outside_the_sheet() -> None:
    with pytest.raises(InputError, match="outside the sheet"):
        to_table(make_sheet([["sku"]]), 3)


# --- any text survives the trip -----------------------------------------------------------

TEXT = st.text(
    alphabet=st.characters(exclude_categories=("Cs", "Cc"), exclude_characters="\x00")
    | st.sampled_from('\n\t ,;|"'),
    max_size=40,
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=TEXT)
@example(text="ɀ")  # read as Windows-1252 without a byte-order mark: checked with one only
@example(text="00123")
def test_any_text_cell_survives_csv(tmp_path: Path, text: str) -> None:
    """With a byte-order mark (Excel's "CSV UTF-8") any text; without one, any text but the
    C1 codes and IPA/modifier letters that mean "Windows-1252 read as UTF-8" (csvread)."""
    buffer = io.StringIO()
    csv.writer(buffer).writerows([["sku", "name"], ["X", text]])
    (tmp_path / "bom.csv").write_text(buffer.getvalue(), encoding="utf-8-sig", newline="")
    assert rows(read_sheet(tmp_path / "bom.csv")) == [["sku", "name"], ["X", text]]
    if not re.search("[\u0080-\u009f\u0240-\u02ff]", text):
        (tmp_path / "cell.csv").write_text(buffer.getvalue(), encoding="utf-8", newline="")
        assert rows(read_sheet(tmp_path / "cell.csv")) == [["sku", "name"], ["X", text]]


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=TEXT)
def test_any_text_cell_survives_xlsx(tmp_path: Path, text: str) -> None:
    # openpyxl omits xml:space="preserve" on all-whitespace text, so XML drops it (Excel keeps it)
    assume(text == "" or text.strip() != "")
    book = openpyxl.Workbook()
    book.active["A1"] = "name"
    cell = book.active.cell(row=2, column=1, value=text)
    cell.data_type = "s"  # a string cell even when it looks like a formula or an error
    book.active["A3"] = "end"  # an empty cell at the end would be outside the used range
    book.save(tmp_path / "cell.xlsx")
    assert rows(read_sheet(tmp_path / "cell.xlsx")) == [["name"], [text], ["end"]]


def test_an_opendocument_spreadsheet_from_libreoffice_reads_as_a_workbook() -> None:
    """Shops on LibreOffice save .ods: read like XLSX (leading zeros typed as text stay)."""
    sheet = read_sheet(DATA / "libreoffice-stock.ods")
    assert rows(sheet) == [
        ["location_id", "sku", "quantity"],
        ["DEL-WH-01", "TS-BLK-M", "5"],
        ["DEL-WH-01", "00123", "7"],
    ]
    assert sheet.numeric is not None and sheet.numeric[:, 2].tolist() == [False, True, True]


def test_excel_text_formulas_read_as_the_text_excel_shows(tmp_path: Path) -> None:
    """ERPs write ="00123" so Excel keeps leading zeros; Excel shows 00123, and so do we."""
    path = tmp_path / "stock.csv"
    path.write_text(
        "location_id,sku,quantity,note\n"
        'DEL-WH-01,="00123",5,="He said ""hi"""\n'
        '"=""DEL-WH-01""",TS-BLK-M,="7",="A"&"B"\n'  # the same, quoted as a whole field
        'DEL-WH-01,="",=7,="unclosed\n'
    )
    assert rows(read_sheet(path))[1:] == [
        ["DEL-WH-01", "00123", "5", 'He said "hi"'],
        ["DEL-WH-01", "TS-BLK-M", "7", '="A"&"B"'],  # a real formula stays as written
        ["DEL-WH-01", "", "=7", '="unclosed'],
    ]


def test_a_workbook_text_cell_of_a_text_formula_reads_as_its_text(tmp_path: Path) -> None:
    """Our errors CSV writes a SKU as ="00012345"; LibreOffice opens it without evaluating
    formulas (its default for CSV) and saves it as .xlsx with that text in the cell: the
    SKU is 00012345, as in the CSV, not '="00012345"' (Konnect refused it as unknown)."""
    import xlsxwriter

    path = tmp_path / "stock.errors.xlsx"
    with xlsxwriter.Workbook(path) as book:
        sheet = book.add_worksheet()
        for r, row in enumerate([["location_id", "sku", "quantity"],
                                 ["DEL-WH-01", '="00012345"', "5"],
                                 ["DEL-WH-01", '="A"&"B"', "6"]]):  # fmt: skip
            for c, cell in enumerate(row):
                sheet.write_string(r, c, cell)  # text, as LibreOffice keeps it
    assert rows(read_sheet(path))[1:] == [
        ["DEL-WH-01", "00012345", "5"],
        ["DEL-WH-01", '="A"&"B"', "6"],  # a real formula's text stays as written
    ]


def test_a_csv_big_enough_to_be_read_in_arrow_chunks_validates(tmp_path: Path) -> None:
    """Above ~50,000 rows the reader hands each column over in several Arrow chunks; the
    number reading crashed on them (every such file went to failed/ as an internal error)."""
    path = tmp_path / "stock.csv"
    lines = [f'DEL-WH-01,SKU-{i:06d},"{i % 5000 + 1000:,} Nos"' for i in range(70_000)]
    path.write_text("location_id,sku,quantity\n" + "\n".join(lines) + "\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["validate", str(path)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "stock.summary.json").read_text(encoding="utf-8"))
    assert summary["rows"]["ok"] == 70_000


def test_a_tab_separated_export_named_xls_is_read_as_text(tmp_path: Path) -> None:
    """Web portals save tab-separated text as `.xls` (UTF-8 or Excel's "Unicode Text"):
    read as the delimited text it is, not refused as a damaged workbook."""
    text = "location_id\tsku\tquantity\r\nDEL-WH-01\tTS-BLK-S\t5\r\n"
    for name, data in (("portal.xls", text.encode()), ("unicode.xls", text.encode("utf-16"))):
        (tmp_path / name).write_bytes(data)
        sheet = read_sheet(tmp_path / name)
        assert sheet.kind == "csv" and rows(sheet)[1] == ["DEL-WH-01", "TS-BLK-S", "5"], name


def test_codes_kept_as_numbers_under_a_zero_padding_format_read_as_excel_shows_them(
    tmp_path: Path,
) -> None:
    """An item code column formatted 00000000 shows 00012345 while the cell holds 12345:
    read as shown (sent as 12345 it is another SKU). A quantity under `000` reads 007, which
    is still 7; a number with decimals under such a format is left as read."""
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    for row in (["location_id", "sku", "quantity"], ["DEL-WH-01", 12345, 7], ["X", 12.5, -3]):
        sheet.append(row)
    for cell, code in (("B2", "00000000"), ("C2", "000"), ("B3", "0000"), ("C3", "000")):
        sheet[cell].number_format = code
    sheet["A3"].number_format = "0.00"  # not zeros alone: nothing to do
    book.save(tmp_path / "padded.xlsx")
    read = read_sheet(tmp_path / "padded.xlsx")
    assert rows(read)[1:] == [["DEL-WH-01", "00012345", "007"], ["X", "12.5", "-003"]]
    assert read.numeric is not None and not read.numeric[1, 1]  # text now, as Excel shows it


def test_excels_sep_line_is_read_as_excel_reads_it(tmp_path: Path) -> None:
    """`sep=;` as a first line: Excel takes the delimiter from it and does not show it, so
    the header is row 1 and the rows keep the numbers Excel shows. With a byte order mark
    Excel ignores the hint and shows the line: so do we."""
    body = "location_id;sku;quantity\r\nDEL-WH-01;TS-BLK-S;5\r\n"
    (tmp_path / "hinted.csv").write_text("sep=;\r\n" + body, encoding="utf-8")
    sheet = read_sheet(tmp_path / "hinted.csv")
    assert sheet.delimiter == ";" and rows(sheet)[0] == ["location_id", "sku", "quantity"]
    assert sheet.row_numbers.tolist() == [1, 2]
    (tmp_path / "bom.csv").write_text("sep=;\r\n" + body, encoding="utf-8-sig")
    shown = read_sheet(tmp_path / "bom.csv")
    assert rows(shown)[0][0] == "sep=" and shown.row_numbers.tolist() == [1, 2, 3]


@pytest.mark.parametrize(
    ("start", "what"),
    [
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "a PDF document"),
        (b"\x89PNG\r\n\x1a\n", "a picture (PNG)"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "a picture (JPEG)"),
    ],
)
def test_a_pdf_or_picture_dropped_by_mistake_is_named_for_what_it_is(
    tmp_path: Path, start: bytes, what: str
) -> None:
    """A PDF of the order list, a photo of the stock sheet: not "no mapping fits" against
    the closest courier mapping, but what the file is and what to export instead."""
    for name in ("orders.pdf", "orders.csv"):  # whatever the name
        (tmp_path / name).write_bytes(start + bytes(range(1, 200)))
        with pytest.raises(InputError, match=f"this is {re.escape(what)}, not a spreadsheet"):
            read_sheet(tmp_path / name)


def test_a_zip_archive_is_named_for_what_it_is_and_workbooks_still_read(tmp_path: Path) -> None:
    """Exports e-mailed zipped, Explorer's "Send to > Compressed folder": they were called a
    damaged Excel workbook, to "re-save from Excel"."""
    import zipfile

    for name in ("stock export.zip", "stock.xlsx"):  # whatever the name
        with zipfile.ZipFile(tmp_path / name, "w") as archive:
            archive.writestr("Reports 28-11/stock.csv", "location_id,sku,quantity\n")
            archive.writestr("Reports 28-11/price.csv", "location_id,sku,mrp\n")
        said = "this is a zip archive holding stock.csv, price.csv, not a spreadsheet: unzip it"
        with pytest.raises(InputError, match=re.escape(said)):
            read_sheet(tmp_path / name)
    book = openpyxl.Workbook()
    book.active.append(["location_id", "sku", "quantity"])  # type: ignore[union-attr]
    book.save(tmp_path / "real.xlsx")
    assert rows(read_sheet(tmp_path / "real.xlsx"))[0] == ["location_id", "sku", "quantity"]
    (tmp_path / "cut.xlsx").write_bytes((tmp_path / "real.xlsx").read_bytes()[:300])
    with pytest.raises(InputError, match="not a readable Excel workbook"):  # damaged: as before
        read_sheet(tmp_path / "cut.xlsx")


def test_a_date_time_a_hair_before_a_whole_second_is_that_second(tmp_path: Path) -> None:
    """46353.99999999, written by a program: Excel shows 28/11/2026 00:00; dropping the
    fraction would make it 23:59:59 on the 27th. Real milliseconds stay."""
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["ackDate"])
    for serial in (46353.99999999, 46353.5 + 0.25 / 86400, 46353.5 + 0.0000001 / 86400):
        sheet.append([serial])
        sheet.cell(sheet.max_row, 1).number_format = "dd/mm/yyyy hh:mm:ss"
    book.save(tmp_path / "dates.xlsx")
    cells = read_sheet(tmp_path / "dates.xlsx").cells.iloc[1:, 0].tolist()
    assert cells == ["2026-11-28", "2026-11-27 12:00:00.250000", "2026-11-27 12:00:00"]
