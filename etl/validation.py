"""Validate mapped rows: valid rows go on with Konnect's types, every other row gets Problems.

Steps, all vectorised over the whole frame:
1. give each canonical field its type (`etl.preparation`); unreadable cells are problems;
2. row policy `negative_stock: zero` turns whole negative stock into 0 (with a note);
3. run the feed's pandera schema lazily (`etl.schemas`) and translate its failure cases;
4. row policy `duplicates` (`etl.duplicates`), then whole-order checks (`etl.order_rules`).

A row with any problem is rejected; every problem is reported (not just the first), so the
user can fix a row in one go. Cells a mapping transform already reported are not reported
again. Valid rows always go on, whatever happens to the others.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import numpy.typing as npt
import pandas as pd
import pandera.errors as pa_errors

from etl.duplicates import POLICIES, Resolution, export_order, key_fields, resolve, same_key
from etl.emptyhints import empty_cell_hints
from etl.errors import ConfigError
from etl.feeds import Feed
from etl.findings import Finding, column_name, to_problems
from etl.invoice_checks import invoice_findings, sale_and_credit_note
from etl.model import IntArray, Mapped, Problem
from etl.order_rules import order_findings, shared_awb_notes
from etl.preparation import BoolArray, prepare, zero_negative_stock
from etl.schemas import BOOLEAN_FIELDS, DECIMAL_FIELDS, LIST_FIELDS, WIDE_CHECK_FIELD, schema_for
from etl.wording import number_text

NEGATIVE_STOCK_POLICIES = ("error", "zero")


@dataclass
class Validated:
    """The rows that may be sent, and the problems of all the others.

    `frame` holds the valid rows only (canonical columns; quantity int64 - nullable Int64
    where the feed allows it empty -, decimals float64, yes/no booleans, lists of text,
    `str` otherwise; index 0..n-1). `positions[i]` / `row_numbers[i]` locate frame row i in
    `Table.data` and in the source file. `problems` lists every rejected row's problems.

    `merged` maps the `Table.data` position of a row that the duplicates policy folded into
    another (`sum`, `first`, `last`) to the frame row that carries it: such a row is not sent
    itself and shares the kept row's outcome; `merge_message` words it for the report.
    `notes` maps the `Table.data` position of a row a row policy changed (negative stock
    sent as 0) to what the report says about it; the row stays `ok`.
    """

    frame: pd.DataFrame
    positions: IntArray
    row_numbers: IntArray
    problems: list[Problem]
    merged: dict[int, int] = field(default_factory=dict)
    duplicates: str = "error"
    notes: dict[int, str] = field(default_factory=dict)
    same: str = "same record"  # what a duplicate shares with its kept row ("same order ID")

    def merge_message(self, position: int) -> str:
        """'added to row 7' (sum) or 'same order ID as row 7, sent once with that row (...)'."""
        row = int(self.row_numbers[self.merged[position]])
        if self.duplicates == "sum":
            return f"added to row {row}"
        if self.duplicates == "error":  # alike in every cell (`duplicates._one_action_twice`)
            return f"{self.same} as row {row}, alike in every cell: sent once, with that row"
        return (
            f"{self.same} as row {row}, sent once with that row (the mapping sends the"
            f" {self.duplicates} of such rows: duplicates: {self.duplicates})"
        )


def check_policies(feed: Feed, duplicates: str, negative_stock: str) -> None:
    """ConfigError for a policy the feed does not know (mappings check this at load too)."""
    if duplicates not in POLICIES:
        raise ConfigError(f"duplicates must be one of {', '.join(POLICIES)}, not '{duplicates}'")
    if duplicates == "sum" and feed.name != "stock":
        raise ConfigError(f"duplicates: sum only applies to stock files, not {feed.name}")
    if negative_stock not in NEGATIVE_STOCK_POLICIES:
        raise ConfigError(f"negative_stock must be error or zero, not '{negative_stock}'")


def validate(
    feed: Feed,
    mapped: Mapped,
    *,
    duplicates: str = "error",
    negative_stock: str = "error",
    now: datetime | None = None,
) -> Validated:
    """Check every row of `mapped` against `feed`'s rules and the row policies; `now`: the
    run's clock (an ack date after it is refused; None: the machine's)."""
    check_policies(feed, duplicates, negative_stock)
    work, findings = prepare(feed, mapped.frame)
    zeroed, said = np.zeros(len(work), dtype=bool), np.zeros(0)
    if negative_stock == "zero" and feed.name == "stock":
        said = work["quantity"].to_numpy(dtype="float64", copy=True)
        zeroed = zero_negative_stock(work)
    findings = _new_cells(findings + schema_findings(feed, work), mapped)
    findings = empty_cell_hints(findings, work, mapped)
    if feed.name == "invoice":
        findings += _new_cells(invoice_findings(work, now), mapped)
    bad = _rejected(len(work), findings, mapped)
    order = export_order(mapped) if duplicates in ("first", "last") else None
    resolution = resolve(feed, work, bad, mapped.row_numbers, duplicates, order)
    findings += resolution.findings
    bad[[f.index for f in resolution.findings]] = True
    unread = _reported_cells(mapped, findings, len(work)) if feed.grouped else {}
    findings += order_findings(feed, work, bad, mapped.row_numbers, unread)
    findings += _orphans(feed, resolution, findings, mapped.row_numbers)
    if feed.name == "invoice":
        findings = sale_and_credit_note(work, findings, mapped.row_numbers, unread.get("orderId"))
    bad[[f.index for f in findings]] = True
    validated = _result(feed, mapped, work, findings, bad, resolution, duplicates)
    if zeroed.any():
        notes = _zero_notes(zeroed & ~bad, said, mapped.positions, resolution, duplicates)
        validated.notes = notes
    if feed.name == "awb":
        shared = shared_awb_notes(work, ~bad, mapped.row_numbers)
        validated.notes = {int(mapped.positions[i]): note for i, note in shared.items()}
    return validated


def schema_findings(feed: Feed, work: pd.DataFrame) -> list[Finding]:
    """Run the feed's schema lazily; one finding per failed (row, field, check)."""
    try:
        schema_for(feed.name).validate(work, lazy=True, inplace=True)
    except pa_errors.SchemaErrors as exc:
        return _translate(exc.failure_cases)
    return []


def _translate(cases: pd.DataFrame) -> list[Finding]:
    cases = cases[cases["index"].notna()]
    found: dict[tuple[int, str, str], Finding] = {}
    for check, column, index in zip(cases["check"], cases["column"], cases["index"], strict=True):
        code = "missing" if check == "not_nullable" else str(check)
        name = WIDE_CHECK_FIELD.get(code, str(column))
        found.setdefault((int(index), name, code), Finding(int(index), name, code))
    return list(found.values())


def _new_cells(findings: list[Finding], mapped: Mapped) -> list[Finding]:
    """Drop findings on a cell already reported (by the mapping, or by an earlier step)."""
    seen = {(p.row, p.column) for p in mapped.problems}
    kept = []
    # a cell's own problem before one across fields: 1299.001 has 3 decimals, whatever the MRP
    for found in sorted(findings, key=lambda f: f.code in WIDE_CHECK_FIELD):
        cell = (int(mapped.row_numbers[found.index]), column_name(mapped, found.field))
        if cell not in seen:
            seen.add(cell)
            kept.append(found)
    return kept


def _reported_cells(mapped: Mapped, findings: list[Finding], n: int) -> dict[str, BoolArray]:
    """Per field, the rows whose cell of it already has a problem (a transform's, or a
    check's): the order checks leave them out rather than compare the empty value."""
    rows: dict[str, set[int]] = {}
    for problem in mapped.problems:
        rows.setdefault(problem.column, set()).add(problem.row)
    for found in findings:
        column = column_name(mapped, found.field)
        rows.setdefault(column, set()).add(int(mapped.row_numbers[found.index]))
    numbers = mapped.row_numbers[:n]
    return {
        f: np.isin(numbers, list(rows[c]))
        for f in mapped.frame.columns
        if (c := column_name(mapped, str(f))) in rows
    }


def _rejected(n: int, findings: list[Finding], mapped: Mapped) -> BoolArray:
    bad = np.isin(mapped.row_numbers[:n], [p.row for p in mapped.problems])
    bad[[f.index for f in findings]] = True
    return bad


def _zero_notes(
    zeroed: BoolArray,
    said: npt.NDArray[np.float64],
    positions: IntArray,
    resolution: Resolution,
    duplicates: str,
) -> dict[int, str]:
    """'sent as 0: the file says -2 (...)' for each valid row `negative_stock: zero` changed.

    A row whose quantity went into a sum was not sent as 0 itself: it 'counted as 0'. A row
    `first`/`last` dropped was not sent at all: its duplicate message says so.
    """
    summed = set(resolution.merged) | set(resolution.merged.values())
    if duplicates != "sum":
        zeroed = zeroed.copy()
        zeroed[list(resolution.merged)] = False
        summed = set()
    why = "(negative stock is sent as 0 by this mapping)"
    notes = {}
    for i in np.flatnonzero(zeroed).tolist():
        verb = "counted" if i in summed else "sent"
        notes[int(positions[i])] = f"{verb} as 0: the file says {number_text(said[i])} {why}"
    return notes


def _orphans(
    feed: Feed, resolution: Resolution, findings: list[Finding], rows: IntArray
) -> list[Finding]:
    """Rows merged into a row that a later check rejected are not sent either."""
    rejected = {f.index for f in findings}
    column = key_fields(feed)[-1]
    return [
        Finding(
            i, column, "duplicate", f"not sent: duplicate of row {rows[k]}, which has a problem"
        )
        for i, k in resolution.merged.items()
        if k in rejected
    ]


def _result(
    feed: Feed,
    mapped: Mapped,
    work: pd.DataFrame,
    findings: list[Finding],
    bad: BoolArray,
    resolution: Resolution,
    duplicates: str,
) -> Validated:
    keep = ~bad
    keep[list(resolution.merged)] = False
    frame_row = np.cumsum(keep) - 1
    merged = {
        int(mapped.positions[i]): int(frame_row[k])
        for i, k in resolution.merged.items()
        if keep[k] and not bad[i]
    }
    problems = mapped.problems + to_problems(findings, mapped, work, feed.name)
    problems.sort(key=lambda p: p.row)
    return Validated(
        frame=konnect_types(feed, work if keep.all() else work[keep].reset_index(drop=True)),
        positions=np.asarray(mapped.positions[keep], dtype=np.int64),
        row_numbers=np.asarray(mapped.row_numbers[keep], dtype=np.int64),
        problems=problems,
        merged=merged,
        duplicates=duplicates,
        same=same_key(feed),
    )


def konnect_types(feed: Feed, frame: pd.DataFrame) -> pd.DataFrame:
    """Valid rows in the types the request bodies need."""
    for name in feed.columns:
        if name == "quantity":
            required = name in feed.required
            frame[name] = frame[name].astype("int64" if required else "Int64")
        elif name in DECIMAL_FIELDS:
            frame[name] = frame[name].astype("float64")
        elif name in BOOLEAN_FIELDS:
            frame[name] = frame[name].astype("boolean")
        elif name not in LIST_FIELDS:
            frame[name] = frame[name].astype("str")
    return frame


def drop_rows(
    validated: Validated,
    messages: dict[int, str],
    table_rows: IntArray,
    problem: Callable[[int, str], Problem],
) -> Validated:
    """`validated` without frame rows `messages` (index -> why); each becomes
    `problem(row number, why)`, and so do rows the duplicates policy folded into them."""
    keep = np.ones(len(validated.frame), dtype=bool)
    keep[list(messages)] = False
    new_index = np.cumsum(keep) - 1
    problems = [problem(int(validated.row_numbers[i]), m) for i, m in messages.items()]
    dropped = set(validated.positions[~keep].tolist())
    merged: dict[int, int] = {}
    for position, into in validated.merged.items():
        if keep[into]:
            merged[position] = int(new_index[into])
        else:  # folded into a skipped row: skipped with it
            problems.append(problem(int(table_rows[position]), messages[into]))
            dropped.add(position)
    return Validated(
        frame=validated.frame[keep].reset_index(drop=True),
        positions=np.asarray(validated.positions[keep], dtype=np.int64),
        row_numbers=np.asarray(validated.row_numbers[keep], dtype=np.int64),
        problems=sorted(validated.problems + problems, key=lambda p: p.row),
        merged=merged,
        duplicates=validated.duplicates,
        notes={p: note for p, note in validated.notes.items() if p not in dropped},
        same=validated.same,
    )
