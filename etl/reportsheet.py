"""One report table ready to write, the formula-neutralising rule, and the CSV writer.

Formula rule (applied to every cell, header and messages included): a cell is *risky* when
it starts with `=`, `+`, `-`, `@`, a tab or a carriage return, unless the whole cell is a
plain number (`^[+-]?([0-9]+(\\.[0-9]+)?|\\.[0-9]+)$`, e.g. `-3`, `+919876543210`, `-0.5`).
In CSV a risky cell is written with a leading `'` (OWASP's advice: Excel then shows text);
in XLSX it is stored as a string with Excel's "quote prefix" style, so its text is unchanged.
A CSV another program imports (`audience="import"`: the pulled orders) keeps a phone number
`+91 98123 45678` or an address line `- Near the temple` as it is (an ERP would import the
`'`): there only what can be a formula attack is neutralised (`FORMULA_ATTACK`: `=` or `@`
first, a function call after `+`/`-`, a DDE link).

Codes Excel would change when it opens a CSV - a leading zero (`00123` -> 123), 12 digits or
more (General format shows `356938035643809` as 3.56939E+14 and saves it so to CSV; past 15
digits the digits themselves are lost), a date or time look
(`MAR-01` -> 01-Mar, `1-2` -> 02-Jan, `10:30`), an exponent (`12E3` -> 12000) - are written as
`="00123"` in the errors file, the way ERPs keep them: Excel shows and saves the text as it
is, and our readers read `="00123"` as `00123`, so an errors file fixed in Excel comes back
with its SKUs intact. The result file, read by programs and never dropped back, keeps them plain.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from etl.cells import to_mask
from etl.model import IntArray, RowStatus

Audience = Literal["fix", "read", "import"]

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# What can run in a cell of an import file: = or @ first, a function call after + or -
# (`+SUM(`, `-HYPERLINK(`), a DDE link (`cmd|' /C calc'!A0`). Not '+91 98123 45678 (home)'.
FORMULA_ATTACK = r"^[=@\t\r]|^[+-].*[A-Za-z][A-Za-z0-9._]*\(|\|.*!"
PLAIN_NUMBER = r"[+-]?(?:[0-9]+(?:\.[0-9]+)?|\.[0-9]+)"
_PLAIN = re.compile(PLAIN_NUMBER)
_START_BYTES = "".join(FORMULA_STARTS).encode()
CSV_BATCH = 200_000  # rows per Arrow batch: bounds memory on million-row reports
BoolArray = npt.NDArray[np.bool_]
_MONTH = (
    "(jan(uary)?|feb(ruary)?|mar(ch)?|apr(il)?|may|june?|july?|aug(ust)?|sept?(ember)?"
    "|oct(ober)?|nov(ember)?|dec(ember)?)"
)
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_MONTH_CODES = [a * 65536 + b * 256 + c for a, b, c in (m.encode() for m in _MONTHS)]
_TIME = r"[0-9]{1,2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?( ?[ap]m?)?"
_AT = f"([ T]{_TIME})?"  # a date's time: 2026-11-06 10:00:00 opens as 11/6/2026 10:00
_EXCEL_CHANGES = "^(" + "|".join([
    r"0[0-9]+|[0-9]{12,}(\.[0-9]*)?",  # 00123 -> 123; 15 digits -> 3.56939E+14 (saved so)
    r"[0-9]{1,3}(,[0-9]{2,3}){3,}(\.[0-9]+)?",  # 2,345,678,901,237: a long code, grouped
    rf"[0-9]{{1,4}}[-/][0-9]{{1,2}}([-/][0-9]{{1,4}})?{_AT}",  # 1-2, 12/10, 2026-01-05: dates
    rf"[0-9]{{1,2}}[- /]?{_MONTH}([- /]?[0-9]{{1,4}})?{_AT}",  # 1-Mar, 01 March 2026
    rf"{_MONTH}[- /]?[0-9]{{1,4}}{_AT}",  # MAR-01, Sept2, March 2026
    _TIME,  # 10:30, 9:05 pm: times
    r"[0-9]+(\.[0-9]+)?e[+-]?[0-9]+",  # 12E3 -> 12000
]) + ")$"  # fmt: skip
# and in a column of codes (a SKU, an order id): what Excel reads as a number it shortens
_CODE_CHANGES = r"^([0-9]*\.[0-9]*0|\([0-9][0-9.,]*\))$"  # 4711.10 -> 4711.1; (123) -> -123


@dataclass
class ReportSheet:
    """A report as a table: `columns[j]` holds column j's cells (text, or int for `row`).

    `statuses[i]` colours row i's `status_column` in XLSX; `notes[(i, j)]` is the reason
    cell (i, j) is wrong: it is filled red and carries the reason as a comment.
    """

    header: list[str]
    columns: list[pd.Series]
    statuses: Sequence[RowStatus | str]
    status_column: int
    notes: dict[tuple[int, int], str] = field(default_factory=dict)
    name: str = "Report"
    code_columns: frozenset[int] = frozenset()  # columns of codes (`_CODE_CHANGES`)

    def __len__(self) -> int:
        return len(self.statuses)


def text_column(values: pd.Series) -> pd.Series:
    """The column as text: missing cells become "", numbers their decimal text."""
    if pd.api.types.is_integer_dtype(values.dtype):
        return values.astype("str")
    return values.fillna("").astype("str")


def risky_mask(values: pd.Series) -> BoolArray:
    """True for cells a spreadsheet could run as a formula (see the module docstring)."""
    return _risky(_arrow_text(values))


def is_risky(value: str) -> bool:
    """The same rule as `risky_mask`, for one cell."""
    return value[:1] in FORMULA_STARTS and value != "" and not _PLAIN.fullmatch(value)


def restore_neutralised(data: pd.DataFrame) -> pd.DataFrame:
    """Undo the CSV formula rule on the cells of a CSV errors file dropped back in: a cell
    written as `'` + risky text gets that text back, so a SKU `-ABC` does not come back as
    `'-ABC` (Excel keeps the `'` as a character when it opens and saves a CSV)."""
    restored = data
    for j in data.columns:
        column = data[j]
        marked = column.str.startswith("'").to_numpy(dtype=bool, na_value=False)
        if not marked.any():
            continue
        rest = column[marked].str.slice(1)
        ours = risky_mask(rest)
        if ours.any():
            if restored is data:
                restored = data.copy(deep=False)
            column = column.copy()
            column.loc[rest.index[ours]] = rest[ours]
            restored[j] = column
    return restored


def write_csv(
    path: Path, sheet: ReportSheet, delimiter: str, *, audience: Audience = "fix"
) -> None:
    """UTF-8 with BOM (Excel then reads ₹ and accents right), minimal quoting, CRLF lines.
    `audience`: "fix" (an errors file, fixed in Excel and dropped back: codes Excel would
    change kept as `="00123"`), "read" (a result file: codes plain), "import" (a file another
    program imports: codes plain, only formula attacks neutralised) - module docstring.

    Lines are built column-wise with Arrow compute and written as raw buffers: a
    million-row report takes about two seconds, where the csv module takes six.
    """
    if len(delimiter) != 1 or delimiter in '"\r\n':
        raise ValueError(f"CSV delimiter must be one character, not quote/newline: {delimiter!r}")
    header = [_arrow_text(pd.Series([name], dtype="str")) for name in sheet.header]
    with path.open("wb") as handle:
        handle.write(b"\xef\xbb\xbf")
        _write_lines(handle, header, delimiter, audience)
        for start in range(0, len(sheet), CSV_BATCH):
            rows = [_arrow_text(col.iloc[start : start + CSV_BATCH]) for col in sheet.columns]
            _write_lines(handle, rows, delimiter, audience, sheet.code_columns)


def _write_lines(
    handle: BinaryIO,
    columns: list[pa.Array],
    delimiter: str,
    audience: Audience,
    codes: frozenset[int] = frozenset(),
) -> None:
    alone = len(columns) == 1
    fields = [
        _csv_field(column, delimiter, alone=alone, audience=audience, code=j in codes)
        for j, column in enumerate(columns)
    ]
    record = pc.binary_join_element_wise(*fields, _text(delimiter))
    lines = pc.binary_join_element_wise(record, _text("\r\n"), _text(""))
    handle.write(_data(lines).tobytes())  # Arrow holds the lines back to back


def _csv_field(
    text: pa.Array, delimiter: str, *, alone: bool, audience: Audience, code: bool = False
) -> pa.Array:
    """Neutralised (and kept from Excel), then quoted when it holds the delimiter, a quote or
    a line break. `code`: a column of codes, where `4711.10` is kept from Excel too."""
    risky = _risky(text)
    if risky.any() and audience == "import":  # it gets +91... and - Near... as they are
        risky &= to_mask(pc.match_substring_regex(text, FORMULA_ATTACK))
    if risky.any():
        text = pc.if_else(risky, pc.binary_join_element_wise(_text("'"), text, _text("")), text)
    kept = _excel_would_change(text) if audience == "fix" else np.zeros(0, dtype=bool)
    if audience == "fix" and code:
        kept |= to_mask(pc.match_substring_regex(text, _CODE_CHANGES))
    if kept.any():
        wrapped = pc.binary_join_element_wise(_text('="'), text, _text('"'), _text(""))
        text = pc.if_else(kept, wrapped, text)
    needs_quotes = _rows_holding(text, (delimiter + '"\r\n').encode())
    if alone:  # an empty one-field line would read as a blank line
        needs_quotes |= _offsets(text)[1] == 0
    if not needs_quotes.any():
        return text
    escaped = pc.replace_substring(text, '"', '""')
    quoted = pc.binary_join_element_wise(_text('"'), escaped, _text('"'), _text(""))
    return pc.if_else(needs_quotes, quoted, text)


def _risky(text: pa.Array) -> BoolArray:
    """Starts with a formula character and is not a plain number (module docstring)."""
    starts, lengths = _offsets(text)
    data = _data(text)
    first = data[np.minimum(starts, max(len(data) - 1, 0))] if len(data) else starts
    risky = (lengths > 0) & np.isin(first, np.frombuffer(_START_BYTES, dtype=np.uint8))
    if risky.any():
        candidates = np.flatnonzero(risky)
        plain = pc.match_substring_regex(text.take(candidates), f"^{PLAIN_NUMBER}$")
        risky[candidates[plain.to_numpy(zero_copy_only=False)]] = False
    return risky


def _excel_would_change(text: pa.Array) -> BoolArray:
    """Cells Excel turns into another value when it opens a CSV (module docstring): digits
    with a leading zero or 12 and more of them, dates, times, exponents."""
    starts, lengths = _offsets(text)
    data = _data(text)
    b0, b1, b2 = (_byte_at(data, starts, i) for i in range(3))
    digits = ((b0 == ord("0")) & (lengths > 1)) | (lengths >= 12)
    # dates, times, exponents: start with a digit but are not a plain number like 12 or 4.5;
    # or start with a month's name
    digit_first = (b0 >= ord("0")) & (b0 <= ord("9"))
    if digit_first.any():
        digit_first &= ~_plain_numbers(data, starts, lengths)
    month_first = np.isin((b0 | 32) * 65536 + (b1 | 32) * 256 + (b2 | 32), _MONTH_CODES)
    looks = (lengths >= 3) & (lengths <= 30) & (digit_first | month_first)
    candidates = np.flatnonzero(digits | looks)
    kept = np.zeros(len(text), dtype=bool)
    if len(candidates):
        hits = pc.match_substring_regex(text.take(candidates), _EXCEL_CHANGES, ignore_case=True)
        kept[candidates[hits.to_numpy(zero_copy_only=False)]] = True
    return kept


def _plain_numbers(data: npt.NDArray[np.uint8], starts: IntArray, lengths: IntArray) -> BoolArray:
    """True for the non-empty strings made only of digits and dots."""
    plain = np.zeros(len(starts), dtype=bool)
    filled = np.flatnonzero(lengths > 0)
    if len(filled):
        numeric = ((data >= ord("0")) & (data <= ord("9"))) | (data == ord("."))
        plain[filled] = np.logical_and.reduceat(numeric, starts[filled])
    return plain


def _byte_at(data: npt.NDArray[np.uint8], starts: IntArray, i: int) -> IntArray:
    """Each string's i-th byte (an unrelated byte past its end: callers check lengths)."""
    if not len(data):
        return np.zeros(len(starts), dtype=np.int64)
    return data[np.minimum(starts + i, len(data) - 1)].astype(np.int64)


def _rows_holding(text: pa.Array, chars: bytes) -> BoolArray:
    """True for the strings that contain any of the (ASCII) `chars`, scanning raw bytes."""
    starts, _ = _offsets(text)
    data = _data(text)
    hits = np.flatnonzero(np.isin(data, np.frombuffer(chars, dtype=np.uint8)))
    rows = np.zeros(len(text), dtype=bool)
    rows[np.searchsorted(starts, hits, side="right") - 1] = True
    return rows


def _offsets(text: pa.Array) -> tuple[IntArray, IntArray]:
    """Each string's start in `_data(text)`, and its length in bytes."""
    offsets = np.frombuffer(text.buffers()[1], dtype=np.int64)
    offsets = offsets[text.offset : text.offset + len(text) + 1]
    return offsets[:-1] - offsets[0], np.diff(offsets)


def _data(text: pa.Array) -> npt.NDArray[np.uint8]:
    """The UTF-8 bytes of every string in `text`, back to back."""
    offsets = np.frombuffer(text.buffers()[1], dtype=np.int64)
    first, last = offsets[text.offset], offsets[text.offset + len(text)]
    buffer = text.buffers()[2]
    return np.frombuffer(buffer, dtype=np.uint8)[first:last] if buffer else np.empty(0, np.uint8)


def _text(value: str) -> pa.Scalar:
    return pa.scalar(value, pa.large_string())


def _arrow_text(values: pd.Series) -> pa.Array:
    """One contiguous Arrow array (pandas may hold a column in several chunks)."""
    array = pa.array(text_column(values), type=pa.large_string())
    return array.combine_chunks() if isinstance(array, pa.ChunkedArray) else array
