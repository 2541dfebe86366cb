"""Findings: problems found by validation, kept by frame index until they become `Problem`s.

A finding names a row by its index in the mapped frame and a cell by its canonical field;
`to_problems` turns them into `Problem` records in the user's words (source row number,
source column header, the cell as text).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import pandas as pd

from etl.model import Mapped, Problem
from etl.wording import message, number_text, rounding_advice


@dataclass(frozen=True, slots=True)
class Finding:
    index: int  # row position in Mapped.frame
    field: str  # canonical field ("" for the whole row)
    code: str
    message: str = ""  # empty: worded by etl.wording from the code


def cell_text(value: Any) -> str:
    """A cell as the user would type it: '' for empty, '12' for 12.0, lists comma-joined."""
    if isinstance(value, list | tuple):
        return ", ".join(cell_text(v) for v in value)
    if value is None or (not isinstance(value, str) and bool(pd.isna(value))):
        return ""
    return number_text(value)


def column_name(mapped: Mapped, field: str) -> str:
    """The source header a field came from, or the canonical name for constants/defaults."""
    return mapped.sources.get(field) or field


def _original(mapped: Mapped, found: Finding) -> Any:
    """The cell as the file has it ("(-)3 Pcs"); else the value as read."""
    if found.field not in mapped.frame.columns:
        return ""
    return (
        mapped.source_text(found.field, found.index) or mapped.frame[found.field].iat[found.index]
    )


def to_problems(
    findings: Iterable[Finding], mapped: Mapped, work: pd.DataFrame, feed: str
) -> list[Problem]:
    """Problems for `findings`; `work` is the typed frame the checks ran on."""
    return [_problem(found, mapped, work, feed) for found in findings]


def _problem(found: Finding, mapped: Mapped, work: pd.DataFrame, feed: str) -> Problem:
    def value(field: str) -> Any:
        return work[field].iat[found.index]

    text = found.message or message(found.code, found.field, value, feed)
    if found.code == "too_many_decimals" and _number_cell(mapped, found):
        text = rounding_advice(found.field)  # a number cell holds no thousands separator
    return Problem(
        row=int(mapped.row_numbers[found.index]),
        column=column_name(mapped, found.field) if found.field else "",
        value=cell_text(_original(mapped, found)),
        code=found.code,
        message=text,
    )


def _number_cell(mapped: Mapped, found: Finding) -> bool:
    """The cell was a number in the workbook (not text)."""
    numeric = mapped.numeric.get(found.field)
    return numeric is not None and bool(numeric[found.index])
