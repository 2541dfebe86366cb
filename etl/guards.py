"""Guards against destructive stock updates, and against old exports overwriting new ones.

A broken export job can leave a truncated file, or one full of zeros, that would wipe a
catalogue's stock. Before a stock file is uploaded:

- more than `zero_share` of its rows set to 0 (files of `min_rows` rows or more), or
- fewer than `fewer_rows` x the rows of the previous file of the same mapping (journal)

holds it: it moves to `held/YYYY-MM-DD/` with a report saying why, and is uploaded only after
`konnect-etl release FILE` (or with the guard turned off in the config, `guards:`). So does a
price file whose prices moved by one big factor from those last sent (`etl.pricejump`).

Stock and price files processed out of order (an older export after a newer one) do not
overwrite newer values: rows whose location and SKU a newer export already set are skipped.
The export time comes from the file name (`export_time:` in the mapping), else its mtime;
one of our errors files, fixed and dropped back in, is as old as the export it came from.

Cancel rows an earlier file applied are not sent again (`etl.repeats`).

Two processes on one inbox take turns with such files (`etl.turns`), so neither looks at
what was applied while the other is between its look and its record.
"""

from __future__ import annotations

import functools
import logging
import sqlite3
import time
from collections.abc import Callable
from contextlib import closing
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from etl import pricejump, repeats
from etl.bodies import build_chunks
from etl.feeds import ABSOLUTE_FEEDS
from etl.guard_settings import Guards
from etl.keystate import KEEP_DAYS, Applied, KeyState, frame_keys
from etl.mapspec import Mapping
from etl.model import IntArray, Problem
from etl.report import ERRORS_NAME, error_positions, own_columns
from etl.validation import drop_rows
from etl.wording import count

if TYPE_CHECKING:
    from etl.pipeline import Job, Prepared
    from etl.report import RowOutcomes

log = logging.getLogger(__name__)
FUTURE_SLACK = 300  # seconds a share's clock may run ahead of ours unremarked

STOCK_FEEDS = ("stock",)


def hold_reason(prepared: Prepared, job: Job, state: KeyState, sha256: str) -> str | None:
    """Why this file must wait for `konnect-etl release` (None: upload it)."""
    if state.is_released(sha256):
        return None
    if prepared.feed.name in STOCK_FEEDS:
        return _zero_share(prepared, job.guards) or _fewer_rows(prepared, job, state)
    return pricejump.hold_reason(prepared, job.guards, state)


def _zero_share(prepared: Prepared, guards: Guards) -> str | None:
    quantity = prepared.validated.frame["quantity"].to_numpy()
    total = len(quantity)
    zeros = int((quantity == 0).sum())
    limit = guards.zero_share
    if limit is None or total < guards.min_rows or zeros <= limit * total:
        return None
    return (
        f"this stock file would set {zeros} of its {total} items to 0 ({_pct(zeros / total)}),"
        f" more than the {_pct(limit)} allowed: an export that failed half-way can look like"
        " this and would empty the shop's stock"
    )


def _fewer_rows(prepared: Prepared, job: Job, state: KeyState) -> str | None:
    """Far fewer rows than the last file for the same locations (`KeyState.previous_keys`:
    a store that exports its own file is compared with its own last one, not with a bigger
    store's; a multi-store export cut short with the last one)."""
    ratio = job.guards.fewer_rows
    if ratio is None or job.journal is None or own_columns(prepared.table.header):
        return None  # a corrected errors file is meant to be short
    locations = set(prepared.validated.frame["location_id"].astype("str").unique())
    previous, which, tail = None, "the last file for these locations", ""
    if compared := state.previous_keys(prepared.mapping.name, locations, ERRORS_NAME):
        previous, had = compared
        if had > len(locations):  # an all-store export, then one store's own file?
            others = had - len(locations)
            which += f" and {others} other{'s' if others > 1 else ''}"
            tail = "; if this file is meant for fewer locations, release it"
    rows = len(prepared.validated.frame)
    if not job.guards.out_of_order:  # exports are not recorded: the journal's last file
        previous = previous_row_count(job.journal.path, prepared.mapping.name)
        rows, which, tail = len(prepared.mapped.positions), "the previous file", ""
    if previous is None or previous < job.guards.min_rows or rows >= ratio * previous:
        return None
    return (
        f"this file has {rows} rows, far fewer than the {previous} rows of {which} of mapping"
        f" '{prepared.mapping.name}' (less than {_pct(ratio)}): the export may have stopped"
        f" half-way{tail}"
    )


def _pct(share: float) -> str:
    return f"{share * 100:.0f}%"


def previous_row_count(journal_path: Path, mapping: str) -> int | None:
    """Data rows of the last file of `mapping` that reached Konnect (from the journal)."""
    with closing(sqlite3.connect(f"file:{journal_path}?mode=ro", uri=True, timeout=30.0)) as db:
        found = db.execute(
            "SELECT row_count FROM files WHERE mapping = ? AND state = 'done' "
            "AND row_count IS NOT NULL ORDER BY id DESC LIMIT 1",
            (mapping,),
        ).fetchone()
    return None if found is None else int(found[0])


def release_hint(held_file: Path) -> str:
    return (
        f'if the file is right, let it through with: konnect-etl release "{held_file.absolute()}"'
        " (back to the inbox: the next run uploads it)"
    )


def export_time(mapping: Mapping, path: Path) -> float:
    """When the file was exported: from its name (`export_time:`), else its mtime; never
    later than now (see `_not_ahead`)."""
    spec = mapping.export_time
    if spec is not None:
        found = spec.pattern.search(path.name)
        if found is not None:
            text = found.group(1) if spec.pattern.groups else found.group(0)
            try:
                stamp = datetime.strptime(text, spec.format).astimezone().timestamp()
                return _not_ahead(stamp, path, "the time in its name")
            except ValueError:
                log.warning("%s: '%s' is not a time like %s", path.name, text, spec.format)
    return _not_ahead(path.stat().st_mtime, path, "its modification time")


def _not_ahead(stamp: float, path: Path, what: str) -> float:
    """An export time ahead of now is taken as now: kept, a file stamped 2031 (a clock set
    wrong on the machine that wrote it, a time zone misread) would make every real export
    after it "older" and be refused until 2031."""
    now = time.time()
    if stamp <= now:
        return stamp
    if stamp > now + FUTURE_SLACK:
        ahead = datetime.fromtimestamp(stamp).astimezone().strftime("%Y-%m-%d %H:%M")
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
    protection state still remembers its export; None if none."""
    if job.journal is None:
        return None
    for record in job.journal.find_finished(sha256):
        if record.summary_path is None:
            continue
        name = Path(record.summary_path).name.removesuffix(".summary.json")
        name += Path(record.name).suffix
        at = state.export_time_of_file(prepared.mapping.name, name)
        if at is not None:
            return at, name
    return None


def origin(
    prepared: Prepared, path: Path, state: KeyState, copy: Copy = None
) -> tuple[float, str | None]:
    """When the file was exported, and for one of our errors files the stem of the export
    it comes from (None for an export)."""
    found = ERRORS_NAME.fullmatch(path.name)
    table = prepared.table
    if found is not None and own_columns(table.header):
        rows = table.data.iloc[:, len(table.header) - 1].dropna().astype("str")  # `row`
        original = state.exported_at_of(prepared.mapping.name, found["stem"], rows)
        if original is not None:
            return original, found["stem"]
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
            f" ({_when(copy[0])}), so values newer exports set since are not overwritten"
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
    for i in hit.tolist():  # worded only for the rows dropped, each newer export once
        key = str(keys.iat[i])
        messages[i] = _superseded(newer[key]) if key in newer else _set_by_own_export(stem)
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
    newer = state.newer_than(prepared.mapping.name, exported_at)
    newest = state.newest(prepared.mapping.name)
    if newest is not None and exported_at < newest.exported_at - KEEP_DAYS * 86400:
        newer = dict.fromkeys(keys, newest)  # too old to compare key by key: none is sent
    return newer


def _set_by_own_export(stem: str | None) -> str:
    return (
        f"not sent: {stem}, the export this errors file comes from, already set this location"
        " and SKU on another row, and one export sets a SKU once: check the SKU typed into"
        " this row; to change that SKU's stock, send it in a new file"
    )


@functools.lru_cache(maxsize=256)  # per newer export, not per row
def _superseded(newer: Applied) -> str:
    return (
        f"not sent: a newer export ({newer.file}, from {_when(newer.exported_at)}) already set"
        " this location and SKU, and this file's rows are older; nothing to do if that value"
        " is right - to change it, send the new value in a new file"
    )


def _when(stamp: float) -> str:
    return datetime.fromtimestamp(stamp).astimezone().strftime("%Y-%m-%d %H:%M")


def record_applied(
    prepared: Prepared, out: RowOutcomes, state: KeyState, exported_at: float, name: str
) -> None:
    """Remember the keys this file set, so an older export cannot overwrite them later."""
    if prepared.feed.name not in ABSOLUTE_FEEDS:
        return
    validated = prepared.validated
    ok = np.asarray(out.status)[validated.positions] == "ok"
    keys = frame_keys(validated.frame[ok]).tolist()
    table = prepared.table
    rows = table.row_numbers[error_positions(table, out)].tolist()
    state.record(prepared.mapping.name, keys, exported_at, name, rows)


def superseded_problem(row: int, message: str) -> Problem:
    return Problem(row, "", "", "superseded", message)


def before_upload(prepared: Prepared, path: Path, job: Job, sha256: str) -> str | None:
    """Why the file is held (None: go on), after dropping rows a newer export already set
    and cancels an earlier file applied."""
    if job.journal is None:
        return None
    with KeyState(job.journal.path.parent) as state:
        reason = hold_reason(prepared, job, state, sha256)
        if reason is None and job.guards.out_of_order:
            if forgot := state.no_future_exports(time.time() + FUTURE_SLACK):
                log.warning("forgot %s dated ahead of this machine's clock (recorded by an"
                            " older version)", count(forgot, "export"))  # fmt: skip
            skip_superseded(prepared, path, state, copy_of(prepared, job, state, sha256))
        if reason is None and job.guards.repeated_cancels:
            repeats.skip_repeats(prepared, state, _attempt(job, path, sha256))
    return reason


def partly_applied(prepared: Prepared, out: RowOutcomes, path: Path, job: Job, sha256: str) -> None:
    """A file stopped part-way that waits in processing/ (Konnect down or partly answering,
    credentials refused): the cancels it applied so far are remembered now, so that a copy
    of it edited meanwhile does not send them again (its own resume does not skip them:
    `skip_repeats` leaves out what its own attempt recorded)."""
    if job.journal is not None:
        with KeyState(job.journal.path.parent) as state:
            repeats.record_applied(prepared, out, state, path.name, _attempt(job, path, sha256))


def expecting_cancels(
    prepared: Prepared, path: Path, job: Job, sha256: str
) -> Callable[[int], None] | None:
    """For a cancel file, what to call with a chunk's index just before it is first sent:
    its cancels are written ahead as maybe applied (`repeats.expect`); None otherwise."""
    attempt = _attempt(job, path, sha256)  # None without a journal
    if prepared.feed.name != repeats.FEED or not job.guards.repeated_cancels or attempt is None:
        return None
    assert job.journal is not None
    folder = job.journal.path.parent
    rows = {chunk.index: chunk.rows for chunk in prepared.chunks}

    def expect(index: int) -> None:
        with KeyState(folder) as state:
            repeats.expect(prepared, np.asarray(rows[index]), state, path.name, attempt)

    return expect


def _attempt(job: Job, path: Path, sha256: str) -> str | None:
    """The unfinished attempt at this file, if any, as the protection state names it: its
    journal id and start (a journal made anew would number from 1 again)."""
    earlier = job.journal.unfinished(sha256, path.name) if job.journal is not None else None
    return f"{earlier.id}/{earlier.started_at}" if earlier is not None else None


def after_upload(
    prepared: Prepared, out: RowOutcomes, path: Path, job: Job, name: str, sha256: str
) -> None:
    """Remember which keys this export set (for the out-of-order guard) and which cancels it
    applied; `name`: the file's name in done/, which its errors file is named after."""
    if job.journal is None:
        return
    with KeyState(job.journal.path.parent) as state:
        repeats.record_applied(prepared, out, state, name, _attempt(job, path, sha256))
        if job.guards.price_jump is not None:
            pricejump.record(prepared, out, state, name)
        if job.guards.out_of_order:
            at = exported_at(prepared, path, state, copy_of(prepared, job, state, sha256))
            record_applied(prepared, out, state, at, name)
