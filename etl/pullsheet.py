"""A pulled sheet's way into the outbox, in steps a crash between any two of which loses no
order and writes none twice (`etl.pullstate` keeps the record):

    staged    written under a hidden temp name (`etl.outbox.stage_sheet`)
    recorded  its orders, pending under the name it gets (`PullState.record`, by `etl.pull`)
    named     a hard link gives it that name, made durable; then the temp name goes
    done      its orders marked done (`PullState.named`); failing that (disk full), the
              next pull finds the temp name gone and settles it as named

A sheet once named is never taken back: an import agent may have taken it already. Each
pull starts by settling what a stopped one left (`settle`) and sweeping its temp files.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import time
from pathlib import Path

from etl.atomic import fsync_dir, link_unless_taken
from etl.outbox import StagedSheet
from etl.pullstate import Pending, PullState

log = logging.getLogger(__name__)
# Our temp files in an outbox older than this are a stopped pull's: under the pull lock no
# pull writes, and the margin spares whatever else of ours may write a file there.
STALE_TEMP_SECONDS = 3600.0


def publish(state: PullState, staged: StagedSheet, pending: Pending) -> Path:
    """Name the recorded sheet, then drop its temp name (the sign that it was named), then
    mark its orders done. Named, it stays: a failure after that is the next pull's to settle."""
    folder = staged.path.parent
    try:
        sheet = folder / pending.sheet
        while not link_unless_taken(staged.path, sheet):  # taken meanwhile, not by a pull
            sheet = free_name(staged)
            pending = state.rename(pending, sheet.name)
    except BaseException as exc:  # not named: forget its orders (a stop, a refused link)
        _unname(state, staged, pending, exc)
        raise
    fsync_dir(folder)  # named now, whatever stops us: the name durable before the temp name goes
    with contextlib.suppress(OSError):  # still there, it is the same file: settled as named
        staged.discard()
    try:
        state.named(pending.staged)
    except (OSError, sqlite3.Error) as exc:  # its orders are recorded: pending and named
        log.warning("wrote %s; the outbox's journal could not mark its orders done (%s): the "
                    "next pull does (none missed, none twice)", sheet, exc)  # fmt: skip
    return sheet


def _unname(state: PullState, staged: StagedSheet, pending: Pending, exc: BaseException) -> None:
    """The sheet could not be named: forget its pending orders, then its temp file. If the
    journal cannot be written either, the temp file stays for the next pull to settle."""
    exc.add_note("No sheet was named: the next pull writes its orders (none missed, none twice)")
    try:
        state.unnamed(pending.staged)
    except (OSError, sqlite3.Error):
        return
    with contextlib.suppress(OSError):
        staged.discard()


def free_name(staged: StagedSheet) -> Path:
    """The sheet's name: `stem.suffix`, or `stem-2.suffix`... if a file has it."""
    folder, n = staged.path.parent, 1
    path = folder / f"{staged.stem}{staged.suffix}"
    while path.exists():
        n += 1
        path = folder / f"{staged.stem}-{n}{staged.suffix}"
    return path


def settle(state: PullState, outbox: Path) -> None:
    """Finish what a pull stopped part-way left (`PullState.settle`), then sweep temp files
    of ours that nothing writes any more (the pull lock is held: no pull is writing)."""
    named, unnamed = state.settle(outbox)
    for staged in named + unnamed:  # settled: a temp name left is now just a temp file
        with contextlib.suppress(OSError):
            (outbox / staged).unlink(missing_ok=True)
    if unnamed:
        log.warning("a pull stopped before naming its sheet in %s: its orders are written "
                    "again now (none missed, none twice)", outbox)  # fmt: skip
    swept = sweep_temps(outbox, time.time() - STALE_TEMP_SECONDS)
    if swept:
        log.info("removed %d temp file(s) a stopped pull left in %s", swept, outbox)


def sweep_temps(outbox: Path, before: float) -> int:
    """Remove our temp files in `outbox` last written before `before` (a POSIX time)."""
    swept = 0
    for path in [*outbox.glob(".konnect-etl-*.tmp"), *outbox.glob(".orders-*.tmp")]:
        with contextlib.suppress(OSError):  # gone meanwhile, or not ours to remove
            if path.is_file() and path.stat().st_mtime < before:
                path.unlink()
                swept += 1
    return swept
