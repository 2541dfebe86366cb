"""The grid an .xls (BIFF8) sheet asks for, before the Excel reader builds it.

python-calamine sizes a sheet from its cells' positions, and builds every sheet when the
workbook is opened: one cell record at column 20,000 (an .xls sheet has 256 columns: a
damaged or crafted file of 5 KB) made it ask for 42 GB and abort the whole process, which
no `except` survives - a watcher then died on the file at every start. So the workbook
stream's cell records are walked first (~0.15 s for 300,000 cells) and such a sheet is
refused like any file beyond the limits.
"""

from __future__ import annotations

import io
import struct
from pathlib import Path

from xlrd.compdoc import CompDoc, CompDocError

from etl.errors import InputError
from etl.excelread import PASSWORD_MESSAGE
from etl.limits import Limits, check_grid

XLS_COLUMNS = 256
# What each record type is: 1 a cell (row, column first), 2 a run of cells (row, first
# column; the last column ends the record), 3 the start of a sheet (or of the globals).
_KIND = bytearray(65536)
for _cell in (0x0006, 0x00FD, 0x0203, 0x027E, 0x0201, 0x0205, 0x0204, 0x00D6):
    _KIND[_cell] = 1  # FORMULA, LABELSST, NUMBER, RK, BLANK, BOOLERR, LABEL, RSTRING
_KIND[0x00BD] = _KIND[0x00BE] = 2  # MULRK, MULBLANK
_KIND[0x0809] = 3  # BOF
_KIND[0x002F] = 4  # FILEPASS: what follows is encrypted, positions included
_HEAD = struct.Struct("<HHHH").unpack_from  # type, length, then a cell's row and column


def check_xls(path: Path, limits: Limits) -> None:
    """Refuse an .xls whose cells reach past an .xls sheet, or a grid beyond `limits`. A
    file that is not a readable OLE2 workbook is left to the reader, which says so."""
    try:
        doc = CompDoc(path.read_bytes(), logfile=io.StringIO())
        stream = doc.get_named_stream("Workbook") or doc.get_named_stream("Book")
    except (CompDocError, OSError, IndexError, struct.error):
        return
    for last_row, widest in _sheet_extents(stream or b""):
        if widest > XLS_COLUMNS:
            raise InputError(
                "this is not a readable Excel workbook: a cell sits in column"
                f" {widest:,}, past the {XLS_COLUMNS} columns of an .xls sheet (the file is"
                " damaged); re-save it from Excel, or export it as CSV",
                code="unreadable",
            )
        check_grid(last_row, widest, limits)


def _sheet_extents(stream: bytes) -> list[tuple[int, int]]:
    """(rows, columns) each part of the stream reaches: 1-based last row and column."""
    extents = []
    last = widest = 0
    pos, end = 0, len(stream) - 8
    while pos <= end:
        kind, size, row, column = _HEAD(stream, pos)
        what = _KIND[kind]
        if what == 4:
            raise InputError(PASSWORD_MESSAGE, code="password")
        if what == 3:
            extents.append((last, widest))
            last = widest = 0
        elif what:
            if what == 2 and pos + 3 + size < len(stream):
                column = stream[pos + 2 + size] | stream[pos + 3 + size] << 8
            if row >= last:  # plain comparisons: this loop runs once per cell
                last = row + 1
            if column >= widest:
                widest = column + 1
        pos += 4 + size
    extents.append((last, widest))
    return extents
