"""The report files written next to an input (SPEC section 4), each one atomically.

    <stem>.result.<ext>   every data row: original columns, then row, status, message
    <stem>.errors.<ext>   rows that are not ok: original columns, then error, row - fix the
                          cells, drop the file in the inbox again, and it is accepted
    <stem>.summary.json   counts and outcome, for scheduled jobs; written last, so its
                          presence means the other reports are complete

Our extra columns never collide with the file's own: when the header already has a column
of that name (compared case- and space-insensitively, as mappings compare), ours becomes
"error (konnect-etl)", then "error (konnect-etl 2)"... A re-dropped errors file ends in our
`error`, `row` columns: those two are replaced in its new reports, never stacked.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import orjson
import pandas as pd

from etl.atomic import atomic_write, atomic_write_bytes
from etl.damage import ID_FIELDS
from etl.droppedback import own_columns
from etl.model import IntArray, RowStatus, Table
from etl.reportsheet import Audience, ReportSheet, write_csv
from etl.xlsxreport import write_xlsx

ReportKind = Literal["csv", "xlsx"]
OUTCOMES = ("uploaded", "partial", "rejected", "failed", "validated")
SUMMARY_KEYS = (
    *("input", "feed", "mapping", "outcome", "rows", "chunks", "ack_ids"),
    *("started_at", "finished_at", "file_errors"),
)
NESTED_KEYS = {
    "rows": ("total", "ok", "rejected", "failed", "unknown"),
    "chunks": ("total", "acknowledged"),
}


@dataclass
class RowOutcomes:
    """The verdict for each data row of a `Table` (position = index into `Table.data`).

    `include` is False for rows that are not data (blank, total rows): they appear in no
    report; None means every row is data. `cell_problems[(position, column)]` is why the
    cell at that row position and `Table.header` column is wrong; it gets highlighted (an
    empty reason: highlighted without a comment).
    `field_columns[field]` is the `Table.header` column a canonical field was read from
    (`source_columns`): where a Konnect refusal that names the field is highlighted.
    """

    status: list[RowStatus] | np.ndarray
    message: list[str]
    include: np.ndarray | None = None
    cell_problems: dict[tuple[int, int], str] = field(default_factory=dict)
    field_columns: dict[str, int] = field(default_factory=dict)


def source_columns(header: Sequence[str], sources: dict[str, str]) -> dict[str, int]:
    """Canonical field -> position in `header` of its source column (`Mapped.sources`), the
    first of that name as for our own problems; constants and absent columns are left out."""
    index: dict[str, int] = {}
    for j, name in enumerate(header):
        index.setdefault(_norm(name), j)
    found = {name: index.get(_norm(source)) for name, source in sources.items() if source}
    return {name: j for name, j in found.items() if j is not None}


def write_reports(
    dest_dir: Path,
    stem: str,
    kind: ReportKind,
    table: Table | None,
    outcomes: RowOutcomes | None,
    summary: dict[str, Any],
    *,
    delimiter: str = ",",
) -> list[Path]:
    """Write the reports for one input into `dest_dir`; return the paths written.

    Without a table or outcomes the file failed as a whole: the errors file then lists
    `summary["file_errors"]`. A stale errors file of the same name is removed when every
    row is ok, so it can never be mistaken for this run's.
    """
    check_summary(summary)
    if kind not in ("csv", "xlsx"):
        raise ValueError(f"report kind must be 'csv' or 'xlsx', not {kind!r}")
    dest_dir.mkdir(exist_ok=True)  # its parent is there: never re-creates a gone inbox
    sheets: dict[str, ReportSheet] = {}
    if table is None or outcomes is None:
        sheets["errors"] = failure_sheet(summary)
    else:
        sheets["result"] = result_sheet(table, outcomes)
        errors = errors_sheet(table, outcomes)
        if len(errors):
            sheets["errors"] = errors
    written = [
        _write_sheet(dest_dir / f"{stem}.{name}.{kind}", sheet, kind, delimiter, name == "errors")
        for name, sheet in sheets.items()
    ]
    if "errors" not in sheets:
        (dest_dir / f"{stem}.errors.{kind}").unlink(missing_ok=True)
    summary_path = dest_dir / f"{stem}.summary.json"
    atomic_write_bytes(summary_path, summary_json(summary))
    return [*written, summary_path]


def remove_reports(dest_dir: Path, stem: str) -> None:
    """Delete the reports `write_reports` may have written for `stem` (an attempt that broke
    off half-way must not leave a result file saying its rows were fine)."""
    for name in ("result", "errors"):
        for kind in ("csv", "xlsx"):
            (dest_dir / f"{stem}.{name}.{kind}").unlink(missing_ok=True)
    (dest_dir / f"{stem}.summary.json").unlink(missing_ok=True)


def check_summary(summary: dict[str, Any]) -> None:
    """Raise ValueError (a programming error) when a key SPEC section 4 promises is missing."""
    missing = [key for key in SUMMARY_KEYS if key not in summary]
    for key, inner in NESTED_KEYS.items():
        value = summary.get(key)
        have = value if isinstance(value, dict) else {}
        missing += [f"{key}.{name}" for name in inner if key in summary and name not in have]
    if missing:
        raise ValueError(f"summary is missing {', '.join(missing)}")
    if summary["outcome"] not in OUTCOMES:
        raise ValueError(f"summary outcome {summary['outcome']!r} is not one of {OUTCOMES}")


def summary_json(summary: dict[str, Any]) -> bytes:
    option = orjson.OPT_INDENT_2 | orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS
    return orjson.dumps(summary, option=option, default=_json_default) + b"\n"


def _json_default(value: object) -> str:
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def result_sheet(table: Table, outcomes: RowOutcomes) -> ReportSheet:
    """Every data row: original columns, then row, status, message."""
    status = _statuses(table, outcomes)
    keep = _data_positions(table, outcomes)
    header, columns = _original_columns(table, keep)
    names = extra_names(header, ("row", "status", "message"))
    columns += [
        pd.Series(table.row_numbers[keep], dtype="int64"),
        pd.Series(status[keep], dtype="str"),
        pd.Series(_messages(outcomes)[keep], dtype="str"),
    ]
    notes = _notes(outcomes.cell_problems, keep, len(header))
    name = table.sheet.sheet_name or "Result"
    return ReportSheet(header + names, columns, status[keep].tolist(), len(header) + 1, notes, name)


def error_positions(table: Table, outcomes: RowOutcomes) -> IntArray:
    """The `Table.data` positions of the errors file's rows: the data rows that are not ok."""
    keep = _data_positions(table, outcomes)
    not_ok: IntArray = keep[_statuses(table, outcomes)[keep] != "ok"]
    return not_ok


def errors_sheet(table: Table, outcomes: RowOutcomes) -> ReportSheet:
    """The rows that are not ok, in the original columns, then error and row."""
    status = _statuses(table, outcomes)
    keep = error_positions(table, outcomes)
    header, columns = _original_columns(table, keep)
    names = extra_names(header, ("error", "row"))
    columns += [
        pd.Series(_messages(outcomes)[keep], dtype="str"),
        pd.Series(table.row_numbers[keep], dtype="int64"),
    ]
    notes = _notes(outcomes.cell_problems, keep, len(header))
    name = table.sheet.sheet_name or "Errors"
    codes = frozenset(j for f, j in outcomes.field_columns.items() if f in ID_FIELDS)
    statuses = status[keep].tolist()
    return ReportSheet(header + names, columns, statuses, len(header), notes, name, codes)


def failure_sheet(summary: dict[str, Any]) -> ReportSheet:
    """One `error` column saying, in plain words, why the file as a whole was not used."""
    lines = [_plain(error) for error in summary["file_errors"]]
    if not lines:
        lines = ["The file could not be used; see the log for details."]
    column = pd.Series(lines, dtype="str")
    return ReportSheet(["error"], [column], ["failed"] * len(lines), 0, name="Errors")


def extra_names(header: Sequence[str], bases: Sequence[str]) -> list[str]:
    """Our column names, suffixed " (konnect-etl)" (then " 2"...) where the file has one."""
    taken = {_norm(name) for name in header}
    names = []
    for base in bases:
        name, n = base, 1
        while _norm(name) in taken:
            name = f"{base} (konnect-etl{'' if n == 1 else f' {n}'})"
            n += 1
        taken.add(_norm(name))
        names.append(name)
    return names


def _original_columns(table: Table, keep: IntArray) -> tuple[list[str], list[pd.Series]]:
    """The file's header and cells for the kept rows, by position (duplicates stay)."""
    width = max(len(table.header), table.data.shape[1])
    header = [*table.header, *[""] * (width - len(table.header))]
    width -= own_columns(header)
    every = len(keep) == len(table.data)  # keep is sorted and unique: then it is every row
    rows = table.data if every else table.data.iloc[keep]  # no copy of a million-row table
    columns = [
        rows.iloc[:, j].reset_index(drop=True)
        if j < rows.shape[1]
        else pd.Series([""] * len(keep), dtype="str")
        for j in range(width)
    ]
    return header[:width], columns


def _statuses(table: Table, outcomes: RowOutcomes) -> np.ndarray:
    status = np.asarray(outcomes.status, dtype=object)
    if len(status) != len(table.data) or len(outcomes.message) != len(table.data):
        raise ValueError("RowOutcomes must have one status and message per Table.data row")
    return status


def _messages(outcomes: RowOutcomes) -> np.ndarray:
    return np.asarray(outcomes.message, dtype=object)


def _data_positions(table: Table, outcomes: RowOutcomes) -> IntArray:
    if outcomes.include is None:
        return np.arange(len(table.data), dtype=np.int64)
    return np.flatnonzero(np.asarray(outcomes.include, dtype=bool)).astype(np.int64)


def _notes(
    problems: dict[tuple[int, int], str], keep: IntArray, width: int
) -> dict[tuple[int, int], str]:
    """Cell problems re-keyed from table positions to report rows (rows not kept drop out)."""
    notes: dict[tuple[int, int], str] = {}
    for (position, column), reason in problems.items():
        i = int(np.searchsorted(keep, position))
        if i < len(keep) and keep[i] == position and column < width:
            notes[(i, column)] = reason
    return notes


def _write_sheet(
    path: Path, sheet: ReportSheet, kind: ReportKind, delimiter: str, to_fix: bool
) -> Path:
    """`to_fix`: the errors file, which people fix in Excel and drop back in: in CSV, codes
    Excel would change are written `="00123"`. The result file keeps every value as it was
    (programs read it; nobody drops it back in)."""
    if kind == "xlsx":
        atomic_write(path, lambda temp: write_xlsx(temp, sheet))
    else:
        audience: Audience = "fix" if to_fix else "read"
        atomic_write(path, lambda temp: write_csv(temp, sheet, delimiter, audience=audience))
    return path


def _plain(error: object) -> str:
    if isinstance(error, dict) and "message" in error:
        return str(error["message"])
    return str(error)


def _norm(name: str) -> str:
    return " ".join(name.split()).casefold()
