"""Cut valid rows into request bodies: JSON arrays of at most `feed.limit` records.

Chunks follow the source order and are numbered from 0, so the same file always gives the
same chunks (crash resume finds acknowledged chunks by index). Feeds that group rows into
orders put all rows of one order into one record, and an order never spans two chunks.

Stock and price files can hold a million rows, so their records are written as JSON text
column-wise with pyarrow string kernels (one fragment per row, sliced per chunk) instead of
building a dict per row, 25,000 rows at a time while the upload asks for them; any text
that JSON must escape is encoded by orjson. Every other
feed builds dicts (`etl.records`) and encodes them with orjson.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial

import numpy as np
import orjson
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from etl.feeds import Feed
from etl.model import IntArray
from etl.records import ORDER_RECORDS, ROW_RECORDS, columns
from etl.validation import Validated

__all__ = ["Chunk", "Validated", "build_chunks", "record_keys"]

TEXT = pa.large_string()
# Field order of the records written as text (the order Konnect's docs list them in).
TEXT_RECORDS: dict[str, tuple[str, ...]] = {
    "stock": ("location_id", "sku", "quantity"),
    "price": ("location_id", "sku", "esp", "mrp", "currency"),
    "pack": ("orderId",),
}


class Chunk:
    """One request: its body, and which frame rows went into which record of it.

    Stock and price chunks are spans of consecutive rows, one record per row, whose body is
    cut from the file's shared JSON buffer when it is sent: a million rows then never exist
    as 2,000 separate bodies (and row arrays) at once.
    """

    __slots__ = ("_body", "_record_of_row", "_rows", "index", "key_fields")

    def __init__(
        self,
        index: int,
        body: bytes | Callable[[], bytes],
        rows: IntArray | range,
        record_of_row: IntArray | None = None,
        key_fields: tuple[str, ...] = (),
    ) -> None:
        self.index = index
        self.key_fields = key_fields
        self._body = body
        self._rows = rows  # indices into Validated.frame; a range: one record per row
        self._record_of_row = record_of_row  # record index in the body of each entry of rows

    @property
    def body(self) -> bytes:
        return self._body if isinstance(self._body, bytes) else self._body()

    @property
    def rows(self) -> IntArray:
        rows = self._rows
        if isinstance(rows, range):
            return np.arange(rows.start, rows.stop, dtype=np.int64)
        return rows

    @property
    def record_of_row(self) -> IntArray:
        if self._record_of_row is None:
            return np.arange(len(self._rows), dtype=np.int64)
        return self._record_of_row

    @property
    def record_count(self) -> int:
        """How many records the body holds, without decoding it."""
        if self._record_of_row is None:
            return len(self._rows)
        return int(self._record_of_row[-1]) + 1 if len(self._record_of_row) else 0

    def keys(self, validated: Validated, feed: Feed | None = None) -> list[str]:
        """Record keys in body order ('location_id|sku', or the orderId)."""
        fields = feed.endpoint.key_fields if feed is not None else self.key_fields
        starts = np.flatnonzero(np.diff(self.record_of_row, prepend=-1) != 0)
        return record_keys(validated.frame, fields, self.rows[starts])


def record_keys(frame: pd.DataFrame, fields: Sequence[str], rows: IntArray) -> list[str]:
    """`etl.konnect.record_key` of the records whose first rows are `rows`."""
    contiguous = len(rows) > 0 and bool((np.diff(rows) == 1).all())
    # A run of rows is a zero-copy slice; picking rows one by one costs a gather per column.
    picked = slice(int(rows[0]), int(rows[-1]) + 1) if contiguous else rows
    parts = [_texts(frame[f].iloc[picked]) for f in fields]
    if len(parts) == 1:
        return parts[0]
    return ["|".join(values) for values in zip(*parts, strict=True)]


def _texts(column: pd.Series) -> list[str]:
    values = column.tolist()
    if isinstance(column.dtype, pd.StringDtype) and not column.hasnans:
        return values
    return [str(v) for v in values]


def build_chunks(feed: Feed, validated: Validated) -> list[Chunk]:
    """The request bodies for `validated.frame`, in source order."""
    if feed.grouped:
        return _order_chunks(feed, validated.frame)
    if feed.name in TEXT_RECORDS:
        return _text_chunks(feed, validated.frame)
    return _row_chunks(feed, validated.frame)


def _bounds(count: int, limit: int) -> list[tuple[int, int]]:
    return [(a, min(a + limit, count)) for a in range(0, count, limit)]


def _row_chunks(feed: Feed, frame: pd.DataFrame) -> list[Chunk]:
    cols, build = columns(frame), ROW_RECORDS[feed.name]
    chunks = []
    for index, (a, b) in enumerate(_bounds(len(frame), feed.limit)):
        body = orjson.dumps([build(cols, r) for r in range(a, b)])
        chunks.append(Chunk(index, body, range(a, b), None, feed.endpoint.key_fields))
    return chunks


def _order_chunks(feed: Feed, frame: pd.DataFrame) -> list[Chunk]:
    """One record per orderId (first appearance order); `feed.limit` orders per chunk."""
    if frame.empty:  # every row rejected: nothing to send
        return []
    codes, _ = pd.factorize(frame["orderId"], sort=False)
    order = np.argsort(codes, kind="stable").astype(np.int64)
    starts = np.flatnonzero(np.diff(codes[order], prepend=-1) != 0)
    groups = np.split(order, starts[1:])
    cols, build = columns(frame), ORDER_RECORDS[feed.name]
    chunks = []
    for index, (a, b) in enumerate(_bounds(len(groups), feed.limit)):
        members = groups[a:b]
        body = orjson.dumps([build(cols, g.tolist()) for g in members])
        rows = np.concatenate(members)
        record = np.repeat(np.arange(len(members), dtype=np.int64), [len(g) for g in members])
        chunks.append(Chunk(index, body, rows, record, feed.endpoint.key_fields))
    return chunks


def _text_chunks(feed: Feed, frame: pd.DataFrame) -> list[Chunk]:
    bodies = _TextBodies(frame, TEXT_RECORDS[feed.name], feed.limit)
    key_fields = feed.endpoint.key_fields
    return [
        Chunk(index, partial(bodies.body, a, b), range(a, b), None, key_fields)
        for index, (a, b) in enumerate(_bounds(len(frame), feed.limit))
    ]


class _TextBodies:
    """The request bodies of a stock or price frame, written as JSON a slice of rows at a
    time when the upload asks for them: a million-row file never holds all its bodies."""

    SLICE_ROWS = 25_000
    KEPT = 2  # the slice being sent and the one before it (a chunk retried a little late)

    def __init__(self, frame: pd.DataFrame, fields: tuple[str, ...], limit: int) -> None:
        self.frame, self.fields = frame, fields
        self.rows = max(1, self.SLICE_ROWS // limit) * limit  # a chunk never spans two slices
        self._slices: dict[int, tuple[memoryview, IntArray]] = {}

    def body(self, a: int, b: int) -> bytes:
        """The JSON array of the records of frame rows a..b-1."""
        first = a - a % self.rows
        data, offsets = self._slice(first)
        # Each fragment ends with a comma: drop the last one and close the array.
        return b"[" + data[offsets[a - first] : offsets[b - first] - 1] + b"]"

    def _slice(self, first: int) -> tuple[memoryview, IntArray]:
        if first not in self._slices:
            while len(self._slices) >= self.KEPT:
                del self._slices[next(iter(self._slices))]  # the oldest
            rows = self.frame.iloc[first : first + self.rows]
            self._slices[first] = _fragments(rows, self.fields)
        return self._slices[first]


def _fragments(frame: pd.DataFrame, fields: tuple[str, ...]) -> tuple[memoryview, IntArray]:
    """'{"f1":v1,"f2":v2},' per row, as one UTF-8 buffer and the row offsets into it."""
    if len(frame) == 0:
        return memoryview(b""), np.zeros(1, dtype=np.int64)
    parts: list[pa.Array | pa.Scalar] = []
    literal = "{"
    for name in fields:
        values, quote = _json_values(frame[name])
        parts += [pa.scalar(f'{literal}"{name}":{quote}', TEXT), values]
        literal = f"{quote},"
    parts.append(pa.scalar(literal[:-1] + "},", TEXT))
    text = pc.binary_join_element_wise(*parts, pa.scalar("", TEXT))
    _, offset_buffer, data = text.buffers()
    offsets = np.frombuffer(offset_buffer, dtype=np.int64)[
        text.offset : text.offset + len(text) + 1
    ]
    return memoryview(data), offsets  # a view: a million rows are not copied twice


def _json_values(series: pd.Series) -> tuple[pa.Array, str]:
    """A column as JSON text, and the quote the record template must put around it.

    Numbers are written as they are; plain strings go in as they are between quotes baked
    into the template; a column with any text that JSON must escape is encoded by orjson.
    """
    if pd.api.types.is_numeric_dtype(series):
        return pc.cast(_flat(pa.array(series)), TEXT), ""
    values = _flat(pa.array(series, type=TEXT))
    if not _needs_escaping(values):
        return values, '"'
    exact = [orjson.dumps(v).decode() for v in series.tolist()]
    return pa.array(exact, type=TEXT), ""


def _flat(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    """One contiguous array: columns of large files arrive in several Arrow chunks."""
    return values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values


def _needs_escaping(values: pa.Array) -> bool:
    """True if any byte is a quote, a backslash or a control character (checked in bulk)."""
    data = values.buffers()[2]
    if data is None:
        return False
    raw = np.frombuffer(data, dtype=np.uint8)
    return bool(((raw < 0x20) | (raw == 0x22) | (raw == 0x5C)).any())
