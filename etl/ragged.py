"""Rows of a delimited text file with more cells than its header line: a value with the
delimiter in it, written without quotes (`Jeans 32, 34` in a name), splits into two cells
and shifts every cell after it to the right. Read as it is, such a row would send the wrong
quantity or price, so the mapping step (etl.mapper) rejects it, whatever its cells say.

Only a cell that holds something past the header line's own cells counts: Excel writes
every row of a CSV with the same number of fields, so empty fields at the end of a line
(`a,b,c,,`) are padding, and a note typed to the right of a sheet's table gives the header
line empty fields of its own - but in a row longer than the header line, a cell under such
an empty field is the shifted one (an ERP that ends every line with the delimiter,
`location,sku,qty,`, gives the header that field). Lines that are not data rows (titles
above the header, totals and rows a skip rule drops) are not looked at. Workbooks are never
ragged: a cell there cannot move.
"""

from __future__ import annotations

import csv
import io
import logging
import re

import numpy as np
import pyarrow.compute as pc

from etl.cells import arrow_text, blank_cells, contains_bytes, to_mask
from etl.droppedback import own_columns
from etl.model import IntArray, Problem, Table
from etl.wording import count

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
RUN_ON = (
    "a cell of this row holds {lines} of the file after a line break ('{first}'): a quote (\")"
    " that opens a cell and is never closed takes in the lines after it, so those rows were"
    " not read either; remove that quote (or close it) and send the file again"
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
        return _under_no_header(table, positions) + _run_on(table, positions)
    return _past_the_header(table, positions) + _run_on(table, positions)


def _past_the_header(table: Table, positions: IntArray) -> list[Problem]:
    if table.fields is None or table.data.shape[1] <= _named_width(table):
        return []
    header, start = int(table.fields[0]), _named_width(table)
    past = table.data.iloc[positions, start:]
    filled = np.column_stack([~blank_cells(past.iloc[:, j]) for j in range(past.shape[1])])
    # a row no longer than the header line: its cells under the header's empty trailing
    # fields are a note typed to the right of the table, not a shift
    even = table.fields[1 + positions] <= header
    filled[even, : header - start] = False
    problems = []
    for i in np.flatnonzero(filled.any(axis=1)).tolist():
        position = int(positions[i])
        stray = str(past.iat[i, int(np.argmax(filled[i]))])
        message = _message(table, int(table.fields[1 + position]), stray)
        problems.append(Problem(int(table.row_numbers[position]), "", "", CODE, message))
    return problems


def _run_on(table: Table, positions: IntArray) -> list[Problem]:
    """Rows with a cell that holds whole lines of the file after a line break: a lone `"` at
    the start of a cell (a ditto mark, inches) read as an opening quote. A line counts when
    it reads as a row of the file: the header line's number of fields, the first of them
    shaped like the first column's cells (`DEL-WH-01`, a 20-digit order id). An address or
    a description over two lines, commas and all, does not."""
    sep, width = table.sheet.delimiter, sum(1 for name in table.header if name)
    if table.sheet.kind != "csv" or not sep or width < 3:
        return []
    problems = []
    shapes: set[str] | None = None
    for j in range(table.data.shape[1]):
        if not contains_bytes(arrow_text(table.data.iloc[:, j]), b"\n\r"):
            continue  # ~5 ms a million cells: most columns stop here
        cells = arrow_text(table.data.iloc[positions, j])
        for i in np.flatnonzero(to_mask(pc.match_substring_regex(cells, "[\r\n]"))).tolist():
            shapes = _first_column_shapes(table) if shapes is None else shapes
            rows = [
                line for line in str(cells[i]).splitlines()[1:] if _a_row(line, sep, width, shapes)
            ]
            if rows:
                message = RUN_ON.format(lines=count(len(rows), "line"), first=_shown(rows[0]))
                problems.append(
                    Problem(int(table.row_numbers[positions[i]]), "", "", CODE, message)
                )
    return problems


def _a_row(line: str, sep: str, width: int, shapes: set[str]) -> bool:
    fields = line.split(sep)
    return len(fields) in (width, width + 1) and _shape(fields[0]) in shapes


def _first_column_shapes(table: Table) -> set[str]:
    """The shapes of the first column's cells: letters as A, digits as 9 (`AAA-AA-99`)."""
    return {_shape(str(c)) for c in table.data.iloc[:, 0].dropna().unique() if str(c).strip()}


def _shape(text: str) -> str:
    return re.sub(r"[0-9]", "9", re.sub(r"[^\W\d_]", "A", text.strip()))


def _named_width(table: Table) -> int:
    """The header line's fields up to its last named one: a line that ends with the delimiter
    (`location,sku,qty,`) has an empty field of its own, where a shifted row's cell lands."""
    assert table.fields is not None
    named = [j for j, name in enumerate(table.header[: int(table.fields[0])]) if name]
    return named[-1] + 1 if named else int(table.fields[0])


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
