"""What a header row lacks, in the words that lead to the fix (`etl.sheetpick.header_fit`).

"header lacks 'Cl. Qty'" is all a match can say; often the file or the mapping tells more:
the file spells the column a little differently ('Order Id' for 'orderId'); the mapping's
`currency: INR`, written for one value on every row, reads a column named 'INR'; or
`read.header_row` names a row of group headings while the row below has every column.
"""

from __future__ import annotations

import re

from etl.mapspec import Mapping, norm_header
from etl.model import Sheet

HEADER_SEARCH_ROWS = 50  # how far down `header_row: auto` looks for the header (etl.sheetpick)
SHOWN_CELLS = 6
# Fields one value may fill in a whole file (a constant): `currency: INR` means a value
ONE_VALUE = frozenset({"currency", "location_id", "courierName", "autoDispatch", "invoiceType"})


def lacks_text(mapping: Mapping, lacking: list[str], sheet: Sheet, index: int) -> str:
    """'header lacks 'A', 'B'' and what may explain it; `index`: the header row's position."""
    header = [str(c) for c in sheet.cells.iloc[index].astype("str")]
    said = ", ".join(f"'{h}'" for h in lacking)
    said = f"header lacks {said}{_near(lacking, header)}{_shorthand(mapping, lacking, sheet)}"
    return said + _other_row(mapping, sheet, index, header)


def _near(lacking: list[str], header: list[str]) -> str:
    """The file's own spelling of headers it lacks only by spaces, '_', '-' or '.' ('Order Id'
    for 'orderId'): said, as the person sees those columns and is puzzled."""
    squashed = {_squash(c): c.strip() for c in header if c.strip()}
    near = [f"'{squashed[_squash(h)]}' for '{h}'" for h in lacking if _squash(h) in squashed]
    if not near:
        return ""
    return f" (the file has {', '.join(near)}: write the header as the mapping names it)"


def _squash(text: str) -> str:
    return re.sub(r"[\s_.\-]+", "", text).casefold()


def _shorthand(mapping: Mapping, lacking: list[str], sheet: Sheet) -> str:
    """A field written `currency: INR` reads a column named 'INR': meant as a value? Asked
    of a field one value may fill, when no row near the top has such a column."""
    lacked = {norm_header(h) for h in lacking}
    for spec in mapping.fields:
        if spec.name not in ONE_VALUE or not spec.shorthand or spec.column is None:
            continue
        if norm_header(spec.column) in lacked and norm_header(spec.column) not in _near_top(sheet):
            name, value = spec.name, spec.column
            return (
                f" (`{name}: {value}` reads a column named '{value}'; for one value on every"
                f" row write `{name}: {{constant: {value}}}`)"
            )
    return ""


def _near_top(sheet: Sheet) -> set[str]:
    """Every cell of the rows `header_row: auto` looks at, as headers are compared."""
    top = sheet.cells.iloc[:HEADER_SEARCH_ROWS].astype("str").to_numpy().ravel().tolist()
    return {norm_header(str(c)) for c in top}


def _other_row(mapping: Mapping, sheet: Sheet, index: int, header: list[str]) -> str:
    """With `read.header_row` set: the cells of the row it names, and a row that has every
    header the mapping needs (group headings above the header, a title row added one day)."""
    if mapping.header_row is None:
        return ""
    cells = [f"'{c.strip()}'" for c in header if c.strip()]
    more = ", ..." if len(cells) > SHOWN_CELLS else ""
    holds = f"holds {', '.join(cells[:SHOWN_CELLS])}{more}" if cells else "is empty"
    said = f"; row {mapping.header_row} (read.header_row) {holds}"
    wanted = {norm_header(h) for h in mapping.required_headers}
    for at in range(min(len(sheet.cells), HEADER_SEARCH_ROWS)):
        row = {norm_header(c) for c in sheet.cells.iloc[at].astype("str")}
        if at != index and wanted <= row:
            fits = int(sheet.row_numbers[at])
            return f"{said}; row {fits} has them all: set header_row: {fits} or auto"
    return said
