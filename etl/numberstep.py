"""The `integer` and `decimal` transforms: text cells to numbers, and why a cell is not one.

`etl.numbers` reads the numbers (grouping, currency marks, unit words); this step adds the
rules of the column (whole pieces, the column's currency, a decimal comma elsewhere in it)
and, for each cell it cannot read, the likely cause in the shop floor's words: a decimal
comma, a dot separating thousands, a lost rupee sign, Excel's dash for 0, scientific
notation, money in a count of pieces or pieces in an amount.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from etl.cells import BoolArray, arrow_text, contains_bytes
from etl.lostchars import SAVE_AS_UTF8
from etl.numbers import (
    DEFAULT_UNITS,
    TYPO_SHARE,
    FloatArray,
    comma_decimal_look,
    currency_marks,
    dash_look,
    date_look,
    dot_grouped_look,
    drop_float_noise,
    either_way,
    foreign_currency,
    lost_sign_look,
    money_look,
    no_number_look,
    parse_numbers,
    percent_look,
    pieces_look,
    scientific_look,
    space_grouped_look,
    unit_look,
)
from etl.transforms import Failure, Kind, Step, failures_of, text_of

MAX_EXACT_INTEGER = 2**53  # beyond this a float no longer holds every whole number
MARKED = "marked in another currency, but this column is in"
FOREIGN = "'{value}' has a currency sign other than ₹/Rs; amounts are in rupees"
COMMA_SETTING = " (if the export always writes them so: decimal_comma: true in the mapping)"
COMMA = (
    "'{value}' has a decimal comma: write decimals after a point (1999.50 or 1,999.50)"
    + COMMA_SETTING
)
WHOLE_COMMA = "not a whole number: a comma only separates thousands, like 1,200" + COMMA_SETTING
THOUSANDS_DOT = "not a whole number: if the '.' in '{value}' separates thousands, remove it"
DOT_EITHER_WAY = (
    "'{value}' is unclear: other cells of this column (like '{example}') use '.' to separate"
    " thousands, so it may mean thousands; write the number without the dot"
)
DOT_OR_DECIMALS = (
    "'{value}' is unclear: other cells of this column (like '{example}') have neither"
    " decimals nor a '.', so its '.' may separate thousands; write the number without the dot"
)
FRACTION = (
    "not a whole number: pieces are counted whole (if Excel shows it without decimals, the cell"
    " still holds them: correct the cell or round it with =ROUND(..., 0))"
)
DASH_ZERO = (
    "'{value}' is how Excel shows 0 in the Accounting or Comma style: write 0 (out of stock)"
    " or the real number"
)
DASH_AMOUNT = (
    "'{value}' is how Excel shows 0 in the Accounting or Comma style: write the real amount"
)
DATE_CELL = (
    "'{value}' is a date: the cell is formatted as a date in Excel, which shows a number as"
    " the day that many days after 1900 ({value} is the number {serial}); format the column"
    " as Number and check the value"
)
NO_NUMBER = "'{value}' is not a number: write the number, or 0 if there is none"
NO_AMOUNT = "'{value}' is not a number: write the amount"  # 0 is no price either
SPACED = (
    "'{value}' has spaces between its digits: write it without them if they separate"
    " thousands (1200 for '1 200'), or put each number in its own cell"
)
OTHER_UNIT = (
    "'{value}' has a unit konnect-etl does not count as pieces (it knows Nos, Pcs, units...):"
    " write the number of pieces (a box or a dozen holds several), or, if one of this unit is"
    " one piece, add it to the mapping: integer: {units: [box]}"
)
EITHER_WAY_MESSAGE = (
    "'{value}' can be read two ways: this column writes decimals with a comma elsewhere"
    " ('{example}'), so its ',' or '.' may be a decimal mark or a thousands separator; write"
    " the number without thousands separators, or if the export always writes decimal commas,"
    " set decimal_comma: true in the mapping"
)
LOST_SIGN = (
    "'{value}' has a '?' where the ₹ sign was: the file was saved in a character set without"
    ' ₹ (Excel\'s "CSV (Comma delimited)", or Windows/ANSI in other programs); ' + SAVE_AS_UTF8
)
SCIENTIFIC = (
    "'{value}' is in scientific notation: Excel shortened a long number and its last digits"
    " are lost (a barcode in this column?); format the column as Number or Text in Excel,"
    " check the value and save again"
)
SCIENTIFIC_AMOUNT = (
    "'{value}' is in scientific notation: Excel wrote the number shortened (a column too"
    " narrow, formatted General); format the column as Number with 2 decimals, check the value"
    " and save again"
)
PERCENT = "'{value}' is a percentage: write the number of pieces"
PERCENT_AMOUNT = "'{value}' is a percentage: write the amount itself (is this a discount column?)"
MONEY_IN_PIECES = (
    "'{value}' is an amount of money, not a number of pieces: does the mapping read a value"
    " or price column here?"
)
PIECES_IN_MONEY = (
    "'{value}' is a number of pieces, not an amount: does the mapping read a quantity column here?"
)


@dataclass(frozen=True)
class Number(Step):
    """`integer` and `decimal`: grouped numbers, currency marks and unit words allowed.

    An unreadable cell's message names the likely cause where it is plain: a currency other
    than the rupee, a decimal comma, a dot that separates thousands.
    """

    name = "decimal"
    accepts: tuple[Kind, ...] = ("text", "number")
    gives: Kind = "number"
    whole: bool = False
    decimal_comma: bool = False
    units: tuple[str, ...] = ()
    currency: str | None = None  # the column's currency: cells marked with another are refused

    def apply(self, values: pd.Series) -> tuple[pd.Series, list[Failure]]:
        if values.dtype.kind in "iufb" or isinstance(values.dtype, pd.Int64Dtype):
            numbers, bad = values.astype("float64").to_numpy(), np.zeros(len(values), bool)
            text, failures = values, list[Failure]()
        else:
            text, numbers, bad, failures = self._read(text_of(values))
        if not self.whole:
            failures += _hinted(text, bad, self._hints(), "not_number", "not a number")
            return pd.Series(numbers, index=values.index), failures
        numbers = drop_float_noise(np.asarray(numbers, dtype=np.float64), 0)
        fraction = np.isfinite(numbers) & (np.mod(np.nan_to_num(numbers), 1) != 0)
        huge = np.abs(np.nan_to_num(numbers)) > MAX_EXACT_INTEGER
        numbers = np.where(fraction | huge, np.nan, numbers)
        failures += _hinted(text, bad, self._hints(), "not_integer", "not a whole number")
        dots = [Hint(dot_grouped_look, "not_integer", THOUSANDS_DOT)]
        failures += _hinted(text, fraction, dots, "not_integer", FRACTION)
        failures += _dot_either_way(text, numbers, fraction)
        failures += failures_of(huge, "not_integer", "too large a number")
        ints = pd.array(np.nan_to_num(numbers).astype("int64"), dtype="Int64")
        ints[np.isnan(numbers)] = pd.NA
        return pd.Series(ints, index=values.index), failures

    def _read(self, cells: pd.Series) -> tuple[pd.Series, FloatArray, BoolArray, list[Failure]]:
        """Text cells as numbers: (the text without the column currency's marks, numbers,
        cells not read, failures already named)."""
        text, other = self._currency(cells)
        numbers, bad = parse_numbers(text, self.decimal_comma, *self._allowed())
        if bad.any() and not (self.decimal_comma or self.whole) and _comma_throughout(text):
            numbers, bad = parse_numbers(text, True, *self._allowed())
        numbers[other], bad = np.nan, bad & ~other
        failures = failures_of(
            other, "wrong_currency", f"{MARKED} {self.currency}; check the price"
        )
        if not self.decimal_comma:
            failures += self._either_way(text, numbers, bad)
        return text, numbers, bad, failures

    def _either_way(self, text: pd.Series, numbers: FloatArray, bad: BoolArray) -> list[Failure]:
        """Cells a decimal comma, written elsewhere in the column, reads otherwise: refused
        (and blanked in `numbers`) rather than read one way."""
        either, example = either_way(text, bad)
        numbers[either] = np.nan
        code = "not_integer" if self.whole else "not_number"
        return failures_of(either, code, EITHER_WAY_MESSAGE.replace("{example}", example))

    def _allowed(self) -> tuple[tuple[str, ...], bool]:
        """(unit words, whether money marks) a cell may carry: an `integer` counts pieces
        ("12 Nos"), a `decimal` is an amount ("Rs. 499") or a measure; `units:` and
        `currency:` allow more."""
        if self.whole:
            return (*DEFAULT_UNITS, *self.units), self.currency is not None
        return self.units, True

    def _hints(self) -> list[Hint]:
        """Plain causes of an unreadable cell, tried in this order."""
        code = "not_integer" if self.whole else "not_number"
        dash = DASH_ZERO if self.whole else DASH_AMOUNT
        scientific = SCIENTIFIC if self.whole else SCIENTIFIC_AMOUNT
        hints = [Hint(scientific_look, code, scientific), Hint(dash_look, code, dash)]
        hints.append(Hint(date_look, code, DATE_CELL))
        hints.append(Hint(percent_look, code, PERCENT if self.whole else PERCENT_AMOUNT))
        hints.append(Hint(no_number_look, code, NO_NUMBER if self.whole else NO_AMOUNT))
        hints.append(Hint(space_grouped_look, code, SPACED))
        units, money = self._allowed()
        if not money:
            hints.append(Hint(money_look, code, MONEY_IN_PIECES))
        if self.whole:
            hints.append(Hint(unit_look, code, OTHER_UNIT))
        if not units:
            hints.append(Hint(pieces_look, code, PIECES_IN_MONEY))
        if money:
            hints.append(Hint(lost_sign_look, code, LOST_SIGN))
        if self.currency is None and not self.whole:
            hints.append(Hint(foreign_currency, "wrong_currency", FOREIGN))
        if not self.decimal_comma:
            hints.append(Hint(comma_decimal_look, code, WHOLE_COMMA if self.whole else COMMA))
        return hints

    def _currency(self, text: pd.Series) -> tuple[pd.Series, BoolArray]:
        """The text without the column currency's marks, and the cells marked otherwise."""
        if self.currency is None:
            return text, np.zeros(len(text), dtype=bool)
        return currency_marks(text, self.currency)


# An amount with a decimal comma and two decimals, groups of three split by dots: `799,00`,
# `1.299,00` (a spreadsheet set to a European language saves CSV so, from a `#.##0,00` cell)
EUROPEAN_AMOUNT = r"\s*-?(?:\d{1,3}(?:\.\d{3})+|\d+),\d{2}\s*"


def _comma_throughout(text: pd.Series) -> bool:
    """Every filled cell of an amount column is a `EUROPEAN_AMOUNT`: it can only be read
    one way (no thousands group has two digits), so it is, without `decimal_comma`. One
    cell otherwise (`1,299.00`, `2,500`, `799`) and the column's cells are judged one by one."""
    filled = text[text.str.strip().str.len().fillna(0).to_numpy() > 0]
    return bool(len(filled)) and bool(filled.str.fullmatch(EUROPEAN_AMOUNT).all())


def _dot_either_way(
    text: pd.Series, numbers: npt.NDArray[np.floating[Any]], fraction: BoolArray
) -> list[Failure]:
    """In a whole-number column whose dots may separate thousands, a "3.000" is 3 or 3000:
    refused (and blanked in `numbers`), not read as 3. The dots separate thousands when
    "1.200" stands beside "45" (no count is 1.2 pieces), and may when "3.000" stands beside
    cells written with neither decimals nor grouping, all below 1000 (a European "#.##0"
    export: "3.000", "12.000", "250"). Columns that write three decimals on every cell
    ("12.000 Nos", SAP, Tally) read as before, as do their zeros written "0", a hand-typed
    cell in 100 or more (TYPO_SHARE), three decimals with a unit word ("12.000 Nos" beside a
    typed "5"), and columns with a "1500" or a "1,200" (no dots there). Three decimals
    beside a typed "5" and nothing else to tell ("12.000", "4.000", "5") stay refused."""
    text = text_of(text)  # cells read as numbers (XLSX) are text here; with no dots
    if not contains_bytes(arrow_text(text), b"."):  # most columns: ~1 ms per million cells
        return []
    dotted = text.str.contains(".", regex=False).to_numpy(dtype=bool, na_value=False)
    undotted = np.isfinite(numbers) & ~dotted
    if not undotted.any():  # a dot on every count (SAP, Tally): before the slower look below
        return []
    looks = dot_grouped_look(text)
    grouped = looks & np.isfinite(numbers)
    if not grouped.any():
        return []
    shown = looks & fraction
    if shown.any():
        message = DOT_EITHER_WAY
    else:
        commas = text.str.contains(",", regex=False).to_numpy(dtype=bool, na_value=False)
        plain, counted = undotted & (numbers != 0), np.isfinite(numbers) & (numbers != 0)
        if (
            (commas & counted).any()
            or plain.sum() < TYPO_SHARE * counted.sum()
            or (np.abs(numbers[plain]) >= 1000).any()
            or text[grouped].str.contains(r"[^\W\d_]", regex=True).any()  # "12.000 Nos": Tally
        ):
            return []
        shown, message = plain, DOT_OR_DECIMALS
    numbers[grouped] = np.nan
    example = str(text.iat[int(np.argmax(shown))]).strip()
    return failures_of(grouped, "not_integer", message.replace("{example}", example))


@dataclass(frozen=True)
class Hint:
    """A likely cause of a failure: the cells `looks` recognises get `message`."""

    looks: Callable[[pd.Series], BoolArray]
    code: str
    message: str


def _hinted(
    cells: pd.Series, among: BoolArray, hints: list[Hint], code: str, plain: str
) -> list[Failure]:
    """Failures for the cells of `among`: a hint's message where it applies, else `plain`."""
    left = among.copy()
    failures: list[Failure] = []
    for hint in hints:
        rows = np.flatnonzero(left)
        if not len(rows):
            break
        mask = np.zeros(len(cells), dtype=bool)
        mask[rows[hint.looks(text_of(cells.iloc[rows]))]] = True
        failures += failures_of(mask, hint.code, hint.message)
        left &= ~mask
    return failures + failures_of(left, code, plain)
