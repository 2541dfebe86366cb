"""Reading numbers the way Indian retail spreadsheets write them.

"1,25,000.50" (Indian grouping), "125,000.50" (western), "Rs. 1,25,000/-", "₹500", "500 INR",
"12 Nos", Tally's negative "(-)5 Nos", SAP's "5.000-", and with `decimal_comma` "1.234,50".
Grouping must be consistent: "1,2,3" or "12,5" is not a number, because guessing there would
silently change a value. Money marks are read only in amounts and unit words only in counts
of pieces: "Rs. 12" in a quantity column, or "499 pcs" in a price column, is a column mixed
up, not a number. Scientific notation ("8.90123E+12") is never read: it is how Excel shortens
a long number, and the digits it dropped are lost.
"""

from __future__ import annotations

import re
from datetime import datetime

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from etl.cells import arrow_text, blank_cells, contains_bytes, to_mask

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

# Excel stores 799 as 799.0000000001 at times, and =(1-0.9)*100 as 9.999999999999998 (it
# shows 10): a gap this small is never data.
EXCEL_NOISE = 1e-9
CURRENCY = r"(?:₹|₨|rs\.?|inr)"  # ₨: the older rupee sign (U+20A8)
DEFAULT_UNITS: tuple[str, ...] = ("nos", "no", "pcs", "pc", "pieces", "piece", "units", "unit")
DEFAULT_UNITS += ("ea", "each", "qty", "pairs", "pair", "sets", "set")
PLAIN = r"(?:\d+(?:\.\d*)?|\.\d+)"
WESTERN = r"\d{1,3}(?:,\d{3})+(?:\.\d*)?"  # 125,000.50
INDIAN = r"\d{1,2}(?:,\d{2})*,\d{3}(?:\.\d*)?"  # 1,25,000.50
DOT_DECIMAL = f"{PLAIN}|{WESTERN}|{INDIAN}"
COMMA_DECIMAL = r"\d+(?:,\d*)?|,\d+|\d{1,3}(?:\.\d{3})+(?:,\d*)?"
SIGN = r"(?:[+-]|\(-\))"  # Tally writes a negative quantity as "(-)5 Nos"
# Numbers only a decimal comma explains ("499,50", "1.500,000"), and those it reads otherwise
# than we do ("12,000": 12 or 12000; "1.500": 1.5 or 1500).
GROUPED_THEN_COMMA = r"\d{1,3}(?:\.\d{3})+,\d+"  # "1.500,000": no typo makes this
FEW_AFTER_COMMA = r"\d+,\d{1,2}"  # "499,50", "12,5": a decimal comma, or a typo
DECIMAL_COMMA_ONLY = f"{FEW_AFTER_COMMA}|{GROUPED_THEN_COMMA}"
# A column is a decimal-comma one on a "1.500,000", or on "12,5"s in 1 cell of 100 or more:
# one typed "12,5" among a million "1,200" must not refuse the million.
TYPO_SHARE = 0.01
EITHER_WAY = r"(?:\d{1,3},\d{3}|\d{1,3}\.\d{3})"
# What a comma-decimal number looks like to a reader expecting "1,299.50": "12,5", "1.999,50".
COMMA_DECIMAL_LOOK = rf"(?<![\d.,])(?:{DECIMAL_COMMA_ONLY})(?![\d.,])"
# "1.299" or "1.299.000": dots where thousands separators would be.
DOT_GROUPED = r"[1-9]\d{0,2}(?:\.\d{3})+"


def _shape(units: tuple[str, ...], money: bool) -> str:
    """The shape of a dressed number, as an Arrow (RE2) pattern: a sign, a currency mark, the
    digits, unit words or marks after; spaces include the non-breaking kinds."""
    marks = [rf"(?:{w})\.?" for w in sorted(map(re.escape, units), key=len, reverse=True)]
    marks += [CURRENCY, "/-"] if money else []
    space = r"[\s\p{Zs}]*"
    suffix = rf"(?:{space}(?:{'|'.join(marks)}))*" if marks else ""
    prefix = rf"(?:{CURRENCY}{space})?" if money else ""
    sign = rf"(?:{SIGN})?"
    return (
        rf"(?i)^{space}(?P<sign>{sign}){space}{prefix}(?P<sign2>{sign}){space}"
        rf"(?P<open>\(?){space}(?P<digits>[\d.,]+)(?P<sign3>-?)"  # SAP: "5.000-" is -5
        rf"{space}(?P<close>\)?){suffix}{space}$"  # Accounting style: "(5)" is -5
    )


def parse_numbers(
    text: pd.Series,
    decimal_comma: bool = False,
    units: tuple[str, ...] = DEFAULT_UNITS,
    money: bool = True,
) -> tuple[FloatArray, BoolArray]:
    """Numbers for a text column: (values with NaN for blank or bad cells, mask of bad cells).
    `units`: the unit words a number may carry; `money`: whether currency marks may."""
    cells = arrow_text(text)
    blank = blank_cells(cells)
    values = np.full(len(text), np.nan)
    todo = ~blank
    if not decimal_comma:
        todo = _plain(cells, todo, values)
    if todo.any():
        rest = np.flatnonzero(todo)
        values[rest] = _dressed(text.iloc[rest].astype("str"), decimal_comma, units, money)
    bad = ~blank & ~np.isfinite(values)
    return np.where(bad, np.nan, values), bad


def _plain(cells: pa.Array, todo: BoolArray, values: FloatArray) -> BoolArray:
    """The fast path for plain numbers ("12", "-3.5"): fills `values`, returns what is left.

    Arrow converts a whole column at once when every cell is plain; otherwise only the
    digits-only cells take this path and the rest are read by `_dressed`.
    """
    try:
        values[todo] = _floats(cells.filter(pa.array(todo)))
    except pa.ArrowInvalid:
        digits = todo & to_mask(pc.ascii_is_decimal(cells))
        values[digits] = _floats(cells.filter(pa.array(digits)))
    values[scientific(cells)] = np.nan  # Arrow reads "1e3": left to `_dressed`, which does not
    return todo & ~np.isfinite(values)


def scientific(cells: pa.Array) -> BoolArray:
    """Cells with an 'e' or 'E' (as in "8.90123E+12"); a look at the column's bytes first,
    so a column without any costs ~1 ms per million cells."""
    if not contains_bytes(cells, b"eE"):
        return np.zeros(len(cells), dtype=bool)
    found = pc.or_(pc.match_substring(cells, "e"), pc.match_substring(cells, "E"))
    return to_mask(found)


def _floats(cells: pa.Array) -> FloatArray:
    return np.asarray(pc.cast(cells, pa.float64()).to_numpy(zero_copy_only=False), dtype=float)


def _dressed(
    text: pd.Series, decimal_comma: bool, units: tuple[str, ...], money: bool
) -> FloatArray:
    """Numbers with grouping, currency marks or unit words; NaN where the cell is not one.
    Arrow's regular expressions: ~10x faster than pandas' for a million "1,200 Nos"."""
    parts = pc.extract_regex(arrow_text(text), _shape(units, money))
    digits = pc.fill_null(parts.field("digits"), "")
    grouping = COMMA_DECIMAL if decimal_comma else DOT_DECIMAL
    ok = to_mask(pc.match_substring_regex(digits, f"^(?:{grouping})$"))
    if decimal_comma:
        digits = pc.replace_substring(pc.replace_substring(digits, ".", ""), ",", ".")
    else:
        digits = pc.replace_substring(digits, ",", "")
    numbers = np.full(len(text), np.nan)
    numbers[ok] = _floats(digits.filter(pa.array(ok)))
    minus = [_minus(parts.field(field)) for field in ("sign", "sign2", "sign3")]
    opened = to_mask(pc.equal(parts.field("open"), "("))
    closed = to_mask(pc.equal(parts.field("close"), ")"))
    before, after = minus[0] | minus[1], minus[2] | (opened & closed)
    numbers[(before & after) | (opened != closed)] = np.nan  # "-3-", "-(3)", "(3": no numbers
    return np.where(before | after, -numbers, numbers)


def _minus(signs: pa.Array) -> BoolArray:
    return to_mask(pc.is_in(pc.fill_null(signs, ""), pa.array(["-", "(-)"])))


# Marks that say which currency a price is in, by ISO code. A cell marked with another
# currency than the column's (`decimal: {currency: INR}`) is refused, never converted.
CURRENCY_MARKS: dict[str, str] = {
    "INR": r"₹|₨|\brs\b\.?|\binr\b",
    "USD": r"us\$|\$|\busd\b",
    "EUR": r"€|\beur\b",
    "GBP": r"£|\bgbp\b",
    "AED": r"\baed\b",
    "SGD": r"\bsgd\b",
    "JPY": r"¥|\bjpy\b",
}


def foreign_currency(text: pd.Series) -> BoolArray:
    """Cells marked with a currency other than the rupee ("$12", "€5", "12 USD")."""
    return currency_marks(text, "INR")[1]


def either_way(text: pd.Series, bad: BoolArray) -> tuple[BoolArray, str]:
    """In a column that writes a decimal comma somewhere ("499,50", "1.500,000": no other
    reading), the cells read as numbers that a decimal comma reads otherwise ("12,000" is
    12000 or 12; "1.500" 1.5 or 1500), and the column's first such cell. Arrow's regular
    expressions (no look-behind: an edge is a start, an end or a non-number character)."""
    none = np.zeros(len(text), dtype=bool)
    cells = arrow_text(text)
    if not contains_bytes(cells, b","):
        return none, ""
    evidence = to_mask(pc.match_substring_regex(cells, _alone(GROUPED_THEN_COMMA)))
    if not evidence.any():
        evidence = to_mask(pc.match_substring_regex(cells, _alone(FEW_AFTER_COMMA)))
        if evidence.sum() < max(1.0, TYPO_SHARE * len(text)):
            return none, ""
    either = to_mask(pc.match_substring_regex(cells, _alone(EITHER_WAY)))
    return either & ~bad, str(text.iat[int(np.argmax(evidence))]).strip()


def _alone(pattern: str) -> str:
    """`pattern` not inside a longer number ("12,000" is not "2,00")."""
    return rf"(?:^|[^\d.,])(?:{pattern})(?:[^\d.,]|$)"


def scientific_look(text: pd.Series) -> BoolArray:
    """Cells in scientific notation ("8.90123E+12", "1e3")."""
    found = text.str.contains(r"\d\s*[eE]\s*[+-]?\d", regex=True)
    return found.to_numpy(dtype=bool, na_value=False)


def date_look(text: pd.Series) -> BoolArray:
    """Dates as a workbook's date cells are read ("1901-08-21", "2026-01-05 10:30:00")."""
    found = text.str.fullmatch(r"\s*\d{4}-\d{2}-\d{2}(?: \d{2}:\d{2}(?::\d{2})?)?\s*")
    return found.to_numpy(dtype=bool, na_value=False)


def percent_look(text: pd.Series) -> BoolArray:
    """A percentage ("30%", "12.5 %"): a discount or a rate, not an amount or a count."""
    found = text.str.fullmatch(r"\s*[-+]?\d+(?:[.,]\d+)?\s*%\s*")
    return found.to_numpy(dtype=bool, na_value=False)


EXCEL_EPOCH = "1899-12-30"  # Excel's day 0 (for every serial from 1900-03-01 on)


def excel_serial(text: str) -> str:
    """The number Excel shows as the date `text` (YYYY-MM-DD[ time]): its day count from
    1899-12-30 (Excel's 1900 leap day aside), with the time as a fraction; "" if none."""
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        return ""
    days = (when - datetime.fromisoformat(EXCEL_EPOCH)).total_seconds() / 86400
    if when < datetime(1900, 3, 1):
        days -= 1  # Excel counts a 29 Feb 1900 that never was: 1 is 1900-01-01
    return f"{days:.10g}"


def space_grouped_look(text: pd.Series) -> BoolArray:
    """Digits grouped with spaces ("1 200", "12 50 000"): a thousands separator some
    programs write, or two numbers in one cell - not guessed."""
    found = text.str.fullmatch(r"\s*[+-]?\d{1,3}(?:[ \u00a0\u202f]\d{2,3})+(?:[.,]\d+)?\s*")
    return found.to_numpy(dtype=bool, na_value=False)


def lost_sign_look(text: pd.Series) -> BoolArray:
    """A '?' before the number: the ₹ a cp1252 CSV could not hold ("?499")."""
    return text.str.match(r"\s*\?+\s*[\d.,]").to_numpy(dtype=bool, na_value=False)


def dash_look(text: pd.Series) -> BoolArray:
    """A dash alone: Excel's Accounting and Comma styles show 0 as " -   "."""
    return text.str.fullmatch(r"\s*[-–—]\s*").to_numpy(dtype=bool, na_value=False)


def no_number_look(text: pd.Series) -> BoolArray:
    """Words for "no value": NA, N/A, nil, none, null."""
    found = text.str.fullmatch(r"\s*(?:n\.?\s*/?\s*a\.?|nil|none|null)\s*", case=False)
    return found.to_numpy(dtype=bool, na_value=False)


def money_look(text: pd.Series) -> BoolArray:
    """Cells with a money mark ("Rs. 12", "₹12/-", "12 INR", "5 /-"), of any currency."""
    marks = "|".join([CURRENCY, "/-", *CURRENCY_MARKS.values()])
    found = text.str.contains(marks, case=False, regex=True)
    return found.to_numpy(dtype=bool, na_value=False)


def pieces_look(text: pd.Series) -> BoolArray:
    """Cells with a unit word for pieces after the number ("499 pcs", "399 Nos")."""
    words = "|".join(sorted(map(re.escape, DEFAULT_UNITS), key=len, reverse=True))
    found = text.str.contains(rf"\d\s*(?:{words})\.?\s*$", case=False, regex=True)
    return found.to_numpy(dtype=bool, na_value=False)


def unit_look(text: pd.Series) -> BoolArray:
    """A number with a word after it ("4 Box", "12 Dozen", "12.000 Kgs"): a unit."""
    found = text.str.fullmatch(r"\s*[-+(]*[\d.,]+\)?\s*[^\W\d_][^\W\d_.]*\.?\s*", case=False)
    return found.to_numpy(dtype=bool, na_value=False)


def comma_decimal_look(text: pd.Series) -> BoolArray:
    """Cells written with a decimal comma ("12,0", "1.999,50") - unreadable as "1,299.50"."""
    return text.str.contains(COMMA_DECIMAL_LOOK, regex=True).to_numpy(dtype=bool, na_value=False)


def dot_grouped_look(text: pd.Series) -> BoolArray:
    """Cells whose dots could be thousands separators ("1.299", "1.200 Nos")."""
    found = text.str.contains(rf"(?<![\d.,]){DOT_GROUPED}(?![\d.,])", regex=True)
    return found.to_numpy(dtype=bool, na_value=False)


def currency_marks(text: pd.Series, expected: str) -> tuple[pd.Series, BoolArray]:
    """(text without `expected`'s marks, mask of cells marked with another currency)."""
    others = "|".join(p for code, p in CURRENCY_MARKS.items() if code != expected)
    wrong = text.str.contains(others, case=False, regex=True).to_numpy(dtype=bool, na_value=False)
    own = CURRENCY_MARKS.get(expected, rf"\b{re.escape(expected)}\b")
    return text.str.replace(own, "", case=False, regex=True).str.strip(), wrong


def drop_float_noise(values: FloatArray, decimals: int) -> FloatArray:
    """Values within EXCEL_NOISE of one with `decimals` decimals rounded to it, as Excel
    shows them; a real further decimal (1.299, 10.5 pieces) is kept for the checks to refuse."""
    nearest = np.round(values, decimals)
    with np.errstate(invalid="ignore"):  # inf - inf: NaN, no noise
        gap = np.abs(values - nearest)
    widest = EXCEL_NOISE + 4 * np.spacing(np.nanmax(np.abs(values), initial=0.0))
    near = np.flatnonzero((gap > 0) & (gap <= widest))  # usually none: spacing only for these
    if not near.size:
        return values
    noise = near[gap[near] <= EXCEL_NOISE + 4 * np.spacing(np.abs(values[near]))]
    rounded = values.copy()
    rounded[noise] = nearest[noise]
    return rounded
