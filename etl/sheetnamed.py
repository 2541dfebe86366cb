"""A mapping that names its sheet (`read: sheet`) reads that sheet alone; the rows of another
visible sheet whose header fits the mapping are still not left behind without a word.

Such a sheet is a warning of the file (the summary's `warnings`, the log, the run's notes),
not a refusal as when no sheet is named (`etl.sheetpick.sheet_conflict`): the mapping chose
its sheet, and a workbook keeping last month's sheet beside this month's must stay readable.
The warning is what catches the common slip, `sheet: 1` written for the first sheet (sheet
numbers count from 0): it says which sheet that number is.
"""

from __future__ import annotations

from etl.headerwords import HEADER_SEARCH_ROWS
from etl.mapspec import Mapping
from etl.readers import SheetCache
from etl.sheetpick import listed, look_sheet, sheet_number


def unread_sheets(mapping: Mapping, cache: SheetCache, read: str | None) -> list[str]:
    """The warning for the visible sheets, other than `read`, whose header fits `mapping`
    and that have rows below it; [] when there are none or the mapping names no sheet."""
    infos = [i for i in cache.worksheets() if not i.hidden and i.name != read]
    if mapping.sheet is None or read is None or not infos:
        return []
    nrows = max(HEADER_SEARCH_ROWS, mapping.header_row or 0) + 1
    looks = [look_sheet(mapping, cache.head(i.name, nrows), i, nrows, False) for i in infos]
    wanted = len(mapping.required_headers)
    holders = [k.name for k in looks if k.found == wanted and k.rows]
    if not holders:
        return []
    which = f"the mapping reads sheet '{read}'"
    if isinstance(mapping.sheet, int):
        which = f"its read.sheet is {mapping.sheet}, and {sheet_number(mapping.sheet, read)}"
    one = len(holders) == 1
    return [
        f"{'sheet' if one else 'sheets'} {listed(holders)} {'has' if one else 'have'}"
        f" {mapping.feed} rows under a header that fits mapping {mapping.name}, and"
        f" {'was' if one else 'were'} not read: {which}. If those rows"
        " should be uploaded, correct read.sheet in the mapping, or save each sheet as its"
        " own file (one sheet is read per file)"
    ]
