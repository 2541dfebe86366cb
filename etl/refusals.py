"""Rows Konnect refused with a code that names a field: the cell at fault is marked.

Konnect answers a refused record with a code (`etl.konnect.CODE_FIELDS` says which field each
code is about: an unknown SKU, a location, an invoice number). Its explanation goes on that
cell in the errors file, as our own problems do, and a likely cause (`refusal_hint`: a SKU
Excel turned into a number or a date) goes in the row's message too. For every feed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from etl.chunkresult import ChunkResult
from etl.konnect import CODE_FIELDS, explain, refusal_hint

if TYPE_CHECKING:
    from etl.bodies import Chunk, Validated
    from etl.report import RowOutcomes


def note_refused(
    out: RowOutcomes, validated: Validated, chunks: Sequence[Chunk], results: Sequence[ChunkResult]
) -> None:
    """Rows `failed` with a code that names a field (`etl.konnect.CODE_FIELDS`): the cell that
    field was read from (`out.field_columns`) is highlighted with the explanation, as our own
    problems are, also on rows merged into it.
    Only refused rows are visited; their SKUs are taken in one go."""
    rows, reasons = _refused_rows(chunks, results)
    if not rows:
        return
    positions = validated.positions[rows].tolist()
    frame = validated.frame
    skus = frame["sku"].iloc[rows].tolist() if "sku" in frame.columns else [None] * len(rows)
    merged: dict[int, list[int]] = {}
    for position, into in validated.merged.items():
        merged.setdefault(into, []).append(position)
    columns = {
        code: [out.field_columns[f] for f in fields if f in out.field_columns]
        for code, fields in CODE_FIELDS.items()
    }
    for row, position, (code, message), sku in zip(rows, positions, reasons, skus, strict=True):
        if out.status[position] == "failed":
            note = _refusal_note(out, position, code, message, sku)
            for where in (position, *merged.get(row, ())):
                for column in columns[code]:
                    out.cell_problems[(where, column)] = note


def _refused_rows(
    chunks: Sequence[Chunk], results: Sequence[ChunkResult]
) -> tuple[list[int], list[tuple[str, str]]]:
    """The frame rows of records refused with a code in `CODE_FIELDS`, and (code, message)."""
    refused = {r.index: r.record_errors for r in results if r.state == "acknowledged"}
    rows: list[int] = []
    reasons: list[tuple[str, str]] = []
    for chunk in chunks:
        errors = refused.get(chunk.index) or {}
        named = {i: error for i, error in errors.items() if error[0] in CODE_FIELDS}
        if named:
            records = chunk.record_of_row
            hit = np.flatnonzero(np.isin(records, np.fromiter(named, dtype=np.int64)))
            rows += chunk.rows[hit].tolist()
            reasons += [named[record] for record in records[hit].tolist()]
    return rows, reasons


def _refusal_note(out: RowOutcomes, position: int, code: str, message: str, sku: object) -> str:
    """Konnect's explanation of `code`; a likely cause is added to it and to the row's message."""
    hint = refusal_hint(code, sku)
    if not hint:
        return explain(code, message)
    out.message[position] = f"{out.message[position]}; {hint}"
    return f"{explain(code, message)}; {hint}"
