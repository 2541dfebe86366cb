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

from etl.cells import BoolArray, arrow_text, to_mask
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
    """Rows among `keep` whose cells are `cells`, one for one (case and spaces aside)."""
    wanted = [_norm(c) for c in cells] + [""] * (table.data.shape[1] - len(cells))
    first = next(j for j, c in enumerate(wanted) if c)
    column = pc.utf8_trim_whitespace(pc.utf8_ltrim(arrow_text(table.data.iloc[:, first]), BOM))
    target = str(cells[first]).lstrip(BOM).strip().lower()  # a repeat is written alike
    same = keep & to_mask(pc.equal(pc.utf8_lower(column), target))
    for i in np.flatnonzero(same).tolist():  # few: each checked cell by cell
        row = [_norm(c) for c in table.data.iloc[i]]
        same[i] = row == wanted
    return same


def _norm(cell: object) -> str:
    return norm_header(str(cell).lstrip(BOM))
