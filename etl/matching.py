"""Which mapping fits a file: file name globs, then the header row, scored and explained.

A mapping fits when one of its `match.filename` globs matches the file name (if it has any)
and one row near the top holds every header it needs. The best fit wins: a file name match
first, then the most required headers (the most specific mapping). A built-in generic
mapping gives way to another mapping of its feed that fits as well (the user's own, e.g. one
with only `feed:`); any other two mappings fitting equally well is an error, not a guess.

Our errors file (`del_stock.errors.csv`), fixed and dropped back in, is matched as the export
it lists the errors of: the globs are tried on the export's name (`del_stock.csv`; its
extension is not compared, as Excel's Save As may change it) and the header is row 1, when
the file is laid out as ours (`etl.sheetpick.own_layout`): a file merely named so is not.

In a workbook, a mapping that names no sheet is tried on the first rows of every worksheet
(`etl.sheetpick`): rows are never left behind unseen on another sheet.

A sheet `orders pull` wrote (its own columns: orderId with orderStatus, state and
orderingChannel) is refused whatever fits: it lists orders, it tells Konnect nothing, and
a RETURN_DELIVERED sheet would otherwise be taken as a return QC file (`*return*`).
"""

from __future__ import annotations

import logging
from pathlib import Path

from etl import readers
from etl.droppedback import ERRORS_NAME, errors_layout, is_result_header
from etl.errors import InputError
from etl.mapspec import Mapping, norm_header
from etl.model import Sheet, Table
from etl.nameglobs import may_fit, name_hits, named_for_another_feed, two_actions
from etl.nofit import no_fit_message, own_mappings_hint, tie_message
from etl.readers import SheetCache
from etl.reportsheet import restore_neutralised
from etl.sheetnamed import unread_sheets
from etl.sheetpick import (
    MatchReport,
    header_fit,
    own_layout,
    scan_sheets,
    sheet_conflict,
)

log = logging.getLogger(__name__)

_WORKBOOK_KINDS = ("xlsx", "xls", "xml")
# Columns only a pulled sheet has together (`etl.flatten.ORDER_COLUMNS`); no feed takes
# `state` or `orderingChannel`, and the status feed's orderStatus never comes with them.
PULLED_HEADERS = frozenset(
    norm_header(h) for h in ("orderId", "orderStatus", "state", "orderingChannel")
)
PULLED_SHEET = (
    "this is a sheet konnect-etl pulled from Konnect (orders pull): it lists orders, it is not "
    "an instruction to Konnect; keep the outbox apart from the inbox (to act on those orders, "
    "make a file with the feed's own columns: konnect-etl template FEED)"
)
RESULT_REPORT = (
    "this is a result report of konnect-etl (every row of a file, with its status): its ok rows"
    " were sent already, so it is not uploaded. Fix the rows in the errors file next to it in"
    " done/ (the name ending in .errors.csv or .errors.xlsx: only the rows that need fixing)"
    " and drop that file in (the original file dropped again is set aside as seen before, if"
    " it holds order actions)"
)


def explain(mappings: list[Mapping], path: Path) -> list[MatchReport]:
    """Every mapping scored against the file, best first. When the file's rows are on more
    than one sheet, the mappings that fit are shown as not fitting, with why (as
    `choose_mapping` refuses the file)."""
    cache = SheetCache(path)
    reports = _ranked([score(m, path, cache) for m in mappings])
    fitting = [r for r in reports if r.fits]
    conflict = sheet_conflict(fitting, cache)
    for report in fitting if conflict is not None else []:
        report.fits = False
        report.missing.append(str(conflict))
    return _ranked(reports)


def _ranked(reports: list[MatchReport]) -> list[MatchReport]:
    return sorted(reports, key=_order, reverse=True)


def _order(r: MatchReport) -> tuple[bool, tuple[int, int, int], bool, float]:
    """Fits by rank (a generic one after its rival); the rest by how close they came."""
    if r.fits:
        return (True, r.rank, not r.mapping.is_generic, r.score)
    return (False, (0, 0, 0), r.headers_ok, r.score)


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
    if relaxed and (why := named_for_another_feed(candidates, mappings, path.name)):
        raise InputError(f"not read: {why}; run it without --feed/--mapping", "named_otherwise")
    # Mappings whose file name globs rule the file out are read (with their own options)
    # only to explain a failure: a big CSV is then read once, not once per option set.
    hopeful = [m for m in candidates if relaxed or may_fit(m, path.name)]
    fitting = [r for r in _ranked([score(m, path, cache, relaxed) for m in hopeful]) if r.fits]
    if not fitting:
        reports = [score(m, path, cache, relaxed) for m in candidates]
        refuse_own_sheet(reports)
        said = no_fit_message(reports, path, mappings, forced=name is not None)
        raise cache.unreadable() or InputError(said, "no_mapping")
    refuse_own_sheet(fitting)
    if not relaxed and (why := two_actions([r.mapping for r in fitting], path.name)):
        raise InputError(why, "ambiguous_mapping")
    conflict = sheet_conflict(fitting, cache)
    if conflict is not None:
        raise InputError(conflict, "several_sheets")
    best = _best(fitting)
    table = _table(best, cache)
    if table.sheet.kind == "csv" and errors_layout(path.name, table.header):  # ours, fixed
        table.data = restore_neutralised(table.data)
    return best.mapping, table


def refuse_own_sheet(reports: list[MatchReport]) -> None:
    """InputError when a header row the reports found is a sheet konnect-etl wrote: a pulled
    sheet ("pulled_sheet") or a result report dropped back ("result_report")."""
    looked: set[tuple[int, int]] = set()
    for report in reports:
        sheet, index = report.sheet, report.header_index
        if sheet is None or index is None or (id(sheet), index) in looked:
            continue
        looked.add((id(sheet), index))
        cells = [str(c).strip() for c in sheet.cells.iloc[index].astype("str")]
        if {norm_header(c) for c in cells} >= PULLED_HEADERS:
            raise InputError(PULLED_SHEET, "pulled_sheet")
        if is_result_header(cells):
            raise InputError(RESULT_REPORT, "result_report")


def _table(best: MatchReport, cache: SheetCache) -> Table:
    """The chosen sheet, read whole, split at its header; what the user should know logged."""
    sheet = best.sheet
    if best.head_only and best.sheet_name is not None:
        whole = cache.read(best.sheet_name, None, None)
        if isinstance(whole, InputError):
            raise whole
        sheet = whole
        log.info("%s: reading sheet '%s'", cache.path.name, best.sheet_name)
    assert sheet is not None and best.header_index is not None
    table = readers.to_table(sheet, best.header_index)
    table.notes = [*best.notes, *unread_sheets(best.mapping, cache, best.sheet_name), *table.notes]
    named = best.mapping.encoding
    if named and sheet.encoding == "utf-8" and named.replace("_", "-").lower() != "utf-8":
        table.notes.append(f"read as UTF-8, not as the {named} its mapping names (it is UTF-8)")
    for note in table.notes:
        log.warning("%s: %s", cache.path.name, note)
    return table


def _best(fitting: list[MatchReport]) -> MatchReport:
    """The top-ranked fit; a generic one yields to a same-feed rival, other ties are errors."""
    tied = [r for r in fitting if r.rank == fitting[0].rank]
    own = {r.mapping.feed for r in tied if not r.mapping.is_generic}
    contenders = [r for r in tied if not (r.mapping.is_generic and r.mapping.feed in own)]
    if len(contenders) > 1:
        raise InputError(tie_message(contenders[0], contenders[1]), "ambiguous_mapping")
    return contenders[0]


def left_for_another_run(
    mappings: list[Mapping], name: str, feed: str | None, mapping: str | None
) -> str | None:
    """Why a run with `--feed`/`--mapping` leaves the file `name` where it is: it is named
    for another feed (`nameglobs.named_for_another_feed`); None to take it."""
    if feed is None and mapping is None:
        return None
    try:
        chosen = _candidates(mappings, feed, mapping)
    except InputError:
        return None  # an unknown --mapping: each file's report says so
    return named_for_another_feed(chosen, mappings, name)


def _candidates(mappings: list[Mapping], feed: str | None, name: str | None) -> list[Mapping]:
    if name is not None:
        chosen = [m for m in mappings if m.name == name]
        if not chosen:
            known = ", ".join(m.name for m in mappings) or "none"
            said = f"no mapping named '{name}' (known: {known})"
            raise InputError(said + own_mappings_hint(mappings), "no_mapping")
        return chosen
    chosen = [m for m in mappings if feed is None or m.feed == feed]
    if not chosen:
        raise InputError(f"no mapping for feed '{feed}'", "no_mapping")
    return chosen


def score(mapping: Mapping, path: Path, cache: SheetCache, relaxed: bool = False) -> MatchReport:
    """How well `mapping` fits the file at `path`."""
    report = MatchReport(mapping, fits=False, score=0.0)
    errors_name = ERRORS_NAME.fullmatch(path.name) is not None
    sheets = cache.worksheets() if mapping.sheet is None else []
    if len(sheets) > 1:
        found = scan_sheets(mapping, cache, sheets, report, errors_name)
    else:
        found = _whole(mapping, cache, report, errors_name)
    name_ok = _filename(mapping, path.name, report)
    if found is None:
        return report
    wanted = len(mapping.required_headers)
    conditions = wanted + (1 if mapping.filename else 0)
    met = found + (1 if name_ok else 0)
    report.score = met / conditions if conditions else 1.0
    report.headers_ok = found == wanted and not report.hidden
    report.fits = report.headers_ok and (name_ok or relaxed or not mapping.filename)
    report.rank = (int(report.fits), report.name_level, wanted)
    return report


def _whole(
    mapping: Mapping, cache: SheetCache, report: MatchReport, errors_name: bool
) -> int | None:
    """The file read as the mapping says; how many headers it has (None: unreadable)."""
    got = cache.read(*mapping.read_options)
    if isinstance(got, InputError) and errors_name and mapping.sheet is not None:
        got = _own_sheet(mapping, cache) or got
    if isinstance(got, InputError):
        report.missing.append(str(got))
        return None
    report.sheet = got
    if got.kind in _WORKBOOK_KINDS:
        report.sheet_name = got.sheet_name
    return header_fit(mapping, got, report, errors_name)


def _own_sheet(mapping: Mapping, cache: SheetCache) -> Sheet | None:
    """The one sheet of our errors file, when the export's `read.sheet` is not in it (`sheet:
    1`, or `Stock` after Excel's Save As of a CSV errors file); None if it is not ours."""
    got = cache.read(None, mapping.encoding, mapping.delimiter)
    return got if not isinstance(got, InputError) and own_layout(got) else None


def _filename(mapping: Mapping, name: str, report: MatchReport) -> bool:
    """Whether a glob matches (`report.name_level`), said first in the report's reasons or
    missing."""
    if not mapping.filename:
        return False
    hits = name_hits(mapping, name, report.errors_file)
    if hits:
        report.name_level, glob, matched = hits[0]
        said = "" if matched == name else f" (taken as {matched}: this is its errors file)"
        report.reasons.insert(0, f"file name matches '{glob}'{said}")
    else:
        globs = ", ".join(f"'{g}'" for g in mapping.filename)
        report.missing.insert(0, f"file name does not match {globs}")
    return bool(hits)
