"""CSV and other delimited text files into a `Sheet` of text cells.

Encoding: `etl.textencoding` (a byte-order mark, UTF-16 by its zero bytes, strict UTF-8,
then Windows-1252; a file mixing two encodings is refused).
A cell written as `="00123"` (how many ERPs keep leading zeros for Excel) reads as `00123`,
the text Excel shows.
Delimiter: whichever of `,` `;` tab `|` appears the same number of times on the most lines,
counted outside quoted text. Parsing uses pyarrow's multi-threaded reader, with every column
forced to text; files it refuses (rows of uneven length) go through pandas' C parser, and
each line's own number of fields is kept for `etl.ragged` (a row with more than its header).
"""

from __future__ import annotations

import codecs
import io
import logging
import re
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from etl.cells import unwrap_text_formulas
from etl.errors import InputError
from etl.limits import active, check_cells, check_header_width, check_lines
from etl.model import IntArray, Sheet
from etl.ragged import field_counts
from etl.textencoding import UTF16_BOMS, to_utf8

log = logging.getLogger(__name__)

DELIMITERS = (",", ";", "\t", "|")
_SAMPLE_BYTES = 64 * 1024
_SAMPLE_LINES = 200
_QUOTED = re.compile(r'"(?:[^"]|"")*"')
_ANY_BOM = (codecs.BOM_UTF8, *UTF16_BOMS)
# Excel's delimiter hint, `sep=;`, as a file's first line: Excel reads the rows with that
# delimiter and does not show the line - unless the file starts with a byte order mark, when
# it shows `sep=;` as the first row, and so do we (the row numbers stay Excel's).
_SEP_LINE = re.compile(rb"sep=([^\r\n])\r?\n", re.IGNORECASE)


def read_csv_sheet(path: Path, encoding: str | None = None, delimiter: str | None = None) -> Sheet:
    """Read a delimited text file; `encoding`/`delimiter` override detection."""
    data = _read_bytes(path)
    used_encoding, payload = to_utf8(data, encoding)
    if encoding is not None and used_encoding == "utf-8":  # the chosen mapping's: etl.matching
        log.debug(  # here a mapping may only be being tried
            "%s: read as UTF-8, not as the %s its mapping names: the file is valid UTF-8 text"
            " (read as %s its accented letters and ₹ would be garbled)",
            path.name,
            encoding,
            encoding,
        )
    if delimiter is not None and len(delimiter) != 1:
        raise InputError(f"the delimiter must be one character, not {delimiter!r}", "config")
    hinted = _SEP_LINE.match(payload) if not data.startswith(_ANY_BOM) else None
    if hinted is not None:  # Excel takes the delimiter from it and does not show the line
        payload = payload[hinted.end() :]
    sep = hinted.group(1).decode() if hinted else _delimiter(path, payload, delimiter)
    check_header_width(payload, sep, active())
    check_lines(payload, active())
    cells, counts = _parse(payload, sep)
    if b'="' in payload:
        unwrap_text_formulas(cells)
    check_cells(cells, active())
    row_numbers = np.arange(1, len(cells) + 1, dtype=np.int64)  # as Excel numbers the rows
    return Sheet(
        cells, row_numbers, path, "csv", encoding=used_encoding, delimiter=sep, field_counts=counts
    )


def _delimiter(path: Path, payload: bytes, pinned: str | None) -> str:
    """The mapping's delimiter (`pinned`), or the one the file's lines show. A pinned one
    missing from most lines of the sample, where another is on most, is not this file's: a
    `;` file opened in an Excel whose list separator is `,` (India, UK, US) and saved again is
    a `,` file - an errors file fixed and dropped back in, say."""
    sample = _sample(payload)
    if pinned is None:
        return sniff_delimiter(sample)
    lines = [line for line in _QUOTED.sub('""', sample).splitlines() if line.strip()]
    found = sniff_delimiter(sample)
    if found == pinned or not lines:
        return pinned
    holding = {sep: sum(sep in line for line in lines) / len(lines) for sep in (pinned, found)}
    if holding[pinned] >= 0.5 or holding[found] < 0.5:
        return pinned
    log.debug("%s: no %r between its cells, as its mapping says: read with %r", path.name,
              pinned, found)  # fmt: skip
    return found


def _read_bytes(path: Path) -> bytes:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"the file cannot be opened: {exc.strerror or exc}", "unreadable") from exc
    # DOS's end-of-file mark, which `copy a.csv+b.csv` (and old DOS-era exporters) still
    # write after the last line: not a row of the file
    data = data.rstrip(b"\x1a")
    if data in (b"", codecs.BOM_UTF8, *UTF16_BOMS):
        raise InputError("the file is empty", code="empty")
    return data


def _sample(payload: bytes) -> str:
    text = payload[:_SAMPLE_BYTES].decode("utf-8", errors="ignore")
    # the last line of a cut sample is usually incomplete
    return text.rsplit("\n", 1)[0] if len(payload) > _SAMPLE_BYTES else text


def sniff_delimiter(sample: str) -> str:
    """The candidate found the same number of times on the most lines (outside quotes)."""
    lines = [line for line in _QUOTED.sub('""', sample).splitlines() if line.strip()]
    lines = lines[:_SAMPLE_LINES]
    best, best_score = ",", (0.0, 0)
    for candidate in DELIMITERS:
        counts = Counter(line.count(candidate) for line in lines)
        mode, seen = max(counts.items(), key=lambda item: (item[1], item[0]), default=(0, 0))
        score = (seen / len(lines), mode) if mode else (0.0, 0)
        if score > best_score:
            best, best_score = candidate, score
    return best


def _parse(payload: bytes, sep: str) -> tuple[pd.DataFrame, IntArray | None]:
    """The cells, and each record's number of fields when they differ (None: all alike)."""
    uneven: list[int] = []
    try:
        table: pa.Table | None = _read_arrow(payload, sep, uneven)
    except pa.ArrowInvalid:
        table = None
    if table is not None and not uneven and all(pa.types.is_string(c.type) for c in table.columns):
        frame: pd.DataFrame = table.to_pandas()
        counts = None
    else:  # uneven rows, or more columns than the sample showed: the slower exact path
        width = max([*uneven, table.num_columns if table is not None else 0])
        _check_row_width(payload, sep, width)
        frame = _parse_uneven(payload, sep, width)
        counts = field_counts(payload, sep, len(frame))
    frame.columns = pd.RangeIndex(frame.shape[1])
    return frame, counts


def _read_arrow(payload: bytes, sep: str, uneven: list[int]) -> pa.Table:
    """Every column as text; the field counts of rows unlike the first go to `uneven`."""

    def note(row: pacsv.InvalidRow) -> str:
        uneven.extend((row.expected_columns, row.actual_columns))
        return "skip"

    guess = 1 + max((line.count(sep) for line in _sample(payload).splitlines()), default=0)
    return pacsv.read_csv(
        io.BytesIO(payload),
        read_options=pacsv.ReadOptions(autogenerate_column_names=True),
        parse_options=pacsv.ParseOptions(
            delimiter=sep,
            newlines_in_values=True,
            ignore_empty_lines=False,
            invalid_row_handler=note,
        ),
        convert_options=pacsv.ConvertOptions(
            column_types=dict.fromkeys((f"f{i}" for i in range(2 * guess + 8)), pa.string()),
            null_values=[],
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
        ),
    )


def _parse_uneven(payload: bytes, sep: str, width: int) -> pd.DataFrame:
    """Pandas' C parser, every row padded to `width` fields with empty cells."""
    try:
        return pd.read_csv(
            io.BytesIO(payload),
            encoding="utf-8",
            sep=sep,
            header=None,
            names=range(width) if width else None,
            dtype=str,
            keep_default_na=False,
            na_filter=False,
            skip_blank_lines=False,
            engine="c",
        )
    except (pd.errors.ParserError, ValueError) as exc:
        found = _TOO_MANY_FIELDS.search(str(exc))
        if found is None:
            raise InputError(f"the file cannot be read as CSV: {exc}", code="unreadable") from exc
        expected, line, saw = (int(n) for n in found.groups())
        raise _wide_line(line, saw, expected) from exc


_TOO_MANY_FIELDS = re.compile(r"Expected (\d+) fields in line (\d+), saw (\d+)")


def _check_row_width(payload: bytes, sep: str, width: int) -> None:
    """A row wider than `max_columns`, named by its line (quotes aside: a message only)."""
    limit = active().max_columns
    if width <= limit:
        return
    lines = payload.split(b"\n")
    fields = [line.count(sep.encode()) + 1 for line in lines]
    number = next((n for n, count in enumerate(fields, 1) if count > limit), 1)
    raise _wide_line(number, fields[number - 1], fields[0], limit)


def _wide_line(line: int, fields: int, first: int, limit: int | None = None) -> InputError:
    over = f", more than the {limit:,} columns a file may have" if limit else ""
    return InputError(
        f"line {line:,} has {fields:,} fields{over}, where the first line has {first:,}: a text"
        " with separators not in quotes, or lines run together? Fix that line in the export"
        + (" (or raise 'limits: max_columns' in konnect-etl.yaml)" if limit else ""),
        code="too_big" if limit else "unreadable",
    )
