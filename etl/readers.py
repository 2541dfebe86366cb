"""Read CSV, XLSX and XLS files (and the web pages and XML Spreadsheet 2003 files exported
as `.xls`, `etl.markupread`) into a `Sheet` of text cells with source row numbers.

Every cell is text as the user sees it ("" when empty); nothing is inferred or converted to
missing values, so "NA", "0012" and "1e5" survive. Row numbers are Excel's (or the CSV record
number) and blank rows are kept, so messages can point at the row the user will open.
Anything that makes the whole file unreadable is an `InputError`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from etl.csvread import read_csv_sheet
from etl.errors import InputError
from etl.excelread import read_workbook_sheet, workbook_sheet_names
from etl.limits import active, check_file_size, check_xlsx
from etl.markupread import SNIFF_BYTES, markup_kind, markup_sheet_names, read_markup_sheet
from etl.model import Sheet, Table

FileKind = Literal["csv", "xlsx", "xls", "html", "xml"]

_ZIP_MAGIC = b"PK\x03\x04"
_OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_SUFFIX_KINDS: dict[str, FileKind] = {".xlsx": "xlsx", ".xlsm": "xlsx", ".xls": "xls"}

__all__ = ["FileKind", "file_kind", "read_sheet", "sheet_names", "to_table"]


def file_kind(path: Path) -> FileKind:
    """'xlsx' for a zip, 'xls' for an OLE2 container, 'html' / 'xml' for a web page or XML
    Spreadsheet 2003 (whatever the name), else by suffix; other text files are 'csv'."""
    try:
        with path.open("rb") as handle:
            head = handle.read(SNIFF_BYTES)
    except OSError as exc:
        raise InputError(f"the file cannot be opened: {exc.strerror or exc}", "unreadable") from exc
    if head.startswith(_ZIP_MAGIC):
        return "xlsx"
    if head.startswith(_OLE2_MAGIC):
        return "xls"
    return markup_kind(head) or _SUFFIX_KINDS.get(path.suffix.lower(), "csv")


def read_sheet(
    path: Path,
    *,
    sheet: str | int | None = None,
    encoding: str | None = None,
    delimiter: str | None = None,
) -> Sheet:
    """One sheet (by name, 0-based index, or the first visible one) or the CSV as text cells."""
    kind = _checked_kind(path)
    if kind == "csv":
        return read_csv_sheet(path, encoding=encoding, delimiter=delimiter)
    if kind == "html" or kind == "xml":
        return read_markup_sheet(path, kind, sheet)
    return read_workbook_sheet(path, kind, sheet)


def sheet_names(path: Path) -> list[str]:
    """The workbook's sheet names in order; [] for a CSV."""
    kind = _checked_kind(path)
    if kind == "html" or kind == "xml":
        return markup_sheet_names(path, kind)
    return [] if kind == "csv" else workbook_sheet_names(path)


def _checked_kind(path: Path) -> FileKind:
    """The file's kind, once it is known to be within the size limits (etl.limits)."""
    limits = active()
    check_file_size(path, limits)
    kind = file_kind(path)
    if kind == "xlsx":
        check_xlsx(path, limits)
    return kind


def to_table(sheet: Sheet, header_index: int) -> Table:
    """Split `sheet` at row position `header_index`: that row is the header, rows below data.

    Columns stay positional (labels 0..n-1) so duplicate or blank headers keep their place;
    trailing columns with no header and no data (stray formatting) are dropped.
    """
    height = len(sheet.cells)
    if not 0 <= header_index < height:
        raise InputError(
            f"the header row is outside the sheet (it has {height} rows)", code="header"
        )
    header = [str(text).strip() for text in sheet.cells.iloc[header_index]]
    data = sheet.cells.iloc[header_index + 1 :].reset_index(drop=True)
    width = len(header)
    while width and header[width - 1] == "" and bool((data[width - 1] == "").all()):
        width -= 1
    data = data.iloc[:, :width]
    data.columns = pd.RangeIndex(width)
    row_numbers = np.asarray(sheet.row_numbers[header_index + 1 :], dtype=np.int64)
    return Table(header[:width], data, row_numbers, int(sheet.row_numbers[header_index]), sheet)
