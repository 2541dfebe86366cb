"""Vectorised cell transforms: each step turns a column of values into another column.

A step never raises for cell data. Cells it cannot read come back as `Failure` masks (with a
code and a shop-floor message) and are blanked in the output, so later steps skip them.
Missing values pass through every step untouched: "" for text, NA for numbers, [] for lists.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Mapping as AbcMapping
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from etl.cells import BoolArray, blank_cells
from etl.numbers import excel_serial

Kind = Literal["text", "number", "list"]
Unmatched = Literal["error", "keep"]


@dataclass(frozen=True)
class Failure:
    """Rows a step could not read. `message` may contain `{value}` (the value it was given)
    and `{serial}` (the number Excel shows as that date)."""

    mask: BoolArray
    code: str
    message: str

    def said(self, value: str) -> str:
        """The message for one cell's `value`."""
        message = self.message.replace("{value}", value)
        if "{serial}" in message:  # a number shown as a date: the number it was
            message = message.replace("{serial}", excel_serial(value) or "?")
        return message


@dataclass(frozen=True)
class Step(ABC):
    """Base of all transforms. `accepts` / `gives` say what kind of column goes in and out."""

    name = "step"
    accepts: tuple[Kind, ...] = ("text",)
    gives: Kind = "text"

    @abstractmethod
    def apply(self, values: pd.Series) -> tuple[pd.Series, list[Failure]]:
        """The transformed column, and the cells it could not read."""

    def apply_typed(
        self, values: pd.Series, number_cells: BoolArray | None
    ) -> tuple[pd.Series, list[Failure]]:
        """`apply`, told which cells were numbers in the workbook (the date step reads an
        Excel serial typed as text in a narrower window)."""
        return self.apply(values)


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


def failures_of(mask: BoolArray, code: str, message: str) -> list[Failure]:
    return [Failure(mask, code, message)] if mask.any() else []


SHOWN_VALUES = 8  # a value map this short is listed in its message


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
    choices: tuple[str, ...] = ()  # the keys as the mapping writes them, to list (not lookups)

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
        return pd.Series(out, index=text.index, dtype="str"), [
            Failure(missing, "unmapped", self._unknown())
        ]

    def _unknown(self) -> str:
        """'... is not in X': a short table's values are named, for the person fixing the
        cell; a new one is for whoever keeps the mappings to add (not the shop's staff)."""
        where = self.source or "the mapping's value map"
        if not self.choices or len(self.choices) > SHOWN_VALUES:
            return (
                f"'{{value}}' is not in {where} — if it is a new one, have it added there{RESTART}"
            )
        listed = ", ".join(f"'{k}'" for k in self.choices)
        return (
            f"'{{value}}' is not in {where}: write one of {listed}, or, if it is a new one,"
            f" have it added there{RESTART}"
        )


# A watcher loads mappings and lookup files once: an added name is not seen until it restarts.
RESTART = " (a running watcher reads it when it starts: restart it after adding)"


def map_key(value: str) -> str:
    """How value-map keys are compared: case-insensitive, spaces trimmed and collapsed."""
    return " ".join(value.split()).casefold()


# Two serial numbers in one part: a space inside (no IMEI or serial number has one) or a '/'
# between two long runs of digits ("356938035643809 / 356938035643817").
JOINED = re.compile(r"\S\s+\S|\d{8}\s*/\s*\d{8}")
SERIALS_JOINED = (
    "'{value}' holds serial numbers joined by a space or '/': separate them with ';' (no"
    " serial number has a space in it)"
)


@dataclass(frozen=True)
class Split(Step):
    """Split one cell into a list (IMEI / serial numbers), trimming and dropping empty parts."""

    name = "split"
    gives: Kind = "list"
    pattern: str = r"[;,\n]"

    def apply(self, values: pd.Series) -> tuple[pd.Series, list[Failure]]:
        parts = text_of(values).str.split(self.pattern, regex=True)
        lists = [[p.strip() for p in cell if p.strip()] for cell in parts]
        joined = np.array([any(JOINED.search(p) for p in cell) for cell in lists], dtype=bool)
        failures = failures_of(joined, "serials_joined", SERIALS_JOINED)
        return pd.Series(lists, index=values.index, dtype=object), failures


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
