"""Rows of a delimited text file with more cells than its header line: a value with the
delimiter in it, written without quotes (`Jeans 32, 34` in a name), splits into two cells
and shifts every cell after it to the right. Read as it is, such a row would send the wrong
quantity or price, so the mapping step (etl.mapper) rejects it, whatever its cells say.

Only a cell that holds something past the header line's own cells counts: Excel writes
every row of a CSV with the same number of fields, so empty fields at the end of a line
(`a,b,c,,`) are padding, and a note typed to the right of a sheet's table gives the header
line empty fields of its own. Lines that are not data rows (titles above the header, totals
and rows a skip rule drops) are not looked at. Workbooks are never ragged: a cell there
cannot move.
"""

from __future__ import annotations

import csv
import io
import logging

import numpy as np

from etl.cells import blank_cells
from etl.model import IntArray, Problem, Table
from etl.report import own_columns

log = logging.getLogger(__name__)

CODE = "extra_cells"
MESSAGE = (
    "this row has {cells} cells but the header has {header} ('{value}' is past its last"
    " column{last}): a {sep} inside a value (like a name) without quotes shifts the cells after"
    " it; put that value in quotes or remove the {sep}"
)
UNDER_NO_HEADER = (
    "a cell with no column header holds '{value}': the cells of this row were shifted (a value"
    " with a comma in it, written without quotes); move each value back under its column and"
    " empty the cell with no header"
)
SEPARATORS = {",": "comma", ";": "semicolon", "\t": "tab", "|": "vertical bar"}
_SHOWN = 40  # characters of the stray cell quoted in the message


def field_counts(payload: bytes, sep: str, records: int) -> IntArray | None:
    """How many fields each record of UTF-8 `payload` has, before the parser pads it; None
    (and a log line) when they cannot be counted as the parser split the records."""
    # Fields split at ASCII quotes, delimiters and line ends, never inside a UTF-8 character:
    # read as Latin-1 (one byte, one character) the count is the same, and twice as fast.
    encoding = "latin-1" if sep.isascii() else "utf-8"
    text = io.TextIOWrapper(io.BytesIO(payload), encoding=encoding, newline="")
    try:
        counts = np.fromiter(map(len, csv.reader(text, delimiter=sep)), dtype=np.int64)
    except csv.Error as exc:  # a cell longer than the csv module reads (128 KiB)
        log.warning("rows with more cells than the header cannot be checked: %s", exc)
        return None
    if len(counts) != records:
        log.warning("rows with more cells than the header cannot be checked: records differ")
        return None
    return np.maximum(counts, 1)  # an empty line is one empty field, as for the parser


def extra_cell_problems(table: Table, positions: IntArray) -> list[Problem]:
    """A problem for each data row at `positions` (of `table.data`) with a filled cell past
    the header line's fields - or, in our own errors file dropped back in, under a column
    with no header: there the rejected row's stray cell sits, under the blank column the
    report gave it, and the row must not be sent shifted because it now reads evenly."""
    if own_columns(table.header):
        return _under_no_header(table, positions)
    if table.fields is None or table.data.shape[1] <= table.fields[0]:
        return []
    header = int(table.fields[0])
    past = table.data.iloc[positions, header:]
    filled = np.column_stack([~blank_cells(past.iloc[:, j]) for j in range(past.shape[1])])
    problems = []
    for i in np.flatnonzero(filled.any(axis=1)).tolist():
        position = int(positions[i])
        stray = str(past.iat[i, int(np.argmax(filled[i]))])
        message = _message(table, int(table.fields[1 + position]), stray)
        problems.append(Problem(int(table.row_numbers[position]), "", "", CODE, message))
    return problems


def _under_no_header(table: Table, positions: IntArray) -> list[Problem]:
    blank = [j for j, name in enumerate(table.header[: -own_columns(table.header)]) if not name]
    if not blank:
        return []
    cells = table.data.iloc[positions, blank]
    filled = np.column_stack([~blank_cells(cells.iloc[:, j]) for j in range(len(blank))])
    return [
        Problem(int(table.row_numbers[int(positions[i])]), "", "", CODE, UNDER_NO_HEADER.format(
            value=_shown(str(cells.iat[i, int(np.argmax(filled[i]))]))))
        for i in np.flatnonzero(filled.any(axis=1)).tolist()
    ]  # fmt: skip


def _shown(stray: str) -> str:
    stray = stray.strip()
    return stray if len(stray) <= _SHOWN else stray[: _SHOWN - 1] + "\u2026"


def _message(table: Table, cells: int, stray: str) -> str:
    """MESSAGE in the file's terms: its last column's name, its delimiter."""
    assert table.fields is not None
    header = int(table.fields[0])
    named = [name for name in table.header[:header] if name]
    sep = table.sheet.delimiter or ","
    return MESSAGE.format(
        cells=cells,
        header=header,
        value=_shown(stray),
        last=f", '{named[-1]}'" if named else "",
        sep=SEPARATORS.get(sep, f"'{sep}'"),
    )
