"""The `date` / `datetime` step: explicit formats, ISO text, zoned times, numeric dates
whose day/month order the column (or the mapping's `order:`) decides, then Excel serials.

Dates are formatted as Konnect takes them (`output`); cells that are no date, or whose order
cannot be told, come back as failures with the formats the user should write.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time
from functools import lru_cache

import numpy as np
import pandas as pd

from etl.cells import BoolArray, blank_cells
from etl.dates import (
    NO_SUCH_TIME,
    Declared,
    format_dates,
    no_time_of_day,
    parse_in_order,
    parse_numeric_dates,
    parse_zoned,
    typed_order,
)
from etl.numbers import EXCEL_EPOCH
from etl.transforms import Failure, Step, failures_of, text_of

ISO_FORMATS: tuple[str, ...] = (
    "%Y-%m-%d",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%dT%H:%M:%S.%f",
)
ISO_FORMATS += ("%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%d %H:%M")  # a workbook's time with a fraction
MAX_EXCEL_SERIAL = 2958465  # 9999-12-31
SERIAL = re.compile(r"\d{1,7}(?:\.\d+)?")
# A serial typed or exported as *text* is read only from 2000-01-01 to two years from today,
# and never with a leading zero (no program writes a day count so): '050126' (5 Jan 26,
# ddmmyy) would be day 50126, 27-03-2037. A workbook's number cell keeps the full range.
FIRST_TEXT_SERIAL = 36526  # 2000-01-01
TEXT_SERIAL_YEARS_AHEAD = 2
SHORT_DATE = (
    "'{value}' could be a date written without separators or an Excel date number, so it is"
    " not read: write the date as dd-mm-yyyy, the year in full (05-01-2026)"
)
WORKBOOK_DATE = r"^\d{4}-\d{2}-\d{2}(?:[ T]|$)"  # a date cell's ISO text
SWAPPED_CELL = (
    "the spreadsheet holds {held} here, but this column also has {proof}, a date written "
    "{typed} first, which the spreadsheet kept as text: it read {as_read} {other} first, as a "
    "spreadsheet set to {locale} does. Type the column's dates again as {named} or {iso} (or "
    "format the column as Text first) and send the file again"
)
LOCALES = {"day": "English (United States)", "month": "English (India) or English (United Kingdom)"}


@dataclass(frozen=True)
class DateStep(Step):
    """`date` / `datetime`: explicit strptime formats, ISO text, then Excel serial numbers."""

    name = "date"
    formats: tuple[str, ...] = ()
    with_time: bool = False
    output: str = "%Y-%m-%d"
    excel_serial: bool = True
    order: Declared | None = None  # `order: day-first`: how to read 05/01/2026
    today: date | None = None  # for the text-serial window (None: the clock's)

    def apply(self, values: pd.Series) -> tuple[pd.Series, list[Failure]]:
        return self.apply_typed(values, None)

    def apply_typed(
        self, values: pd.Series, number_cells: BoolArray | None
    ) -> tuple[pd.Series, list[Failure]]:
        """`apply`, knowing which cells were numbers in the workbook (None: all text)."""
        text = text_of(values).str.strip()
        text, refusals = _unswapped(text, number_cells)  # before `order` rewrites text cells
        if self.order is not None:
            text, in_order = _in_order(text, self.order)
            refusals += in_order
        todo = ~blank_cells(text)
        parsed = pd.Series(pd.NaT, index=text.index, dtype="datetime64[ns]")
        for fmt in (*self.formats, *ISO_FORMATS):
            if not todo.any():
                break
            got = pd.to_datetime(text[todo], format=fmt, errors="coerce")
            parsed[todo] = got
            todo &= parsed.isna().to_numpy()
        todo = parse_zoned(text, todo, parsed) if todo.any() else todo
        refused, why = np.zeros(len(text), dtype=bool), ""
        if not self.formats and todo.any():  # explicit formats win; else the column decides
            todo, refused, why = parse_numeric_dates(text, todo, parsed)
        short = np.zeros(len(text), dtype=bool)
        if self.excel_serial and todo.any():
            todo, short = self._serials(text, todo, parsed, number_cells)
        out = format_dates(parsed, self.output)
        what = "date and time" if self.with_time else "date"
        shown = " or ".join(_readable(f) for f in self.formats)
        hint = f" (expected {shown})" if self.formats else ""
        no_time = todo.copy()  # looked for in the cells left unread only, not the column
        no_time[todo] = no_time_of_day(text[todo]) if todo.any() else []
        failures = failures_of(no_time, "not_date", NO_SUCH_TIME)
        failures += failures_of(todo & short, "not_date", SHORT_DATE)
        failures += failures_of(todo & ~no_time & ~short, "not_date", f"not a {what}{hint}")
        failures += failures_of(refused, "ambiguous_date", why) + refusals
        return out.where(~(todo | refused), ""), failures

    def _serials(
        self, text: pd.Series, todo: BoolArray, parsed: pd.Series, number_cells: BoolArray | None
    ) -> tuple[BoolArray, BoolArray]:
        """Read the serials among the cells `todo`; the cells still unread, and those of
        them that are a text serial out of the window (`SHORT_DATE`)."""
        serial = todo & text.str.fullmatch(SERIAL.pattern).to_numpy(dtype=bool, na_value=False)
        days = pd.to_numeric(text[serial], errors="coerce")
        numbers = np.zeros(len(text), dtype=bool) if number_cells is None else number_cells
        as_text = ~numbers[serial]
        plausible = (days >= FIRST_TEXT_SERIAL) & (days <= self._last_text_serial())
        plausible &= ~text[serial].str.startswith("0")
        days = days[(days >= 1) & (days <= MAX_EXCEL_SERIAL) & (plausible | ~as_text)]
        stamps = pd.to_datetime(days, unit="D", origin=EXCEL_EPOCH)
        # to the second, as Excel shows a time: 46353.99999999 is midnight, and a serial
        # written with 6 decimals (a tool's, or typed: 46353.604166 is 14:29:59.94) 14:30
        parsed[days.index] = stamps.dt.round("s")
        return todo & parsed.isna().to_numpy(), serial & parsed.isna().to_numpy()

    def _last_text_serial(self) -> float:
        today = self.today or date.today()
        last = today.replace(year=today.year + TEXT_SERIAL_YEARS_AHEAD, day=min(today.day, 28))
        return float((pd.Timestamp(last) - pd.Timestamp(EXCEL_EPOCH)).days)


_CODES = {"%d": "dd", "%m": "mm", "%Y": "yyyy", "%y": "yy", "%H": "hh", "%I": "hh",
          "%M": "mm", "%S": "ss", "%b": "Jan", "%B": "January", "%p": "AM/PM"}  # fmt: skip


def _readable(fmt: str) -> str:
    """'%d-%m-%Y %H:%M' as a user reads it: 'dd-mm-yyyy hh:mm'."""
    return re.sub(r"%[a-zA-Z]", lambda m: _CODES.get(m.group(0), m.group(0)), fmt)


def _in_order(text: pd.Series, order: Declared) -> tuple[pd.Series, list[Failure]]:
    """Numeric dates (`05/01/2026`) read in the declared order and handed on as ISO text;
    the cells refused as swapped are blanked, with their failures."""
    parsed, refusals = parse_in_order(text, order)
    given = text.mask(parsed.notna(), parsed.dt.strftime("%Y-%m-%dT%H:%M:%S"))
    for cells, _, _ in refusals:
        given = given.mask(cells, "")
    return given, [Failure(*refusal) for refusal in refusals]


@dataclass(frozen=True)
class SwappedCells(Failure):
    """Workbook date cells the spreadsheet may have read in the other order than they were
    typed. `proof`: the column's text cell that shows the typist's order (`typed`)."""

    proof: str = ""
    typed: Declared = "day"

    def said(self, value: str) -> str:
        return _swapped_message(self.message, value.strip(), self.proof, self.typed)


@lru_cache(maxsize=4096)  # a column refused whole holds a few hundred dates, said per cell
def _swapped_message(template: str, value: str, proof: str, typed: Declared) -> str:
    held = datetime.fromisoformat(value)
    clock = _time_shown(held)
    meant = date(held.year, held.day, held.month)  # the typed day was read as the month
    mark = re.sub(r"[\d\s:]", "", proof)[:1] or "/"  # the typist's separator
    read = (held.month, held.day) if typed == "day" else (held.day, held.month)
    return template.format(
        held=f"{held.day} {held:%b %Y}{clock}", proof=proof, typed=typed,
        as_read=f"{read[0]:02d}{mark}{read[1]:02d}{mark}{held.year}{clock}",
        other="month" if typed == "day" else "day", locale=LOCALES[typed],
        named=f"{meant:%d-%b-%Y}{clock}", iso=f"{meant:%Y-%m-%d}{clock}",
    )  # fmt: skip


def _time_shown(stamp: datetime) -> str:
    """' 14:30' (' 14:30:15') after a date; nothing at midnight, as a date cell shows."""
    if stamp.time() == time():
        return ""
    return stamp.strftime(" %H:%M:%S" if stamp.second else " %H:%M")


def _unswapped(text: pd.Series, number_cells: BoolArray | None) -> tuple[pd.Series, list[Failure]]:
    """The column with the workbook date cells that its text shows may be swapped made
    blank, and their failure. A typist writing day first on a spreadsheet that reads month
    first gets 13/01/2026 kept as text and 07/01/2026 stored as 1 July (and the other way
    round): when a text cell holds a date that exists only in one order, the date cells whose
    day could be a month, and differs from it, are refused. Date cells alone, or beside text
    that reads both ways, prove nothing and are read."""
    if number_cells is None or number_cells.all() or not number_cells.any():
        return text, []
    swapped = number_cells.copy()
    swapped[number_cells] = _could_be_swapped(text[number_cells])
    typed = ~number_cells & ~blank_cells(text)
    found = typed_order(text[typed]) if swapped.any() and typed.any() else None
    if found is None:
        return text, []
    order, proof = found
    failure = SwappedCells(swapped, "ambiguous_date", SWAPPED_CELL, proof, order)
    return text.mask(swapped, ""), [failure]


def _could_be_swapped(cells: pd.Series) -> BoolArray:
    """Date cells (ISO text) whose day could be a month, and is not the month (05/05 reads
    the same both ways). Sliced, not parsed: a column may hold a million of them."""
    month, day = cells.str.slice(5, 7), cells.str.slice(8, 10)
    shaped = cells.str.match(WORKBOOK_DATE).to_numpy(dtype=bool, na_value=False)
    return shaped & ((day <= "12") & (day != month)).to_numpy(dtype=bool, na_value=False)
