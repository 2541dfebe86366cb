"""Guards against destructive stock updates, and against old exports overwriting new ones.

A broken export job can leave a truncated file, or one full of zeros, that would wipe a
catalogue's stock. Before a stock file is uploaded:

- more than `zero_share` of its rows set to 0 (files of `min_rows` rows or more), or
- fewer than `fewer_rows` x the rows of the previous file of the same mapping (journal)

holds it: it moves to `held/YYYY-MM-DD/` with a report saying why, and is uploaded only after
`konnect-etl release FILE` (or with the guard turned off in the config, `guards:`). So does a
price file whose prices moved by one big factor from those last sent (`etl.pricejump`).

Stock and price files processed out of order (an older export after a newer one) do not
overwrite newer values (`etl.outoforder`).

Cancel rows an earlier file applied are not sent again (`etl.repeats`), nor are the records
of the other order feeds an earlier file applied (`etl.orderrepeats`: a "month so far"
re-export); an invoice number Konnect refuses says which order an earlier file gave it to
(`etl.invoicebook`); the order rows a file applied are remembered for the look-ups and the
skips of later files (`etl.orderbook`).

Two processes on one inbox take turns with such files (`etl.turns`), so neither looks at
what was applied while the other is between its look and its record.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Callable
from contextlib import closing
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from etl import awbbook, invoicebook, orderbook, orderrepeats, pricejump, repeats, sqlitetx
from etl.droppedback import ERRORS_NAME, errors_layout
from etl.feeds import ABSOLUTE_FEEDS
from etl.guard_settings import Guards
from etl.journaltables import FileRecord
from etl.keystate import KeyState
from etl.orderlookup import look_up
from etl.outoforder import FUTURE_SLACK, copy_of, exported_at, record_applied, skip_superseded
from etl.release import release_command
from etl.wording import count

if TYPE_CHECKING:
    from etl.job import Job, Prepared
    from etl.report import RowOutcomes

log = logging.getLogger(__name__)

STOCK_FEEDS = ("stock",)


def hold_reason(prepared: Prepared, job: Job, state: KeyState, sha256: str) -> str | None:
    """Why this file must wait for `konnect-etl release` (None: upload it)."""
    if state.is_released(sha256):
        return None
    if prepared.feed.name not in STOCK_FEEDS:
        return pricejump.hold_reason(prepared, job.guards, state)
    if _fixed_by_hand(prepared) or prepared.mapping.changes_only:
        return None
    return _zero_share(prepared, job.guards) or _fewer_rows(prepared, job, state)


def _fixed_by_hand(prepared: Prepared) -> bool:
    """One of our errors files dropped back: its rows are the export's rejected ones, typed
    by a person. It is meant to be short, and the zeros in it are typed (negative stock
    fixed to 0), not an export that failed half-way."""
    table = prepared.table
    return errors_layout(table.sheet.path.name, table.header)


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
    if ratio is None or job.journal is None:
        return None
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
    with closing(
        sqlite3.connect(f"file:{journal_path}?mode=ro", uri=True, timeout=sqlitetx.BUSY_SECONDS)
    ) as db:
        found = db.execute(
            "SELECT row_count FROM files WHERE mapping = ? AND state = 'done' "
            "AND row_count IS NOT NULL ORDER BY id DESC LIMIT 1",
            (mapping,),
        ).fetchone()
    return None if found is None else int(found[0])


def release_hint(held_file: Path) -> str:
    return (
        f"if the file is right, let it through with: {release_command(held_file)}"
        " (back to the inbox: the next run uploads it)"
    )


def before_upload(prepared: Prepared, path: Path, job: Job, sha256: str) -> str | None:
    """Why the file is held (None: go on), after dropping rows a newer export already set
    and order records (cancels too) an earlier file applied."""
    if job.journal is None:
        return None
    with KeyState(job.journal.path.parent) as state:
        reason = hold_reason(prepared, job, state, sha256)
        if reason is None and job.guards.out_of_order and prepared.feed.name in ABSOLUTE_FEEDS:
            if forgot := state.no_future_exports(time.time() + FUTURE_SLACK):
                log.warning("forgot %s dated ahead of this machine's clock (recorded by an"
                            " older version)", count(forgot, "export"))  # fmt: skip
            copy = copy_of(prepared, job, state, sha256)
            # taken now: after the upload the file may be gone (deleted from processing/)
            prepared.exported_at = exported_at(prepared, path, state, copy)
            skip_superseded(prepared, path, state, copy)
        if reason is None and job.guards.repeated_cancels:
            look = look_up(job.client) if job.client is not None else None
            repeats.skip_repeats(prepared, state, _attempt(job, path, sha256), look)
        if reason is None and job.guards.repeated_orders:
            _skip_applied_orders(prepared, job, path, sha256, state)
    return reason


def _skip_applied_orders(
    prepared: Prepared, job: Job, path: Path, sha256: str, state: KeyState
) -> None:
    """`orderrepeats.skip_applied`, the book read as this file's look-ups read it: a resumed
    attempt leaves out its own records and those recorded after it began."""
    feed, mine = prepared.feed.name, _unfinished(job, path, sha256)
    attempt = mine.attempt if mine is not None else None
    began = mine.started_at if mine is not None else "~"
    orderrepeats.skip_applied(prepared, partial(state.orders.earlier, feed, attempt=attempt,
                                                before=began))  # fmt: skip


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
    earlier = _unfinished(job, path, sha256)
    return earlier.attempt if earlier is not None else None


def _unfinished(job: Job, path: Path, sha256: str) -> FileRecord | None:
    return job.journal.unfinished(sha256, path.name) if job.journal is not None else None


def after_upload(
    prepared: Prepared, out: RowOutcomes, path: Path, job: Job, name: str, sha256: str
) -> None:
    """Remember which keys this export set (for the out-of-order guard) and which cancels,
    order-action records, AWB and invoice numbers it applied; `name`: the file's name in
    done/, which its errors file is named after."""
    if job.journal is None:
        return
    with KeyState(job.journal.path.parent) as state:
        attempt = _attempt(job, path, sha256)
        repeats.record_applied(prepared, out, state, name, attempt)
        orderbook.record_applied(prepared, out, state, name, attempt)
        awbbook.note_and_record(prepared, out, state, name)
        invoicebook.note_and_record(prepared, out, state, name)
        if job.guards.price_jump is not None:
            pricejump.note_far_rows(prepared, out, job.guards, state)
            pricejump.record(prepared, out, state, name)
        if prepared.exported_at is not None:  # the out-of-order guard took it before
            record_applied(prepared, out, state, prepared.exported_at, name)
