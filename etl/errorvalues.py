"""Excel error values (#N/A, #REF!...) in source cells: a formula that failed, never data.

A failed VLOOKUP saved to CSV is the text `#N/A`; in a workbook it is an error cell, whose
text the readers put back (etl.xlsxerrors, etl.odserrors, etl.xlserrors). Sent on, it would
become an AWB number or a SKU; read as blank, it would take a mapping's `default:`. So the
mapping step (etl.mapper) turns every mapped cell holding one into a row problem, and fills
no default in. Only a whole cell is an error value ('Order #N/A 12' is text); spaces around
it and letter case do not matter. LibreOffice shows the errors Excel has no name for as
`Err:502` and the like: those count too.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from etl.cells import BoolArray, arrow_text, bytes_at, to_mask
from etl.mapspec import FieldSpec, norm_header
from etl.model import IntArray, Problem

EXCEL_ERRORS = (
    "#N/A", "#REF!", "#VALUE!", "#DIV/0!", "#NAME?", "#NULL!", "#NUM!",
    "#SPILL!", "#CALC!", "#GETTING_DATA", "#FIELD!", "#BLOCKED!", "#CONNECT!", "#BUSY!",
    "#UNKNOWN!",
)  # fmt: skip
LIBREOFFICE_ERROR = r"^ERR:\d{3}$"  # compared in upper case
CODE = "excel_error"
MESSAGE = (
    "Excel could not compute this cell (its formula failed): fix the formula or type the"
    " value, then save and drop the file again"
)
_KNOWN = pa.array(EXCEL_ERRORS, type=pa.large_string())
_SPACES = b" \t\n\r\v\f"


def _openings() -> BoolArray:
    """Which (first byte, second byte) pairs an error value can start with, as a table
    indexed by first * 256 + second: '#' and a letter some error name starts with, 'Er'
    (Err:502), or a space and anything."""
    table = np.zeros(256 * 256, dtype=np.bool_)
    starts = {(text[0], text[1]) for text in [*EXCEL_ERRORS, "Err:"]}
    for first, second in starts:
        for a in {first.upper(), first.lower()}:
            for b in {second.upper(), second.lower()}:
                table[ord(a) * 256 + ord(b)] = True
    for space in _SPACES:
        table[space * 256 : space * 256 + 256] = True
    return table


_OPENINGS = _openings()
_FIRST = np.zeros(256, dtype=np.bool_)  # bytes an error value (or a space before it) starts with
_FIRST[[pair // 256 for pair in np.flatnonzero(_OPENINGS)]] = True


def error_cells(cells: pd.Series) -> BoolArray:
    """True where a cell holds an Excel error value. Vectorised: the first byte of each cell
    is looked at (then the second, if any cell passed), and only cells that can start an
    error value are compared with the list."""
    text = arrow_text(cells)
    first = bytes_at(text)
    found: BoolArray = np.take(_FIRST, first)
    if found.any():
        pairs = first.astype(np.int64) * 256 + bytes_at(text, 1)
        found = np.take(_OPENINGS, pairs)
    if found.any():
        candidates = np.flatnonzero(found)
        found[candidates] = _is_error(text.take(pa.array(candidates)))
    return found


def _is_error(text: pa.Array) -> BoolArray:
    normal = pc.ascii_upper(pc.utf8_trim_whitespace(text))
    known = pc.is_in(normal, value_set=_KNOWN)
    return to_mask(pc.or_(known, pc.match_substring_regex(normal, LIBREOFFICE_ERROR)))


class ErrorCells:
    """The error values in the source columns a mapping reads: each column is checked once,
    and each cell reported once, however many fields read it."""

    def __init__(self, data: pd.DataFrame, columns: dict[str, int], rows: IntArray) -> None:
        self.data, self.columns, self.rows = data, columns, rows
        self.found: dict[int, tuple[str, BoolArray]] = {}  # by column position

    def mask(self, spec: FieldSpec) -> BoolArray:
        """Rows where a cell the field reads holds an error value (constants: none)."""
        hit = np.zeros(len(self.data), dtype=np.bool_)
        for header in spec.columns:
            position = self.columns.get(norm_header(header))
            if position is not None:
                hit |= self._column(header, position)
        return hit

    def problems(self) -> list[Problem]:
        """One problem per error cell, in the words of the mapping's column names."""
        found = []
        for position, (header, hit) in self.found.items():
            cells = self.data.iloc[:, position]
            for i in np.flatnonzero(hit).tolist():
                row = int(self.rows[i])
                found.append(Problem(row, header, str(cells.iat[i]).strip(), CODE, MESSAGE))
        return found

    def _column(self, header: str, position: int) -> BoolArray:
        if position not in self.found:
            self.found[position] = (header, error_cells(self.data.iloc[:, position]))
        return self.found[position][1]
