"""Vectorised cell transforms: each step turns a column of values into another column.

A step never raises for cell data. Cells it cannot read come back as `Failure` masks (with a
code and a shop-floor message) and are blanked in the output, so later steps skip them.
Missing values pass through every step untouched: "" for text, NA for numbers, [] for lists.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Callable
from collections.abc import Mapping as AbcMapping
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from etl.cells import BoolArray, blank_cells
from etl.numbers import (
    DEFAULT_UNITS,
    FloatArray,
    comma_decimal_look,
    currency_marks,
    dash_look,
    dot_grouped_look,
    drop_float_noise,
    either_way,
    foreign_currency,
    lost_sign_look,
    money_look,
    no_number_look,
    parse_numbers,
    pieces_look,
    scientific_look,
)

Kind = Literal["text", "number", "list"]
Unmatched = Literal["error", "keep"]

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
FRACTION = (
    "not a whole number: pieces are counted whole (if Excel shows it without decimals, the cell"
    " still holds them: correct the cell or round it with =ROUND(..., 0))"
)
DASH_ZERO = (
    "'{value}' is how Excel shows 0 in the Accounting or Comma style: write 0 (out of stock)"
    " or the real number"
)
NO_NUMBER = "'{value}' is not a number: write the number, or 0 if there is none"
EITHER_WAY_MESSAGE = (
    "'{value}' can be read two ways: this column writes decimals with a comma elsewhere"
    " ('{example}'), so its ',' or '.' may be a decimal mark or a thousands separator; write"
    " the number without thousands separators, or if the export always writes decimal commas,"
    " set decimal_comma: true in the mapping"
)
LOST_SIGN = (
    "'{value}' has a '?' where the ₹ sign was: the file was saved as Excel's \"CSV (Comma"
    ' delimited)", which has no ₹; save it as "CSV UTF-8 (Comma delimited)" or export it'
    " again"
)
SCIENTIFIC = (
    "'{value}' is in scientific notation: Excel shortened a long number and its last digits"
    " are lost (a barcode in this column?); format the column as Number or Text in Excel,"
    " check the value and save again"
)
MONEY_IN_PIECES = (
    "'{value}' is an amount of money, not a number of pieces: does the mapping read a value"
    " or price column here?"
)
PIECES_IN_MONEY = (
    "'{value}' is a number of pieces, not an amount: does the mapping read a quantity column here?"
)


@dataclass(frozen=True)
class Failure:
    """Rows a step could not read. `message` may contain `{value}` (the value it was given)."""

    mask: BoolArray
    code: str
    message: str


@dataclass(frozen=True)
class Step(ABC):
    """Base of all transforms. `accepts` / `gives` say what kind of column goes in and out."""

    name = "step"
    accepts: tuple[Kind, ...] = ("text",)
    gives: Kind = "text"

    @abstractmethod
    def apply(self, values: pd.Series) -> tuple[pd.Series, list[Failure]]:
        """The transformed column, and the cells it could not read."""


def text_of(values: pd.Series) -> pd.Series:
    return values.astype("str").fillna("")


@dataclass(frozen=True)
class Strip(Step):
    name = "strip"

    def apply(self, values: pd.Series) -> tuple[pd.Series, list[Failure]]:
        return text_of(values).str.strip(), []


@dataclass(frozen=True)
class Upper(Step):
    name = "upper"

    def apply(self, values: pd.Series) -> tuple[pd.Series, list[Failure]]:
        return text_of(values).str.upper(), []


@dataclass(frozen=True)
class Lower(Step):
    name = "lower"

    def apply(self, values: pd.Series) -> tuple[pd.Series, list[Failure]]:
        return text_of(values).str.lower(), []


@dataclass(frozen=True)
class Zfill(Step):
    """Put back leading zeros Excel dropped from codes stored as numbers (12345 -> 00012345).

    Only all-digit cells are padded: "CAP-RED" stays as it is.
    """

    name = "zfill"
    width: int = 0

    def apply(self, values: pd.Series) -> tuple[pd.Series, list[Failure]]:
        text = text_of(values)
        digits = text.str.fullmatch(r"\d+").to_numpy(dtype=bool, na_value=False)
        return text.where(~digits, text.str.zfill(self.width)), []


@dataclass(frozen=True)
class Replace(Step):
    name = "replace"
    pattern: str = ""
    replacement: str = ""

    def apply(self, values: pd.Series) -> tuple[pd.Series, list[Failure]]:
        return text_of(values).str.replace(self.pattern, self.replacement, regex=True), []


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
        failures += failures_of(huge, "not_integer", "too large a number")
        ints = pd.array(np.nan_to_num(numbers).astype("int64"), dtype="Int64")
        ints[np.isnan(numbers)] = pd.NA
        return pd.Series(ints, index=values.index), failures

    def _read(self, cells: pd.Series) -> tuple[pd.Series, FloatArray, BoolArray, list[Failure]]:
        """Text cells as numbers: (the text without the column currency's marks, numbers,
        cells not read, failures already named)."""
        text, other = self._currency(cells)
        numbers, bad = parse_numbers(text, self.decimal_comma, *self._allowed())
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
        hints = [Hint(scientific_look, code, SCIENTIFIC), Hint(dash_look, code, DASH_ZERO)]
        hints.append(Hint(no_number_look, code, NO_NUMBER))
        units, money = self._allowed()
        if not money:
            hints.append(Hint(money_look, code, MONEY_IN_PIECES))
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


def failures_of(mask: BoolArray, code: str, message: str) -> list[Failure]:
    return [Failure(mask, code, message)] if mask.any() else []


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


@dataclass(frozen=True)
class ValueMap(Step):
    """`map` and `lookup`: replace each value by its entry in a table (ERP name -> Fynd code).

    Keys are compared case-insensitively with runs of spaces collapsed. `source` names the
    lookup file in messages ("" for an inline `map`).
    """

    name = "map"
    table: AbcMapping[str, str] = field(default_factory=dict)
    unmatched: Unmatched = "error"
    source: str = ""

    def apply(self, values: pd.Series) -> tuple[pd.Series, list[Failure]]:
        text = text_of(values)
        codes, uniques = pd.factorize(text)
        found = [self.table.get(map_key(u)) for u in uniques]
        known = np.array([f is not None for f in found] + [True], dtype=bool)[codes]
        out = np.array(
            [f if f is not None else u for f, u in zip(found, uniques, strict=True)] + [""],
            dtype=object,
        )[codes]
        missing = ~known & ~blank_cells(text)
        if self.unmatched == "keep" or not missing.any():
            return pd.Series(out, index=text.index, dtype="str"), []
        out[missing] = ""
        where = self.source or "the mapping's value map"
        message = f"'{{value}}' is not in {where} — add it there"
        return pd.Series(out, index=text.index, dtype="str"), [
            Failure(missing, "unmapped", message)
        ]


def map_key(value: str) -> str:
    """How value-map keys are compared: case-insensitive, spaces trimmed and collapsed."""
    return " ".join(value.split()).casefold()


@dataclass(frozen=True)
class Split(Step):
    """Split one cell into a list (IMEI / serial numbers), trimming and dropping empty parts."""

    name = "split"
    gives: Kind = "list"
    pattern: str = r"[;,\n]"

    def apply(self, values: pd.Series) -> tuple[pd.Series, list[Failure]]:
        parts = text_of(values).str.split(self.pattern, regex=True)
        lists = [[p.strip() for p in cell if p.strip()] for cell in parts]
        return pd.Series(lists, index=values.index, dtype=object), []


@dataclass(frozen=True)
class Extract(Step):
    """`regex`: keep the first group of the first match (the whole match without groups)."""

    name = "regex"
    pattern: str = ""
    unmatched: Unmatched = "error"

    def apply(self, values: pd.Series) -> tuple[pd.Series, list[Failure]]:
        text = text_of(values)
        group = self.pattern if re.compile(self.pattern).groups else f"({self.pattern})"
        got = text.str.extract(group, expand=True)[0]
        missing = got.isna().to_numpy() & ~blank_cells(text)
        if self.unmatched == "keep":
            return got.fillna(text).astype("str"), []
        message = f"does not match the pattern {self.pattern}"
        return got.fillna("").astype("str"), failures_of(missing, "no_match", message)
