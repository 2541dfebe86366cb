"""Spreadsheets that are really web pages or XML: what many web ERPs and POS export as `.xls`.

Excel opens two kinds of text file as if they were workbooks, and exports named `.xls` are
often one of them:

- a web page with a `<table>` (most web-based exports; Excel's "Save as Web Page");
- XML Spreadsheet 2003 (`<?mso-application progid="Excel.Sheet"?>`: Workbook, Worksheet,
  Table, Row, Cell), written by older ERPs and Excel's "XML Spreadsheet 2003" save.

Both become a `Sheet` of text cells like any workbook. A web page's cells are the text shown,
white space collapsed as Excel does — but "00123" stays "00123" (Excel would make it 123). A
merged cell (`colspan`, `rowspan`; `ss:MergeAcross`, `ss:MergeDown`) keeps its value in its
top-left cell and leaves the others empty, so the columns below never shift. XML cells are
read by type, and numbers and dates are written as the workbook reader writes them. Of several
tables the one with the most rows is read (a mapping's `sheet: 2` picks the third). Of several
worksheets, `XmlWorkbook` reads any one, whole or its first rows, as `etl.excelread.Workbook`
does (`etl.matching` looks for the one whose header fits; alone, the first visible one is
read). Row numbers count the table's rows (XML: Excel's rows), so text above a web page's
table is not counted.
"""

from __future__ import annotations

import codecs
import datetime as dt
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, Literal
from xml.etree import ElementTree

import numpy as np
import pandas as pd

from etl.csvread import to_utf8, utf16_without_bom
from etl.errors import InputError
from etl.excelread import text_frame
from etl.limits import Limits, active, check_cells, check_grid, check_width, too_big
from etl.model import Sheet, SheetInfo

MarkupKind = Literal["html", "xml"]

SNIFF_BYTES = 4096  # how much of a file's start tells what it is
_SPREADSHEET_NS = "urn:schemas-microsoft-com:office:spreadsheet"
_SS = f"{{{_SPREADSHEET_NS}}}"
_HIDDEN_TAG = "{urn:schemas-microsoft-com:office:excel}Visible"  # in WorksheetOptions
_HIDDEN_STATES = ("SheetHidden", "SheetVeryHidden")
_HTML_STARTS = ("<!doctype html", "<html", "<table", "<head", "<body", "<meta")


def markup_kind(head: bytes) -> MarkupKind | None:
    """'xml' for XML Spreadsheet 2003, 'html' for a web page; None for anything else."""
    text = _decoded(head).lstrip().lower()
    if not text.startswith("<"):
        return None
    if _SPREADSHEET_NS in text and "<html" not in text:
        return "xml"
    if text.startswith(_HTML_STARTS) or "<html" in text or "<table" in text:
        return "html"
    return None


def _decoded(head: bytes) -> str:
    """The start of a file as text: UTF-8, or UTF-16 with or without a byte-order mark."""
    for bom, codec in ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"),
                       (codecs.BOM_UTF16_BE, "utf-16-be")):  # fmt: skip
        if head.startswith(bom):
            return head[len(bom) :].decode(codec, errors="ignore")
    return head.decode(utf16_without_bom(head) or "utf-8", errors="ignore")


def read_markup_sheet(path: Path, kind: MarkupKind, sheet: str | int | None = None) -> Sheet:
    """The chosen table (web page) or worksheet (XML) as a `Sheet` of text cells."""
    if kind == "xml":
        return XmlWorkbook(path).read(sheet)
    limits = active()
    tables = _html_tables(path, limits)
    name, rows = _choose_table(tables, sheet)
    width = max(len(row) for row in rows)
    grid = [row + [""] * (width - len(row)) for row in rows]
    cells = pd.DataFrame({j: [row[j] for row in grid] for j in range(width)}, dtype="str")
    check_cells(cells, limits)
    row_numbers = np.arange(1, len(grid) + 1, dtype=np.int64)
    return Sheet(cells, row_numbers, path, kind, sheet_name=name)


class XmlWorkbook:
    """An XML Spreadsheet 2003 file, parsed once: its worksheets listed, each read whole or
    only its first rows (as `etl.excelread.Workbook`)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.worksheets = _xml_worksheets(path, active())

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
        return Sheet(cells, row_numbers, self.path, "xml", sheet_name=name, numeric=numeric)


def markup_sheet_names(path: Path, kind: MarkupKind) -> list[str]:
    if kind == "html":
        return [f"table {i + 1}" for i in range(len(_html_tables(path, active())))]
    return [w.name for w in XmlWorkbook(path).worksheets]


# --- web pages ---------------------------------------------------------------------------


@dataclass
class _Table:
    rows: list[list[str]] = field(default_factory=list)
    row: list[str] | None = None
    cell: list[str] | None = None
    span: tuple[int, int] = (1, 1)  # colspan, rowspan of the open cell
    covered: dict[int, int] = field(default_factory=dict)  # column -> rows a rowspan still covers
    spans_here: dict[int, int] = field(default_factory=dict)  # rowspans starting in this row


class _Tables(HTMLParser):
    """Every `<table>` of a page as rows of cell texts (innermost table for nested ones)."""

    def __init__(self, limits: Limits) -> None:
        super().__init__(convert_charrefs=True)
        self.limits = limits
        self.done: list[list[list[str]]] = []
        self.open: list[_Table] = []
        self.skipping = 0  # inside <script> or <style>

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self.skipping += 1
        elif tag == "table":
            self.open.append(_Table())
        elif not self.open:
            return
        elif tag == "tr":
            self._end_row(self.open[-1])
            self.open[-1].row = []
        elif tag in ("td", "th"):
            table = self.open[-1]
            self._end_cell(table)
            if table.row is None:
                table.row = []
            values = dict(attrs)
            table.cell = []
            table.span = (_span(values.get("colspan")), _span(values.get("rowspan")))
        elif tag == "br" and self.open[-1].cell is not None:
            self.open[-1].cell.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self.skipping = max(0, self.skipping - 1)
        elif not self.open:
            return
        elif tag == "table":
            table = self.open.pop()
            self._end_row(table)
            if table.rows:
                self.done.append(table.rows)
        elif tag == "tr":
            self._end_row(self.open[-1])
        elif tag in ("td", "th"):
            self._end_cell(self.open[-1])

    def handle_data(self, data: str) -> None:
        if self.open and not self.skipping and self.open[-1].cell is not None:
            self.open[-1].cell.append(data)

    def _end_cell(self, table: _Table) -> None:
        if table.cell is None or table.row is None:
            return
        text = " ".join("".join(table.cell).split())
        row, (colspan, rowspan) = table.row, table.span
        while table.covered.get(len(row), 0) > 0:  # under a rowspan from a row above
            row.append("")
        start = len(row)
        row.extend([text] + [""] * (colspan - 1))
        check_width(len(row), self.limits)
        for column in range(start, start + colspan):
            if rowspan > 1:
                table.spans_here[column] = rowspan - 1
        table.cell = None

    def _end_row(self, table: _Table) -> None:
        self._end_cell(table)
        if table.row is None:
            return
        row = table.row
        last_covered = max((c for c, n in table.covered.items() if n > 0), default=-1)
        row.extend([""] * (last_covered + 1 - len(row)))  # covered cells at the row's end
        table.rows.append(row)
        table.covered = {c: n - 1 for c, n in table.covered.items() if n > 1}
        table.covered.update(table.spans_here)
        table.spans_here, table.row = {}, None
        if len(table.rows) > self.limits.max_rows:
            limit = self.limits.max_rows
            raise too_big(f"a table goes on past row {limit:,}", f"{limit:,} rows")


def _span(value: str | None) -> int:
    if value is None:
        return 1
    try:
        return min(max(int(value.strip()), 1), 10_000)
    except ValueError:
        return 1


def _html_tables(path: Path, limits: Limits) -> list[list[list[str]]]:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"the file cannot be opened: {exc.strerror or exc}", "unreadable") from exc
    _, text = to_utf8(data)
    parser = _Tables(limits)
    try:
        parser.feed(text.decode("utf-8"))
        parser.close()
    except AssertionError as exc:  # html.parser's way of refusing a malformed declaration
        raise InputError(
            f"this web page cannot be read ({exc}); open it in Excel and save it as a workbook, "
            "or export it as CSV",
            code="unreadable",
        ) from exc
    for table in reversed(parser.open):  # tables the page never closed
        parser._end_row(table)
        if table.rows:
            parser.done.append(table.rows)
    return [rows for rows in parser.done if any(any(cell for cell in row) for row in rows)]


def _choose_table(
    tables: list[list[list[str]]], sheet: str | int | None
) -> tuple[str, list[list[str]]]:
    if not tables:
        raise InputError("the file is a web page (HTML) without any table of data", code="empty")
    if sheet is None:
        index = max(range(len(tables)), key=lambda i: (len(tables[i]), -i))
    elif isinstance(sheet, int) and 0 <= sheet < len(tables):
        index = sheet
    else:
        raise InputError(
            f"the file is a web page (HTML) with {len(tables)} table(s), so it has no sheet "
            f"{sheet!r}; a mapping's 'sheet:' picks a table by number (0 = the first)",
            code="sheet",
        )
    return f"table {index + 1}", tables[index]


# --- XML Spreadsheet 2003 ------------------------------------------------------------------


@dataclass
class _Worksheet:
    name: str
    rows: list[tuple[int, dict[int, Any]]]  # (Excel row number, column -> value), in order
    hidden: bool = False


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
