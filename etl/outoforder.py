"""Stock and price files processed out of order do not overwrite newer values.

Rows whose location and SKU a newer export already set are skipped (an older export dropped
late, a morning file re-dropped in the afternoon). The export time comes from the file name
(`export_time:` in the mapping), else its mtime; one of our errors files, fixed and dropped
back in, is as old as the export it came from. What each export set is kept in the
protection state (`etl.keystate`); `etl.guards` calls this before and after an upload.
"""

from __future__ import annotations

import functools
import logging
import time
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from etl.bodies import build_chunks
from etl.droppedback import ERRORS_NAME, export_stems, fixed_before, row_column
from etl.feeds import ABSOLUTE_FEEDS
from etl.keystate import KEEP_DAYS, Applied, KeyState, frame_keys
from etl.mapspec import Mapping
from etl.model import IntArray, Problem
from etl.report import error_positions
from etl.validation import drop_rows
from etl.wording import count, local_stamp

if TYPE_CHECKING:
    from etl.job import Job, Prepared
    from etl.report import RowOutcomes

log = logging.getLogger(__name__)
FUTURE_SLACK = 300  # seconds a share's clock may run ahead of ours unremarked
# A file with the content of one processed before is a copy of it (as old as it) when it is
# dated less than this after it; later, an export that happens to be the same (`copy_of`).
COPY_WINDOW = 12 * 3600


def export_time(mapping: Mapping, path: Path) -> float:
    """When the file was exported: from its name (`export_time:`), else its mtime; never
    later than now (see `_not_ahead`)."""
    stamp = _time_in_name(mapping, path)
    if stamp is not None:
        return _not_ahead(stamp, path, "the time in its name")
    return _not_ahead(path.stat().st_mtime, path, "its modification time")


def _time_in_name(mapping: Mapping, path: Path) -> float | None:
    """The export time the file's name gives (`export_time:` in the mapping), if any."""
    return _read_name(mapping, path.name)[0]


def _read_name(mapping: Mapping, name: str) -> tuple[float | None, str | None]:
    """The time `export_time:` reads in `name`, or why it reads none (None: no export_time)."""
    spec = mapping.export_time
    if spec is None:
        return None, None
    found = spec.pattern.search(name)
    if found is None:
        said = f"export_time.filename '{spec.pattern.pattern}' does not match the file name"
        return None, f"{said} '{name}' (mapping {mapping.name})"
    text = found.group(1) if spec.pattern.groups else found.group(0)
    try:
        return datetime.strptime(text, spec.format).astimezone().timestamp(), None
    except ValueError:
        said = f"export_time.format '{spec.format}' does not read '{text}' in the file name"
        return None, f"{said} (mapping {mapping.name})"


# what the export time is without one from the name (`exported_at`)
FALLBACK = (
    "the file's modification time is used as its export time instead (for a copy of a file"
    " processed before, that file's export time)"
)


def export_time_notes(mapping: Mapping, path: Path) -> list[str]:
    """The warning for a stock or price file whose name `export_time:` cannot read: the
    out-of-order guard then goes by the file's modification time, which a copy resets.
    None for our errors files, which are as old as their export whatever their name."""
    if mapping.feed not in ABSOLUTE_FEEDS or ERRORS_NAME.fullmatch(path.name):
        return []
    problem = _read_name(mapping, path.name)[1]
    if problem is None:
        return []
    note = f"{problem}: {FALLBACK}"
    log.warning("%s: %s", path.name, note)
    return [note]


def describe_export_time(mapping: Mapping, path: Path) -> str | None:
    """What `mappings --explain` says of the export time: read from the name, or why not."""
    if mapping.export_time is None or mapping.feed not in ABSOLUTE_FEEDS:
        return None
    stamp, problem = _read_name(mapping, path.name)
    if stamp is None:
        return f"{problem}: {FALLBACK}"
    return f"export time {local_stamp(stamp)}, from the file name (export_time)"


def _not_ahead(stamp: float, path: Path, what: str) -> float:
    """An export time ahead of now is taken as now: kept, a file stamped 2031 (a clock set
    wrong on the machine that wrote it, a time zone misread) would make every real export
    after it "older" and be refused until 2031."""
    now = time.time()
    if stamp <= now:
        return stamp
    if stamp > now + FUTURE_SLACK:
        ahead = local_stamp(stamp)
        log.warning("%s: %s (%s) is ahead of this machine's clock; taken as now (check the"
                    " clock of the machine that wrote it)", path.name, what, ahead)  # fmt: skip
    return now


def exported_at(prepared: Prepared, path: Path, state: KeyState, copy: Copy = None) -> float:
    """`export_time`, except for one of our errors files (`stock_0600.errors.csv`, fixed and
    dropped back in): its rows are the 06:00 export's, so it is as old as that export, and a
    07:00 export's values are not overwritten by a fix typed in later; and for a copy of a
    file processed before (`copy_of`), that file's."""
    return origin(prepared, path, state, copy)[0]


# A file with the content of one processed before: (that one's export time, its name in done/)
Copy = tuple[float, str] | None


def copy_of(prepared: Prepared, job: Job, state: KeyState, sha256: str) -> Copy:
    """The earliest file processed before with this content (the morning's full list dropped
    again at noon: its new mtime would make it newer than the day's changes), as the
    protection state still remembers its export; None if none, if the file's name gives
    another export time than that file's (the ERP wrote the same list again at 18:00), or,
    for a file dated by its mtime, if that is `COPY_WINDOW` or more after that file's export
    (a copy Windows makes keeps the mtime: a copy still): a regular list the same as
    yesterday's is the day's export, and ends the promotion sent since."""
    if job.journal is None:
        return None
    path = prepared.table.sheet.path
    named = _time_in_name(prepared.mapping, path)
    for record in job.journal.find_finished(sha256):
        if record.summary_path is None:
            continue
        name = Path(record.summary_path).name.removesuffix(".summary.json")
        name += Path(record.name).suffix
        at = state.export_time_of_file(prepared.mapping.name, name)
        if at is None:
            continue
        # the names' own times, as written (a time ahead of the clock was recorded as now)
        earlier = _time_in_name(prepared.mapping, Path(record.name))
        if named is None and path.stat().st_mtime - at >= COPY_WINDOW:
            return None
        return None if named is not None and named != earlier else (at, name)
    return None


def origin(
    prepared: Prepared, path: Path, state: KeyState, copy: Copy = None
) -> tuple[float, str | None]:
    """When the file was exported, and for one of our errors files the stem of the export
    it comes from (None for an export)."""
    found = ERRORS_NAME.fullmatch(path.name)
    table = prepared.table
    if found is not None:  # by its name: its columns may have been moved, deleted, added to
        at = row_column(table.header)
        rows = () if at is None or at >= table.data.shape[1] else table.data.iloc[:, at]
        wanted = [str(row) for row in rows if isinstance(row, str)]
        inner = fixed_before(path.name)  # fixed twice: its rows are the fixed file's
        fixed = state.exported_at_of(prepared.mapping.name, inner, wanted) if inner else None
        if fixed is not None:  # as old as the export that file came from
            return fixed, found["stem"]
        for stem in export_stems(found):
            original = state.exported_at_of(prepared.mapping.name, stem, wanted)
            if original is not None:
                return original, stem
    if copy is not None:
        return copy[0], None
    return export_time(prepared.mapping, path), None


def skip_superseded(prepared: Prepared, path: Path, state: KeyState, copy: Copy = None) -> IntArray:
    """Drop rows a newer export already set, and the rows of an errors file dropped back in
    whose key its own export set (a fix typed onto another row's SKU); they become problems.
    Returns their positions in the validated frame (as it was before)."""
    none = np.zeros(0, dtype=np.int64)
    if prepared.feed.name not in ABSOLUTE_FEEDS:
        return none
    exported_at, stem = origin(prepared, path, state, copy)
    if copy is not None and stem is None:
        prepared.table.notes.append(
            f"same content as {copy[1]}, processed before: taken as exported when it was"
            f" ({local_stamp(copy[0])}), so values newer exports set since are not overwritten"
        )
    keys = frame_keys(prepared.validated.frame)
    newer = _newer(prepared, state, exported_at, keys)
    own = state.keys_of(prepared.mapping.name, stem, exported_at) if stem else set()
    if not newer and not own:
        return none
    wanted = newer.keys() | own
    hit = np.flatnonzero(keys.isin(wanted).to_numpy(dtype=bool)).astype(np.int64)
    if not hit.size:
        return none
    messages: dict[int, str] = {}
    copied = copy if stem is None else None
    for i in hit.tolist():  # worded only for the rows dropped, each newer export once
        key = str(keys.iat[i])
        if key in newer:
            messages[i] = _superseded(newer[key], copied)
        else:
            messages[i] = _set_by_own_export(stem, exported_at)
    prepared.validated = drop_rows(
        prepared.validated, messages, prepared.table.row_numbers, superseded_problem
    )
    prepared.chunks = build_chunks(prepared.feed, prepared.validated)
    by_newer = int(keys.iloc[hit].isin(newer.keys()).sum())
    if by_newer:
        log.warning("%s: %s not sent, a newer export set them", path.name, count(by_newer, "row"))
    if hit.size > by_newer:
        own_rows = count(int(hit.size) - by_newer, "row")
        log.warning("%s: %s not sent, %s (the export this errors file comes from) set them"
                    " on other rows", path.name, own_rows, stem)  # fmt: skip
    return hit


def _newer(
    prepared: Prepared, state: KeyState, exported_at: float, keys: pd.Series
) -> dict[str, Applied]:
    """The newer export that set each key (every key of the file, when the file is too old
    to compare key by key)."""
    newer = state.newer_than(prepared.feed.name, prepared.mapping.name, exported_at)
    newest = state.newest(prepared.mapping.name, prepared.feed.name)
    if newest is not None and exported_at < newest.exported_at - KEEP_DAYS * 86400:
        newer = dict.fromkeys(keys, newest)  # too old to compare key by key: none is sent
    return newer


def _set_by_own_export(stem: str | None, exported_at: float) -> str:
    """Said with the export's time: an ERP that names every export alike has one a day, and
    an errors file whose `row` numbers fit two of them is taken for the older one."""
    return (
        f"not sent: {stem} exported {local_stamp(exported_at)}, the export this errors file comes"
        " from, already set this location and SKU on another row, and one export sets a SKU"
        " once: check the SKU typed into this row (or, if this errors file is of a later"
        f" {stem}, put its rows in a new file); to change that SKU's stock, send it in a new"
        " file"
    )


@functools.lru_cache(maxsize=256)  # per newer export, not per row
def _superseded(newer: Applied, copy: Copy = None) -> str:
    if copy is not None:  # the user may have meant it as new: say why it is not, and the way
        return (
            f"not sent: this file has the same content as {copy[1]}, processed before, so it"
            f" is taken as exported when that was ({local_stamp(copy[0])}), and a newer export"
            f" ({newer.file}, from {local_stamp(newer.exported_at)}) already set this location and"
            " SKU; nothing to do if that value is right - to send this row's value now, put"
            " it in a new file (this file's errors file is as old as this file)"
        )
    return (
        f"not sent: a newer export ({newer.file}, from {local_stamp(newer.exported_at)}) already"
        " set this location and SKU, and this file's rows are older; nothing to do if that value"
        " is right - to change it, send the new value in a new file"
    )


def record_applied(
    prepared: Prepared, out: RowOutcomes, state: KeyState, exported_at: float, name: str
) -> None:
    """Remember the keys this file set, so an older export cannot overwrite them later."""
    if prepared.feed.name not in ABSOLUTE_FEEDS:
        return
    validated = prepared.validated
    ok = np.asarray(out.status)[validated.positions] == "ok"
    located = validated.frame[["location_id", "sku"]]  # not a copy of every column
    keys = frame_keys(located)[ok]  # a Series: never a million Python strings
    places = located["location_id"][ok].astype("str").unique().tolist()
    table = prepared.table
    rows = table.row_numbers[error_positions(table, out)].tolist()
    feed, mapping = prepared.feed.name, prepared.mapping.name
    state.record(feed, mapping, keys, exported_at, name, rows, places)


def superseded_problem(row: int, message: str) -> Problem:
    return Problem(row, "", "", "superseded", message)
