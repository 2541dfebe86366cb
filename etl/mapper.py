"""Applying a mapping to a table: skip non-data rows, compute each canonical field.

Cell problems, and rows with more cells than the header line (etl.ragged), become `Problem`
records (the row stays in the frame); only file-level defects (a required column, or a skip
rule's column, missing; a column listed twice) raise `InputError`. What the user should hear
of although nothing failed (rows skipped, a default filled in because its column is absent)
goes in `table.notes`: the summary's `warnings`.
"""

from __future__ import annotations

import logging
import string

import numpy as np
import pandas as pd

from etl.cells import BoolArray, blank_cells
from etl.damage import damage_problems, numeric_mask
from etl.droppedback import own_positions
from etl.errors import InputError
from etl.errorvalues import ErrorCells, formula_cells
from etl.feeds import get_feed
from etl.hiddenrows import hidden_row_problems
from etl.mapspec import FieldSpec, Mapping, norm_header
from etl.model import IntArray, Mapped, Problem, Table
from etl.pageheads import page_headings
from etl.pricemarks import rupees_in_another_currency, thousands_read_as_decimals
from etl.ragged import extra_cell_problems
from etl.skiprules import rule_rows
from etl.totals import log_skipped, total_rows
from etl.transforms import Failure

log = logging.getLogger(__name__)


def apply_mapping(mapping: Mapping, table: Table) -> Mapped:
    """Canonical columns for every kept data row of `table`, plus the cells that failed."""
    columns = locate_columns(mapping, table)
    _note_defaults(mapping, table, columns)
    keep = _keep_mask(mapping, table, columns)
    positions = np.flatnonzero(keep).astype(np.int64)
    data = table.data.iloc[positions].reset_index(drop=True)
    rows = table.row_numbers[positions]
    frame: dict[str, pd.Series] = {}
    sources: dict[str, str] = {}
    errors = ErrorCells(data, columns, rows)
    numeric = _numeric(mapping, table, columns, positions)
    problems = extra_cell_problems(table, positions)  # first: it explains the row's others
    problems += hidden_row_problems(mapping.feed, table, positions)
    for spec in mapping.fields:
        number_cells = numeric.get(spec.name)
        frame[spec.name], found = _compute(
            spec, data, columns, rows, errors.mask(spec), number_cells
        )
        sources[spec.name] = spec.source
        problems += found
    problems += errors.problems()
    columns_out = get_feed(mapping.feed).columns
    blank = [c for c in columns_out if c not in frame]
    if blank:
        frame.update(dict.fromkeys(blank, repeat("", len(data))))
    ordered = {c: frame[c] for c in columns_out}
    mapped = Mapped(
        frame=pd.DataFrame(ordered, index=pd.RangeIndex(len(data))),
        positions=positions,
        row_numbers=rows,
        sources=sources,
        problems=problems,
        skipped_rows=int(len(keep) - keep.sum()),
        numeric=numeric,
        table=table,
        columns={
            spec.name: columns[norm_header(spec.column)]
            for spec in mapping.fields
            if spec.column is not None and norm_header(spec.column) in columns
        },
    )
    problems += rupees_in_another_currency(mapping, data, columns, mapped)
    problems += thousands_read_as_decimals(mapping, data, columns, mapped)
    mapped.problems = sorted(problems + damage_problems(mapping, mapped), key=lambda p: p.row)
    return mapped


def _numeric(
    mapping: Mapping, table: Table, columns: dict[str, int], positions: IntArray
) -> dict[str, BoolArray]:
    """For fields read from one column: which kept rows were number cells in the workbook."""
    cells = table.numeric
    found: dict[str, BoolArray] = {}
    for spec in mapping.fields:
        position = columns.get(norm_header(spec.column or ""))
        if cells is not None and spec.column is not None and position is not None:
            found[spec.name] = numeric_mask(cells, positions, position)
    return found


def locate_columns(mapping: Mapping, table: Table) -> dict[str, int]:
    """Position of every header the mapping reads; InputError if a required one is absent."""
    where: dict[str, list[int]] = {}
    for position, header in enumerate(table.header):
        where.setdefault(norm_header(header), []).append(position)
    wanted = {h for spec in mapping.fields for h in spec.columns}
    wanted |= {rule.column for rule in mapping.skip_rows} | set(mapping.required_headers)
    found: dict[str, int] = {}
    for header in sorted(wanted):
        places = where.get(norm_header(header), [])
        if len(places) > 1:
            spots = " and ".join(_letter(p) for p in places)
            raise InputError(
                f"column '{header}' appears twice (columns {spots}{_groups(table, places)}):"
                " the mapping cannot tell which one to read; export the report with one header"
                f" row and distinct column names (such as 'Closing {header}'), or rename one of"
                " them in the file",
                "duplicate_column",
            )
        if places:
            found[norm_header(header)] = places[0]
    _check_present(mapping, table, found)
    return found


def _groups(table: Table, places: list[int]) -> str:
    """', under 'Opening' and 'Closing' in the row above' when the row above the header
    names each of the columns at `places` differently (a header of two rows, its group
    cells merged across their columns: the label sits in the group's first column)."""
    above = table.sheet.cells[table.sheet.row_numbers == table.header_row - 1]
    if above.empty:
        return ""
    cells = [str(c).strip() for c in above.iloc[0]]
    labels = [next((cells[j] for j in range(min(p, len(cells) - 1), -1, -1) if cells[j]), "")
              for p in places]  # fmt: skip
    if not all(labels) or len(set(labels)) < len(labels):
        return ""
    return f", under {' and '.join(repr(label) for label in labels)} in the row above"


def _check_present(mapping: Mapping, table: Table, found: dict[str, int]) -> None:
    """InputError for a required column, or a column a skip rule reads, the file lacks: a
    rule that cannot see its column would skip nothing, and send the rows it was written
    to keep out (CANCELED shipments)."""
    has = ", ".join(h for h in table.header if h.strip()) or "no headers"
    missing = [h for h in mapping.required_headers if norm_header(h) not in found]
    if missing:
        raise InputError(f"column '{missing[0]}' not found; the file has: {has}", "missing_column")
    for rule in mapping.skip_rows:
        if norm_header(rule.column) not in found:
            raise InputError(
                f"the mapping's skip rule reads column '{rule.column}', which the file does not "
                f"have; it has: {has}. Correct the column in skip.rows_where of mapping "
                f"{mapping.name}, or export the file with that column",
                "missing_column",
            )


def _note_defaults(mapping: Mapping, table: Table, columns: dict[str, int]) -> None:
    """An optional field whose column the file lacks gets its `default` on every row: say so
    (a misspelt `column: Curr` would otherwise go unseen; a key field cannot be optional,
    etl.mapping_fields). Without a
    default the field stays blank, which misleads no one; a field read from its own Konnect
    name (`currency` in a canonical file) is the documented default, not a surprise."""
    for spec in mapping.fields:
        absent = [f"'{h}'" for h in spec.columns if norm_header(h) not in columns]
        if spec.default is None or not absent or spec.column == spec.name:
            continue
        what = f"column {absent[0]} is" if len(absent) == 1 else f"columns {', '.join(absent)} are"
        text = f"{what} not in the file: {spec.name} is '{spec.default}' (the mapping's default)"
        table.notes.append(f"{text} on every row")
        log.warning("%s: %s on every row", table.sheet.path.name, text)


def _letter(position: int) -> str:
    letters = ""
    position += 1
    while position:
        position, rest = divmod(position - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _keep_mask(mapping: Mapping, table: Table, columns: dict[str, int]) -> BoolArray:
    """True for data rows; False for blank rows (in our errors file come back, also rows
    with only our `error` and `row` cells left: cleared by the user), rows a
    `skip.rows_where` rule matches, page headings repeated in the data (etl.pageheads), and
    totals / report footers (etl.totals)."""
    keep = np.ones(len(table.data), dtype=bool)
    filled: dict[int, BoolArray] = {}  # by column position; reused by the totals rule
    if mapping.skip_blank and len(table.data.columns):
        read = {columns.get(norm_header(h)) for spec in mapping.fields for h in spec.columns}
        for label in range(table.data.shape[1]):
            filled[label] = _filled(table.data.iloc[:, label], helper=label not in read)
        ours = set(own_positions(table.sheet.path.name, table.header))
        theirs = [cells for label, cells in filled.items() if label not in ours]
        keep &= np.logical_or.reduce(theirs) if theirs else False
    keep &= ~rule_rows(mapping, table, columns, keep)
    keep &= ~page_headings(table, keep)
    totals = total_rows(mapping, table, columns, filled) & keep
    log_skipped(table, totals)
    return keep & ~totals


def _filled(cells: pd.Series, *, helper: bool) -> BoolArray:
    """Cells with something in them. In a column no field reads (`helper`), a formula never
    calculated does not count: a script fills helper formulas down past the data, and those
    rows are as blank as they look (in a column a field reads, it rejects its row)."""
    found = ~blank_cells(cells)
    if helper and found.any():
        found &= ~formula_cells(cells)
    return found


def _compute(
    spec: FieldSpec,
    data: pd.DataFrame,
    columns: dict[str, int],
    rows: IntArray,
    errors: BoolArray,
    number_cells: BoolArray | None = None,
) -> tuple[pd.Series, list[Problem]]:
    """One canonical field: its source values, then each transform step in turn. Rows where
    a cell it reads holds an Excel error value (`errors`, reported by etl.errorvalues) get no
    default and no further messages. `number_cells`: the rows whose cell was a number in the
    workbook (a field read from one column of a workbook)."""
    original = _source_values(spec, data, columns)
    values = original
    if spec.column is not None and errors.any():  # no value, so no duplicate-key message
        values = values.where(~errors, "")
    if spec.default is not None:
        filled = values.str.strip().ne("").to_numpy(dtype=bool, na_value=False)
        values = values.where(filled | errors, spec.default)
    problems: list[Problem] = []
    failed = errors.copy()
    for step in spec.transforms:
        before = values
        values, failures = step.apply_typed(values, number_cells)
        for failure in failures:
            new = np.flatnonzero(failure.mask & ~failed)
            problems += [
                _problem(spec, failure, int(rows[i]), original, before, int(i)) for i in new
            ]
            failed |= failure.mask
    return values, problems


def _problem(
    spec: FieldSpec, failure: Failure, row: int, original: pd.Series, before: pd.Series, i: int
) -> Problem:
    message = failure.said(str(before.iloc[i]))
    return Problem(row, spec.source, str(original.iloc[i]), failure.code, message)


def _source_values(spec: FieldSpec, data: pd.DataFrame, columns: dict[str, int]) -> pd.Series:
    size = len(data)
    if spec.constant is not None:
        return repeat(spec.constant, size)
    if spec.template is not None:
        return _template(spec.template, data, columns)
    position = columns.get(norm_header(spec.column or ""))
    if position is None:  # an optional column the file does not have
        return repeat("", size)
    return data.iloc[:, position].astype("str").fillna("")


def _template(template: str, data: pd.DataFrame, columns: dict[str, int]) -> pd.Series:
    """'{Site}-{Bin}' per row; blank when any named cell is blank (the value is incomplete)."""
    out = repeat("", len(data))
    incomplete = np.zeros(len(data), dtype=bool)
    for literal, name, _, _ in string.Formatter().parse(template):
        out = out + literal
        if name is None:
            continue
        position = columns.get(norm_header(name))
        cells = repeat("", len(data))
        if position is not None:
            cells = data.iloc[:, position].astype("str").fillna("").str.strip()
        incomplete |= blank_cells(cells)
        out = out + cells
    return out.where(~incomplete, "")


def repeat(text: str, size: int) -> pd.Series:
    """A text column holding `text` in every row."""
    return pd.Series(np.full(size, text, dtype=object), dtype="str")
