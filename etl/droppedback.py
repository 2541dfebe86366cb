"""Our own report files dropped back into the inbox, told by their names and columns.

An errors file comes back fixed: under its own name, renamed by the inbox, copied by a
browser, Windows, Google Drive, Outlook or Finder, or as the errors file of a fixed errors
file; with our `error` and `row` columns last, or moved, or one of them deleted. Its `row`
column numbers the rows of the file it was written for. A result file dropped by mistake
ends in our `row`, `status`, `message` columns. Our columns are suffixed " (konnect-etl)"
where the export had columns of those names (`etl.report.extra_names`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

OWN_COLUMN = r"{}(?: \(konnect-etl(?: \d+)?\))?"


# Our errors file as it comes back: `stock.errors.csv`, renamed by the inbox when the name
# is taken (`stock.errors-2.csv`), a copy from a browser or Windows (`stock.errors (1).csv`,
# `stock.errors - Copy.csv`), Google Drive or Outlook (`Copy of stock.errors.csv`) or a Mac's
# Finder (`stock.errors copy 2.csv`), the errors file of a fixed errors file.
def export_stems(found: re.Match[str]) -> list[str]:
    """The names (without extension) the export of an errors file `ERRORS_NAME` matched may
    have had: `Copy of stock` is an export of that name, or a copy of `stock`'s errors file."""
    stem = found["stem"]
    return [found["copy"] + stem, stem] if found["copy"] else [stem]


_ERRORS_PART = r"\.errors(?:-\d+| ?\(\d+\)| - copy(?: \(\d+\))?| copy(?: \d+)?)?"
ERRORS_NAME = re.compile(
    rf"(?P<copy>copy of )?(?P<stem>.+?)(?:{_ERRORS_PART})+(?P<suffix>\.[^.]+)", re.IGNORECASE
)
_LAST_ERRORS_PART = re.compile(rf"(?P<inner>.+){_ERRORS_PART}\.[^.]+", re.IGNORECASE)


def fixed_before(name: str) -> str | None:
    """For the errors file of a fixed errors file (`stock.errors-2.errors.csv`), the name
    the fixed file was filed under, without extension (`stock.errors-2`): its `row` column
    numbers that file's rows, not the export's. None for an export's errors file."""
    found = _LAST_ERRORS_PART.fullmatch(name)
    if found is None or ERRORS_NAME.fullmatch(found["inner"] + ".x") is None:
        return None
    return found["inner"]


def own_columns(header: Sequence[str]) -> int:
    """How many trailing columns are ours from an earlier errors file (`error`, `row`): 0 or 2."""
    if len(header) <= 2:
        return 0
    error, row = header[-2:]
    mine = re.fullmatch(OWN_COLUMN.format("error"), error) and re.fullmatch(
        OWN_COLUMN.format("row"), row
    )
    return 2 if mine else 0


def _own(header: Sequence[str], base: str) -> list[int]:
    """Where our column `base` is: `base (konnect-etl)` where the export had a `base` of its
    own (the bare one is then the user's), else `base`; spaces around a name aside."""
    cells = [cell.strip() for cell in header]
    suffixed = [j for j, cell in enumerate(cells) if re.fullmatch(_SUFFIXED.format(base), cell)]
    return suffixed or [j for j, cell in enumerate(cells) if cell == base]


_SUFFIXED = r"{} \(konnect-etl(?: \d+)?\)"


def row_column(header: Sequence[str]) -> int | None:
    """Where our `row` column is in an errors file come back: last of our two columns, or
    the column of that name after the user moved it or deleted `error` (None: not one)."""
    if own_columns(header):
        return len(header) - 1
    found = _own(header, "row")
    return found[0] if len(found) == 1 else None


def errors_layout(name: str, header: Sequence[str]) -> bool:
    """Whether a file is our errors file come back, fixed: our `error` and `row` columns
    last, or named like one with either column anywhere (moved to the front, the other
    deleted, a column added after them)."""
    if own_columns(header):
        return True
    named = ERRORS_NAME.fullmatch(name) is not None
    return named and bool(_own(header, "error") or _own(header, "row"))


def own_positions(name: str, header: Sequence[str]) -> list[int]:
    """Where our `error` and `row` columns are in an errors file come back (`errors_layout`;
    none in any other file): a row with only those filled was cleared by the user."""
    if own_columns(header):
        return [len(header) - 2, len(header) - 1]
    if not errors_layout(name, header):
        return []
    return _own(header, "error") + _own(header, "row")


def is_result_header(header: Sequence[str]) -> bool:
    """Whether `header` (trailing blanks aside) ends with a result report's own columns:
    `row`, `status`, `message` after at least one of the file's."""
    cells = list(header)
    while cells and cells[-1] == "":
        cells.pop()
    if len(cells) <= 3:
        return False
    ours = zip(("row", "status", "message"), cells[-3:], strict=True)
    return all(re.fullmatch(OWN_COLUMN.format(name), cell) for name, cell in ours)
