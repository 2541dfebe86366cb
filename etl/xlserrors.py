"""Put Excel error values (#N/A, #DIV/0!...) back into cells read from an old `.xls` workbook.

python-calamine hands BIFF error cells over as empty strings (dimastbk/python-calamine#105),
so a failed VLOOKUP would pass as "no value" and take a mapping default. xlrd reads the
error codes, but parsing a sheet with it costs about as much again as calamine's whole read;
so the workbook stream is first searched for the records an error cell is stored in (a
regular-expression pass over the bytes), and xlrd runs only when one may be there.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable

import pandas as pd
import xlrd
from xlrd.compdoc import CompDoc

from etl.xlsxerrors import write_back

# BIFF5/8 records holding an error value, as bytes in the workbook stream. FORMULA (0x0006):
# header, row/column/format (6 bytes), then a cached result whose first byte is 2 (error)
# and last two bytes FF FF; BOOLERR (0x0205, 8 bytes): flag byte 1 = error. Two patterns,
# each starting with literal bytes, search several times faster than one with a choice.
_ERROR_RECORDS = (
    re.compile(rb"\x06\x00..(?:.{6})\x02.{5}\xff\xff", re.DOTALL),
    re.compile(rb"\x05\x02\x08\x00.{7}\x01", re.DOTALL),
)
_STREAMS = ("Workbook", "Book")  # BIFF8, BIFF5


def restore_xls_errors(
    content: bytes, sheet_name: str, cells: pd.DataFrame, first_row: int, first_col: int
) -> None:
    """Write the error text of the workbook file `content` into `cells` (0-based offsets
    `first_row`/`first_col`), in place."""
    try:
        if not may_hold_errors(content):
            return
        book = xlrd.open_workbook(file_contents=content, on_demand=True, logfile=io.StringIO())
        sheet = book.sheet_by_name(sheet_name)
        found = _error_cells(sheet, first_row, first_row + len(cells))
    except Exception:  # xlrd raises assorted errors; calamine already read the sheet
        return
    write_back(cells, found, first_row, first_col)


def may_hold_errors(content: bytes) -> bool:
    """False only when no record of the workbook stream can hold an error value; True when
    one may (or the stream cannot be found: then xlrd has the last word)."""
    return stream_may_hold(content, _ERROR_RECORDS)


def stream_may_hold(content: bytes, records: Iterable[re.Pattern[bytes]]) -> bool:
    """False only when none of `records` is found in the workbook stream of the file
    `content`; True when one is (or the stream cannot be found)."""
    try:
        document = CompDoc(content, logfile=io.StringIO())
        for name in _STREAMS:
            stream, start, size = document.locate_named_stream(name)
            if stream is not None:
                found = (p.search(stream, start, start + size) for p in records)
                return any(match is not None for match in found)
    except Exception:  # not an OLE2 container (BIFF2-4) or a damaged one
        return True
    return True


def _error_cells(sheet: xlrd.sheet.Sheet, start: int, stop: int) -> list[tuple[int, int, str]]:
    """(row, column, error text) of the error cells of rows start..stop-1 (0-based)."""
    found = []
    for row in range(max(start, 0), min(stop, sheet.nrows)):
        types = sheet.row_types(row)
        if xlrd.XL_CELL_ERROR not in types:
            continue
        for col, kind in enumerate(types):
            if kind == xlrd.XL_CELL_ERROR:
                code = sheet.cell_value(row, col)
                found.append((row, col, xlrd.error_text_from_code.get(code, "#VALUE!")))
    return found
