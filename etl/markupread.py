"""Spreadsheets that are really web pages or XML: what many web ERPs and POS export as `.xls`.

Excel opens two kinds of text file as if they were workbooks, and exports named `.xls` are
often one of them:

- a web page with a `<table>` (most web-based exports; Excel's "Save as Web Page"): read here;
- XML Spreadsheet 2003, written by older ERPs and Excel's "XML Spreadsheet 2003" save: read
  by `etl.xmlssread`; `markup_kind` tells the two apart from a file's first bytes.

Both become a `Sheet` of text cells like any workbook. A web page's cells are the text shown,
white space collapsed as Excel does — but "00123" stays "00123" (Excel would make it 123). A
merged cell (`colspan`, `rowspan`) keeps its value in its top-left cell and leaves the others
empty, so the columns below never shift. Of several tables the one with the most rows is read
(a mapping's `sheet: 2` picks the third). Row numbers count the table's rows, so text above a
web page's table is not counted.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from etl.errors import InputError
from etl.limits import Limits, active, check_cells, check_width, too_big
from etl.model import Sheet
from etl.textencoding import to_utf8, utf16_without_bom
from etl.xmlssread import SPREADSHEET_NS, XmlWorkbook

MarkupKind = Literal["html", "xml"]

SNIFF_BYTES = 4096  # how much of a file's start tells what it is
_HTML_STARTS = ("<!doctype html", "<html", "<table", "<head", "<body", "<meta")


def markup_kind(head: bytes) -> MarkupKind | None:
    """'xml' for XML Spreadsheet 2003, 'html' for a web page; None for anything else."""
    text = _decoded(head).lstrip().lower()
    if not text.startswith("<"):
        return None
    if SPREADSHEET_NS in text and "<html" not in text:
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
    # A run of unclosed tags after the last '>' (`<a<a<a...`) took Python's HTML parser hours
    # (CVE-2025-6069): cut from the first '<' after it. Text there stays (HTML may leave out
    # `</td></tr></table>`: the last cell is then the text after its `<td>`).
    last = text.rfind(b">")
    if (cut := text.find(b"<", last + 1)) >= 0:
        text = text[:cut]
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
        return _with_same_header(tables, index)
    if isinstance(sheet, int) and 0 <= sheet < len(tables):
        index = sheet
    else:
        raise InputError(
            f"the file is a web page (HTML) with {len(tables)} table(s), so it has no sheet "
            f"{sheet!r}; a mapping's 'sheet:' picks a table by number (0 = the first)",
            code="sheet",
        )
    return f"table {index + 1}", tables[index]


def _with_same_header(tables: list[list[list[str]]], index: int) -> tuple[str, list[list[str]]]:
    """The longest table, with the rows of every other table under the same header, in page
    order (a POS page with a table per store, which Excel shows one below the other): none
    is left out. The header is the longest table's first row with two cells or more; the
    rows above it in the first table are kept (titles), in the others they are dropped."""
    chosen = tables[index]
    at = next((k for k, row in enumerate(chosen) if sum(1 for c in row if c.strip()) >= 2), None)
    if at is None:
        return f"table {index + 1}", chosen
    header = chosen[at]
    found = (
        (i, next((k for k, row in enumerate(t[:10]) if row == header), -1))
        for i, t in enumerate(tables)
    )
    starts = {i: k for i, k in found if k >= 0}  # table -> where its header is
    if len(starts) == 1:
        return f"table {index + 1}", chosen
    first = min(starts)
    rows = tables[first][: starts[first] + 1]
    for i, k in starts.items():
        rows += tables[i][k + 1 :]
    names = [str(i + 1) for i in starts]
    return f"tables {', '.join(names[:-1])} and {names[-1]}", rows
