"""Read CSV, XLSX and XLS files (and the web pages and XML Spreadsheet 2003 files exported
as `.xls`, `etl.markupread`) into a `Sheet` of text cells with source row numbers.

Every cell is text as the user sees it ("" when empty); nothing is inferred or converted to
missing values, so "NA", "0012" and "1e5" survive. Row numbers are Excel's (or the CSV record
number) and blank rows are kept, so messages can point at the row the user will open.
Anything that makes the whole file unreadable is an `InputError`. `SheetCache` reads a file
once per set of read options, and a workbook's worksheets one at a time (only their first rows
while `etl.matching` looks for the sheet whose header fits).
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Literal, Protocol

import numpy as np
import pandas as pd

from etl.csvread import read_csv_sheet
from etl.errors import InputError
from etl.excelread import Workbook, read_workbook_sheet, workbook_sheet_names
from etl.limits import active, check_file_size, check_xlsx
from etl.markupread import SNIFF_BYTES, markup_kind, markup_sheet_names, read_markup_sheet
from etl.model import Sheet, SheetInfo, Table
from etl.odserrors import is_ods
from etl.odsgrid import check_ods
from etl.xlsgrid import check_xls
from etl.xmlssread import XmlWorkbook

FileKind = Literal["csv", "xlsx", "xls", "html", "xml"]

_ZIP_MAGIC = b"PK\x03\x04"
_OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_SUFFIX_KINDS: dict[str, FileKind] = {".xlsx": "xlsx", ".xlsm": "xlsx", ".xls": "xls"}
# documents people drop by mistake, by their first bytes: named for what they are
_NOT_SHEETS = {
    b"%PDF": "a PDF document",
    b"\x89PNG": "a picture (PNG)",
    b"\xff\xd8\xff": "a picture (JPEG)",
    b"GIF8": "a picture (GIF)",
    b"{\\rtf": "a Word/RTF document",
}
_CONTROL = re.compile("[\x00-\x08\x0b\x0e-\x19\x1b-\x1f\x7f]")  # not in text (\x1a: DOS end)

ReadKey = tuple[str | int | None, str | None, str | None]

__all__ = ["Book", "FileKind", "SheetCache", "file_kind", "open_book", "read_sheet"]
__all__ += ["sheet_names", "to_table"]


class Book(Protocol):
    """A file with several worksheets (XLSX/XLSM/ODS, XLS, XML Spreadsheet 2003), opened once."""

    def sheets(self) -> list[SheetInfo]:
        """Its worksheets in order, hidden ones marked."""
        ...

    def read(self, sheet: str | int | None = None, nrows: int | None = None) -> Sheet:
        """One worksheet (name, 0-based index or None: the first visible), whole or only
        its first `nrows` rows."""
        ...


def file_kind(path: Path) -> FileKind:
    """'xlsx' for a zip, 'xls' for an OLE2 container, 'html' / 'xml' for a web page or XML
    Spreadsheet 2003 (whatever the name); 'csv' for other text, whatever the name; else (a
    damaged workbook) by suffix."""
    try:
        with path.open("rb") as handle:
            head = handle.read(SNIFF_BYTES)
    except OSError as exc:
        raise InputError(f"the file cannot be opened: {exc.strerror or exc}", "unreadable") from exc
    if head.startswith(_ZIP_MAGIC):
        _refuse_archive(path)
        return "xlsx"
    if head.startswith(_OLE2_MAGIC):
        return "xls"
    for magic, what in _NOT_SHEETS.items():
        if head.startswith(magic):
            raise InputError(
                f"this is {what}, not a spreadsheet: konnect-etl reads CSV and Excel files;"
                " export the data from your system as CSV or Excel (not as a report to print)",
                "not_a_sheet",
            )
    kind = markup_kind(head) or _SUFFIX_KINDS.get(path.suffix.lower(), "csv")
    if kind in ("xlsx", "xls") and _is_text(head):
        return "csv"  # a portal's tab-separated "Excel" export, a CSV renamed .xlsx
    return kind


def _refuse_archive(path: Path) -> None:
    """InputError for a zip that is no workbook (an Excel or OpenDocument one holds
    `[Content_Types].xml` or `mimetype`): exports e-mailed zipped, or Explorer's "Send to >
    Compressed folder", were called damaged workbooks to re-save from Excel."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = [n for n in archive.namelist() if not n.endswith("/")]
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError):
        return  # a damaged zip: read as the workbook it may have been, and called damaged
    if "[Content_Types].xml" in names or "mimetype" in names:
        return
    shown = ", ".join(n.rsplit("/", 1)[-1] for n in names[:3]) + (", ..." if len(names) > 3 else "")
    raise InputError(
        f"this is a zip archive{f' holding {shown}' if names else ''}, not a spreadsheet:"
        " unzip it (right-click, Extract All) and drop the files inside into the inbox",
        "not_a_sheet",
    )


def _is_text(head: bytes) -> bool:
    """Delimited text rather than a workbook, whatever the name: the file's start reads as
    UTF-16 (after its byte order mark) or as 8-bit text without a NUL byte, and holds no
    control character but tab and line breaks (a workbook, even a damaged one, is binary)."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        even = len(head) // 2 * 2
        try:  # the sniffed bytes may end inside a character made of two
            text = head[:even].decode("utf-16")
        except UnicodeDecodeError:
            try:
                text = head[: even - 2].decode("utf-16")
            except UnicodeDecodeError:
                return False
    elif head and b"\x00" not in head:
        text = head.decode("latin-1")
    else:
        return False
    return _CONTROL.search(text) is None


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


def open_book(path: Path) -> Book | None:
    """The workbook, opened once for reading several of its sheets; None for a CSV or a web
    page (one table is read from those)."""
    kind = _checked_kind(path)
    if kind == "xlsx" or kind == "xls":
        return Workbook(path, kind)
    return XmlWorkbook(path) if kind == "xml" else None


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
        if is_ods(path):
            check_ods(path, limits)
    elif kind == "xls":
        check_xls(path, limits)
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
    counts = sheet.field_counts
    fields = None if counts is None else counts[header_index:]
    header_row = int(sheet.row_numbers[header_index])
    return Table(header[:width], data, row_numbers, header_row, sheet, [], fields=fields)


class SheetCache:
    """One file's sheets, each read once: whole, by read options (a workbook's sheet; a CSV's
    encoding and delimiter), or only a worksheet's first rows (to look for a header).

    A read that fails is kept as its `InputError`, so trying other options goes on.
    """

    def __init__(self, path: Path) -> None:
        self.path, self.kind = path, file_kind(path)
        self.sheets: dict[ReadKey, Sheet | InputError] = {}
        self.heads: dict[tuple[str, int], Sheet | InputError] = {}
        self._book: Book | InputError | None = None
        self._opened = False

    def read(
        self, sheet: str | int | None, encoding: str | None, delimiter: str | None
    ) -> Sheet | InputError:
        key: ReadKey = (None, encoding, delimiter) if self.kind == "csv" else (sheet, None, None)
        if key not in self.sheets:
            self.sheets[key] = _caught(lambda: self._whole(key))
        return self.sheets[key]

    def head(self, name: str, nrows: int) -> Sheet | InputError:
        """The first `nrows` rows of worksheet `name`, from its first filled row."""
        if (name, nrows) not in self.heads:
            self.heads[(name, nrows)] = _caught(lambda: self._worksheet(name, nrows))
        return self.heads[(name, nrows)]

    def worksheets(self) -> list[SheetInfo]:
        """The workbook's worksheets; [] for a CSV or a web page, and for a workbook that
        cannot be opened (reading it says why)."""
        if self.kind == "csv" or self.kind == "html":
            return []
        try:
            book = self._open_book()
        except InputError:
            return []
        return book.sheets() if book is not None else []

    def unreadable(self) -> InputError | None:
        """The reader's own error when the file could not be read with any options."""
        results = [*self.heads.values(), *self.sheets.values()]
        errors = [r for r in results if isinstance(r, InputError)]
        return errors[0] if results and len(errors) == len(results) else None

    def _whole(self, key: ReadKey) -> Sheet:
        book = self._open_book()
        if book is None:
            return read_sheet(self.path, sheet=key[0], encoding=key[1], delimiter=key[2])
        return book.read(key[0])

    def _worksheet(self, name: str, nrows: int) -> Sheet:
        book = self._open_book()
        assert book is not None  # worksheets() listed the name, so this is a workbook
        return book.read(name, nrows)

    def _open_book(self) -> Book | None:
        if not self._opened:
            self._opened = True
            try:
                self._book = open_book(self.path)
            except InputError as exc:
                self._book = exc
        if isinstance(self._book, InputError):
            raise self._book
        return self._book


def _caught(read: Callable[[], Sheet]) -> Sheet | InputError:
    try:
        return read()
    except InputError as exc:
        return exc
