"""Files a killed process left in processing/, for `konnect-etl status`.

A `run` killed mid-file (kill -9, the out-of-memory killer, a reboot) writes no last-run.json:
`status` went on judging the run before it ("OK ... every row of every file uploaded"), or said
"never ran" on a new inbox, while the half-sent file waited in processing/ for a next run that
may never come. Such a file is known by two things a live process never leaves together: its
marker in `.konnect-etl/working/` (`etl.deaths`: written when work on the file begins, removed
however that work ends short of the process dying) and its lock free (`etl.locks`: the OS
drops it when the process dies, even by kill -9). A file waiting on purpose - Konnect down, or
answered in part (`retry_failed_minutes`, `etl.holdover`) - has no marker: that run ended
(exit 2) and last-run.json says why.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from etl.config import STATE_DIR
from etl.deaths import WORKING, marker_path
from etl.inbox import Inbox
from etl.pullhealth import stamp
from etl.wording import count, duration, local_time

# a file whose attempt began less long ago is not flagged: a run taking the file a moment ago
LEFT_GRACE = 300.0


def left_files(inbox: Path, now: float) -> dict[str, dict[str, Any]]:
    """Files in processing/ whose process stopped without finishing them, the attempt begun
    over `LEFT_GRACE` seconds ago (name -> since, seconds: when that attempt began)."""
    found: dict[str, dict[str, Any]] = {}
    for path in _in_processing(inbox):
        try:
            began = marker_path(inbox / STATE_DIR / WORKING, path.name).stat().st_mtime
        except OSError:  # no marker: no process is working on it, nor died on it
            continue
        if now - began > LEFT_GRACE and not _worked_on(inbox, path.name):
            found[path.name] = {"since": stamp(began), "seconds": round(now - began)}
    return dict(sorted(found.items(), key=lambda item: -float(item[1]["seconds"])))


def _in_processing(inbox: Path) -> list[Path]:
    """The files in processing/, as they are (`Inbox.in_processing` renames some: a look
    changes nothing)."""
    try:
        return [p for p in (inbox / "processing").iterdir() if p.is_file() and not p.is_symlink()]
    except OSError:
        return []


def _worked_on(inbox: Path, name: str) -> bool:
    """A live process holds the file's lock. Taking it for a moment is what a second run
    does too (it leaves the file to whoever has it); a run resuming the file at this very
    moment waits that moment out (`Inbox.lock_soon`) rather than leave it to nobody. A lock
    that cannot be tried (no right to write the locks folder) counts as held: better nothing
    said than a false alarm."""
    try:
        with Inbox(inbox).lock(name) as free:
            return not free
    except OSError:
        return True


def left_problem(left: dict[str, dict[str, Any]]) -> str:
    """What `status` says of the files `left_files` found."""
    shown = ", ".join(
        f"{name} (taken {duration(entry['seconds'])} ago, at {local_time(entry['since'])})"
        for name, entry in left.items()
    )
    return (
        f"{count(len(left), 'file')} left in processing/: {shown}; the run that took it stopped"
        " without finishing (killed? rebooted? out of memory?); the next run continues it -"
        " if none comes, see the cron job, timer or service, and the log"
    )
