"""A price marked in rupees on a row whose currency says otherwise is refused, not sent.

`Rs. 499` in the MRP column and `USD` in the currency column: the mark is read away with the
number, so Konnect would get 499 US dollars. A cell marked with another currency than a
column's declared one is refused by the `decimal` step (`currency:`); this is the same
refusal when the currency comes from the row itself.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from etl.mapspec import Mapping, norm_header
from etl.model import IntArray, Mapped, Problem
from etl.numbers import CURRENCY_MARKS

AMOUNTS = ("mrp", "esp")


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
        if spec.name in AMOUNTS and position is not None:
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
