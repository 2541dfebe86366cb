"""Sheets we write for an ERP to import: CSV or XLSX, atomically, never over an existing file.

Cells are text (20-digit ids and leading zeros survive), except the columns named numeric,
which are stored as numbers in XLSX so an import reads quantities and prices as such. Cells
that a spreadsheet would run as a formula are neutralised as in the reports
(`etl.reportsheet`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import pandas as pd
from openpyxl import Workbook
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from etl.atomic import atomic_write
from etl.reportsheet import PLAIN_NUMBER, ReportSheet, is_risky, write_csv
from etl.xlsxreport import CellMaker

SheetFormat = Literal["csv", "xlsx"]
_NUMBER = re.compile(PLAIN_NUMBER)


def unique_path(folder: Path, stem: str, suffix: str) -> Path:
    """`folder/stem.suffix`, or `stem-2.suffix`, `stem-3.suffix`... if that name is taken."""
    path, n = folder / f"{stem}{suffix}", 1
    while path.exists():
        n += 1
        path = folder / f"{stem}-{n}{suffix}"
    return path


def write_sheet(
    path: Path,
    header: Sequence[str],
    rows: Sequence[Sequence[str]],
    numeric: Sequence[bool] = (),
) -> None:
    """Write `rows` under `header` as CSV (UTF-8 with BOM) or XLSX, by `path`'s suffix."""
    if path.suffix.lower() == ".csv":
        columns = [pd.Series([r[j] for r in rows], dtype="str") for j in range(len(header))]
        sheet = ReportSheet(list(header), columns, [""] * len(rows), status_column=0)
        # an ERP imports it: 00123 stays plain (not ="00123" as in the reports for Excel)
        atomic_write(path, lambda temp: write_csv(temp, sheet, ",", for_excel=False))
        return
    numbers = [bool(numeric[j]) if j < len(numeric) else False for j in range(len(header))]
    atomic_write(path, lambda temp: _write_xlsx(temp, header, rows, numbers))


def _write_xlsx(
    path: Path, header: Sequence[str], rows: Sequence[Sequence[str]], numeric: list[bool]
) -> None:
    workbook = Workbook(write_only=True)
    ws: WriteOnlyWorksheet = workbook.create_sheet("Orders")
    ws.freeze_panes = "A2"
    cell = CellMaker(ws)
    ws.append([cell(name, bold=True, risky=is_risky(name)) for name in header])
    for row in rows:
        ws.append([_cell(cell, value, numeric[j]) for j, value in enumerate(row)])
    workbook.save(path)


def _cell(cell: CellMaker, value: str, numeric: bool) -> object:
    if value == "":
        return None
    if numeric and _is_number(value):
        return float(value) if "." in value else int(value)
    return cell(value, risky=is_risky(value))


def _is_number(value: str) -> bool:
    return _NUMBER.fullmatch(value) is not None
