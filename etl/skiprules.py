"""A mapping's `skip.rows_where` rules: which rows each one drops, named rule by rule.

Rows a rule drops are not uploaded and have no line in the result file, so each rule's rows
are named in the summary's `warnings` and the log (routine: an all-ok file stays quiet under
`run -q`), as totals are (etl.totals): "3 rows
skipped by the mapping's rule (Status equals CANCELED): rows 7, 12, 15". A rule whose
column the file lacks stops the file (etl.mapper): it would skip nothing without a word.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from etl.cells import BoolArray, blank_cells
from etl.mapspec import Mapping, SkipRule, norm_header
from etl.model import IntArray, Table

log = logging.getLogger(__name__)

SHOWN = 10  # row numbers named in a note; the rest are counted


def rule_rows(
    mapping: Mapping, table: Table, columns: dict[str, int], keep: BoolArray
) -> BoolArray:
    """Rows among `keep` that the mapping's rules drop; each rule's rows go in `table.skipped`.
    A row two rules match is named under the first."""
    dropped = np.zeros(len(keep), dtype=bool)
    for rule in mapping.skip_rows:
        cells = table.data.iloc[:, columns[norm_header(rule.column)]]
        hit = rule_mask(rule, cells) & keep & ~dropped
        numbers = table.row_numbers[hit]
        if len(numbers):
            count = f"{len(numbers)} {'row' if len(numbers) == 1 else 'rows'}"
            note(table, f"{count} skipped by the mapping's rule ({described(rule)})", numbers)
        dropped |= hit
    return dropped


def rule_mask(rule: SkipRule, cells: pd.Series) -> BoolArray:
    """True where every condition of `rule` holds for the cell."""
    text = cells.astype("str").fillna("")
    hit = np.ones(len(text), dtype=bool)
    if rule.matches is not None:
        hit &= text.str.contains(rule.matches, regex=True).to_numpy(dtype=bool, na_value=False)
    if rule.equals is not None:
        normal = text.map(norm_header, na_action="ignore")
        hit &= (normal == norm_header(rule.equals)).to_numpy(dtype=bool, na_value=False)
    if rule.empty is not None:
        hit &= blank_cells(text) if rule.empty else ~blank_cells(text)
    return hit


def described(rule: SkipRule) -> str:
    """The rule in words: "Status equals CANCELED and Remark is empty"."""
    said = []
    if rule.matches is not None:
        said.append(f"matches '{rule.matches.pattern}'")
    if rule.equals is not None:
        said.append(f"equals {rule.equals}")
    if rule.empty is not None:
        said.append("is empty" if rule.empty else "is not empty")
    return " and ".join(f"{rule.column} {s}" for s in said)


def note(table: Table, said: str, numbers: IntArray) -> None:
    """'`said`: rows 7, 12, 15' in the summary's warnings (`table.skipped`) and the log."""
    skipped(table, f"{said}: {rows_text(numbers)}")


def rows_text(numbers: IntArray) -> str:
    """'row 7', 'rows 7, 12, 15', 'rows 1, 2, ... 10 and 4 more'."""
    shown = ", ".join(str(n) for n in numbers[:SHOWN])
    if len(numbers) > SHOWN:
        shown += f" and {len(numbers) - SHOWN} more"
    return f"{'row' if len(numbers) == 1 else 'rows'} {shown}"


def skipped(table: Table, text: str) -> None:
    """A note of rows skipped: in the summary's warnings (routine) and the log."""
    table.skipped.append(text)
    log.info("%s: %s", table.sheet.path.name, text)
