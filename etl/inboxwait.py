"""Files left in the inbox: what `konnect-etl status` flags beside the heartbeat.

A watcher takes a file seconds after it stops changing, a scheduled run at its next start;
a file still there an hour later is kept there by something - its trigger file never
written, say - and nothing else would tell.
"""

from __future__ import annotations

import os
from pathlib import Path

from etl.inbox import is_ignored, is_trigger
from etl.wording import count

# a file in the inbox this long without being taken is a problem (or --max-age, if longer)
WAITING_MAX = 3600.0


def waiting_files(inbox: Path, now: float, limit: float = WAITING_MAX) -> dict[str, float]:
    """Files at the inbox's top level that could be data and have not changed nor arrived
    for longer than `limit` seconds (name -> seconds): a watcher takes a file seconds after
    it stops changing, a scheduled run at its next start, so such a file is kept there by
    something: its trigger file never written, a lock another program holds on it (arrived:
    the inode's change time, as a copy may keep an old modification time)."""
    found: dict[str, float] = {}
    try:
        entries = list(os.scandir(inbox))
    except OSError:
        return found
    for entry in entries:
        try:
            if entry.is_symlink() or not entry.is_file() or is_ignored(entry.name):
                continue
            if is_trigger(entry.name, None):
                continue
            info = entry.stat()
        except OSError:
            continue
        waited = now - max(info.st_mtime, info.st_ctime)
        if waited > limit:
            found[entry.name] = waited
    return dict(sorted(found.items(), key=lambda item: -item[1]))


def waiting_problem(waiting: dict[str, float], limit: float) -> str:
    """What `status` says of the files `waiting_files` found."""
    shown = ", ".join(f"{name} ({minutes(seconds)})" for name, seconds in waiting.items())
    return (
        f"{count(len(waiting), 'file')} waited in the inbox over {minutes(limit)} without being"
        f" taken: {shown}. A file is taken once it stops changing (with trigger_suffix, once"
        " its trigger file is there too): see the log"
    )


def minutes(seconds: float) -> str:
    """'75 min', '3 h 10 min'."""
    whole = int(seconds // 60)
    return f"{whole} min" if whole < 120 else f"{whole // 60} h {whole % 60} min"
