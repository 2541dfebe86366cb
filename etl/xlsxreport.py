"""Write a `ReportSheet` as an Excel workbook a shop-floor reader can act on.

Bold, frozen header with filters; cells with a problem filled light red (prints readable)
with the reason as a comment; the status/error column coloured per status. Every cell from
the file is stored as *text*, exactly as read: never a formula (openpyxl would turn "=..."
into one) nor an error value ("#N/A"), and never re-typed as a number (20-digit ids and
leading zeros survive a round trip). openpyxl's write-only mode is used for every report:
it supports styles, comments, frozen panes and widths, and keeps memory flat for the
million-row sheets Excel allows.
"""

from __future__ import annotations

from collections.abc import Iterator
from copy import copy
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ERROR_CODES
from openpyxl.comments import Comment
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from etl.reportsheet import ReportSheet, is_risky, risky_mask, text_column

MAX_CELL_CHARS = 32767  # Excel's limit for one cell's text
ILLEGAL_CHARS = r"[\x00-\x08\x0b\x0c\x0e-\x1f]"  # control characters XML cannot hold
AUTHOR = "konnect-etl"
BAD = ("FFC7CE", "9C0006")  # Excel's "Bad" style: light red fill, dark red text
LOOKS = {  # (fill, font colour) per status, and "bad" for a cell with a problem
    "ok": ("C6EFCE", "006100"),  # Excel's "Good"
    "rejected": BAD,
    "failed": BAD,
    "unknown": ("FFEB9C", "9C5700"),  # Excel's "Neutral"
    "bad": BAD,
}


def write_xlsx(path: Path, sheet: ReportSheet) -> None:
    """Save `sheet` as a one-sheet workbook at `path`."""
    workbook = Workbook(write_only=True)
    ws: WriteOnlyWorksheet = workbook.create_sheet(_title(sheet.name))
    ws.freeze_panes = "A2"
    _set_widths(ws, sheet)
    last = get_column_letter(max(len(sheet.header), 1))
    ws.auto_filter.ref = f"A1:{last}{len(sheet) + 1}"
    header = _values(pd.Series(sheet.header, dtype="str"))
    cell = CellMaker(ws)
    ws.append([cell(name, risky=is_risky(name or ""), bold=True) for name in header])
    for row in _rows(ws, sheet):
        ws.append(row)
    workbook.save(path)


def _rows(ws: WriteOnlyWorksheet, sheet: ReportSheet) -> Iterator[list[Any]]:
    """Rows of plain values, with a styled cell wherever a value needs more than that."""
    columns = [_values(column) for column in sheet.columns]
    special = _special_cells(sheet.columns)
    notes = _notes_by_row(sheet.notes)
    cell = CellMaker(ws)
    for i, values in enumerate(zip(*columns, strict=True)):
        row = list(values)
        risky = special.get(i, {})
        for j, flag in risky.items():
            row[j] = cell(row[j], risky=flag)
        for j, note in notes.get(i, ()):
            row[j] = cell(values[j], look="bad", risky=risky.get(j, False), note=note)
        j = sheet.status_column
        look = str(sheet.statuses[i]) if sheet.statuses[i] in LOOKS else "bad"
        row[j] = cell(values[j], look=look, risky=risky.get(j, False))
        yield row


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


def _special_cells(columns: list[pd.Series]) -> dict[int, dict[int, bool]]:
    """Row -> {column: risky} for text openpyxl would mistype (formula, "#N/A") or is risky."""
    special: dict[int, dict[int, bool]] = {}
    for j, column in enumerate(columns):
        if pd.api.types.is_integer_dtype(column.dtype):
            continue
        risky = risky_mask(column)
        mistyped = text_column(column).isin(ERROR_CODES).to_numpy(dtype=bool)
        for i in np.flatnonzero(risky | mistyped).tolist():
            special.setdefault(i, {})[j] = bool(risky[i])
    return special


class CellMaker:
    """Makes cells that need a type or style; each distinct style is built only once."""

    def __init__(self, ws: WriteOnlyWorksheet) -> None:
        self.ws = ws
        self.styles: dict[tuple[str, bool, bool], Any] = {}

    def __call__(
        self,
        value: Any,
        *,
        look: str = "",
        risky: bool = False,
        bold: bool = False,
        note: str | None = None,
    ) -> WriteOnlyCell:
        cell = WriteOnlyCell(self.ws, value)
        if isinstance(value, str):
            cell.data_type = "s"  # text, even when it starts with "=" or reads "#N/A"
        key = (look, risky and isinstance(value, str), bold)
        if any(key):
            if key not in self.styles:
                self.styles[key] = self._style(*key)
            # Copying the style indices (as openpyxl's copy_worksheet does) skips hashing
            # the fill and font objects again for every one of a million rows.
            cell._style = copy(self.styles[key])
        if note:
            cell.comment = Comment(note, AUTHOR, height=110, width=300)
        return cell

    def _style(self, look: str, risky: bool, bold: bool) -> Any:
        template = WriteOnlyCell(self.ws)
        if look:
            fill, font = LOOKS[look]
            template.fill = PatternFill("solid", fgColor=fill)
        template.font = Font(color=font if look else None, bold=bold)
        template.quotePrefix = risky  # stays text when the user edits the cell in Excel
        return template._style


def _set_widths(ws: WriteOnlyWorksheet, sheet: ReportSheet, sample: int = 500) -> None:
    """Fit each column to its header and first rows, within 8..60 characters."""
    for j, (name, column) in enumerate(zip(sheet.header, sheet.columns, strict=True)):
        lengths = text_column(column.head(sample)).str.len()
        longest = max([len(name), *lengths.tolist()])
        ws.column_dimensions[get_column_letter(j + 1)].width = min(max(longest + 2, 8), 60)


def _title(name: str) -> str:
    """The sheet name if Excel accepts it, else "Report"."""
    valid = 0 < len(name) <= 31 and not set(name) & set("[]:*?/\\")
    return name if valid and not name.startswith("'") and not name.endswith("'") else "Report"
