"""Write a `ReportSheet` as an Excel workbook a shop-floor reader can act on.

Bold, frozen header with filters; cells with a problem filled light red (prints readable)
with the reason as a comment; the status/error column coloured per status. Every cell from
the file is stored as *text*, exactly as read: never a formula nor an error value ("#N/A"),
and never re-typed as a number (20-digit ids and leading zeros survive a round trip). Every
cell and column is formatted Text, so what the user types into the errors file to fix it
stays text too: a SKU retyped as 00012345 is not turned into 12345 by Excel.
Reports are written with XlsxWriter in constant-memory mode: about ten times faster than
openpyxl for the same styles and comments, and memory stays flat for million-row sheets.
`CellMaker` makes openpyxl write-only cells with the same looks, for openpyxl writers.
"""

from __future__ import annotations

import re
from copy import copy
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xlsxwriter
from openpyxl.cell import WriteOnlyCell
from openpyxl.comments import Comment
from openpyxl.styles import Font, PatternFill
from openpyxl.worksheet._write_only import WriteOnlyWorksheet
from xlsxwriter.format import Format
from xlsxwriter.worksheet import Worksheet

from etl.reportsheet import ReportSheet, is_risky, risky_mask, text_column

MAX_CELL_CHARS = 32767  # Excel's limit for one cell's text
ILLEGAL_CHARS = r"[\x00-\x08\x0b\x0c\x0e-\x1f]"  # control characters XML cannot hold
_ILLEGAL = re.compile(ILLEGAL_CHARS)
AUTHOR = "konnect-etl"
# Cells with a problem past this many are highlighted without a comment (the row's error
# column still says why): each comment costs XlsxWriter about as much as a whole row and
# ~1 KB held to the end, so a million rejected rows would take minutes and a gigabyte.
MAX_COMMENTS = 10_000
BAD = ("FFC7CE", "9C0006")  # Excel's "Bad" style: light red fill, dark red text
LOOKS = {  # (fill, font colour) per status, and "bad" for a cell with a problem
    "ok": ("C6EFCE", "006100"),  # Excel's "Good"
    "rejected": BAD,
    "failed": BAD,
    "unknown": ("FFEB9C", "9C5700"),  # Excel's "Neutral"
    "bad": BAD,
}


def write_xlsx(path: Path, sheet: ReportSheet) -> None:
    """Save `sheet` as a one-sheet workbook at `path` (XlsxWriter, constant memory)."""
    options = {"constant_memory": True, "strings_to_formulas": False, "strings_to_urls": False}
    with xlsxwriter.Workbook(str(path), options) as book:
        ws = book.add_worksheet(_title(sheet.name))
        looks = Looks(book)
        ws.freeze_panes(1, 0)
        ws.autofilter(0, 0, len(sheet), max(len(sheet.header), 1) - 1)
        for j, width in enumerate(_widths(sheet)):
            ws.set_column(j, j, width, looks.get())  # Text: what the user types stays text
        for j, name in enumerate(_values(pd.Series(sheet.header, dtype="str"))):
            ws.write_string(0, j, name or "", looks.get(bold=True, risky=is_risky(name or "")))
        _write_rows(ws, sheet, looks)


def _write_rows(ws: Worksheet, sheet: ReportSheet, looks: Looks) -> None:
    """Plain values row by row; then, in the same row, the cells that need a style."""
    columns = [_values(column) for column in sheet.columns]
    risky = _risky_cells(sheet.columns)
    notes = _notes_by_row(sheet.notes)
    status = sheet.status_column
    comments = 0
    for i, values in enumerate(zip(*columns, strict=True)):
        ws.write_row(i + 1, 0, values)  # text stays text: strings_to_formulas is off
        flagged = risky.get(i, ())
        for j in flagged:
            ws.write_string(i + 1, j, values[j], looks.get(risky=True))
        for j, note in notes.get(i, ()):
            _write_styled(ws, i + 1, j, values[j], looks.get("bad", risky=j in flagged))
            if note and comments < MAX_COMMENTS:  # "": filled only
                ws.write_comment(i + 1, j, note, {"author": AUTHOR, "width": 300, "height": 110})
                comments += 1
        look = str(sheet.statuses[i]) if sheet.statuses[i] in LOOKS else "bad"
        _write_styled(ws, i + 1, status, values[status], looks.get(look, risky=status in flagged))


def _write_styled(ws: Worksheet, row: int, column: int, value: Any, style: Format) -> None:
    if isinstance(value, str):
        ws.write_string(row, column, value, style)
    elif value is None:
        ws.write_blank(row, column, None, style)
    else:
        ws.write_number(row, column, value, style)


class Looks:
    """The workbook's cell formats, each built once: (status look, quote prefix, bold)."""

    def __init__(self, book: xlsxwriter.Workbook) -> None:
        self.book = book
        self.formats: dict[tuple[str, bool, bool], Format] = {}

    def get(self, look: str = "", *, risky: bool = False, bold: bool = False) -> Format:
        key = (look, risky, bold)
        if key not in self.formats:
            # "@" (Text): a code retyped in Excel keeps its zeros (00012345, not 12345)
            spec: dict[str, Any] = {"bold": bold, "quote_prefix": risky, "num_format": "@"}
            if look:
                fill, font = LOOKS[look]
                spec |= {"pattern": 1, "bg_color": f"#{fill}", "font_color": f"#{font}"}
            self.formats[key] = self.book.add_format(spec)
        return self.formats[key]


def _notes_by_row(notes: dict[tuple[int, int], str]) -> dict[int, list[tuple[int, str]]]:
    by_row: dict[int, list[tuple[int, str]]] = {}
    for (i, j), note in notes.items():
        by_row.setdefault(i, []).append((j, note))
    return by_row


def _values(column: pd.Series) -> list[Any]:
    """Python values: ints stay numbers (the `row` column), text is made XML-safe."""
    if pd.api.types.is_integer_dtype(column.dtype):
        return column.astype("int64").tolist()
    text = text_column(column)
    if text.str.contains(ILLEGAL_CHARS, regex=True).any():
        text = text.str.replace(ILLEGAL_CHARS, "", regex=True)
    if (text.str.len() > MAX_CELL_CHARS).any():
        text = text.str.slice(0, MAX_CELL_CHARS)
    return [value or None for value in text.tolist()]  # None: no cell at all for ""


def _risky_cells(columns: list[pd.Series]) -> dict[int, list[int]]:
    """Row -> the text columns whose cell a spreadsheet could run as a formula."""
    risky: dict[int, list[int]] = {}
    for j, column in enumerate(columns):
        if not pd.api.types.is_integer_dtype(column.dtype):
            for i in np.flatnonzero(risky_mask(column)).tolist():
                risky.setdefault(i, []).append(j)
    return risky


class CellMaker:
    """Makes cells that need a type or style; each distinct style is built only once."""

    def __init__(self, ws: WriteOnlyWorksheet) -> None:
        self.ws = ws
        self.styles: dict[tuple[str, bool, bool, str], Any] = {}

    def __call__(
        self,
        value: Any,
        *,
        look: str = "",
        risky: bool = False,
        bold: bool = False,
        note: str | None = None,
        shown: str = "",
    ) -> WriteOnlyCell:
        """`shown`: an Excel number format (`#,##0.00`) for a number or date value."""
        if isinstance(value, str):  # a vertical tab pasted into an address: no XLSX holds it
            value = _ILLEGAL.sub("", value)
        cell = WriteOnlyCell(self.ws, value)
        if isinstance(value, str):
            cell.data_type = "s"  # text, even when it starts with "=" or reads "#N/A"
        key = (look, risky and isinstance(value, str), bold, shown)
        if any(key):
            if key not in self.styles:
                self.styles[key] = self._style(*key)
            # Copying the style indices (as openpyxl's copy_worksheet does) skips hashing
            # the fill and font objects again for every one of a million rows.
            cell._style = copy(self.styles[key])
        if note:
            cell.comment = Comment(note, AUTHOR, height=110, width=300)
        return cell

    def _style(self, look: str, risky: bool, bold: bool, shown: str) -> Any:
        template = WriteOnlyCell(self.ws)
        if shown:
            template.number_format = shown
        if look:
            fill, font = LOOKS[look]
            template.fill = PatternFill("solid", fgColor=fill)
        template.font = Font(color=font if look else None, bold=bold)
        template.quotePrefix = risky  # stays text when the user edits the cell in Excel
        return template._style


def _widths(sheet: ReportSheet, sample: int = 500) -> list[int]:
    """Each column fitted to its header and first rows, within 8..60 characters."""
    widths = []
    for name, column in zip(sheet.header, sheet.columns, strict=True):
        lengths = text_column(column.head(sample)).str.len()
        widths.append(min(max(max([len(name), *lengths.tolist()]) + 2, 8), 60))
    return widths


def _title(name: str) -> str:
    """The sheet name if Excel accepts it, else "Report"."""
    valid = 0 < len(name) <= 31 and not set(name) & set("[]:*?/\\")
    return name if valid and not name.startswith("'") and not name.endswith("'") else "Report"
