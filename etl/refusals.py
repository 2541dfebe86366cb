"""Rows Konnect refused: the cell at fault is marked, on every refused row that has one.

Konnect answers a refused record with a code and its own words. Which field they are about
comes from the words where they say it (`etl.konnect.MESSAGE_FIELDS`: an X422 of a return QC
names an item or a quantity, not a price), else from the code (`CODE_FIELDS`: an unknown SKU,
a location, an invoice number), else - on an order feed - the order ID: every refused order
row has a cell to look at. When Konnect names one item of an order (`item 1100...-2: quantity
must be 1..2, got 5`), that item's row gets the cell; the order's other rows get their order
ID, with their own message (`not applied: Konnect refused this order for row 3`). The
explanation goes on the cell in the errors file, as our own problems do, and a likely cause
(`refusal_hint`: a SKU Excel turned into a number or a date) goes in the row's message too.
For every feed.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import cache, partial
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from etl.chunkresult import ChunkResult
from etl.konnect import CODE_FIELDS, MESSAGE_FIELDS, explain, refusal_hint

if TYPE_CHECKING:
    from etl.bodies import Chunk, Validated
    from etl.report import RowOutcomes

Refused = tuple[list[int], list[tuple[int, int]], list[tuple[str, str]]]


def note_refused(
    out: RowOutcomes, validated: Validated, chunks: Sequence[Chunk], results: Sequence[ChunkResult]
) -> None:
    """Rows `failed` by a record refusal: the cell of the field at fault (`out.field_columns`)
    is highlighted with the explanation, as our own problems are, also on rows merged into it.
    Only refused rows are visited; their SKUs and items are taken in one go, and each
    distinct refusal is worded once (a stock file refused whole has one or two)."""
    rows, records, reasons = _refused_rows(chunks, results)
    if not rows:
        return
    positions = validated.positions[rows].tolist()
    skus, items = (_cells(validated.frame, f, rows) for f in ("sku", "orderItemId"))
    named = _named(records, reasons, items) if "orderItemId" in validated.frame else None
    merged: dict[int, list[int]] = {}
    for position, into in validated.merged.items():
        merged.setdefault(into, []).append(position)
    columns_of, explained = cache(partial(_columns, out.field_columns)), cache(explain)
    for k, position in enumerate(positions):
        if out.status[position] != "failed":
            continue
        code, message = reasons[k]
        if named is None or k in named:
            columns = columns_of(_fields(code, message))
            note = _hinted(out, position, explained(code, message), refusal_hint(code, skus[k]))
        else:  # another item of the order was refused: this row's message says which
            columns, note = columns_of((("orderId",),)), out.message[position]
        for where in (position, *merged.get(rows[k], ())):
            for column in columns:
                out.cell_problems[(where, column)] = note


def _columns(field_columns: dict[str, int], candidates: tuple[tuple[str, ...], ...]) -> list[int]:
    """The columns of the first candidate fields the file has ([] if none)."""
    for fields in candidates:
        if found := [field_columns[f] for f in fields if f in field_columns]:
            return found
    return []


def _fields(code: str, message: str) -> tuple[tuple[str, ...], ...]:
    """The fields a refusal may be about, best first: named by Konnect's words, by its code,
    and the order ID (the first of them the file has is marked)."""
    said = tuple((field,) for part, field in MESSAGE_FIELDS if part in message)
    return (*said, CODE_FIELDS.get(code, ()), ("orderId",))


def _named(
    records: list[tuple[int, int]], reasons: list[tuple[str, str]], items: list[object]
) -> set[int]:
    """The refused rows the refusal is about: of a record whose message names the item of
    some of its rows, those rows; of any other record, all its rows."""
    by_record: dict[tuple[int, int], list[int]] = {}
    for k, record in enumerate(records):
        by_record.setdefault(record, []).append(k)
    about: set[int] = set()
    for ks in by_record.values():
        said = reasons[ks[0]][1]
        hit = [k for k in ks if items[k] is not None and _names(said, str(items[k]))]
        about.update(hit or ks)
    return about


def _names(message: str, item: str) -> bool:
    """`message` names the order item `item` (not one whose id merely starts with it)."""
    return re.search(rf"(?<![\w-]){re.escape(item)}(?![\w-])", message) is not None


def _cells(frame: pd.DataFrame, field: str, rows: list[int]) -> list[object]:
    return frame[field].iloc[rows].tolist() if field in frame.columns else [None] * len(rows)


def _refused_rows(chunks: Sequence[Chunk], results: Sequence[ChunkResult]) -> Refused:
    """The frame rows of refused records, their (chunk, record), and (code, message)."""
    refused = {r.index: r.record_errors for r in results if r.state == "acknowledged"}
    rows: list[int] = []
    records: list[tuple[int, int]] = []
    reasons: list[tuple[str, str]] = []
    for chunk in chunks:
        errors = refused.get(chunk.index)
        if errors:
            of_row = chunk.record_of_row
            hit = np.flatnonzero(np.isin(of_row, np.fromiter(errors, dtype=np.int64)))
            rows += chunk.rows[hit].tolist()
            records += [(chunk.index, record) for record in of_row[hit].tolist()]
            reasons += [errors[record] for record in of_row[hit].tolist()]
    return rows, records, reasons


def _hinted(out: RowOutcomes, position: int, said: str, hint: str) -> str:
    """Konnect's explanation; a likely cause (`hint`) is added to it and to the row's message."""
    if not hint:
        return said
    out.message[position] = f"{out.message[position]}; {hint}"
    return f"{said}; {hint}"
