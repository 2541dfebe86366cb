"""Give the mapped frame Konnect's types before the schema checks run.

Mappings deliver text, or numbers where an `integer`/`decimal` transform ran. Here every
canonical field gets one type: text fields `str` (stripped; empty -> missing), number fields
float64 (text that cannot be read as a number is a `not_a_number` finding), yes/no fields
booleans, list fields lists. Amounts and quantities lose Excel's floating-point noise
(799.0000000001 -> 799.0, 9.999999999999998 -> 10: the values Excel shows), and words
Konnect takes from a fixed list get its spelling ("Sale" -> "sale", "06" -> "6"). Everything
is vectorised: a 1M-row stock file costs a few pyarrow kernels, not a million Python calls.
"""

from __future__ import annotations

import re

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from etl.feeds import Feed
from etl.findings import Finding, cell_text
from etl.konnect import REASON_CODES
from etl.numbers import drop_float_noise
from etl.schemas import (
    AMOUNT_FIELDS,
    BOOLEAN_FIELDS,
    INTEGER_FIELDS,
    LIST_FIELDS,
    NUMBER_FIELDS,
    choices,
)

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


# Words that stand for an allowed value: a reason code's meaning, as our message lists it.
ALIASES: dict[str, dict[str, str]] = {
    "reasonCode": {meaning: code for code, meaning in REASON_CODES.items()},
    "invoiceType": {"credit note": "return", "CN": "return"},  # 'Credit-Note' too
}


def canonical_words(
    words: pd.Series, allowed: tuple[str, ...], aliases: dict[str, str] | None = None
) -> pd.Series:
    """Konnect's spelling of each word of `allowed`, whatever the case or separator used
    ("Delivery Done", "BAG-PICKED"), numeric codes without leading zeros or a decimal zero
    ("06", "6.0" -> "6"), the allowed value an alias stands for ("Out of stock" -> "6"), and
    an ERP drop-down's code with its meaning when both say the same ("6 - Out of stock").
    Other words are left as they are, for the schema to refuse ("6 - Damaged": 6 or 9?)."""
    spelling = {word_key(word): word for word in allowed}
    spelling |= {word_key(alias): value for alias, value in (aliases or {}).items()}

    def spell(word: str) -> str:
        if (found := spelling.get(word_key(word))) is not None:
            return found
        both = CODE_AND_MEANING.fullmatch(word.strip())
        if both is not None:
            code, meaning = (spelling.get(word_key(part)) for part in both.groups())
            if code is not None and code == meaning:
                return code
        return word

    # A column holds a handful of distinct words: spell each once, not once per row.
    codes, uniques = pd.factorize(words)
    spelt = np.array([spell(u) for u in uniques] + [pd.NA], dtype=object)
    return pd.Series(spelt[codes], index=words.index, dtype="str")


# "6 - Out of stock", "6: out of stock", "06) Out Of Stock": a code, then what it means
CODE_AND_MEANING = re.compile(r"(\w+)\s*[-–:)]\s*(\S.*)")


def word_key(word: str) -> str:
    """How an allowed word is recognised: any case, any run of spaces, '-' or '_' as '_'."""
    key = re.sub(r"[\s_-]+", "_", word.strip().casefold())
    return re.sub(r"^0+(?=\d)", "", re.sub(r"^(\d+)\.0+$", r"\1", key))


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
        allowed = choices(feed, field)
        if allowed:
            work[field] = canonical_words(work[field], allowed, ALIASES.get(field))
        code = "not_yes_no" if field in BOOLEAN_FIELDS else "not_a_number"
        findings.extend(Finding(int(i), field, code) for i in np.flatnonzero(bad))
    return pd.DataFrame(work, index=index), findings


def _typed(field: str, raw: pd.Series) -> tuple[pd.Series, BoolArray]:
    if field in NUMBER_FIELDS:
        numbers, bad = to_number(raw)
        decimals = 2 if field in AMOUNT_FIELDS else 0 if field in INTEGER_FIELDS else None
        if decimals is not None:
            rounded = drop_float_noise(numbers.to_numpy(dtype="float64"), decimals)
            numbers = pd.Series(rounded, index=numbers.index, dtype="float64")
        return numbers, bad
    if field in BOOLEAN_FIELDS:
        return to_boolean(raw)
    if field in LIST_FIELDS:
        return to_list(raw), np.zeros(len(raw), dtype=bool)
    return to_text(raw), np.zeros(len(raw), dtype=bool)


def zero_negative_stock(work: pd.DataFrame) -> BoolArray:
    """`negative_stock: zero`: a whole negative quantity is sent as 0 (out of stock).

    Returns the rows changed, so that each can say what the file said.
    """
    quantity = work["quantity"]
    negative: BoolArray = ((quantity < 0) & (quantity == np.floor(quantity))).to_numpy(dtype=bool)
    work.loc[negative, "quantity"] = 0.0
    return negative
