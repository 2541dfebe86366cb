"""Which mapping fits a file: file name globs, then the header row, scored and explained.

A mapping fits when one of its `match.filename` globs matches the file name (if it has any)
and one row near the top holds every header it needs. The best fit wins: a file name match
first, then the most required headers (the most specific mapping). A built-in generic
mapping gives way to another mapping of its feed that fits as well (the user's own, e.g. one
with only `feed:`); any other two mappings fitting equally well is an error, not a guess.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path

from etl import readers
from etl.errors import InputError
from etl.mapspec import Mapping, norm_header
from etl.model import Sheet, Table
from etl.report import own_columns
from etl.reportsheet import restore_neutralised

HEADER_SEARCH_ROWS = 50
ReadKey = tuple[str | int | None, str | None, str | None]


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

    def text(self) -> str:
        """'tally/stock (mappings/tally/stock.yaml): file name matches, but header lacks ...'."""
        said = ", ".join(self.reasons) or "nothing matches"
        lacks = f", but {'; '.join(self.missing)}" if self.missing else ""
        return f"{self.mapping.name} ({self.mapping.path}): {said}{lacks}"


class SheetCache:
    """Reads a file once per distinct set of read options (sheet for workbooks; CSV options)."""

    def __init__(self, path: Path) -> None:
        self.path, self.kind = path, readers.file_kind(path)
        self.sheets: dict[ReadKey, Sheet | InputError] = {}

    def get(self, mapping: Mapping) -> Sheet | InputError:
        sheet, encoding, delimiter = mapping.read_options
        key: ReadKey = (None, encoding, delimiter) if self.kind == "csv" else (sheet, None, None)
        if key not in self.sheets:
            try:
                self.sheets[key] = readers.read_sheet(
                    self.path, sheet=key[0], encoding=key[1], delimiter=key[2]
                )
            except InputError as exc:
                self.sheets[key] = exc
        return self.sheets[key]

    def unreadable(self) -> InputError | None:
        """The reader's own error when the file could not be read with any options."""
        results = list(self.sheets.values())
        if results and all(isinstance(r, InputError) for r in results):
            first = results[0]
            assert isinstance(first, InputError)
            return first
        return None


def explain(mappings: list[Mapping], path: Path) -> list[MatchReport]:
    """Every mapping scored against the file, best first."""
    cache = SheetCache(path)
    return _ranked([score(m, path, cache) for m in mappings])


def _ranked(reports: list[MatchReport]) -> list[MatchReport]:
    return sorted(reports, key=_order, reverse=True)


def _order(r: MatchReport) -> tuple[bool, tuple[int, int, int], bool, float]:
    """Fits by rank (a generic one after its rival); the rest by how close they came."""
    if r.fits:
        return (True, r.rank, not r.mapping.is_generic, r.score)
    return (False, (0, 0, 0), r.headers_ok, r.score)


def _name_fits(mapping: Mapping, path: Path) -> bool:
    name = path.name.casefold()
    return any(fnmatchcase(name, glob.casefold()) for glob in mapping.filename)


def choose_mapping(
    mappings: list[Mapping], path: Path, *, feed: str | None = None, name: str | None = None
) -> tuple[Mapping, Table]:
    """The mapping that fits `path` best, and the file's table under the header it found.

    `name` forces one mapping, `feed` narrows the choice to one feed; either makes the file
    name globs a preference rather than a condition. InputError "no_mapping" when nothing fits.
    """
    candidates = _candidates(mappings, feed, name)
    cache = SheetCache(path)
    relaxed = feed is not None or name is not None
    # Mappings whose file name globs rule the file out are read (with their own options)
    # only to explain a failure: a big CSV is then read once, not once per option set.
    hopeful = [m for m in candidates if relaxed or not m.filename or _name_fits(m, path)]
    reports = _ranked([score(m, path, cache, relaxed) for m in hopeful])
    fitting = [r for r in reports if r.fits]
    if not fitting:
        reports = [score(m, path, cache, relaxed) for m in candidates]
        raise cache.unreadable() or InputError(_no_fit_message(reports, path), "no_mapping")
    best = _best(fitting)
    assert best.sheet is not None and best.header_index is not None
    table = readers.to_table(best.sheet, best.header_index)
    if table.sheet.kind == "csv" and own_columns(table.header):  # our errors file, fixed
        table.data = restore_neutralised(table.data)
    return best.mapping, table


def _best(fitting: list[MatchReport]) -> MatchReport:
    """The top-ranked fit; a generic one yields to a same-feed rival, other ties are errors."""
    tied = [r for r in fitting if r.rank == fitting[0].rank]
    own = {r.mapping.feed for r in tied if not r.mapping.is_generic}
    contenders = [r for r in tied if not (r.mapping.is_generic and r.mapping.feed in own)]
    if len(contenders) > 1:
        raise InputError(_tie_message(contenders[0], contenders[1]), "ambiguous_mapping")
    return contenders[0]


def _candidates(mappings: list[Mapping], feed: str | None, name: str | None) -> list[Mapping]:
    if name is not None:
        chosen = [m for m in mappings if m.name == name]
        if not chosen:
            known = ", ".join(m.name for m in mappings) or "none"
            raise InputError(f"no mapping named '{name}' (known: {known})", "no_mapping")
        return chosen
    chosen = [m for m in mappings if feed is None or m.feed == feed]
    if not chosen:
        raise InputError(f"no mapping for feed '{feed}'", "no_mapping")
    return chosen


def _no_fit_message(reports: list[MatchReport], path: Path) -> str:
    named = [r for r in reports if r.headers_ok and r.mapping.filename]
    if named:
        return _name_message(named, path)
    closest = max(reports, key=lambda r: r.score)
    return f"no mapping fits {path.name}; closest: {closest.text()}"


def _name_message(named: list[MatchReport], path: Path) -> str:
    """The header fits but the file name does not: e.g. canonical order columns, no feed named.

    confirm and dispatch files have the same columns (return_qc and pack nearly so): the name
    or --feed must say which action is meant, so this never guesses.
    """
    named = sorted(named, key=lambda r: len(r.mapping.required_headers), reverse=True)
    names = ", ".join(r.mapping.name for r in named)
    globs = ", ".join(dict.fromkeys(f"'{g}'" for r in named for g in r.mapping.filename))
    feeds = list(dict.fromkeys(r.mapping.feed for r in named))
    said = f"no mapping fits {path.name}: its header fits {names}, but the file name "
    said += f"does not match {globs}"
    if len(feeds) == 1:
        return f"{said}; rename the file to match or pass --feed {feeds[0]}"
    choice = f"{', '.join(feeds[:-1])} or {feeds[-1]}"
    return (
        f"{said}. The columns alone do not say which feed it is: rename the file to match "
        f"the right one or pass --feed ({choice})"
    )


def _tie_message(first: MatchReport, second: MatchReport) -> str:
    how = "--mapping"
    if first.mapping.feed != second.mapping.feed:
        how = f"--feed ({first.mapping.feed} or {second.mapping.feed}) or --mapping"
    return (
        f"both {first.mapping.name} and {second.mapping.name} fit equally well; "
        f"give one a more specific match (file name or headers) or choose with {how}"
    )


def score(mapping: Mapping, path: Path, cache: SheetCache, relaxed: bool = False) -> MatchReport:
    """How well `mapping` fits the file at `path`."""
    report = MatchReport(mapping, fits=False, score=0.0)
    name_ok = _filename(mapping, path, report)
    got = cache.get(mapping)
    if isinstance(got, InputError):
        report.missing.append(str(got))
        return report
    report.sheet = got
    found = _header(mapping, got, report)
    wanted = len(mapping.required_headers)
    conditions = wanted + (1 if mapping.filename else 0)
    met = found + (1 if name_ok else 0)
    report.score = met / conditions if conditions else 1.0
    report.headers_ok = found == wanted
    report.fits = found == wanted and (name_ok or relaxed or not mapping.filename)
    report.rank = (int(report.fits), int(name_ok and bool(mapping.filename)), wanted)
    return report


def _filename(mapping: Mapping, path: Path, report: MatchReport) -> bool:
    if not mapping.filename:
        return False
    name = path.name.casefold()
    hits = [g for g in mapping.filename if fnmatchcase(name, g.casefold())]
    if hits:
        report.reasons.append(f"file name matches '{hits[0]}'")
    else:
        globs = ", ".join(f"'{g}'" for g in mapping.filename)
        report.missing.append(f"file name does not match {globs}")
    return bool(hits)


def _header(mapping: Mapping, sheet: Sheet, report: MatchReport) -> int:
    """Choose the header row; note what it has and lacks; return how many headers it has."""
    wanted = mapping.required_headers
    index = find_header(mapping, sheet)
    if index is None:
        report.missing.append("the sheet is empty")
        return 0
    report.header_index, report.header_row = index, int(sheet.row_numbers[index])
    present = {norm_header(c) for c in sheet.cells.iloc[index].astype("str")}
    lacking = [h for h in wanted if norm_header(h) not in present]
    has = len(wanted) - len(lacking)
    if wanted and has:
        report.reasons.append(f"row {report.header_row} has {_quoted(wanted, present, True)}")
    if lacking:
        report.missing.append(f"header lacks {_quoted(lacking, set(), False)}")
    return has


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
