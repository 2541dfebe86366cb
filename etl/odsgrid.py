"""The grid an OpenDocument (.ods) sheet asks for, before the Excel reader builds it.

An .ods writes a run of like rows or cells once, with a repeat count: 879 bytes asked
python-calamine for 99 million cells, and it aborted the whole process at 6 GB (a watcher
then died on the file at every start). content.xml is read as a stream first and a sheet
whose cells reach past the limits is refused. Runs of empty cells and rows (LibreOffice
writes a million of them after the data) do not count: the reader does not build those.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO
from xml.etree.ElementTree import Element, ParseError, iterparse

from etl.limits import Limits, check_grid

_TABLE = "{urn:oasis:names:tc:opendocument:xmlns:table:1.0}"
_VALUE_TYPE = "{urn:oasis:names:tc:opendocument:xmlns:office:1.0}value-type"
NARROW = 26  # columns up to Z: bounded by max_rows alone, as in an .xlsx (etl.limits)


def check_ods(path: Path, limits: Limits) -> None:
    """Refuse an .ods whose filled cells reach past `limits`. A damaged file is left to the
    reader, which says so."""
    try:
        with zipfile.ZipFile(path) as archive, archive.open("content.xml") as content:
            for rows, columns in _sheet_extents(content):
                check_grid(rows, columns if columns > NARROW else 0, limits)
    except (OSError, KeyError, ValueError, ParseError, zipfile.BadZipFile):
        return


def _sheet_extents(content: IO[bytes]) -> Iterator[tuple[int, int]]:
    """(last row, widest column) holding something, per sheet, repeats counted."""
    row = last_row = widest = 0
    for _, element in iterparse(content, events=("end",)):
        if element.tag == f"{_TABLE}table-row":
            repeat = int(element.get(f"{_TABLE}number-rows-repeated", "1"))
            if reach := _reach(element):
                last_row, widest = row + repeat, max(widest, reach)
            row += repeat
            element.clear()
        elif element.tag == f"{_TABLE}table":
            yield last_row, widest
            row = last_row = widest = 0
            element.clear()


def _reach(row: Element) -> int:
    """The column (1-based) of the row's last cell holding something; 0 if none does."""
    column = reach = 0
    for cell in row:
        column += int(cell.get(f"{_TABLE}number-columns-repeated", "1"))
        if len(cell) or cell.get(_VALUE_TYPE):
            reach = column
    return reach
