"""`INBOX/.konnect-etl/status.json`: the heartbeat of `watch`, read by `konnect-etl status`.

`watch` rewrites it (atomically) at every scan and, while a long file uploads, at most once
a second: last scan, files in flight, last error, version, files it may not move. `status`
says the watcher looks dead when the heartbeat is older than `stale_after_seconds` (written
by the watcher, from its poll interval), and flags a problem when a file has not been
taken for that long because it may not be moved (permissions, a read-only inbox; a file
open in Excel on Windows for a moment does not count), so cron or a monitoring probe can
alert on the exit code.
"""

from __future__ import annotations

import logging
import os
import socket
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from etl import __version__
from etl.atomic import atomic_write_bytes
from etl.config import STATE_DIR

log = logging.getLogger(__name__)

STATUS_NAME = "status.json"


def status_path(inbox: Path) -> Path:
    return inbox / STATE_DIR / STATUS_NAME


def _stamp(now: float) -> str:
    return datetime.fromtimestamp(now, UTC).isoformat(timespec="seconds")


@dataclass
class Heartbeat:
    """What the watcher reports about itself; `write` never raises (the share may be gone)."""

    inbox: Path
    poll_seconds: float
    mode: str
    started: float
    state: str = "watching"
    in_flight: list[str] = field(default_factory=list)
    files_processed: int = 0
    last_error: dict[str, str] | None = None
    # files it may not move into processing/ (permissions), and since when
    not_taken: dict[str, float] = field(default_factory=dict)
    # since when every pass has failed (Konnect unreachable, the share gone...); None: working
    failing_since: float | None = None
    _written: float = 0.0

    def document(self, now: float) -> dict[str, Any]:
        return {
            "state": self.state,
            "version": __version__,
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "inbox": str(self.inbox),
            "mode": self.mode,
            "started_at": _stamp(self.started),
            "last_scan": _stamp(now),
            "last_scan_epoch": now,
            "poll_seconds": self.poll_seconds,
            "stale_after_seconds": max(120.0, 4 * self.poll_seconds),
            "files_in_flight": list(self.in_flight),
            "files_processed": self.files_processed,
            "last_error": self.last_error,
            "files_not_taken": {name: _stamp(t) for name, t in self.not_taken.items()},
            "files_not_taken_epoch": dict(self.not_taken),
            "failing_since": _stamp(self.failing_since) if self.failing_since else None,
            "failing_since_epoch": self.failing_since,
        }

    def write(self, now: float) -> None:
        self._written = now
        try:
            status_path(self.inbox).parent.mkdir(exist_ok=True)
            atomic_write_bytes(
                status_path(self.inbox),
                orjson.dumps(self.document(now), option=orjson.OPT_INDENT_2),
            )
        except OSError as exc:
            log.debug("could not write %s: %s", STATUS_NAME, exc)

    def write_soon(self, now: float) -> None:
        """During a long upload: at most one write a second."""
        if now - self._written >= 1.0:
            self.write(now)

    def error(self, message: str, now: float) -> None:
        self.last_error = {"at": _stamp(now), "message": message}
        self.failing_since = self.failing_since or now

    def working(self) -> None:
        """A pass went through again (`last_error` stays, for the record)."""
        self.failing_since = None

    def still_not_taken(self, names: list[str], now: float) -> None:
        """The files this scan could not take; each keeps the time it was first seen."""
        self.not_taken = {name: self.not_taken.get(name, now) for name in names}


def read_status(inbox: Path) -> dict[str, Any] | None:
    try:
        loaded: dict[str, Any] = orjson.loads(status_path(inbox).read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return None
    return loaded


def verdict(status: dict[str, Any], now: float, max_age: float | None = None) -> tuple[bool, str]:
    """Whether the watcher looks alive, and a one-line reason."""
    if status.get("state") == "stopped":
        return False, f"the watcher was stopped at {status.get('last_scan')}"
    if _gone(status):
        return False, (
            f"the watcher (pid {status.get('pid')} on this host) is not running: it ended "
            f"without a clean stop (killed, or the machine restarted); last scan "
            f"{status.get('last_scan')}"
        )
    age = now - float(status.get("last_scan_epoch", 0.0))
    limit = max_age if max_age is not None else float(status.get("stale_after_seconds", 120))
    if age > limit:
        return False, (
            f"no heartbeat for {age:.0f} s (limit {limit:.0f} s): the watcher looks dead "
            f"(last scan {status.get('last_scan')})"
        )
    stuck = sorted(
        name
        for name, since in status.get("files_not_taken_epoch", {}).items()
        if now - float(since) > limit
    )
    if stuck:
        return False, (
            f"alive, but {len(stuck)} file(s) could not be taken for over {limit:.0f} s (may "
            f"not be moved into processing/; see the log): {', '.join(stuck)}"
        )
    failing = status.get("failing_since_epoch")
    if failing is not None and now - float(failing) > limit:
        said = (status.get("last_error") or {}).get("message", "see the log")
        return False, f"alive, but failing for {now - float(failing):.0f} s: {said}"
    return True, f"alive: last scan {age:.0f} s ago"


def _gone(status: dict[str, Any]) -> bool:
    """The watcher's process is not there: it ran on this host, and its pid is free (a pid
    reused since is taken as alive: the heartbeat age still tells)."""
    pid = status.get("pid")
    if os.name == "nt":  # os.kill(pid, 0) would send Ctrl+C there (CTRL_C_EVENT is 0)
        return False
    if status.get("host") != socket.gethostname() or not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # PermissionError: it exists, under another user
        return False
    return False
