"""When a file dropped in the inbox is complete: its size and modification time have stayed
the same for the settle time (`Settler`, across `watch`'s scans; `wait_until_ready`, once for
`run`), and it can be opened (Windows keeps a file being copied locked).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from etl.inbox import Inbox


def _can_open(path: Path) -> bool:
    """Windows keeps a file locked while it is being copied: opening it fails then."""
    try:
        with path.open("rb"):
            return True
    except OSError:
        return False


def wait_until_ready(
    inbox: Inbox,
    trigger_suffix: str | None,
    settle_seconds: float,
    max_wait: float,
    settler: Settler | None = None,
) -> list[Path]:
    """The ready files (the `Settler`'s rule, as in `watch`: unchanged in size and mtime for
    `settle_seconds` while we looked), waiting for the others up to `max_wait` — or the
    settle time, if longer. With files waiting, `run` takes the settle time: a copy that
    keeps the source's old mtime is only seen to be unfinished by its growing size.
    `settler`: the caller's, to ask it later whether a file is still as it was when found
    ready (`Settler.still_ready`)."""
    settler = Settler(settle_seconds) if settler is None else settler
    deadline = time.time() + max(max_wait, settle_seconds + 1)
    while True:
        candidates = inbox.candidates(trigger_suffix)
        ready, wait = settler.ready(candidates, time.time())
        if len(ready) == len(candidates) or time.time() >= deadline:
            return ready
        time.sleep(min(wait, 0.5, max(0.0, deadline - time.time())))


class Settler:
    """Readiness across the scans of `watch`.

    A file is ready when its size and mtime have stayed the same for `settle_seconds` while we
    watched it, and its mtime is at least that old: copy tools that keep the source's old
    mtime (Explorer, `cp -p`) still make the size grow while they copy.
    """

    def __init__(self, settle_seconds: float) -> None:
        self.settle_seconds = settle_seconds
        self._seen: dict[Path, tuple[tuple[int, float], float]] = {}
        self._ready: dict[Path, tuple[int, float]] = {}  # the size and mtime it was ready with

    def ready(self, paths: list[Path], now: float) -> tuple[list[Path], float]:
        """The ready files, and the seconds until the next unready one may be ready."""
        seen: dict[Path, tuple[tuple[int, float], float]] = {}
        ready, wait = [], float("inf")
        for path in paths:
            signature = file_signature(path)
            if signature is None:
                continue
            earlier = self._seen.get(path)
            since = now
            # unchanged since then; a clock stepped back (NTP) leaves it ahead: start again
            if earlier is not None and earlier[0] == signature and earlier[1] <= now:
                since = earlier[1]
            seen[path] = (signature, since)
            # an mtime in the future is a share whose clock runs ahead: trust what we saw
            mtime_age = now - signature[1] if signature[1] <= now else now - since
            left = self.settle_seconds - min(now - since, mtime_age)
            if left <= 0 and _can_open(path):
                ready.append(path)
            else:
                wait = min(wait, max(left, 0.2))
        self._seen = seen
        self._ready = {path: seen[path][0] for path in ready}
        return ready, wait

    def still_ready(self, path: Path) -> bool:
        """`path` has the size and mtime it had when `ready` last found it ready: a file
        written again since (a new export over an old one) must settle again first."""
        signature = self._ready.get(path)
        return signature is not None and file_signature(path) == signature


def file_signature(path: Path) -> tuple[int, float] | None:
    """Size and modification time: what changes while a file is being written."""
    try:
        stat = path.stat()
    except OSError:
        return None
    return stat.st_size, stat.st_mtime
