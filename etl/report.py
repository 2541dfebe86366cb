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

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import orjson
import pandas as pd

from etl.atomic import atomic_write, atomic_write_bytes
from etl.damage import ID_FIELDS
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
OWN_COLUMN = r"{}(?: \(konnect-etl(?: \d+)?\))?"


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


# Our errors file as it comes back: `stock.errors.csv`, renamed by the inbox when the name
# is taken (`stock.errors-2.csv`), a copy from a browser or Windows (`stock.errors (1).csv`,
# `stock.errors - Copy.csv`), Google Drive or Outlook (`Copy of stock.errors.csv`) or a Mac's
# Finder (`stock.errors copy 2.csv`), the errors file of a fixed errors file.
def export_stems(found: re.Match[str]) -> list[str]:
    """The names (without extension) the export of an errors file `ERRORS_NAME` matched may
    have had: `Copy of stock` is an export of that name, or a copy of `stock`'s errors file."""
    stem = found["stem"]
    return [found["copy"] + stem, stem] if found["copy"] else [stem]


_ERRORS_PART = r"\.errors(?:-\d+| ?\(\d+\)| - copy(?: \(\d+\))?| copy(?: \d+)?)?"
ERRORS_NAME = re.compile(
    rf"(?P<copy>copy of )?(?P<stem>.+?)(?:{_ERRORS_PART})+(?P<suffix>\.[^.]+)", re.IGNORECASE
)
_LAST_ERRORS_PART = re.compile(rf"(?P<inner>.+){_ERRORS_PART}\.[^.]+", re.IGNORECASE)


def fixed_before(name: str) -> str | None:
    """For the errors file of a fixed errors file (`stock.errors-2.errors.csv`), the name
    the fixed file was filed under, without extension (`stock.errors-2`): its `row` column
    numbers that file's rows, not the export's. None for an export's errors file."""
    found = _LAST_ERRORS_PART.fullmatch(name)
    if found is None or ERRORS_NAME.fullmatch(found["inner"] + ".x") is None:
        return None
    return found["inner"]


def own_columns(header: Sequence[str]) -> int:
    """How many trailing columns are ours from an earlier errors file (`error`, `row`): 0 or 2."""
    if len(header) <= 2:
        return 0
    error, row = header[-2:]
    mine = re.fullmatch(OWN_COLUMN.format("error"), error) and re.fullmatch(
        OWN_COLUMN.format("row"), row
    )
    return 2 if mine else 0


def _own(header: Sequence[str], base: str) -> list[int]:
    """Where our column `base` is: `base (konnect-etl)` where the export had a `base` of its
    own (the bare one is then the user's), else `base`; spaces around a name aside."""
    cells = [cell.strip() for cell in header]
    suffixed = [j for j, cell in enumerate(cells) if re.fullmatch(_SUFFIXED.format(base), cell)]
    return suffixed or [j for j, cell in enumerate(cells) if cell == base]


_SUFFIXED = r"{} \(konnect-etl(?: \d+)?\)"


def row_column(header: Sequence[str]) -> int | None:
    """Where our `row` column is in an errors file come back: last of our two columns, or
    the column of that name after the user moved it or deleted `error` (None: not one)."""
    if own_columns(header):
        return len(header) - 1
    found = _own(header, "row")
    return found[0] if len(found) == 1 else None


def errors_layout(name: str, header: Sequence[str]) -> bool:
    """Whether a file is our errors file come back, fixed: our `error` and `row` columns
    last, or named like one with either column anywhere (moved to the front, the other
    deleted, a column added after them)."""
    if own_columns(header):
        return True
    named = ERRORS_NAME.fullmatch(name) is not None
    return named and bool(_own(header, "error") or _own(header, "row"))


def own_positions(name: str, header: Sequence[str]) -> list[int]:
    """Where our `error` and `row` columns are in an errors file come back (`errors_layout`;
    none in any other file): a row with only those filled was cleared by the user."""
    if own_columns(header):
        return [len(header) - 2, len(header) - 1]
    if not errors_layout(name, header):
        return []
    return _own(header, "error") + _own(header, "row")


def is_result_header(header: Sequence[str]) -> bool:
    """Whether `header` (trailing blanks aside) ends with a result report's own columns:
    `row`, `status`, `message` after at least one of the file's."""
    cells = list(header)
    while cells and cells[-1] == "":
        cells.pop()
    if len(cells) <= 3:
        return False
    ours = zip(("row", "status", "message"), cells[-3:], strict=True)
    return all(re.fullmatch(OWN_COLUMN.format(name), cell) for name, cell in ours)


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
