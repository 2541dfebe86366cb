"""Excel error values (#N/A, #REF!...) in source cells: a formula that failed, never data.

A failed VLOOKUP saved to CSV is the text `#N/A`; in a workbook it is an error cell, whose
text the readers put back (etl.xlsxerrors, etl.odserrors, etl.xlserrors). Sent on, it would
become an AWB number or a SKU; read as blank, it would take a mapping's `default:`. So the
mapping step (etl.mapper) turns every mapped cell holding one into a row problem, and fills
no default in. Only a whole cell is an error value ('Order #N/A 12' is text); spaces around
it and letter case do not matter. LibreOffice shows the errors Excel has no name for as
`Err:502` and the like: those count too.

A formula whose result was never calculated is no value either. Programs that write .xlsx
(XlsxWriter, openpyxl...) store the formula without a result, or with 0 in its place, and
let Excel calculate on opening: read as it is stored, such a cell would be empty (and take a
default) or 0 (a stock wiped). etl.xlsxerrors puts `uncalculated_text` in the cell instead:
the formula as Excel's formula bar shows it, and NOT_CALCULATED after it. The mapping step
rejects a mapped cell holding that, like an error value; elsewhere it is just text (the row
is not blank, so it is reported, never lost). In the errors file the cell shows the formula.
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
FORMULA_CODE = "formula_not_calculated"
FORMULA_MESSAGE = (
    "this cell holds a formula whose result was never calculated (the file was written by a"
    " program, not saved by Excel): open the file in Excel and save it, or export values"
    " instead of formulas"
)
NOT_CALCULATED = " (formula never calculated)"
_UNKNOWN_FORMULA = "\u2026"  # a shared formula's copy: its text is stored with the first cell
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
    return _error_mask(arrow_text(cells))


def _error_mask(text: pa.Array) -> BoolArray:
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


def uncalculated_text(formula: str | None) -> str:
    """The cell text for a formula never calculated (`formula` without its `=`; None when
    the file does not say it: a shared formula's copy)."""
    return f"={formula or _UNKNOWN_FORMULA}{NOT_CALCULATED}"


def formula_cells(cells: pd.Series) -> BoolArray:
    """True where a cell holds `uncalculated_text` (spaces around it aside). Only cells
    starting with `=` (or a space) are looked at closely."""
    return _formula_mask(arrow_text(cells))


def _formula_mask(text: pa.Array) -> BoolArray:
    first = bytes_at(text)
    found: BoolArray = np.take(_FORMULA_FIRST, first)
    if found.any():
        candidates = np.flatnonzero(found)
        trimmed = pc.utf8_trim_whitespace(text.take(pa.array(candidates)))
        marked = pc.and_(pc.starts_with(trimmed, "="), pc.ends_with(trimmed, NOT_CALCULATED))
        found[candidates] = to_mask(marked)
    return found


_FORMULA_FIRST = np.zeros(256, dtype=np.bool_)  # bytes a marked formula (or a space) starts with
_FORMULA_FIRST[[ord("="), *_SPACES]] = True
_CUT = -len(NOT_CALCULATED)  # what is left of a marked cell is its formula


class ErrorCells:
    """The error values, and the formulas never calculated, in the source columns a mapping
    reads: each column is checked once, and each cell reported once, however many fields
    read it."""

    def __init__(self, data: pd.DataFrame, columns: dict[str, int], rows: IntArray) -> None:
        self.data, self.columns, self.rows = data, columns, rows
        # by column position: its header, error values, formulas never calculated
        self.found: dict[int, tuple[str, BoolArray, BoolArray]] = {}

    def mask(self, spec: FieldSpec) -> BoolArray:
        """Rows where a cell the field reads holds an error value or a formula never
        calculated (constants: none)."""
        hit = np.zeros(len(self.data), dtype=np.bool_)
        for header in spec.columns:
            position = self.columns.get(norm_header(header))
            if position is not None:
                _, errors, formulas = self._column(header, position)
                hit |= errors | formulas
        return hit

    def problems(self) -> list[Problem]:
        """One problem per such cell, in the words of the mapping's column names."""
        found = []
        for position, (header, errors, formulas) in self.found.items():
            hits = np.flatnonzero(errors | formulas)
            if not len(hits):
                continue
            texts = self.data.iloc[hits, position].astype("str").tolist()
            rows, formula = self.rows[hits].tolist(), formulas[hits].tolist()
            for row, text, uncalculated in zip(rows, texts, formula, strict=True):
                if uncalculated:  # the formula alone: `=A1+B1`
                    shown = text.strip()[:_CUT]
                    found.append(Problem(row, header, shown, FORMULA_CODE, FORMULA_MESSAGE))
                else:
                    found.append(Problem(row, header, text.strip(), CODE, MESSAGE))
        return found

    def _column(self, header: str, position: int) -> tuple[str, BoolArray, BoolArray]:
        if position not in self.found:
            text = arrow_text(self.data.iloc[:, position])
            self.found[position] = (header, _error_mask(text), _formula_mask(text))
        return self.found[position]
