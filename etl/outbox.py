"""Sheets we write for an ERP to import: CSV or XLSX, atomically, never over an existing file.

A pulled sheet (`stage_sheet`) is written under a hidden temp name, then given its final
name once its orders are recorded as pending (`etl.pullsheet.publish`) by a hard link (a rename on
Windows), which fails when the name exists: a sheet another pull wrote under the same name a
moment earlier is never replaced; this one takes the next name (`-2`, `-3`...). Checking the
name first and renaming over it would lose it.

Cells are text (20-digit ids and leading zeros survive), except the columns given a kind:
in XLSX quantities are numbers, amounts numbers shown `1,299.00`, and dates real date-times
shown `2026-11-27 00:30:00`, so an import reads them as such and Excel can sum and filter
them (a cell that does not read as its kind stays text). Cells
that a spreadsheet would run as a formula are neutralised as in the reports
(`etl.reportsheet`).

An outbox is never an inbox (`check_outbox`): a pulled sheet lists orders, and an inbox
would take it as an instruction to Konnect (a RETURN_DELIVERED sheet, named `*return*`, as
a return QC file accepting every return). The inbox refuses such a sheet too
(`etl.matching`), but a pull should not put it there in the first place.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Literal

import pandas as pd
from openpyxl import Workbook
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from etl.atomic import atomic_write
from etl.config import SANDBOX_STATE, STATE_DIR
from etl.errors import ConfigError
from etl.inboxid import ID_FILE
from etl.keystate import STATE_FILE
from etl.reportsheet import PLAIN_NUMBER, ReportSheet, is_risky, write_csv
from etl.xlsxreport import CellMaker

SheetFormat = Literal["csv", "xlsx"]
ColumnKind = Literal["text", "number", "amount", "datetime"]
AMOUNT_FORMAT = "#,##0.00"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm:ss"  # as the CSV writes them (etl.flatten.IST_FORMAT)
_NUMBER = re.compile(PLAIN_NUMBER)


def check_outbox(outbox: Path, inbox: Path | None = None, option: str = "--out") -> None:
    """ConfigError when `outbox` is `inbox` or visibly an inbox (`inbox_mark`)."""
    same = inbox is not None and same_folder(outbox, inbox)
    why = "it is the inbox this watcher takes files from" if same else inbox_mark(outbox)
    if why:
        raise ConfigError(
            f"{option} {outbox} is an inbox ({why}): a sheet pulled there would be taken as "
            "an instruction to Konnect (a RETURN_DELIVERED sheet as a return QC file that "
            "accepts every return). Keep the outbox apart from the inbox: pull into another "
            "folder"
        )


def inbox_mark(folder: Path) -> str | None:
    """What shows that `folder` is an inbox `run`/`watch` works in; None if nothing does."""
    state = folder / STATE_DIR
    if (state / ID_FILE).is_file():
        return f"a watcher keeps its inbox id there, {STATE_DIR}/{ID_FILE}"
    if (state / STATE_FILE).is_file():
        return f"it holds the inbox's {STATE_DIR}/{STATE_FILE}"
    if "files" in _tables(folder):
        return f"its {STATE_DIR}/journal.sqlite3 lists files konnect-etl took from it"
    return None  # processing/ and done/ alone prove nothing: ERP import folders have them too


def is_outbox(folder: Path) -> bool:
    """Whether `folder` is an outbox `orders pull` writes in: its journal records pulled
    orders and no file taken from it."""
    tables = _tables(folder)
    return "pulled_orders" in tables and "files" not in tables


def check_inbox(inbox: Path) -> None:
    """ConfigError when `inbox` is an outbox (`is_outbox`): `run`/`watch` there would take
    the pulled sheets (into failed/, where the ERP never finds them)."""
    if is_outbox(inbox):
        raise ConfigError(
            f"{inbox} is an outbox of konnect-etl orders pull (its {STATE_DIR}/journal.sqlite3"
            " records pulled orders): run and watch would take its sheets away from the ERP."
            " Point them at the inbox the ERP's exports are dropped in"
        )


def _tables(folder: Path) -> set[str]:
    """The tables of `folder`'s journals: its own and its --sandbox commands' (`etl.journal`:
    `files` for an inbox, `etl.pullstate`: `pulled_orders` for an outbox)."""
    state = folder / STATE_DIR
    return journal_tables(state / "journal.sqlite3") | journal_tables(
        state / SANDBOX_STATE / "journal.sqlite3"
    )


def journal_tables(path: Path) -> set[str]:
    """The tables of the journal at `path` (none if there is none), read only."""
    if not path.is_file():
        return set()
    try:
        uri = f"{path.absolute().as_uri()}?mode=ro"
        with contextlib.closing(sqlite3.connect(uri, uri=True, timeout=5)) as db:
            rows = db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            return {str(name) for (name,) in rows}
    except sqlite3.Error:
        return set()


def same_folder(one: Path, other: Path) -> bool:
    """One folder under two names (a symlink, `..`, letter case on Windows)?"""
    try:
        return one.samefile(other)
    except OSError:  # one of them is not there (yet)
        return os.path.normcase(one.resolve()) == os.path.normcase(other.resolve())


@dataclass(frozen=True)
class StagedSheet:
    """A sheet written under a hidden temp name in its folder (skipped by scanners), not
    yet importable: `etl.pullsheet.publish` gives it its name."""

    path: Path
    stem: str
    suffix: str

    def discard(self) -> None:
        self.path.unlink(missing_ok=True)


def stage_sheet(
    folder: Path,
    stem: str,
    suffix: str,
    header: Sequence[str],
    rows: Sequence[Sequence[str]],
    kinds: Sequence[ColumnKind] = (),
) -> StagedSheet:
    """Write a sheet to be named `folder/stem.suffix` (`etl.pullsheet.publish`)."""
    staged = StagedSheet(folder / f".{stem}.{secrets.token_hex(4)}{suffix}.tmp", stem, suffix)
    try:
        write_sheet(staged.path, header, rows, kinds, kind=suffix)
    except BaseException:
        staged.discard()
        raise
    return staged


def write_sheet(
    path: Path,
    header: Sequence[str],
    rows: Sequence[Sequence[str]],
    kinds: Sequence[ColumnKind] = (),
    *,
    kind: str | None = None,
) -> None:
    """Write `rows` under `header` as CSV (UTF-8 with BOM) or XLSX, by `kind` (a suffix) or
    else `path`'s suffix, atomically; an existing file of that name is replaced."""
    if (kind or path.suffix).lower() == ".csv":
        columns = [pd.Series([r[j] for r in rows], dtype="str") for j in range(len(header))]
        sheet = ReportSheet(list(header), columns, [""] * len(rows), status_column=0)
        # an ERP imports it: 00123 stays plain (not ="00123" as in the reports for Excel)
        atomic_write(path, lambda temp: write_csv(temp, sheet, ",", audience="import"))
        return
    every: list[ColumnKind] = [kinds[j] if j < len(kinds) else "text" for j in range(len(header))]
    atomic_write(path, lambda temp: _write_xlsx(temp, header, rows, every))


def _write_xlsx(
    path: Path, header: Sequence[str], rows: Sequence[Sequence[str]], kinds: list[ColumnKind]
) -> None:
    workbook = Workbook(write_only=True)
    ws: WriteOnlyWorksheet = workbook.create_sheet("Orders")
    ws.freeze_panes = "A2"
    cell = CellMaker(ws)
    ws.append([cell(name, bold=True, risky=is_risky(name)) for name in header])
    for row in rows:
        ws.append([_cell(cell, value, kinds[j]) for j, value in enumerate(row)])
    workbook.save(path)


def _cell(cell: CellMaker, value: str, kind: ColumnKind) -> object:
    if value == "":
        return None
    if kind in ("number", "amount") and _is_number(value):
        number = float(value) if "." in value else int(value)
        return cell(number, shown=AMOUNT_FORMAT) if kind == "amount" else number
    if kind == "datetime":
        with contextlib.suppress(ValueError):
            return cell(datetime.strptime(value, "%Y-%m-%d %H:%M:%S"), shown=DATETIME_FORMAT)
    return cell(value, risky=is_risky(value))


def _is_number(value: str) -> bool:
    return _NUMBER.fullmatch(value) is not None
