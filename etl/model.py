"""Data shapes shared by the stages: sheets of text cells, mapped frames, row problems.

Every stage keeps each row's *source row number*: the number the user sees in Excel or the
CSV line number, so a message can say "Row 14, column 'Closing Qty'".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

RowStatus = Literal["ok", "rejected", "failed", "unknown"]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one row (or one cell), in the reader's language.

    `column` is the *source* column header as the user sees it ("" for a whole-row problem);
    `status` says whose verdict it is: `rejected` by our checks, `failed` by the API, or
    `unknown` when the API's answer could not be attributed to the row.
    """

    row: int
    column: str
    value: str
    code: str
    message: str
    status: RowStatus = "rejected"

    def text(self) -> str:
        """'Row 14, column 'Closing Qty': '-3' - stock cannot be negative'."""
        where = f"Row {self.row}" + (f", column '{self.column}'" if self.column else "")
        what = f"'{self.value}' - " if self.value != "" else ""
        return f"{where}: {what}{self.message}"


@dataclass
class Sheet:
    """A whole sheet (or CSV) as the user sees it: every cell as text, no header chosen yet.

    `cells` has integer column labels 0..n-1 and one row per source row; every value is a
    `str` ("" for an empty cell). `row_numbers[i]` is the source row number of `cells` row i
    (1-based: Excel's row number, or the CSV record number).
    """

    cells: pd.DataFrame
    row_numbers: IntArray
    path: Path
    kind: Literal["csv", "xlsx", "xls", "html", "xml"]
    sheet_name: str | None = None
    encoding: str | None = None
    delimiter: str | None = None
    # For workbooks: True where the cell was a number or date in the workbook, not text
    # (shape of `cells`). Damage guards use it (a 20-digit id typed as a number). None for CSV.
    numeric: npt.NDArray[np.bool_] | None = None
    # For a CSV whose lines are not all the same length: each record's own number of fields,
    # before the parser padded it (etl.ragged). None when they are all alike, and for workbooks.
    field_counts: IntArray | None = None
    # For a workbook sheet (.xlsx, .xls, .ods, XML Spreadsheet): the row numbers it hides (Hide,
    # a filter, a collapsed group); None when they could not be read (`etl.hiddenrows`).
    hidden_rows: IntArray | None = None


@dataclass(frozen=True)
class SheetInfo:
    """One worksheet as a workbook lists it: its name, and whether Excel hides it."""

    name: str
    hidden: bool = False


@dataclass
class Table:
    """The data rows of a sheet under its header row.

    `data` has integer column labels (position in `header`) so duplicate or blank headers stay
    faithful to the file; `row_numbers[i]` is the source row number of data row i.
    """

    header: list[str]
    data: pd.DataFrame
    row_numbers: IntArray
    header_row: int
    sheet: Sheet
    # What the user should know about how the table was found (another sheet of the
    # workbook that nearly fits, a hidden sheet that fits): worded for the summary or log.
    notes: list[str] = field(default_factory=list)
    # Which rows were skipped as not data (totals, a mapping's skip rules): in the summary's
    # warnings too, but routine - they do not make an all-ok file one to look at.
    skipped: list[str] = field(default_factory=list)
    # `Sheet.field_counts` from the header row on: the header line's, then each data row's.
    fields: IntArray | None = None

    @property
    def numeric(self) -> npt.NDArray[np.bool_] | None:
        """`Sheet.numeric` for the cells of `data` (same shape); None for CSV."""
        if self.sheet.numeric is None:
            return None
        rows, width = self.data.shape
        start = len(self.sheet.numeric) - rows  # data rows are the sheet's last rows
        below = self.sheet.numeric[start : start + rows, :width]
        return np.asarray(below, dtype=np.bool_)


@dataclass
class Mapped:
    """Canonical records computed from a table by a mapping.

    `frame` has the feed's canonical columns (text, or numbers after `integer`/`decimal`
    transforms) and one row per *kept* data row; `positions[i]` is that row's position in
    `Table.data` (to find the original cells again for the reports) and `row_numbers[i]` its
    source row number. `sources[field]` is the source column header a field came from (""
    for a constant), used to word messages in the user's column names. `problems` holds rows
    a transform could not read; those rows are still present in `frame` and must be dropped
    by the caller (see `rejected_positions`).
    """

    frame: pd.DataFrame
    positions: IntArray
    row_numbers: IntArray
    sources: dict[str, str]
    problems: list[Problem] = field(default_factory=list)
    skipped_rows: int = 0
    # numeric[field][i]: frame row i of `field` came from a number cell of a workbook (a
    # 20-digit id typed as a number has lost digits). Only fields read from one column.
    numeric: dict[str, npt.NDArray[np.bool_]] = field(default_factory=dict)
    # The table and, per field read from one column, that column's position in `table.data`:
    # a message quotes the cell as the file has it ("(-)3 Pcs"), not as it was read (-3).
    table: Table | None = None
    columns: dict[str, int] = field(default_factory=dict)

    def source_text(self, name: str, index: int) -> str:
        """The cell field `name` of frame row `index` was read from ("" if none or blank)."""
        position = self.columns.get(name)
        if self.table is None or position is None:
            return ""
        return str(self.table.data.iat[int(self.positions[index]), position]).strip()

    def drop_frame(self) -> None:
        """Free `frame` once validation holds its typed copy (tens of MB for a million rows);
        the row bookkeeping stays for the reports."""
        self.frame = self.frame.iloc[:0]
