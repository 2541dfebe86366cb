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
from dataclasses import dataclass
from pathlib import Path

from etl.atomic import atomic_write_bytes
from etl.chunkresult import ChunkResult
from etl.config import STATE_DIR
from etl.inbox import Inbox
from etl.job import Destination, FileResult, Job
from etl.pipeline import failed
from etl.stopping import when_stop_requested
from etl.wording import count

log = logging.getLogger(__name__)

MAX_DEATHS = 3
GAVE_UP = (
    "konnect-etl stopped {deaths} times in a row while working on this file, without finishing"
    " it or saying why: the process was killed ({why}). It is set aside so that the files"
    " behind it go on. What Konnect acknowledged is recorded: {advice}"
)
TOO_BIG = (
    "most likely for lack of memory - the file may be too big for this machine - or the"
    " machine restarted",
    "split the file into smaller ones (or lower 'limits: max_rows' in konnect-etl.yaml so such"
    " files are refused before reading, or give the machine more memory) and drop it in again",
)
SMALL = 1024 * 1024  # bytes: a file this small is not too big for any machine
DAMAGED = (
    "the machine restarted, or reading the file exhausted memory or crashed the reader: at"
    " {size:,} bytes it is not too big, so it may be damaged, or made to do that",
    "open it in Excel and save it again, or export it as CSV, and drop it in again; if good"
    " files do this too, send the log to whoever looks after konnect-etl",
)


@dataclass(frozen=True)
class Deaths:
    """How the processes that worked on a file before ended without finishing it: `hard`
    killed outright, `after_stop` killed after a stop request (SIGTERM, Ctrl+C). The latter
    is systemd's SIGKILL after `TimeoutStopSec` as often as a memory watchdog that asks
    first (earlyoom): it counts half."""

    hard: int = 0
    after_stop: int = 0

    @property
    def too_many(self) -> bool:
        return 2 * self.hard + self.after_stop >= 2 * MAX_DEATHS

    def text(self) -> str:
        """The marker's content: `hard after_stop`."""
        return f"{self.hard} {self.after_stop}"


WORKING = "working"  # the markers' folder, in the inbox's state folder


def marker_path(folder: Path, name: str) -> Path:
    """The marker of `processing/<name>` in `folder` (`.konnect-etl/working/`): it is there
    while a process works on the file, and stays when that process is killed."""
    return folder / hashlib.sha256(os.fsencode(name)).hexdigest()


# The markers of the files in progress, with the deaths counted before this start
_working: dict[Path, Deaths] = {}


@contextmanager
def working_on(inbox: Inbox, name: str, resuming: bool) -> Iterator[Deaths]:
    """Mark `name` as being worked on while the block runs; yields how processes died on it
    in a row before (none for a file newly taken from the inbox)."""
    marker = marker_path(inbox.folder(STATE_DIR, WORKING), name)
    before = _deaths(marker) if resuming else Deaths()
    killed = Deaths(before.hard + 1, before.after_stop)  # what the next start reads if we die
    atomic_write_bytes(marker, killed.text().encode())
    _working[marker] = before
    try:
        yield before
    finally:
        _working.pop(marker, None)
        marker.unlink(missing_ok=True)


def _stop_asked() -> None:
    """A stop was asked for (SIGTERM, Ctrl+C): a kill that follows it counts half."""
    for marker, before in list(_working.items()):
        stopped = Deaths(before.hard, before.after_stop + 1)
        with contextlib.suppress(OSError):
            atomic_write_bytes(marker, stopped.text().encode())


when_stop_requested(_stop_asked)


def _deaths(marker: Path) -> Deaths:
    """The marker's count: `hard after_stop`, or `hard` alone (an older version's)."""
    try:
        numbers = [int(n) for n in marker.read_text(encoding="ascii").split()]
    except (FileNotFoundError, ValueError):
        return Deaths()
    return Deaths(*numbers[:2]) if numbers else Deaths()


def set_aside(claimed: Path, deaths: Deaths, job: Job, where: Destination) -> FileResult:
    """`claimed` to failed/, with a report saying how the process died on it, and what of it
    Konnect acknowledged before (its summary's `chunks`, `ack_ids`; `partial` when that is
    anything) or was sent without an answer."""
    size = claimed.stat().st_size if claimed.exists() else SMALL
    why, advice = DAMAGED if size < SMALL else TOO_BIG
    reason = GAVE_UP.format(
        deaths=deaths.hard + deaths.after_stop, why=why.format(size=size), advice=advice
    )
    if deaths.after_stop:
        reason += (
            f" ({deaths.after_stop} of those times it was killed after being asked to stop: a"
            " service's stop timeout, or a memory watchdog that asks first)"
        )
    results, unanswered = _sent_before(claimed, job)
    reason += _what_went(results, unanswered)
    log.error("%s: %s", claimed.name, reason)
    return failed(claimed, reason, job.now(), job, where, results)


def _sent_before(claimed: Path, job: Job) -> tuple[list[ChunkResult], int]:
    """The recorded chunks of the unfinished attempt at `claimed`, and how many more were
    sent without their answer recorded (a process killed meanwhile)."""
    found = job.journal.latest_unfinished(claimed.name) if job.journal is not None else None
    if found is None or job.journal is None:
        return [], 0
    file_id = found[0].id
    recorded = job.journal.chunk_results(file_id, ("acknowledged", "failed", "unknown"))
    return list(recorded.values()), len(job.journal.inflight(file_id))


def _what_went(results: list[ChunkResult], unanswered: int) -> str:
    acknowledged = sum(r.state == "acknowledged" for r in results)
    doubtful = unanswered + sum(r.state == "unknown" for r in results)
    said = ""
    if acknowledged:
        ids = " (their ack_ids are in the summary)" if any(r.ack_id for r in results) else ""
        said += f". Konnect acknowledged {count(acknowledged, 'request')} of it before{ids}"
    if doubtful:
        said += f". {count(doubtful, 'request')} of it went without an answer: maybe applied"
    if said:
        said += (
            ". Dropping the file in again under the same name continues from there and looks"
            " up what is in doubt (a stock or price file is sent whole again)"
        )
    return said
