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

import hashlib
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from etl.atomic import atomic_write_bytes
from etl.config import STATE_DIR
from etl.inbox import Inbox
from etl.pipeline import Destination, FileResult, Job, failed

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


@contextmanager
def working_on(inbox: Inbox, name: str, resuming: bool) -> Iterator[int]:
    """Mark `name` as being worked on while the block runs; yields how many processes died
    on it in a row before (0 for a file newly taken from the inbox)."""
    marker = inbox.folder(STATE_DIR, "working") / hashlib.sha256(os.fsencode(name)).hexdigest()
    deaths = _deaths(marker) if resuming else 0
    atomic_write_bytes(marker, str(deaths + 1).encode())  # what the next start reads if we die
    try:
        yield deaths
    finally:
        marker.unlink(missing_ok=True)


def _deaths(marker: Path) -> int:
    try:
        return int(marker.read_text(encoding="ascii"))
    except (FileNotFoundError, ValueError):
        return 0


def set_aside(claimed: Path, deaths: int, job: Job, where: Destination) -> FileResult:
    """`claimed` to failed/, with a report saying the process died on it `deaths` times."""
    reason = GAVE_UP.format(deaths=deaths)
    log.error("%s: %s", claimed.name, reason)
    return failed(claimed, reason, job.now(), job, where)
