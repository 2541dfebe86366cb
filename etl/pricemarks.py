"""Price cells that say one thing and would be read as another are refused, not sent.

`Rs. 499` in the MRP column and `USD` in the currency column: the mark is read away with the
number, so Konnect would get 499 US dollars. A cell marked with another currency than a
column's declared one is refused by the `decimal` step (`currency:`); this is the same
refusal when the currency comes from the row itself.

`2.000` (or `12,000` with `decimal_comma`) read as 2 (12) rupees: prices have 2 decimals, so
three after the decimal mark are far more often a thousands group (a European `#.##0`
export, an Indian-style cell among decimal commas) - 1000 times too small, and the MRP check
passes as both prices shrink. Refused unless the column shows it writes three decimals
(`1299.000`); a third decimal that is not 0 (`1.299`) was refused already, and its message
now quotes the cell too.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from etl.mapspec import Mapping, norm_header
from etl.model import IntArray, Mapped, Problem
from etl.numbers import CURRENCY_MARKS
from etl.preparation import to_number
from etl.schemas import AMOUNT_FIELDS
from etl.wording import thousands_hint


def rupees_in_another_currency(
    mapping: Mapping, data: pd.DataFrame, columns: dict[str, int], mapped: Mapped
) -> list[Problem]:
    """A problem per MRP / esp cell marked ₹, Rs or INR on a row whose currency is not INR
    (`data`: the kept rows' cells, as `mapped.frame`'s rows)."""
    if mapping.feed != "price":
        return []
    currency = mapped.frame["currency"].astype("str").str.strip().str.upper()
    other = ((currency != "INR") & (currency != "")).to_numpy(dtype=bool, na_value=False)
    if not other.any():
        return []
    problems: list[Problem] = []
    for spec in mapping.fields:
        position = columns.get(norm_header(spec.column or ""))
        if spec.name in AMOUNT_FIELDS and position is not None:
            cells = data.iloc[:, position].astype("str")
            marked = cells.str.contains(CURRENCY_MARKS["INR"], case=False, regex=True)
            read = mapped.frame[spec.name].notna().to_numpy()  # else refused already
            hit = np.flatnonzero(other & read & marked.to_numpy(dtype=bool, na_value=False))
            problems += _problems(spec.source, cells, currency, mapped.row_numbers, hit)
    return problems


def _problems(
    column: str, cells: pd.Series, currency: pd.Series, rows: IntArray, hit: IntArray
) -> list[Problem]:
    return [
        Problem(
            int(rows[i]), column, str(cells.iat[i]), "wrong_currency",
            f"marked in rupees, but the row's currency is {currency.iat[i]}: correct the"
            " currency or the amount",
        )
        for i in hit.tolist()
    ]  # fmt: skip


# one decimal mark with exactly three digits after it, and one to three before: 2.000, 12,000
_GROUP_SHAPE = r"^\D*?(-?)([1-9]\d{0,2})([.,])(\d{3})\D*$"
_SHAPED = r"^\D*?-?[1-9]\d{0,2}[.,]\d{3}\D*$"  # the same, without groups: ~15x faster to test
_WRITES_THREE = r"\d{4,}[.,]\d{3}(?:\D|$)"  # 1299.000: unambiguous three decimals


def thousands_read_as_decimals(
    mapping: Mapping, data: pd.DataFrame, columns: dict[str, int], mapped: Mapped
) -> list[Problem]:
    """A problem per MRP / esp text cell shaped like `2.000` or `12,000` that was read with
    its separator as the decimal mark (as 2, 12): it may be 2000, 12000. About 0.15 s per
    million cells of each column when none is so shaped."""
    amounts = {
        spec: data.iloc[:, position].astype("str")
        for spec in mapping.fields
        if spec.name in AMOUNT_FIELDS
        and (position := columns.get(norm_header(spec.column or ""))) is not None
    }
    shaped = {
        spec: _shaped(cells, mapped.numeric.get(spec.name)) for spec, cells in amounts.items()
    }
    if not any(len(at) for at in shaped.values()) or any(
        cells.str.contains(_WRITES_THREE, regex=True).any() for cells in amounts.values()
    ):
        return []  # none, or the export writes amounts with three decimals (SAP, Tally)
    problems: list[Problem] = []
    for spec, at in shaped.items():
        cells = amounts[spec].iloc[at]
        parts = cells.str.extract(_GROUP_SHAPE)
        whole = pd.to_numeric(parts[1]).to_numpy(dtype="float64")
        decimals = pd.to_numeric(parts[3]).to_numpy(dtype="float64")
        read, _ = to_number(mapped.frame[spec.name].iloc[at])
        value = np.abs(read.to_numpy(dtype="float64"))
        for j in np.flatnonzero(np.abs(value - (whole + decimals / 1000)) < 1e-9).tolist():
            row = mapped.row_numbers[at[j]]
            problems.append(_group_problem(spec.source, cells.iat[j], parts.iloc[j], row))
    return problems


def _shaped(cells: pd.Series, numeric: npt.NDArray[np.bool_] | None) -> IntArray:
    """Positions of the text cells shaped like `2.000` (a number cell holds no separator)."""
    found = cells.str.contains(_SHAPED, regex=True).to_numpy(dtype=bool, na_value=False)
    if numeric is not None:
        found = found & ~numeric
    return np.flatnonzero(found)


def _group_problem(column: str, cell: Any, parts: pd.Series, row: int) -> Problem:
    sign, whole, mark, decimals = (str(p) for p in parts)
    cell = str(cell).strip()
    thousands = f"{sign}{int(whole) * 1000 + int(decimals)}"
    return Problem(
        int(row), column, cell, "too_many_decimals", thousands_hint(cell, mark, thousands)
    )
