"""Why a required cell is empty, where the file shows it: merged cells, a column shifted.

"location is empty" is all a row check can say. Around the cell the file often tells more: a
store name merged over its rows keeps its value in the first row only (rows below have none,
with no row between them); a column whose cells were shifted up by one (a cell deleted with
Excel's "Shift cells up", a column sorted alone) has its only empty cell on the last row, and
every value above belongs to the row below it. The message says so, and what to do.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from etl.cells import blank_cells
from etl.findings import Finding
from etl.model import Mapped
from etl.wording import label

SHIFT_MIN_ROWS = 20  # a shorter file is typed by hand: its empty last cell is just empty


def empty_cell_hints(findings: list[Finding], work: pd.DataFrame, mapped: Mapped) -> list[Finding]:
    """`findings` with the messages of empty cells that merged cells or a shifted column
    explain (`work`: the typed frame of `mapped`)."""
    return _shifted(_merged(findings, work, mapped), len(work))


def _merged(findings: list[Finding], work: pd.DataFrame, mapped: Mapped) -> list[Finding]:
    """An empty location under rows that have one, with no row between them: a store name
    merged over its rows in the export (merged cells keep the value in the first row only).
    Only where the file's own cell is blank: a filled cell a transform emptied is no merge."""
    empty = [
        f
        for f in findings
        if f.field == "location_id"
        and f.code == "missing"
        and not mapped.source_text("location_id", f.index)
    ]
    rows = mapped.row_numbers
    if not empty:
        return findings
    at = np.arange(len(work))
    filled = np.flatnonzero(~blank_cells(work["location_id"]))
    last = np.full(len(work), -1)
    last[filled] = filled
    last = np.maximum.accumulate(last)  # the nearest row above (or this one) with a location
    breaks = np.r_[True, np.diff(rows) != 1]
    run_start = np.maximum.accumulate(np.where(breaks, at, 0))
    hinted = {}
    for found in empty:
        above = int(last[found.index])
        if above >= run_start[found.index]:
            # the row, not the value: a value map or lookup has made it a Konnect code
            message = MERGED.format(row=int(rows[above]))
            hinted[id(found)] = replace(found, message=message)
    return [hinted.get(id(f), f) for f in findings]


MERGED = (
    "location is empty, and row {row} above has one: merged cells? write the location on every"
    " row, as in row {row}"
)


def _shifted(findings: list[Finding], size: int) -> list[Finding]:
    """A field empty on the last row only, the row's only empty one, in a file of
    `SHIFT_MIN_ROWS` rows or more."""
    if size < SHIFT_MIN_ROWS:
        return findings
    if sum(f.code == "missing" and f.index == size - 1 for f in findings) != 1:
        return findings  # none, or a last row of several empty cells: a stray row, no shift
    empty: dict[str, list[Finding]] = {}
    for found in findings:
        if found.code == "missing" and found.field:
            empty.setdefault(found.field, []).append(found)
    hinted = {
        id(only): replace(only, message=SHIFTED.format(field=label(field)))
        for field, (only, *more) in empty.items()
        if not more and only.index == size - 1 and not only.message
    }
    return [hinted.get(id(f), f) for f in findings]


SHIFTED = (
    "{field} is empty - the column's only empty cell, on the file's last row: if the {field}"
    ' cells were shifted up by one (a cell deleted with Excel\'s "Shift cells up", or the'
    " column sorted alone), each row above holds the {field} of the row below it: correct the"
    " column and send the whole file again; if not, write the {field}"
)
