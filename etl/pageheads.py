"""Page headings repeated among the data rows: not data, skipped by every mapping.

A report exported for printing repeats its title and column names at the top of each page;
two CSV exports joined into one (`copy a.csv+b.csv all.csv`) carry the second one's header
line in the middle. Read as data, such a row is rejected with messages that send the user
the wrong way ("'Godown' is not in lookups_marg.csv - have it added there", "'Cl. Qty' - not
a whole number"), every day. So a row whose every cell is the header's, or a title row's
above the header (company name, report title, group headings), cell for cell, is skipped:
counted in the summary's `skipped_rows` and named in its `warnings` and the log. A row that
differs from them in any cell is data as ever.
"""

from __future__ import annotations

import numpy as np
import pyarrow.compute as pc

from etl.cells import BoolArray, arrow_text, blank_cells, to_mask
from etl.mapspec import norm_header
from etl.model import Table
from etl.skiprules import rows_text, skipped

BOM = "\ufeff"  # the second file's own BOM, in front of its header line after a join


def page_headings(table: Table, keep: BoolArray) -> BoolArray:
    """True for rows among `keep` that repeat the header or a title row above it; each
    kind is named in `table.skipped`."""
    data = table.data
    heads = np.zeros(len(data), dtype=bool)
    if not len(data) or sum(bool(_norm(c)) for c in table.header) < 2:
        return heads
    heads = _same_as(table, table.header, keep)
    titles = np.zeros(len(data), dtype=bool)
    above = len(table.sheet.cells) - len(data) - 1  # the header's position in the sheet
    for row in table.sheet.cells.iloc[:above, : data.shape[1]].itertuples(index=False):
        if any(_norm(c) for c in row):
            titles |= _same_as(table, [str(c) for c in row], keep & ~heads)
    for found, said in ((heads, HEADER_REPEATED), (titles, TITLE_REPEATED)):
        numbers = table.row_numbers[found]
        if len(numbers):
            verb = "repeats" if len(numbers) == 1 else "repeat"
            skipped(table, f"{rows_text(numbers)} {verb} {said}: skipped")
    return heads | titles


HEADER_REPEATED = "the column names (a page break, or two files joined?)"
TITLE_REPEATED = "the report's title above the column names (a page break?)"


def _same_as(table: Table, cells: list[str], keep: BoolArray) -> BoolArray:
    """Rows among `keep` whose cells are `cells`, one for one (case and spaces aside), column
    by column on the rows still in question: a title cell every data row repeats (a godown's
    code above the header of its stock list) leaves all rows in question for one column only."""
    wanted = [_norm(c) for c in cells] + [""] * (table.data.shape[1] - len(cells))
    order = sorted(range(len(wanted)), key=lambda j: not wanted[j])  # filled cells first
    same = keep.copy()
    for j in order:
        rows = np.flatnonzero(same)
        if not rows.size:
            break
        column = table.data.iloc[rows, j]
        if not wanted[j]:
            same[rows] = blank_cells(column)
            continue
        text = pc.utf8_trim_whitespace(pc.utf8_ltrim(arrow_text(column), BOM))
        same[rows] = to_mask(
            pc.equal(pc.utf8_lower(text), str(cells[j]).lstrip(BOM).strip().lower())
        )
    for i in np.flatnonzero(same).tolist():  # few: each checked as norm_header compares
        same[i] = [_norm(c) for c in table.data.iloc[i]] == wanted
    return same


def _norm(cell: object) -> str:
    return norm_header(str(cell).lstrip(BOM))
