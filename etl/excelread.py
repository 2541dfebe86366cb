"""Excel workbooks (XLSX, XLS and ODS) into a `Sheet` of text cells, through python-calamine.

Every cell becomes the text a user would type to get that value back: `12` not `12.0`,
`942.82` not `942.8199999999999`, dates as ISO text (`2026-01-05 12:40:00`). Conversion runs
per column with numpy so large sheets stay fast; only the rare dates, times and booleans are
formatted one by one.
Error cells (#N/A...), which calamine reads as empty, get their text back from the file
(etl.xlsxerrors, etl.xlserrors, etl.odserrors); so do the rows the sheet hides, which it does
not read (etl.xlsxerrors, etl.rowvisibility: `Sheet.hidden_rows`, for etl.hiddenrows).
In an XLSX, a formula whose result was never calculated (written by a program, not saved by
Excel) is read neither as empty nor as the 0 stored in its place: etl.xlsxerrors gives its
cell the formula, marked, and the mapping rejects the row (etl.errorvalues). calamine leaves
rows at the end holding only such formulas out of the sheet: they are put back, so such a row
is reported, never lost.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
import python_calamine as calamine

from etl.cells import EXCEL_DIGITS, unwrap_text_formulas
from etl.errors import InputError
from etl.limits import active, check_cells
from etl.model import IntArray, Sheet, SheetInfo
from etl.odserrors import is_ods, ods_content, restore_ods_errors
from etl.rowvisibility import ods_hidden_rows, xls_hidden_rows
from etl.xlserrors import restore_xls_errors
from etl.xlsxerrors import scan_xlsx
from etl.xlsxgrid import Grid

ObjArray = npt.NDArray[np.object_]
BoolArray = npt.NDArray[np.bool_]

_TYPE_OF = np.frompyfunc(type, 1, 1)
_EXACT_INT_LIMIT = 2.0**53  # beyond this a float no longer holds every integer exactly
_OLE2_ENCRYPTED = "EncryptedPackage".encode("utf-16-le")
PASSWORD_MESSAGE = "password-protected workbooks cannot be read: save it without a password"


def read_workbook_sheet(
    path: Path, kind: Literal["xlsx", "xls"], sheet: str | int | None = None
) -> Sheet:
    """Read one sheet of a workbook; `sheet` is a name, a 0-based index or None (first visible)."""
    return Workbook(path, kind).read(sheet)


def workbook_sheet_names(path: Path) -> list[str]:
    """All sheet names of a workbook, in workbook order."""
    return list(_open_workbook(path).sheet_names)


class Workbook:
    """An open workbook: its worksheets listed, each read whole or only its first rows.

    calamine parses a whole sheet before it hands out a row, so a parsed sheet is kept until
    one sheet is read whole: looking at the first rows of every sheet and then reading the
    chosen one parses each sheet once.
    """

    def __init__(self, path: Path, kind: Literal["xlsx", "xls"]) -> None:
        self.path, self.kind = path, kind
        self.book = _open_workbook(path)
        self._parsed: dict[str, calamine.CalamineSheet] = {}

    def sheets(self) -> list[SheetInfo]:
        """The worksheets in workbook order (chart and macro sheets left out)."""
        return [
            SheetInfo(meta.name, meta.visible != calamine.SheetVisibleEnum.Visible)
            for meta in self.book.sheets_metadata
            if meta.typ == calamine.SheetTypeEnum.WorkSheet
        ]

    def read(self, sheet: str | int | None = None, nrows: int | None = None) -> Sheet:
        """One sheet (a name, a 0-based index or None: the first visible), or its first
        `nrows` rows from the first filled one (for choosing a header)."""
        name = _choose_sheet(self.book, sheet)
        try:
            found = self._parsed[name] if name in self._parsed else self._parse(name)
            rows = found.to_python(nrows=nrows)
            start = found.start
        except Exception as exc:  # calamine raises assorted errors for damaged sheet XML
            raise _unreadable(exc) from exc
        if nrows is None:
            self._parsed.clear()  # the sheet is read: the memory of the others goes back
        if not rows or start is None:
            raise InputError(f"the sheet '{name}' is empty", code="empty")
        return self._sheet(name, rows, start, whole=nrows is None)

    def _parse(self, name: str) -> calamine.CalamineSheet:
        found = self._parsed[name] = self.book.get_sheet_by_name(name)
        return found

    def _sheet(
        self, name: str, rows: list[list[Any]], start: tuple[int, int], whole: bool
    ) -> Sheet:
        columns, numeric = text_columns(rows)
        first_row, first_col = start
        xlsx = whole and self.kind == "xlsx" and not is_ods(self.path)
        hidden = None  # the rows the sheet hides; None: not known
        if xlsx:  # before the frame is built: a formula may need a row calamine left out
            grid, scan = Grid(columns, numeric, first_row, first_col), scan_xlsx(self.path, name)
            grid.restore(scan)
            columns, numeric = grid.columns, grid.numeric
            hidden = None if scan.hidden is None else np.array(scan.hidden, dtype=np.int64)
        cells = pd.DataFrame(columns, dtype="str")
        unwrap_text_formulas(cells)  # our errors CSV, saved as .xlsx by LibreOffice
        check_cells(cells, active())
        if whole and not xlsx:
            hidden = self._from_file(name, cells, first_row, first_col)
        row_numbers = np.arange(first_row + 1, first_row + 1 + len(cells), dtype=np.int64)
        return Sheet(
            cells, row_numbers, self.path, self.kind, name, numeric=numeric, hidden_rows=hidden
        )

    def _from_file(
        self, name: str, cells: pd.DataFrame, first_row: int, first_col: int
    ) -> IntArray | None:
        """What calamine does not read, from the .xls or .ods file itself: the text of error
        cells (#N/A..., read as empty), and the rows the sheet hides (None: not readable)."""
        last = first_row + len(cells)
        if self.kind == "xls":
            try:
                content = self.path.read_bytes()
            except OSError:
                return None
            restore_xls_errors(content, name, cells, first_row, first_col)
            hidden = xls_hidden_rows(content, name, last)
        else:
            xml = ods_content(self.path)
            restore_ods_errors(xml, name, cells, first_row, first_col)
            hidden = ods_hidden_rows(xml, name, last)
        return None if hidden is None else np.array(hidden, dtype=np.int64)


def _open_workbook(path: Path) -> calamine.CalamineWorkbook:
    try:
        with path.open("rb") as handle:
            # from_filelike detects the format from the content, whatever the file is named
            return calamine.CalamineWorkbook.from_filelike(handle)
    except OSError as exc:
        raise InputError(f"the file cannot be opened: {exc.strerror or exc}", "unreadable") from exc
    except calamine.PasswordError as exc:
        raise InputError(PASSWORD_MESSAGE, code="password") from exc
    except Exception as exc:  # calamine raises assorted errors for damaged files
        if _is_encrypted_package(path):
            raise InputError(PASSWORD_MESSAGE, code="password") from exc
        raise _unreadable(exc) from exc


def _is_encrypted_package(path: Path) -> bool:
    """An encrypted XLSX is an OLE2 container holding an 'EncryptedPackage' stream."""
    try:
        return _OLE2_ENCRYPTED in path.read_bytes()
    except OSError:
        return False


def _unreadable(exc: BaseException) -> InputError:
    detail = str(exc).strip() or type(exc).__name__
    return InputError(
        "this is not a readable Excel workbook: the file is damaged, incomplete or not in"
        f" Excel format ({detail}); re-save it from Excel, or export it as CSV",
        code="unreadable",
    )


def _choose_sheet(workbook: calamine.CalamineWorkbook, sheet: str | int | None) -> str:
    names = list(workbook.sheet_names)
    if sheet is None:
        visible = [
            meta.name
            for meta in workbook.sheets_metadata
            if meta.visible == calamine.SheetVisibleEnum.Visible
            and meta.typ == calamine.SheetTypeEnum.WorkSheet
        ]
        chosen = visible[:1] or names[:1]
    elif isinstance(sheet, int):
        chosen = [names[sheet]] if 0 <= sheet < len(names) else []
    else:
        wanted = sheet.strip().casefold()
        chosen = [n for n in names if n == sheet] or [
            n for n in names if n.strip().casefold() == wanted
        ]
    if not chosen:
        listed = ", ".join(f"'{n}'" for n in names) or "none"
        raise InputError(f"the workbook has no sheet {sheet!r}; its sheets are: {listed}", "sheet")
    return chosen[0]


def text_frame(rows: list[list[Any]]) -> tuple[pd.DataFrame, BoolArray]:
    """Rows of cell values (str, float, int, bool, dates...) as text cells, and where the
    cell was a number or a date rather than text."""
    columns, numeric = text_columns(rows)
    return pd.DataFrame(columns, dtype="str"), numeric


def text_columns(rows: list[list[Any]]) -> tuple[dict[int, ObjArray], BoolArray]:
    """`text_frame`'s cells, column by column, before they become a frame."""
    grid: ObjArray = np.empty((len(rows), len(rows[0])), dtype=object)
    grid[:] = rows  # assigning into an object array keeps each cell as the Python value
    numeric = np.zeros(grid.shape, dtype=np.bool_)
    columns: dict[int, ObjArray] = {}
    for j in range(grid.shape[1]):
        columns[j], numeric[:, j] = _column_text(grid[:, j])
    return columns, numeric


def _column_text(column: ObjArray) -> tuple[ObjArray, BoolArray]:
    kinds: ObjArray = np.asarray(_TYPE_OF(column), dtype=object)
    is_text: BoolArray = _of_type(kinds, str)
    if is_text.all():
        return column, np.zeros(len(column), dtype=np.bool_)
    out = column.copy()
    is_float: BoolArray = _of_type(kinds, float)
    if is_float.any():
        out[is_float] = format_floats(column[is_float].astype(np.float64))
    other = ~(is_text | is_float)
    if other.any():
        out[other] = [format_value(value) for value in column[other]]
    return out, ~is_text & ~_of_type(kinds, bool)


def _of_type(kinds: ObjArray, wanted: type) -> BoolArray:
    """Elementwise `kind is wanted` over an array of cell types (a C loop, no Python calls)."""
    same: BoolArray = np.equal(kinds, np.array(wanted, dtype=object))
    return same


def format_floats(values: npt.NDArray[np.float64]) -> ObjArray:
    """The number as Excel shows it in its formula bar: at most 15 significant digits, so a
    formula's `942.8199999999999` (=799*1.18) is `942.82` and `0.1` is not
    `0.1000000000000000055`; never in scientific notation."""
    out: ObjArray = np.empty(len(values), dtype=object)
    whole = (values == np.floor(values)) & (np.abs(values) < _EXACT_INT_LIMIT)
    # Python's int/float printing beats numpy's per-element formatting several times over
    out[whole] = _objects([str(v) for v in values[whole].astype(np.int64).tolist()])
    texts = [f"{v:.{EXCEL_DIGITS}g}" for v in values[~whole].tolist()]
    for i, text in enumerate(texts):
        if "e" in text:
            texts[i] = _positional(float(text))
    out[~whole] = _objects(texts)
    return out


def _objects(items: list[str]) -> ObjArray:
    array: ObjArray = np.empty(len(items), dtype=object)
    array[:] = items
    return array


def _positional(value: float) -> str:
    if 1e-10 <= abs(value) < 1e21:
        return np.format_float_positional(value, unique=True, trim="-")
    return repr(value)  # astronomically small or large: positional text would mislead


def _whole_second(value: dt.datetime) -> dt.datetime:
    """A date-time a millisecond or less from a whole second is that second: a serial like
    46353.99999999 (a program's float) is midnight of the 28th, as Excel shows it, not
    23:59:59 of the 27th once the fraction is dropped."""
    micro = value.microsecond  # the reader gives whole milliseconds: 999 ms is the hair
    if micro and (micro <= 1000 or micro >= 999_000):
        rounded = value.replace(microsecond=0)
        return rounded + dt.timedelta(seconds=1) if micro >= 999_000 else rounded
    return value


def format_value(value: object) -> str:
    """Text for the rarer cell types: booleans, ints (XLS), dates, times, durations."""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return str(format_floats(np.array([value]))[0])
    if isinstance(value, dt.datetime):
        value = _whole_second(value)
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(" ")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return _duration(value)
    return str(value)


def _duration(value: dt.timedelta) -> str:
    """Excel's [h]:mm:ss display of a duration."""
    seconds = value.total_seconds()
    sign, seconds = ("-", -seconds) if seconds < 0 else ("", seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    text = f"{sign}{int(hours)}:{int(minutes):02d}:{int(secs):02d}"
    fraction = round(secs - int(secs), 6)
    return text + (f"{fraction:.6f}".rstrip("0")[1:] if fraction else "")
