"""A file the process keeps dying on is set aside, so that it does not block the inbox.

A leftover in processing/ is resumed first at every start, before any newer file. If working
on it kills the process outright (the kernel's out-of-memory killer on a file too big for the
machine, a crash inside a library), no `except` ever runs, and the next start dies on it again:
the inbox stops for good, and under systemd's restart-on-failure silently. So a marker in
`.konnect-etl/working/` counts the starts on a file that ended with the process gone: written
(one more) when work on the file begins, removed however that work ends short of the process
dying (done, failed, held, Konnect down, Ctrl+C). After `MAX_DEATHS` such ends in a row the
file goes to failed/ with a report saying so; the files behind it go on.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from etl.atomic import atomic_write_bytes
from etl.chunkresult import ChunkResult
from etl.config import STATE_DIR
from etl.inbox import Inbox
from etl.pipeline import Destination, FileResult, Job, failed
from etl.stopping import when_stop_requested
from etl.wording import count

log = logging.getLogger(__name__)

MAX_DEATHS = 3
GAVE_UP = (
    "konnect-etl stopped {deaths} times in a row while working on this file, without finishing"
    " it or saying why: the process was killed (most likely for lack of memory - the file may"
    " be too big for this machine - or the machine restarted). It is set aside so that the"
    " files behind it go on. What Konnect acknowledged is recorded: split the file into smaller"
    " ones (or lower 'limits: max_rows' in konnect-etl.yaml so such files are refused before"
    " reading, or give the machine more memory) and drop it in again"
)


# The markers of the files in progress, with the deaths counted before this start
_working: dict[Path, int] = {}


@contextmanager
def working_on(inbox: Inbox, name: str, resuming: bool) -> Iterator[int]:
    """Mark `name` as being worked on while the block runs; yields how many processes died
    on it in a row before (0 for a file newly taken from the inbox)."""
    marker = inbox.folder(STATE_DIR, "working") / hashlib.sha256(os.fsencode(name)).hexdigest()
    deaths = _deaths(marker) if resuming else 0
    atomic_write_bytes(marker, str(deaths + 1).encode())  # what the next start reads if we die
    _working[marker] = deaths
    try:
        yield deaths
    finally:
        _working.pop(marker, None)
        marker.unlink(missing_ok=True)


def _stop_asked() -> None:
    """A stop was asked for (SIGTERM, Ctrl+C): a kill that follows it - systemd's SIGKILL
    after `TimeoutStopSec`, a second Ctrl+C - is no death of the file's making, so the
    markers go back to the count before this start."""
    for marker, before in list(_working.items()):
        with contextlib.suppress(OSError):
            atomic_write_bytes(marker, str(before).encode())


when_stop_requested(_stop_asked)


def _deaths(marker: Path) -> int:
    try:
        return int(marker.read_text(encoding="ascii"))
    except (FileNotFoundError, ValueError):
        return 0


def set_aside(claimed: Path, deaths: int, job: Job, where: Destination) -> FileResult:
    """`claimed` to failed/, with a report saying the process died on it `deaths` times, and
    what Konnect acknowledged of it before (its summary's `chunks` and `ack_ids`: `partial`
    when that is anything, as part of the file is applied)."""
    reason = GAVE_UP.format(deaths=deaths)
    results = _acknowledged(claimed, job)
    if results:
        reason += (
            f". Konnect acknowledged {count(len(results), 'request')} of this file before"
            " (its ack_ids are in the summary): those rows are applied, and dropping the file"
            " in again under the same name continues from there (a stock or price file is"
            " sent whole again)"
        )
    log.error("%s: %s", claimed.name, reason)
    return failed(claimed, reason, job.now(), job, where, results)


def _acknowledged(claimed: Path, job: Job) -> list[ChunkResult]:
    """The chunks of the unfinished attempt at `claimed` that Konnect acknowledged."""
    found = job.journal.latest_unfinished(claimed.name) if job.journal is not None else None
    if found is None or job.journal is None:
        return []
    done = job.journal.chunk_results(found[0].id).values()
    return [r for r in done if r.state == "acknowledged"]
