"""Dates typed as text with day and month in either order: decide per column, never guess.

`05/01/2026` is 5 January in India and May 1 in the US. Without an explicit `formats:` in the
mapping, a column is read day-first when one of its dates has a first part above 12, and
month-first when one has a second part above 12. When every date fits both ways, the column
cannot tell: those cells are rejected, with a hint to set the format in the mapping.

A mapping may declare the order instead (`order: day-first`, `parse_in_order`): then a column
that cannot tell is read that way, and a column holding a date that exists only the other way
round (`01/13/2026` when read day first) has all its numeric dates refused as swapped.
`typed_order` tells the order a column's text proves it was typed in: the date step checks a
workbook's date cells against it (a spreadsheet reading the other order stored them).
Dates with a month name (`7-Jan-26`, `Jan 7, 2026`) are never ambiguous and always read. A
time may follow, on the 24-hour clock or with AM/PM (`2:30 PM`).

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
Declared = Literal["day", "month"]

IST = "Asia/Kolkata"
_OTHER: dict[Declared, Declared] = {"day": "month", "month": "day"}
Refusal = tuple[BoolArray, str, str]  # (cells, code, message)
# a time after the date, 24-hour or with AM/PM (`27-Nov-2026 2:30 PM`, as many exports write)
TIME = r"(?:[ T](?P<t>\d{1,2}:\d{2}(?::\d{2})?)(?:\s*(?P<p>[AaPp]\.?[Mm]\.?))?)?$"
NUMERIC_DATE = r"^(?P<a>\d{1,2})[/.-](?P<b>\d{1,2})[/.-](?P<y>\d{4}|\d{2})" + TIME
DAY_NAME = r"^(?P<d>\d{1,2})[-/ .]?(?P<m>[A-Za-z]{3,9})\.?[-/ .,]*(?P<y>\d{4}|\d{2})" + TIME
NAME_DAY = r"^(?P<m>[A-Za-z]{3,9})\.?[-/ .]?(?P<d>\d{1,2})(?:st|nd|rd|th)?[-/ .,]+(?P<y>\d{4})"
NAME_DAY += TIME
MONTH_NAMES = "jan january|feb february|mar march|apr april|may|jun june|jul july|aug august"
MONTH_NAMES += "|sep sept september|oct october|nov november|dec december"
MONTHS = {n: i for i, names in enumerate(MONTH_NAMES.split("|"), 1) for n in names.split()}
ZONED = r"^\d{4}-\d{2}-\d{2}[T ]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})$"
AMBIGUOUS = (
    "day and month may be swapped - every date in this column fits both ways; set the format "
    "in the mapping, e.g. formats: ['%d/%m/%Y']"
)
MIXED = "this column has dates in both day-first and month-first order; check the export"
SWAPPED = (
    "day and month may be swapped - this column has '{example}', a date only when read "
    "{other} first, but its dates are read {order} first; check the export, or set the "
    "format in the mapping"
)
NO_SUCH_DATE = "not a date when read {order} first ({shape})"
NO_SUCH_TIME = (
    "the date is right but the time is no time of day: hours run from 00 to 23 and minutes"
    " from 00 to 59 (24:00 is 00:00 of the next day)"
)
SHAPES = {"day": "dd/mm/yyyy", "month": "mm/dd/yyyy"}


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
    """Fill `parsed` for month-name cells, and dd/mm/yyyy-style cells once the column decides
    their order.

    Returns (cells still unread, cells refused as ambiguous or mixed, the refusal message).
    """
    todo = parse_month_names(text, todo, parsed)
    parts = text[todo].str.extract(NUMERIC_DATE)
    found = parts["a"].notna()
    refused = np.zeros(len(text), dtype=bool)
    if not found.any():
        return todo, refused, ""
    parts = parts[found]
    order = column_order(parts)
    if order == "ambiguous" or order == "mixed":
        refused[text.index.get_indexer(parts.index)] = True
        return todo & ~refused, refused, AMBIGUOUS if order == "ambiguous" else MIXED
    got = _read_parts(parts, order)
    parsed[got.index] = got
    return todo & parsed.isna().to_numpy(), refused, ""


def parse_in_order(text: pd.Series, order: Declared) -> tuple[pd.Series, list[Refusal]]:
    """Numeric dates read in the order a mapping declares (`order: day-first`).

    Returns the datetimes read (NaT elsewhere) and the refused cells. A column that holds a
    date existing only the other way round (`01/13/2026` read day first) may be written that
    way throughout: its dates that read both ways (`07/01/2026`) are refused with it, while
    one that exists only in the declared order (`13/01/2026`) is read. A numeric date that
    does not exist either way (`31/02/2026`) is refused.
    """
    parsed = pd.Series(pd.NaT, index=text.index, dtype="datetime64[ns]")
    parts = text.str.extract(NUMERIC_DATE)
    parts = parts[parts["a"].notna()]
    if parts.empty:
        return parsed, []
    wanted, other = _read_parts(parts, order), _read_parts(parts, _OTHER[order])
    only_other = parts.index[wanted.isna() & other.notna()]
    if len(only_other):
        example = str(text[only_other[0]])
        why = SWAPPED.format(example=example, other=_OTHER[order], order=order)
        suspect = parts.index[other.notna()]  # swapped, or reads both ways
        sure = wanted.index[wanted.notna() & other.isna()]
        parsed[sure] = wanted[sure]
        return parsed, [(_mask(text, suspect), "ambiguous_date", why)]
    parsed[wanted.index] = wanted
    missing = wanted.index[wanted.isna()]
    dated = _read_parts(parts.loc[missing].assign(t=None, p=None), order)  # the date alone
    no_time = dated.index[dated.notna()]  # `28/11/2026 24:00`: a good day, no time of day
    why = NO_SUCH_DATE.format(order=order, shape=SHAPES[order])
    found = [
        (_mask(text, no_time), "not_date", NO_SUCH_TIME),
        (_mask(text, missing.difference(no_time)), "not_date", why),
    ]
    return parsed, [f for f in found if f[0].any()]


def typed_order(text: pd.Series) -> tuple[Declared, str] | None:
    """The order a column's numeric dates prove they were written in, and the first that
    proves it: one that exists only day first (`13/01/2026`) or only month first
    (`01/13/2026`). None when none does, or when both kinds are there."""
    parts = text.str.extract(NUMERIC_DATE)
    parts = parts[parts["a"].notna()]
    if parts.empty:
        return None
    day, month = _read_parts(parts, "day").notna(), _read_parts(parts, "month").notna()
    proofs: dict[Declared, pd.Index] = {"day": parts.index[day & ~month]}
    proofs["month"] = parts.index[month & ~day]
    shown = [order for order, cells in proofs.items() if len(cells)]
    if len(shown) != 1:  # none, or both: the column proves no one order
        return None
    return shown[0], str(text[proofs[shown[0]][0]])


def no_time_of_day(text: pd.Series) -> BoolArray:
    """Cells whose date reads (either order) but whose time is no time of day (`24:00`)."""
    parts = text.str.extract(NUMERIC_DATE)
    parts = parts[parts["a"].notna() & parts["t"].notna()]
    if parts.empty:
        return np.zeros(len(text), dtype=bool)
    dated = parts.assign(t=None, p=None)
    alone = _read_parts(dated, "day").notna() | _read_parts(dated, "month").notna()
    timed = _read_parts(parts, "day").notna() | _read_parts(parts, "month").notna()
    return _mask(text, parts.index[alone & ~timed])


def parse_month_names(text: pd.Series, todo: BoolArray, parsed: pd.Series) -> BoolArray:
    """`7-Jan-26`, `07 January 2026 14:30`, `Jan 7, 2026`: a month name is never swapped."""
    for pattern in (DAY_NAME, NAME_DAY):
        if not todo.any():
            break
        parts = text[todo].str.extract(pattern)
        month = parts["m"].str.casefold().map(MONTHS)
        parts = parts[month.notna()].assign(m=month.dropna().astype(int).astype(str))
        if not parts.empty:
            got = _stamps(parts["y"], parts["m"], parts["d"], _clock(parts["t"], parts["p"]))
            parsed[got.index] = got
            todo = todo & parsed.isna().to_numpy()
    return todo


def _read_parts(parts: pd.DataFrame, order: Declared) -> pd.Series:
    """Datetimes of NUMERIC_DATE parts read day first or month first (NaT: no such date)."""
    day, month = (parts["a"], parts["b"]) if order == "day" else (parts["b"], parts["a"])
    return _stamps(parts["y"], month, day, _clock(parts["t"], parts["p"]))


def _clock(time: pd.Series, marks: pd.Series) -> pd.Series:
    """24-hour times: `2:30` with `PM` is 14:30, `12:05 AM` 00:05; an hour above 12 with
    AM/PM is no time (left unreadable)."""
    marked = marks.notna()
    if not marked.any():
        return time
    hours = pd.to_numeric(time.str.extract(r"^(\d{1,2})")[0], errors="coerce")
    pm = marks.fillna("").str.lower().str.startswith("p")
    fixed = (hours % 12 + pm * 12).astype("Int64").astype(str).str.zfill(2)
    fixed = fixed + time.str.replace(r"^\d{1,2}", "", regex=True)
    fixed = fixed.where(~(hours > 12) & (hours >= 1), "99:99")  # 13:30 PM, 0:30 AM: no time
    return time.where(~marked, fixed)


def _stamps(year: pd.Series, month: pd.Series, day: pd.Series, time: pd.Series) -> pd.Series:
    year = year.where(year.str.len() == 4, "20" + year)
    stamp = year + "-" + month.str.zfill(2) + "-" + day.str.zfill(2)
    stamp = stamp + " " + time.fillna("00:00").str.replace(r"^(\d:)", r"0\1", regex=True)
    return pd.to_datetime(stamp, format="mixed", errors="coerce")


def _mask(text: pd.Series, index: pd.Index) -> BoolArray:
    mask = np.zeros(len(text), dtype=bool)
    mask[text.index.get_indexer(index)] = True
    return mask


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
