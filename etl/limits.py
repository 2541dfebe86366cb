"""Size limits that keep one hostile or broken file from exhausting memory or time.

Every limit has a safe default (below) and can be changed in the config file under
`limits:`. Exceeding one is an `InputError` (code `too_big`), so the file goes to `failed/`
with a report saying which limit and how to get under it - never a crash.

XLSX workbooks are checked before the Excel reader touches them: the zip's central directory
(declared sizes and compression ratio); then every part is inflated as a stream, never past
its declared size, so a part whose size was falsified fails its checksum here instead of
unpacking without bound in the reader; each sheet's last row and widest column are read
from the XML on the way. The Excel reader allocates a dense grid of rows x columns,
so a sheet with one cell in A1 and one in column KZ, row 200,000 is refused here instead.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from etl.errors import InputError

MB = 1024 * 1024
_BLOCK = 4 * MB
_ROW = re.compile(rb'<(?:\w+:)?row\b[^>]*?\br=["\'](\d+)["\']')
# a cell reference in column AA or beyond (`<c r="AB12"`); a literal-led pattern scans fast
_WIDE_CELL = re.compile(rb'r=["\']([A-Z]{2,3})[0-9]')


@dataclass(frozen=True)
class Limits:
    """The largest file the tool agrees to read. Defaults in the README's 'Limits' table."""

    max_file_mb: float = 200.0
    max_rows: int = 2_000_000
    max_columns: int = 500
    max_cell_chars: int = 32_767  # Excel's own maximum for one cell
    max_cells: int = 30_000_000  # rows x columns of a workbook sheet
    max_xlsx_uncompressed_mb: float = 1024.0
    max_xlsx_ratio: float = 100.0  # uncompressed : compressed, for the whole workbook

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> Limits:
        """From the config file's `limits:` block; unknown keys and non-numbers are refused."""
        if not isinstance(values, Mapping):
            raise ValueError("limits must be 'key: number' lines")
        known = {f.name: f.type for f in fields(cls)}
        unknown = sorted(set(values) - set(known))
        if unknown:
            raise ValueError(f"limits.{unknown[0]} is not a limit; known: {', '.join(known)}")
        blank = [k for k, v in values.items() if v is None]
        if blank:  # a value deleted by mistake: not "no limit", not "0"
            default = getattr(cls(), blank[0])
            shown = f"{default:,}" if isinstance(default, int) else f"{default:g}"
            raise ValueError(f"limits.{blank[0]} has no value: give one (default: {shown})")
        typed: dict[str, Any] = {
            k: (int(v) if known[k] == "int" else float(v)) for k, v in values.items()
        }
        if any(v <= 0 for v in typed.values()):
            raise ValueError("limits: every limit must be above 0")
        return replace(cls(), **typed)


DEFAULT_LIMITS = Limits()
_CONFIGURED = [DEFAULT_LIMITS]  # process-wide: worker threads do not inherit a ContextVar
_SCOPED: ContextVar[Limits | None] = ContextVar("konnect_etl_limits", default=None)


def active() -> Limits:
    """The limits in force: `use_limits` inside its block, else what `configure` set."""
    return _SCOPED.get() or _CONFIGURED[0]


def configure(limits: Limits) -> None:
    """Put `limits` in force for this process (the CLI does this from the settings)."""
    _CONFIGURED[0] = limits


@contextmanager
def use_limits(limits: Limits) -> Iterator[None]:
    """Put `limits` in force inside a `with` block (tests, library callers)."""
    token = _SCOPED.set(limits)
    try:
        yield
    finally:
        _SCOPED.reset(token)


_SPLIT = "split it into smaller files"


LINES_PER_ROW = 4  # lines a row may span before a file's line count alone refuses it


def too_big(what: str, limit: str, advice: str = _SPLIT) -> InputError:
    return InputError(
        f"the file is too large to process safely: {what} (the limit is {limit}). To fix it,"
        f" {advice}, or raise the limit under 'limits:' in konnect-etl.yaml",
        code="too_big",
    )


def check_file_size(path: Path, limits: Limits) -> None:
    """Refuse a file larger than `max_file_mb` before reading a byte of it."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise InputError(f"the file cannot be opened: {exc.strerror or exc}", "unreadable") from exc
    if size > limits.max_file_mb * MB:
        raise too_big(f"it is {size / MB:,.1f} MB", f"{limits.max_file_mb:,g} MB")


def check_header_width(payload: bytes, sep: str, limits: Limits) -> None:
    """Refuse a CSV whose first line has more fields than `max_columns` (before parsing it).

    Quotes are ignored, so this over-counts only a first line with separators inside
    quotes - a header line never has hundreds of those.
    """
    end = payload.find(b"\n")
    first = payload if end < 0 else payload[:end]
    fields_found = first.count(sep.encode("utf-8")) + 1
    if fields_found > limits.max_columns:
        raise too_big(f"its first line has {fields_found:,} columns", f"{limits.max_columns:,}")


def check_lines(payload: bytes, limits: Limits) -> None:
    """Refuse text with far more lines than `max_rows` before parsing it: a file of blank
    lines or of `,,` took gigabytes to parse before its rows were counted. A line break in a
    quoted cell counts too, hence the room (a legit file within the limit never has four
    lines per row)."""
    lines = payload.count(b"\n")
    if lines > LINES_PER_ROW * limits.max_rows:
        raise too_big(f"it has {lines:,} lines", f"{limits.max_rows:,} rows")


def check_width(columns: int, limits: Limits) -> None:
    if columns > limits.max_columns:
        raise too_big(f"a row has {columns:,} columns", f"{limits.max_columns:,}")


def check_cells(cells: pd.DataFrame, limits: Limits) -> None:
    """Rows, columns and the longest cell of a sheet already read."""
    rows, columns = cells.shape
    if rows > limits.max_rows:
        raise too_big(f"it has {rows:,} rows", f"{limits.max_rows:,} rows")
    check_width(columns, limits)
    for position in range(columns):
        column = cells.iloc[:, position]
        longest = int(column.str.len().max()) if rows else 0
        if longest > limits.max_cell_chars:
            row = int(np.argmax(column.str.len().to_numpy()))
            raise too_big(
                f"a cell in row {row + 1}, column {position + 1} holds {longest:,} characters",
                f"{limits.max_cell_chars:,} characters per cell",
                "check that the file really is a spreadsheet export with one value per cell",
            )


def check_xlsx(path: Path, limits: Limits) -> None:
    """Zip-bomb and dense-grid checks on an XLSX, before the Excel reader opens it."""
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
            _check_declared(infos, path.stat().st_size, limits)
            for info in infos:
                _check_part(archive, info, limits)
    # zipfile raises NotImplementedError for a compression method it cannot inflate: for
    # the user that is one more kind of workbook we cannot read, not a stub of ours
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, NotImplementedError) as exc:
        raise InputError(
            "this is not a readable Excel workbook: the file is damaged, incomplete or not in"
            f" Excel format ({exc}); re-save it from Excel, or export it as CSV",
            code="unreadable",
        ) from exc
    except OSError as exc:
        raise InputError(f"the file cannot be opened: {exc.strerror or exc}", "unreadable") from exc


def _check_declared(infos: list[zipfile.ZipInfo], size: int, limits: Limits) -> None:
    total = sum(info.file_size for info in infos)
    if total > limits.max_xlsx_uncompressed_mb * MB:
        raise too_big(
            f"the workbook unpacks to {total / MB:,.0f} MB",
            f"{limits.max_xlsx_uncompressed_mb:,g} MB unpacked",
        )
    ratio = total / max(size, 1)
    if ratio > limits.max_xlsx_ratio:
        raise too_big(
            f"the workbook unpacks to {ratio:,.0f} times its size (a 'zip bomb')",
            f"{limits.max_xlsx_ratio:,g} times",
        )


def _check_part(archive: zipfile.ZipFile, info: zipfile.ZipInfo, limits: Limits) -> None:
    """Inflate one part as a stream; a worksheet's last row and widest column are noted.
    Any XML part may be a worksheet (the workbook's relationships may put one anywhere)."""
    is_sheet = info.filename.endswith(".xml")
    last_row, widest, tail = 0, 0, b""
    with archive.open(info) as part:  # reads at most the declared size; checks the CRC
        while block := part.read(_BLOCK):
            if is_sheet:
                text = tail + block
                last_row = max(last_row, _last_row(text))
                widest = max(widest, _widest_column(text))
                tail = text[-256:]
    if is_sheet:
        check_grid(last_row, widest, limits)


def _last_row(text: bytes) -> int:
    """The highest row number in `text` (rows may come in any order)."""
    return max(map(int, _ROW.findall(text)), default=0)


def _widest_column(text: bytes) -> int:
    """The widest column among cells in column AA or beyond (1-based; 0 when none)."""
    letters = set(_WIDE_CELL.findall(text))
    return max((_column_number(x) for x in letters), default=0)


def _column_number(letters: bytes) -> int:
    number = 0
    for letter in letters:
        number = number * 26 + letter - ord("A") + 1
    return number


def check_grid(last_row: int, widest: int, limits: Limits) -> None:
    """A sheet reaching `last_row` and `widest` columns, before a grid that size is built."""
    if last_row > limits.max_rows:
        raise too_big(f"a sheet reaches row {last_row:,}", f"{limits.max_rows:,} rows")
    check_width(widest, limits)
    # sheets narrower than column AA are bounded by max_rows alone
    if last_row * widest > limits.max_cells:
        raise too_big(
            f"a sheet spans {last_row:,} rows x {widest:,} columns",
            f"{limits.max_cells:,} cells",
        )
