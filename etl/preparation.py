"""Give the mapped frame Konnect's types before the schema checks run.

Mappings deliver text, or numbers where an `integer`/`decimal` transform ran. Here every
canonical field gets one type: text fields `str` (stripped; empty -> missing), number fields
float64 (text that cannot be read as a number is a `not_a_number` finding), yes/no fields
booleans, list fields lists. Everything is vectorised: a 1M-row stock file costs a few
pyarrow kernels, not a million Python calls.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from etl.feeds import Feed
from etl.findings import Finding, cell_text
from etl.schemas import BOOLEAN_FIELDS, LIST_FIELDS, NUMBER_FIELDS

BoolArray = npt.NDArray[np.bool_]
NUMBER = r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$"
TRUE_WORDS = frozenset({"yes", "y", "true", "1"})
FALSE_WORDS = frozenset({"no", "n", "false", "0"})


def to_text(series: pd.Series) -> pd.Series:
    """Stripped `str` values; empty or blank cells become missing (NA)."""
    if not isinstance(series.dtype, pd.StringDtype):
        plain = pd.api.types.infer_dtype(series, skipna=True) in ("string", "empty")
        # Numbers and lists need cell_text (12.0 -> '12'); plain text converts in bulk.
        series = (series if plain else series.map(cell_text, na_action="ignore")).astype("str")
    stripped = series.str.strip()
    empty = stripped == ""
    return stripped.where(~empty) if empty.any() else stripped  # a copy only when needed


def to_number(series: pd.Series) -> tuple[pd.Series, BoolArray]:
    """float64 values (NaN where empty) and a mask of cells that are text but not numbers."""
    if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
        return series.astype("float64"), np.zeros(len(series), dtype=bool)
    text = to_text(series)
    readable = text.str.fullmatch(NUMBER).fillna(False).to_numpy(dtype=bool)
    arrow = pa.array(text.where(readable), type=pa.large_string())
    numbers = pc.cast(arrow, pa.float64()).to_numpy(zero_copy_only=False).copy()
    # '1e999' reads as infinity: not a number anyone meant.
    unreadable = text.notna().to_numpy(dtype=bool) & ~(readable & np.isfinite(numbers))
    numbers[unreadable] = np.nan
    return pd.Series(numbers, index=series.index, dtype="float64"), unreadable


def to_boolean(series: pd.Series) -> tuple[pd.Series, BoolArray]:
    """True/False from Yes/No/Y/N/TRUE/FALSE/1/0 (any case); a mask of other words."""
    words = to_text(series).str.lower()
    result = pd.Series(pd.NA, index=series.index, dtype="boolean")
    result[words.isin(TRUE_WORDS).to_numpy(dtype=bool)] = True
    result[words.isin(FALSE_WORDS).to_numpy(dtype=bool)] = False
    unreadable = words.notna().to_numpy(dtype=bool) & result.isna().to_numpy(dtype=bool)
    return result, unreadable


def to_list(series: pd.Series) -> pd.Series:
    """Lists of non-empty text (a text cell splits on commas, semicolons, pipes, blanks)."""

    def one(value: object) -> list[str] | None:
        items = value if isinstance(value, list | tuple) else str(value).replace(";", ",")
        if isinstance(items, str):
            items = items.replace("|", ",").replace(" ", ",").split(",")
        kept = [cell_text(v).strip() for v in items if cell_text(v).strip()]
        return kept or None

    return series.map(one, na_action="ignore").astype(object)


def prepare(feed: Feed, frame: pd.DataFrame) -> tuple[pd.DataFrame, list[Finding]]:
    """A typed copy of `frame` with every canonical field, and the cells that cannot be read."""
    work: dict[str, pd.Series] = {}
    findings: list[Finding] = []
    index = pd.RangeIndex(len(frame))
    for field in feed.columns:
        raw = frame[field].reset_index(drop=True) if field in frame.columns else None
        if raw is None:
            raw = pd.Series(pd.NA, index=index, dtype="str")
        work[field], bad = _typed(field, raw)
        code = "not_yes_no" if field in BOOLEAN_FIELDS else "not_a_number"
        findings.extend(Finding(int(i), field, code) for i in np.flatnonzero(bad))
    return pd.DataFrame(work, index=index), findings


def _typed(field: str, raw: pd.Series) -> tuple[pd.Series, BoolArray]:
    if field in NUMBER_FIELDS:
        return to_number(raw)
    if field in BOOLEAN_FIELDS:
        return to_boolean(raw)
    if field in LIST_FIELDS:
        return to_list(raw), np.zeros(len(raw), dtype=bool)
    return to_text(raw), np.zeros(len(raw), dtype=bool)


def zero_negative_stock(work: pd.DataFrame) -> None:
    """`negative_stock: zero`: a whole negative quantity is sent as 0 (out of stock)."""
    quantity = work["quantity"]
    negative = (quantity < 0) & (quantity == np.floor(quantity))
    work.loc[negative, "quantity"] = 0.0
