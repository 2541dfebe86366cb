"""Which sheet of a workbook, and which row of it, holds a mapping's header.

`MatchReport` records one mapping tried against one file. In a workbook, a mapping that names
no sheet is tried on the first rows of every worksheet (`scan_sheets`) and reads the one whose
header fits; `sheet_conflict` refuses a file whose rows are on more than one sheet, as one
sheet is read per file; a hidden sheet that fits, or a sheet with rows whose header nearly
fits, becomes a note for the log.

Our own errors file, fixed and dropped back in, has its header on row 1 whatever the
export's layout was (`read.header_row: 4` below three title rows): `header_fit(...,
errors_name=True)` takes row 1 when that row ends in our `error` and `row` columns.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from etl.droppedback import errors_layout
from etl.errors import InputError
from etl.headerwords import HEADER_SEARCH_ROWS, lacks_text
from etl.mapspec import Mapping, norm_header
from etl.model import Sheet, SheetInfo
from etl.readers import SheetCache


@dataclass
class MatchReport:
    """How well one mapping fits one file, in words for `konnect-etl mappings --explain`."""

    mapping: Mapping
    fits: bool
    score: float  # share of the mapping's conditions the file meets, 0..1
    reasons: list[str] = field(default_factory=list)  # what matched
    missing: list[str] = field(default_factory=list)  # what did not
    header_index: int | None = None  # position in sheet.cells of the header row used
    header_row: int | None = None  # its row number as the user sees it
    sheet: Sheet | None = None
    rank: tuple[int, int, int] = (0, 0, 0)
    headers_ok: bool = False  # the header row has everything; only the file name may fail
    sheet_name: str | None = None  # the worksheet looked at (workbooks only)
    head_only: bool = False  # `sheet` holds only the first rows: read it whole once chosen
    row_sheets: list[str] = field(default_factory=list)  # visible sheets that fit, with rows
    hidden: bool = False  # the header fits only on a hidden sheet, which is never read
    notes: list[str] = field(default_factory=list)  # other sheets the user should hear of
    errors_file: bool = False  # our errors file (its name and row 1 say so): header on row 1
    name_level: int = 0  # 2: a file name glob matches; 1: only with the export's extension

    def text(self) -> str:
        """'tally/stock (mappings/tally/stock.yaml), sheet 'Stock': file name matches, but
        header lacks ...'."""
        said = ", ".join(self.reasons) or "nothing matches"
        lacks = f", but {'; '.join(self.missing)}" if self.missing else ""
        where = f", sheet '{self.sheet_name}'" if self.sheet_name is not None else ""
        if isinstance(self.mapping.sheet, int) and self.sheet_name is not None:
            where = f", {sheet_number(self.mapping.sheet, self.sheet_name)}"
        return f"{self.mapping.name} ({self.mapping.path}){where}: {said}{lacks}"


def sheet_conflict(fitting: list[MatchReport], cache: SheetCache) -> str | None:
    """Why the file is refused when its rows are on more than one sheet, else None.

    Each fitting mapping names the visible sheets whose header fits it and that have rows;
    one sheet is read per file, so rows on two of them would leave one sheet unread. A best
    mapping that names its sheet (`read: sheet`) reads that one by design.
    """
    if not fitting or fitting[0].mapping.sheet is not None:
        return None
    holders: dict[str, str] = {}  # sheet -> the feed whose rows it holds
    for report in fitting:
        for name in report.row_sheets:
            holders.setdefault(name, report.mapping.feed)
    if len(holders) < 2:
        return None
    order = [info.name for info in cache.worksheets()]
    holders = {name: holders[name] for name in sorted(holders, key=order.index)}
    feeds = set(holders.values())
    if len(feeds) == 1:
        both = "both" if len(holders) == 2 else "all"
        said = f"sheets {listed(list(holders))} {both} hold {feeds.pop()} rows"
        fix = "Put all rows on one sheet, or save each sheet as its own file"
    else:
        said = " and ".join(f"sheet '{s}' holds {feed} rows" for s, feed in holders.items())
        fix = "Save each sheet as its own file"
    return f"{said}: konnect-etl reads one sheet per file. {fix}"


def sheet_number(index: int, name: str) -> str:
    """`read.sheet: 1` in words: "sheet 1 is 'Bandra Shop', the 2nd sheet (...)"."""
    n = index + 1
    ordinal = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"sheet {index} is '{name}', the {n}{ordinal} sheet (sheet numbers count from 0)"


def listed(names: list[str]) -> str:
    """'A', 'A' and 'B', 'A', 'B' and 'C'."""
    quoted = [f"'{n}'" for n in names]
    return quoted[0] if len(quoted) == 1 else f"{', '.join(quoted[:-1])} and {quoted[-1]}"


def scan_sheets(
    mapping: Mapping,
    cache: SheetCache,
    sheets: list[SheetInfo],
    report: MatchReport,
    errors_name: bool = False,
) -> int | None:
    """Try the first rows of every worksheet; take the visible one whose header fits and has
    rows (else one whose header fits, else a hidden one that fits, else the closest)."""
    nrows = max(HEADER_SEARCH_ROWS, mapping.header_row or 0) + 1
    shown = {i.name for i in sheets if not i.hidden} or {i.name for i in sheets}
    looks = [look_sheet(mapping, cache.head(i.name, nrows), i, nrows, errors_name) for i in sheets]
    wanted = len(mapping.required_headers)
    fit = [k for k in looks if k.found == wanted and k.name in shown]
    with_rows = [k for k in fit if k.rows]
    hidden = [k for k in looks if k.found == wanted and k.rows and k.name not in shown]
    seen = [k for k in looks if k.sheet is not None and k.name in shown]
    pick = (with_rows or fit or hidden or sorted(seen, key=lambda k: -k.found))[:1]
    if not pick:  # every visible sheet is empty or unreadable
        report.missing.append(str(next(k.error for k in looks if k.name in shown)))
        return None
    _take(report, pick[0])
    report.row_sheets = [k.name for k in with_rows]
    report.hidden = pick[0].name not in shown
    others = [k for k in looks if k.name != pick[0].name and k.sheet is not None]
    report.notes = _notes(others, shown, wanted, fits=bool(fit))
    report.notes += _continued(pick[0], [k for k in others if k.name in shown and not k.found])
    if report.hidden:
        report.missing.append(
            f"sheet '{pick[0].name}' is hidden, and hidden sheets are not read: unhide it, "
            f"or name it in the mapping (read: {{sheet: {pick[0].name}}})"
        )
    return pick[0].found


@dataclass
class _Look:
    """One worksheet's first rows tried against a mapping."""

    name: str
    sheet: Sheet | None  # None: empty or unreadable (`error` says which)
    trial: MatchReport
    found: int = 0  # how many of the mapping's headers its header row has
    rows: bool = False  # something below that header
    error: InputError | None = None


def look_sheet(
    mapping: Mapping, got: Sheet | InputError, info: SheetInfo, nrows: int, errors_name: bool
) -> _Look:
    trial = MatchReport(mapping, fits=False, score=0.0)
    if isinstance(got, InputError):
        return _Look(info.name, None, trial, error=got)
    found = header_fit(mapping, got, trial, errors_name)
    index = trial.header_index
    below = got.cells.iloc[index + 1 :] if index is not None else got.cells.iloc[:0]
    rows = len(got.cells) >= nrows or bool((below != "").to_numpy().any())
    return _Look(info.name, got, trial, found, rows)


def _take(report: MatchReport, look: _Look) -> None:
    """What `look` found becomes the report's: its sheet (first rows only) and header."""
    report.reasons += look.trial.reasons
    report.missing += look.trial.missing
    report.sheet, report.sheet_name, report.head_only = look.sheet, look.name, True
    report.header_index, report.header_row = look.trial.header_index, look.trial.header_row
    report.errors_file = look.trial.errors_file


def _notes(others: list[_Look], shown: set[str], wanted: int, fits: bool) -> list[str]:
    """Sheets left unread that the user should hear of, when a visible sheet fits: hidden
    ones that fit too, visible ones with rows whose header lacks a column or two."""
    notes: list[str] = []
    for look in others if fits else []:
        if look.name not in shown and look.found == wanted and look.rows:
            notes.append(
                f"sheet '{look.name}' was not read because it is hidden, though its header "
                "fits too: if its rows should be uploaded, unhide it and save it as its own file"
            )
        elif look.name in shown and look.rows and 0 < look.found < wanted <= 2 * look.found:
            lacks = "; ".join(look.trial.missing)
            notes.append(f"sheet '{look.name}' was not read: it has rows, but its {lacks}")
    return notes


def _continued(pick: _Look, headless: list[_Look]) -> list[str]:
    """Visible sheets without a header whose first row has as many cells as the header of
    the sheet read: the table may go on there (rows pasted past a sheet's end), and those
    rows would be left unread without a word."""
    if pick.sheet is None or pick.trial.header_index is None:
        return []
    width = int((pick.sheet.cells.iloc[pick.trial.header_index] != "").sum())
    notes = []
    for look in headless:
        assert look.sheet is not None
        filled = (look.sheet.cells != "").to_numpy()
        first = next((i for i in range(len(filled)) if filled[i].any()), None)
        if first is not None and width >= 2 and int(filled[first].sum()) == width:
            cells = ", ".join(c for c in look.sheet.cells.iloc[first] if c)
            notes.append(
                f"sheet '{look.name}' was not read: it has no header row, and its first row"
                f" ({cells}) has as many cells as the header of sheet '{pick.name}' - if its"
                f" rows continue that table, move them under that header and send the file"
                " again (one sheet is read per file)"
            )
    return notes


def header_fit(
    mapping: Mapping, sheet: Sheet, report: MatchReport, errors_name: bool = False
) -> int:
    """Choose the header row; note what it has and lacks; return how many headers it has.

    `errors_name`: the file is named as our errors file is; if it is laid out as ours too,
    its header is row 1 (`report.errors_file`), not the export's `read.header_row`."""
    wanted = mapping.required_headers
    report.errors_file = errors_name and own_layout(sheet)
    index = 0 if report.errors_file else find_header(mapping, sheet)
    if index is None:
        report.missing.append("the sheet is empty")
        return 0
    report.header_index, report.header_row = index, int(sheet.row_numbers[index])
    header = [str(c) for c in sheet.cells.iloc[index].astype("str")]
    present = {norm_header(c) for c in header}
    lacking = [h for h in wanted if norm_header(h) not in present]
    has = len(wanted) - len(lacking)
    if wanted and has:
        report.reasons.append(f"row {report.header_row} has {_quoted(wanted, present, True)}")
    if lacking:
        report.missing.append(lacks_text(mapping, lacking, sheet, index))
    return has


def own_layout(sheet: Sheet) -> bool:
    """True when row 1 is the header of our errors file (`etl.droppedback.errors_layout`: its
    `error` and `row` columns, which a user's file merely named like ours does not have)."""
    if not len(sheet.cells) or int(sheet.row_numbers[0]) != 1:
        return False
    first = [str(c) for c in sheet.cells.iloc[0]]
    while first and not first[-1].strip():  # a note typed right of `row` widens the sheet
        first.pop()
    return errors_layout(sheet.path.name, first)


def _quoted(headers: tuple[str, ...] | list[str], present: set[str], keep: bool) -> str:
    chosen = [h for h in headers if (norm_header(h) in present) == keep]
    return ", ".join(f"'{h}'" for h in chosen)


def find_header(mapping: Mapping, sheet: Sheet) -> int | None:
    """Position of the header row in `sheet.cells`.

    An explicit `read.header_row` wins. `auto`: the first row in the first 50 that holds
    every required header; failing that the row holding the most of them; failing that the
    first non-blank row. None for an empty sheet.
    """
    if mapping.header_row is not None:
        spots = (sheet.row_numbers == mapping.header_row).nonzero()[0]
        return int(spots[0]) if len(spots) else None
    wanted = {norm_header(h) for h in mapping.required_headers}
    best, best_count, first_filled = None, 0, None
    for index in range(min(len(sheet.cells), HEADER_SEARCH_ROWS)):
        row = {norm_header(c) for c in sheet.cells.iloc[index].astype("str")} - {""}
        if row and first_filled is None:
            first_filled = index
        count = len(wanted & row)
        if count == len(wanted) and row:
            return index
        if count > best_count:
            best, best_count = index, count
    return best if best is not None else first_filled


_DATA_CELL = re.compile(r"[-+]?\d[\d.,:/ -]*")  # 30000000000000000002, 1, 28/11/2026, 1,299.00


def headerless(sheet: Sheet | None) -> bool:
    """Whether the first filled row reads as data, not column names: most of its cells are
    numbers, ids or dates (a file written in pieces, the export opening it again to add
    rows after the first part was taken, leaves such files)."""
    if sheet is None or sheet.cells.empty:
        return False
    for index in range(min(len(sheet.cells), HEADER_SEARCH_ROWS)):
        cells = [c.strip() for c in sheet.cells.iloc[index].astype("str") if c.strip()]
        if cells:
            data = sum(bool(_DATA_CELL.fullmatch(cell)) for cell in cells)
            return len(cells) >= 2 and 2 * data > len(cells)
    return False
