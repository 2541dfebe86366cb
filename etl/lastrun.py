"""`INBOX/.konnect-etl/last-run.json`: how the last `run` ended, for `konnect-etl status`.

A cron, Task Scheduler or systemd-timer deployment has no watcher and so no heartbeat: a
crontab that stopped, a venv gone or a share refused would show nowhere but in mail nobody
gets. Each `run` (not `--dry-run`) writes when it finished, its exit code, why it stopped
(exit 2), which files wait in processing/ and which it could not take from the inbox;
`status` judges it: a problem when the last run could not run, when there has been no run
for `RUN_MAX_AGE` seconds, or when a file could not be taken for `NOT_TAKEN_GRACE` seconds
(runs in a row: a read-only share, a wrong owner).
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from contextlib import suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from etl import __version__
from etl.atomic import atomic_write_bytes
from etl.config import STATE_DIR
from etl.health import not_taken_for, read_json
from etl.wording import duration

NAME = "last-run.json"
RUN_MAX_AGE = 3600.0  # seconds without a run that count as a problem (cron every 5 minutes)
NOT_TAKEN_GRACE = 120.0  # a file Excel holds open a moment is no problem; one left is
NO_FILE = "no file was ready in the inbox"  # exit 0 with nothing done: not "every row uploaded"
MEANING = {
    0: "every row of every file uploaded",
    1: "finished; some rows or files need a look (see their reports)",
    2: "could not run",
}


def record(
    inbox: Path,
    started: float,
    code: int,
    reason: str | None = None,
    files: int | None = None,
    not_taken: Sequence[str] = (),
) -> None:
    """Write how this run ended (`files`: how many it finished; `not_taken`: files it could
    not move into processing/, each with when a run first could not, kept from the last
    entry); a folder that cannot be written is left (the exit code and stderr say why)."""
    now = time.time()
    before = (read(inbox) or {}).get("files_not_taken_epoch") or {}
    try:
        waiting = sorted(p.name for p in (inbox / "processing").iterdir() if p.is_file())
    except OSError:
        waiting = []
    entry = {
        "started_at": _stamp(started),
        "finished_at": _stamp(now),
        "finished_epoch": now,
        "exit_code": code,
        "meaning": NO_FILE if code == 0 and files == 0 else MEANING.get(code, "stopped"),
        "files_finished": files,
        "reason": reason,
        "files_waiting": waiting,
        "files_not_taken_epoch": {name: float(before.get(name, now)) for name in not_taken},
        "pid": os.getpid(),
        "version": __version__,
    }
    with suppress(OSError):
        atomic_write_bytes(path(inbox), orjson.dumps(entry, option=orjson.OPT_INDENT_2))


def path(inbox: Path) -> Path:
    return inbox / STATE_DIR / NAME


def read(inbox: Path) -> dict[str, Any] | None:
    return read_json(path(inbox))


def verdict(entry: dict[str, Any], now: float, max_age: float | None) -> tuple[bool, str]:
    """(healthy, one line): the last run stopped without running (exit 2), or too long ago."""
    age = now - float(entry.get("finished_epoch", 0.0))
    limit = max_age if max_age is not None else RUN_MAX_AGE
    code = entry.get("exit_code")
    said = f"last run {duration(age)} ago ({entry.get('finished_at')}): exit {code}"
    if age > limit:
        return False, (
            f"no run for {duration(age)} (limit {duration(limit)}): is the cron job,"
            f" scheduled task or timer still running it? ({said})"
        )
    if code == 2:
        return False, f"{said}, {entry.get('reason') or MEANING[2]}"
    # judged as of the last run: until the next run it is not known whether the file is taken
    finished = float(entry.get("finished_epoch", 0.0))
    not_taken = entry.get("files_not_taken_epoch") or {}
    if stuck := not_taken_for(not_taken, finished, NOT_TAKEN_GRACE):
        return False, f"{said}; {stuck}"
    waiting = entry.get("files_waiting") or []
    also = f"; waiting in processing/: {', '.join(waiting)}" if waiting else ""
    return True, f"{said}, {entry.get('meaning')}{also}"


def _stamp(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds")
