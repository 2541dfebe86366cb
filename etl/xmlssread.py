"""XML Spreadsheet 2003 (`<?mso-application progid="Excel.Sheet"?>`): Workbook, Worksheet,
Table, Row, Cell — written by older ERPs and Excel's "XML Spreadsheet 2003" save, often named
`.xls` (`etl.markupread` tells it from a web page).

Rows hidden or filtered out (`ss:Hidden="1"`) are listed as the other workbooks' are
(`Sheet.hidden_rows`, `etl.hiddenrows`).

Cells are read by type, numbers and dates written as the workbook reader writes them; a merged
cell (`ss:MergeAcross`, `ss:MergeDown`) keeps its value in its top-left cell and leaves the
others empty, so the columns below never shift. Row numbers are Excel's. Limits are checked
before any grid is built.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import numpy as np

from etl.errors import InputError
from etl.excelread import text_frame
from etl.limits import Limits, active, check_cells, check_grid, too_big
from etl.model import Sheet, SheetInfo

SPREADSHEET_NS = "urn:schemas-microsoft-com:office:spreadsheet"
_SS = f"{{{SPREADSHEET_NS}}}"
_HIDDEN_TAG = "{urn:schemas-microsoft-com:office:excel}Visible"  # in WorksheetOptions
_HIDDEN_STATES = ("SheetHidden", "SheetVeryHidden")


class XmlWorkbook:
    """An XML Spreadsheet 2003 file, parsed once: its worksheets listed, each read whole or
    only its first rows (as `etl.excelread.Workbook`)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.worksheets = _xml_worksheets(path, active())
        self._hidden = {w.name: w.hidden_rows for w in self.worksheets}

    def sheets(self) -> list[SheetInfo]:
        return [SheetInfo(w.name, w.hidden) for w in self.worksheets]

    def read(self, sheet: str | int | None = None, nrows: int | None = None) -> Sheet:
        limits = active()
        name, numbered = _choose_worksheet(self.worksheets, sheet)
        first = numbered[0][0]
        if nrows is not None:
            numbered = [(n, values) for n, values in numbered if n < first + nrows]
        rows = _dense(numbered, first, limits)
        cells, numeric = text_frame(rows)
        check_cells(cells, limits)
        row_numbers = np.arange(first, first + len(rows), dtype=np.int64)
        hidden = np.array(self._hidden[name], dtype=np.int64)
        return Sheet(
            cells, row_numbers, self.path, "xml", sheet_name=name, numeric=numeric,
            hidden_rows=hidden,
        )  # fmt: skip


@dataclass
class _Worksheet:
    name: str
    rows: list[tuple[int, dict[int, Any]]]  # (Excel row number, column -> value), in order
    hidden: bool = False
    hidden_rows: list[int] = field(default_factory=list)  # Excel row numbers, ss:Hidden="1"


def _xml_worksheets(path: Path, limits: Limits) -> list[_Worksheet]:
    worksheets: list[_Worksheet] = []
    current: _Worksheet | None = None
    row_number = 0
    try:
        for event, element in ElementTree.iterparse(path, events=("start", "end")):
            if element.tag == f"{_SS}Worksheet" and event == "start":
                current = _Worksheet(element.get(f"{_SS}Name") or "", [])
                row_number = 0
            elif element.tag == f"{_SS}Table" and event == "start":
                row_number = 0
            elif element.tag == f"{_SS}Row" and event == "end" and current is not None:
                row_number = _index(element, row_number + 1, limits.max_rows, "row")
                current.rows.append((row_number, _xml_row(element, limits)))
                if element.get(f"{_SS}Hidden") == "1":
                    current.hidden_rows.append(row_number)
                element.clear()
            elif element.tag == _HIDDEN_TAG and event == "end" and current is not None:
                current.hidden = (element.text or "").strip() in _HIDDEN_STATES
            elif element.tag == f"{_SS}Worksheet" and event == "end" and current is not None:
                worksheets.append(current)
                current = None
                element.clear()
    except ElementTree.ParseError as exc:
        raise InputError(
            f"this XML spreadsheet is damaged or incomplete ({exc}); re-save it from Excel, "
            "or export it as CSV",
            code="unreadable",
        ) from exc
    except OSError as exc:
        raise InputError(f"the file cannot be opened: {exc.strerror or exc}", "unreadable") from exc
    return worksheets


def _index(element: ElementTree.Element, default: int, limit: int, what: str) -> int:
    """The element's 1-based `ss:Index`, or `default` (the next one); never backwards (that
    would put a cell over another), never past `limit`."""
    raw = element.get(f"{_SS}Index")
    try:
        index = max(int(raw), default) if raw is not None else default
    except ValueError:
        index = default
    if index > limit:
        raise too_big(f"a {what} number reaches {index:,}", f"{limit:,}")
    return index


def _xml_row(row: ElementTree.Element, limits: Limits) -> dict[int, Any]:
    values: dict[int, Any] = {}
    column = 0
    for cell in row.iter(f"{_SS}Cell"):
        column = _index(cell, column + 1, limits.max_columns, "column")
        data = cell.find(f"{_SS}Data")
        if data is not None:
            values[column] = _xml_value(data)
        column += int(cell.get(f"{_SS}MergeAcross") or 0)
    return values


def _xml_value(data: ElementTree.Element) -> Any:
    """A cell's value as the workbook reader gets it from calamine: str, float, bool, datetime."""
    text = "".join(data.itertext())  # rich text keeps its words, not its fonts
    kind = data.get(f"{_SS}Type")
    try:
        if kind == "Number":
            return float(text)
        if kind == "Boolean":
            return text.strip() == "1"
        if kind == "DateTime":
            return dt.datetime.fromisoformat(text.strip())
    except ValueError:
        pass  # as written, if Excel's own type does not parse
    return text


def _choose_worksheet(
    worksheets: list[_Worksheet], sheet: str | int | None
) -> tuple[str, list[tuple[int, dict[int, Any]]]]:
    names = [w.name for w in worksheets]
    if sheet is None:
        chosen = ([w for w in worksheets if not w.hidden] or worksheets)[:1]
    elif isinstance(sheet, int):
        chosen = [worksheets[sheet]] if 0 <= sheet < len(worksheets) else []
    else:
        wanted = sheet.strip().casefold()
        chosen = [w for w in worksheets if w.name.strip().casefold() == wanted]
    if not chosen:
        listed = ", ".join(f"'{n}'" for n in names) or "none"
        raise InputError(f"the workbook has no sheet {sheet!r}; its sheets are: {listed}", "sheet")
    found = chosen[0]
    if not any(values for _, values in found.rows):
        raise InputError(f"the sheet '{found.name}' is empty", code="empty")
    return found.name, found.rows


def _dense(rows: list[tuple[int, dict[int, Any]]], first: int, limits: Limits) -> list[list[Any]]:
    """Rows `first`..last as lists of values ("" where no cell), blank rows included."""
    last = rows[-1][0]
    width = max((max(values) for _, values in rows if values), default=1)
    check_grid(last - first + 1, width, limits)
    grid: list[list[Any]] = [[""] * width for _ in range(last - first + 1)]
    for number, values in rows:
        target = grid[number - first]
        for column, value in values.items():
            target[column - 1] = value
    return grid
