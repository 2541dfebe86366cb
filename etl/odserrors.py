"""Put error values (#N/A, Err:502...) back into cells read from an OpenDocument `.ods` sheet.

python-calamine hands error cells over as empty strings (dimastbk/python-calamine#105), so a
failed VLOOKUP would pass as "no value" and take a mapping default. LibreOffice marks such a
cell `calcext:value-type="error"` and keeps the text it shows in its `<text:p>`. Only a
sheet whose XML holds that mark is scanned, and only the rows that hold it are taken apart.
Positions count like the sheet does: `number-rows-repeated` / `number-columns-repeated`
stand for several rows or cells, and covered cells (under a merged cell) take a column.
"""

from __future__ import annotations

import html
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from etl.xlsxerrors import write_back

_MARK = b'calcext:value-type="error"'
_TABLE = re.compile(rb"<table:table(?=[\s>])([^>]*)>")
_TABLE_END = b"</table:table>"
_NAME = re.compile(rb'\btable:name="([^"]*)"')
_ROW = re.compile(rb"<table:table-row(?=[\s/>])([^>]*)>")
_ROW_END = b"</table:table-row>"
_CELL = re.compile(rb"<table:(?:covered-)?table-cell(?=[\s/>])([^>]*)>")
_CELL_END = re.compile(rb"</table:(?:covered-)?table-cell>")
ROWS_REPEATED = re.compile(rb'\btable:number-rows-repeated="(\d+)"')
_COLUMNS_REPEATED = re.compile(rb'\btable:number-columns-repeated="(\d+)"')
_PARAGRAPH = re.compile(rb"<text:p\b[^>]*>(.*?)</text:p>", re.DOTALL)
_TAG = re.compile(rb"<[^>]*>")
_NOTE = re.compile(rb"<office:annotation\b.*?</office:annotation>", re.DOTALL)  # a comment

# (first row, rows, first column, columns, text): one error cell, maybe repeated
Span = tuple[int, int, int, int, str]


def is_ods(path: Path) -> bool:
    """An OpenDocument file: a zip holding content.xml rather than an Excel workbook part."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
    except (OSError, zipfile.BadZipFile):
        return False
    return "content.xml" in names and "xl/workbook.xml" not in names


def ods_content(path: Path) -> bytes | None:
    """The file's content.xml (read once for error texts and hidden rows); None if unreadable."""
    try:
        with zipfile.ZipFile(path) as archive:
            return archive.read("content.xml")
    except (OSError, KeyError, zipfile.BadZipFile):
        return None


def restore_ods_errors(
    xml: bytes | None, sheet_name: str, cells: pd.DataFrame, first_row: int, first_col: int
) -> None:
    """Write the error text of content.xml `xml` into `cells` (0-based offsets
    `first_row`/`first_col`), in place."""
    if xml is None or _MARK not in xml:
        return  # best effort: calamine already read the sheet, only error texts are missing
    rows, cols = cells.shape
    last_row, last_col = first_row + rows, first_col + cols  # repeats can be huge: clip them
    found = (
        (i, j, text)
        for row, height, col, width, text in error_spans(xml, sheet_name)
        for i in range(max(row, first_row), min(row + height, last_row))
        for j in range(max(col, first_col), min(col + width, last_col))
    )
    write_back(cells, found, first_row, first_col)


def error_spans(xml: bytes, sheet_name: str) -> Iterator[Span]:
    """The error cells of sheet `sheet_name` in content.xml, 0-based."""
    span = table_span(xml, sheet_name)
    if span is None or xml.find(_MARK, *span) == -1:
        return
    row = 0
    for match in _ROW.finditer(xml, *span):
        height = repeat(ROWS_REPEATED, match.group(1))
        end = match.end() if match.group(1).endswith(b"/") else xml.find(_ROW_END, match.end())
        if end != -1 and xml.find(_MARK, match.end(), end) != -1:
            for col, width, text in _row_errors(xml, match.end(), end):
                yield row, height, col, width, text
        row += height


def table_span(xml: bytes, sheet_name: str) -> tuple[int, int] | None:
    """Where the named sheet's rows are in the XML: (start, end) byte offsets."""
    for match in _TABLE.finditer(xml):
        name = _NAME.search(match.group(1))
        if name is not None and html.unescape(name.group(1).decode("utf-8")) == sheet_name:
            end = xml.find(_TABLE_END, match.end())
            return match.end(), len(xml) if end == -1 else end
    return None


def _row_errors(xml: bytes, start: int, end: int) -> Iterator[tuple[int, int, str]]:
    """(column, columns, text) of each error cell of one row."""
    col = 0
    for match in _CELL.finditer(xml, start, end):
        attributes = match.group(1)
        width = repeat(_COLUMNS_REPEATED, attributes)
        if _MARK in attributes and not attributes.endswith(b"/"):
            close = _CELL_END.search(xml, match.end(), end)
            text = _shown_text(xml[match.end() : close.start() if close else end])
            if text:
                yield col, width, text
        col += width


def _shown_text(content: bytes) -> str:
    paragraph = _PARAGRAPH.search(_NOTE.sub(b"", content))
    inner = paragraph.group(1) if paragraph else b""
    return html.unescape(_TAG.sub(b"", inner).decode("utf-8", "replace")).strip()


def repeat(pattern: re.Pattern[bytes], attributes: bytes) -> int:
    found = pattern.search(attributes)
    return max(int(found.group(1)), 1) if found else 1
