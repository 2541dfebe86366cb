"""Held files, for `konnect-etl status`: a stock or price file the guards put in
`held/YYYY-MM-DD/` (`etl.guards`) waits there for a person to run `konnect-etl release`.

The run that held it says so once (exit 1, a line under its table); after that the store's
stock or prices are not updated, and `status` stayed OK for as long as the file waited. So
every held file is a problem from the moment it is held until it leaves held/ - released,
or deleted (or moved away) by someone who decided it is wrong; its report stays either way.
held/ is never pruned (`etl.retention`), so nothing else ends the wait.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import orjson

from etl.release import HELD, release_command
from etl.wording import count, duration, local_time


def held_files(inbox: Path, now: float) -> dict[str, dict[str, Any]]:
    """Each file waiting in held/ ('YYYY-MM-DD/name' -> since, seconds, reason, release),
    the longest held first; known by its summary's `held` key, with the file beside it."""
    found: dict[str, dict[str, Any]] = {}
    for summary_path in sorted((inbox / HELD).glob("*/*.summary.json")):
        entry = _held_entry(summary_path, now)
        if entry is not None:
            found[f"{summary_path.parent.name}/{entry.pop('name')}"] = entry
    return dict(sorted(found.items(), key=lambda item: -float(item[1]["seconds"])))


def _held_entry(summary_path: Path, now: float) -> dict[str, Any] | None:
    """What `held_files` says of one summary; None when it is no held file's, or the file is
    gone from beside it (released, deleted)."""
    try:
        summary = orjson.loads(summary_path.read_bytes())
        held_at = summary_path.stat().st_mtime
    except (OSError, orjson.JSONDecodeError):
        return None
    if not isinstance(summary, dict) or not summary.get("held"):
        return None
    name = summary.get("input")
    if not isinstance(name, str) or os.sep in name:
        return None
    held = summary_path.parent / name
    if not held.is_file():
        return None
    return {
        "name": name,
        "since": summary.get("finished_at"),
        "seconds": round(now - held_at),
        "reason": summary["held"],
        "release": release_command(held),
    }


def held_problem(held: dict[str, dict[str, Any]]) -> str:
    """What `status` says of the files `held_files` found."""
    shown = "; ".join(
        f"{name} (held {duration(entry['seconds'])} ago, at {local_time(entry['since'])}: "
        f"{entry['reason']}; if it is right: {entry['release']})"
        for name, entry in held.items()
    )
    return (
        f"{count(len(held), 'file')} held in held/, waiting for konnect-etl release (nothing of"
        f" it is sent until then): {shown}. A held file that is wrong: delete it from held/ (its"
        " report stays) and send a corrected export"
    )
