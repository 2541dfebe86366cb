"""Dates typed as text with day and month in either order: decide per column, never guess.

`05/01/2026` is 5 January in India and May 1 in the US. Without an explicit `formats:` in the
mapping, a column is read day-first when one of its dates has a first part above 12, and
month-first when one has a second part above 12. When every date fits both ways, the column
cannot tell: those cells are rejected, with a hint to set the format in the mapping.

Konnect works in Indian Standard Time: times without a zone are taken as IST, and times with
one (`2026-01-05T04:30:00Z`) are converted to IST.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

BoolArray = npt.NDArray[np.bool_]
Order = Literal["day", "month", "ambiguous", "mixed"]

IST = "Asia/Kolkata"
NUMERIC_DATE = (
    r"^(?P<a>\d{1,2})[/.-](?P<b>\d{1,2})[/.-](?P<y>\d{4}|\d{2})"
    r"(?:[ T](?P<t>\d{1,2}:\d{2}(?::\d{2})?))?$"
)
ZONED = r"^\d{4}-\d{2}-\d{2}[T ]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})$"
AMBIGUOUS = (
    "day and month may be swapped - every date in this column fits both ways; set the format "
    "in the mapping, e.g. formats: ['%d/%m/%Y']"
)
MIXED = "this column has dates in both day-first and month-first order; check the export"


def column_order(parts: pd.DataFrame) -> Order:
    """Which order the numeric dates of one column are written in."""
    first = pd.to_numeric(parts["a"]).to_numpy()
    second = pd.to_numeric(parts["b"]).to_numpy()
    day_first, month_first = bool((first > 12).any()), bool((second > 12).any())
    if day_first and month_first:
        return "mixed"
    if day_first or month_first:
        return "day" if day_first else "month"
    return "ambiguous"


def parse_numeric_dates(
    text: pd.Series, todo: BoolArray, parsed: pd.Series
) -> tuple[BoolArray, BoolArray, str]:
    """Fill `parsed` for dd/mm/yyyy-style cells once the column decides their order.

    Returns (cells still unread, cells refused as ambiguous or mixed, the refusal message).
    """
    parts = text[todo].str.extract(NUMERIC_DATE)
    found = parts["a"].notna()
    refused = np.zeros(len(text), dtype=bool)
    if not found.any():
        return todo, refused, ""
    parts = parts[found]
    order = column_order(parts)
    if order in ("ambiguous", "mixed"):
        refused[text.index.get_indexer(parts.index)] = True
        return todo & ~refused, refused, AMBIGUOUS if order == "ambiguous" else MIXED
    day, month = (parts["a"], parts["b"]) if order == "day" else (parts["b"], parts["a"])
    year = parts["y"].where(parts["y"].str.len() == 4, "20" + parts["y"])
    stamp = year + "-" + month.str.zfill(2) + "-" + day.str.zfill(2)
    stamp = stamp + " " + parts["t"].fillna("00:00").str.replace(r"^(\d:)", r"0\1", regex=True)
    got = pd.to_datetime(stamp, format="mixed", errors="coerce")
    parsed[got.index] = got
    return todo & parsed.isna().to_numpy(), refused, ""


def parse_zoned(text: pd.Series, todo: BoolArray, parsed: pd.Series) -> BoolArray:
    """ISO times with a zone (Z, +00:00), converted to IST wall time."""
    zoned = todo & text.str.match(ZONED).to_numpy(dtype=bool, na_value=False)
    if zoned.any():
        got = pd.to_datetime(text[zoned], format="ISO8601", utc=True, errors="coerce")
        parsed[got.index] = got.dt.tz_convert(IST).dt.tz_localize(None)
    return todo & parsed.isna().to_numpy()


def format_dates(parsed: pd.Series, output: str) -> pd.Series:
    """`output` text of IST wall times; %z / %Z in `output` state the zone (+0530 / IST)."""
    if "%z" in output or "%Z" in output:
        parsed = parsed.dt.tz_localize(IST)
    text: pd.Series = parsed.dt.strftime(output).astype("str").fillna("")
    return text
