"""`INBOX/.konnect-etl/status.json`: the heartbeat of `watch`, read by `konnect-etl status`.

`watch` rewrites it (atomically) at every scan and, while a long file uploads, at most once
a second: last scan, files in flight, last error, version, files it may not move. `status`
says the watcher looks dead when the heartbeat is older than `stale_after_seconds` (written
by the watcher, from its poll interval), and flags a problem when a file has not been
taken for that long because it may not be moved (permissions, a read-only inbox; a file
open in Excel on Windows for a moment does not count), so cron or a monitoring probe can
alert on the exit code.

With `watch --pull-out` it also records the pulls (`pulls`, `etl.pullhealth`). A status.json
without `pulls` (an older watcher, or one that does not pull) reads as before.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from etl import __version__
from etl.atomic import atomic_write_bytes
from etl.config import STATE_DIR
from etl.pullhealth import PullHealth, pull_in_progress, pull_problem, stamp

log = logging.getLogger(__name__)

STATUS_NAME = "status.json"


def status_path(inbox: Path) -> Path:
    return inbox / STATE_DIR / STATUS_NAME


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
    # `watch --pull-out`: how the pulls go (None: this watcher does not pull)
    pulls: PullHealth | None = None
    _written: float = 0.0

    def document(self, now: float) -> dict[str, Any]:
        return {
            "state": self.state,
            "version": __version__,
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "inbox": str(self.inbox),
            "mode": self.mode,
            "started_at": stamp(self.started),
            "last_scan": stamp(now),
            "last_scan_epoch": now,
            "poll_seconds": self.poll_seconds,
            "stale_after_seconds": max(120.0, 4 * self.poll_seconds),
            "files_in_flight": list(self.in_flight),
            "files_processed": self.files_processed,
            "last_error": self.last_error,
            "files_not_taken": {name: stamp(t) for name, t in self.not_taken.items()},
            "files_not_taken_epoch": dict(self.not_taken),
            "failing_since": stamp(self.failing_since) if self.failing_since else None,
            "failing_since_epoch": self.failing_since,
            "pulls": self.pulls.document() if self.pulls is not None else None,
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
        self.last_error = {"at": stamp(now), "message": message}
        self.failing_since = self.failing_since or now

    def working(self) -> None:
        """A pass went through again (`last_error` stays, for the record)."""
        self.failing_since = None

    def still_not_taken(self, names: list[str], now: float) -> None:
        """The files this scan could not take; each keeps the time it was first seen."""
        self.not_taken = {name: self.not_taken.get(name, now) for name in names}


INTERNAL_ERROR = "stopped by an internal error"  # a bug of ours: its traceback is in the log


def could_not_start(
    inbox: Path, poll_seconds: float, reason: str, now: float, state: str = "could not start"
) -> None:
    """The status a watcher leaves that stopped at start (a config or mapping mistake), or
    later by a bug of ours (`state` "stopped by an internal error"): `status` then says why,
    not "stopped" as if someone had stopped it."""
    beat = Heartbeat(inbox, poll_seconds, "", now, state=state)
    beat.error(reason, now)
    beat.write(now)


def read_status(inbox: Path) -> dict[str, Any] | None:
    return read_json(status_path(inbox))


def read_json(path: Path) -> dict[str, Any] | None:
    """A state file as written (status.json, last-run.json); None when missing or torn."""
    try:
        loaded: dict[str, Any] = orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return None
    return loaded


def verdict(status: dict[str, Any], now: float, max_age: float | None = None) -> tuple[bool, str]:
    """Whether the watcher looks alive, and a one-line reason."""
    if status.get("state") == "stopped":
        return False, f"the watcher was stopped at {status.get('last_scan')}"
    if status.get("state") in ("could not start", INTERNAL_ERROR):
        said = (status.get("last_error") or {}).get("message", "see the log")
        what = "could not start" if status["state"] == "could not start" else INTERNAL_ERROR
        return False, f"the watcher {what} at {status.get('last_scan')}: {said}"
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
    if status.get("state") == "stopping":
        files = ", ".join(status.get("files_in_flight") or [])
        files = files or pull_in_progress(status.get("pulls"))
        what = f", it finishes {files} first" if files else ""
        return True, f"stopping: asked to stop{what} (last beat {age:.0f} s ago)"
    if stuck := not_taken_for(status.get("files_not_taken_epoch") or {}, now, limit):
        return False, f"alive, but {stuck}"
    failing = status.get("failing_since_epoch")
    if failing is not None and now - float(failing) > limit:
        said = (status.get("last_error") or {}).get("message", "see the log")
        return False, f"alive, but failing for {now - float(failing):.0f} s: {said}"
    pulling = pull_problem(status.get("pulls"), now)
    if pulling is not None:
        return False, pulling
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


def not_taken_for(not_taken: dict[str, Any], at: float, limit: float) -> str:
    """The files (name -> when first not taken) that at `at` had not been taken for over
    `limit` seconds, in words; "" if none."""
    stuck = sorted(name for name, since in not_taken.items() if at - float(since) > limit)
    if not stuck:
        return ""
    return (
        f"{len(stuck)} file(s) could not be taken for over {limit:.0f} s (may not be moved"
        f" into processing/; see the log): {', '.join(stuck)}"
    )


@dataclass
class Beating:
    """A file's progress callback that also keeps the watcher's heartbeat fresh; a terminal's
    bar for a later phase (orders looked up: `etl.orderlookup.phase_of`) is passed on."""

    tick: Callable[[int], None] | None
    heartbeat: Heartbeat

    def __call__(self, done: int) -> None:
        if self.tick is not None:
            self.tick(done)
        self.heartbeat.write_soon(time.time())

    @property
    def phase(self) -> Callable[[str, int], Callable[[int], None]] | None:
        opens = getattr(self.tick, "phase", None)
        if not callable(opens):
            return None
        return lambda description, total: Beating(opens(description, total), self.heartbeat)
