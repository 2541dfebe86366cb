"""`INBOX/.konnect-etl/status.json`: the heartbeat of `watch`, read by `konnect-etl status`.

`watch` rewrites it (atomically) at every scan and, while a long file uploads, at most once
a second: last scan, files in flight, last error, version, files it may not move. `status`
says the watcher looks dead when the heartbeat is older than `stale_after_seconds` (written
by the watcher, from its poll interval), and flags a problem when a file has not been
taken for that long because it may not be moved (permissions, a read-only inbox; a file
open in Excel on Windows for a moment does not count), so cron or a monitoring probe can
alert on the exit code.

With `watch --pull-out` it also records the pulls (`pulls`: last successful round, last
error, failed rounds in a row, a round running since when; `PullHealth`, updated by the
thread the pulls run in): pulls that failed `PULL_ALERT_ROUNDS` rounds in a row, or have
been failing (or one round running) for `PULL_ALERT_SECONDS`, are a problem too. A
status.json without `pulls` (an older watcher, or one that does not pull) reads as before.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
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
# `watch --pull-out`: pulls need a look once this many rounds in a row failed, or once they
# have been failing (or one round has been running) this long, whichever comes first
PULL_ALERT_ROUNDS = 3
PULL_ALERT_SECONDS = 3600.0


def status_path(inbox: Path) -> Path:
    return inbox / STATE_DIR / STATUS_NAME


def _stamp(now: float) -> str:
    return datetime.fromtimestamp(now, UTC).isoformat(timespec="seconds")


@dataclass
class PullHealth:
    """How the pulls of `watch --pull-out` go. A round (every status once) runs in a thread
    of its own while the loop writes status.json, so every access holds `_lock`."""

    outbox: str | None = None
    every_seconds: float | None = None
    running_since: float | None = None  # a round in progress
    last_round: float | None = None  # when the last round ended
    last_success: float | None = None  # when a round last ended with every pull done
    last_error: dict[str, str] | None = None  # stays after a success, for the record
    failed_rounds: int = 0  # in a row
    failing_since: float | None = None  # the first failed round of this run of failures
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def round_started(self, outbox: Path, every_seconds: float, now: float) -> None:
        with self._lock:
            self.outbox, self.every_seconds = str(outbox), every_seconds
            self.running_since = now

    def round_ended(self, failures: list[str], now: float) -> None:
        """`failures`: one message per pull of the round that failed (none: a success)."""
        with self._lock:
            self.running_since, self.last_round = None, now
            if failures:
                self.failed_rounds += 1
                self.failing_since = self.failing_since or now
                self.last_error = {"at": _stamp(now), "message": "; ".join(failures)}
            else:
                self.failed_rounds, self.failing_since = 0, None
                self.last_success = now

    def document(self) -> dict[str, Any]:
        with self._lock:
            return {
                "outbox": self.outbox,
                "every_seconds": self.every_seconds,
                "running_since": _maybe_stamp(self.running_since),
                "running_since_epoch": self.running_since,
                "last_round": _maybe_stamp(self.last_round),
                "last_success": _maybe_stamp(self.last_success),
                "last_success_epoch": self.last_success,
                "last_error": dict(self.last_error) if self.last_error else None,
                "failed_rounds": self.failed_rounds,
                "failing_since": _maybe_stamp(self.failing_since),
                "failing_since_epoch": self.failing_since,
                "alert_after_rounds": PULL_ALERT_ROUNDS,
                "alert_after_seconds": PULL_ALERT_SECONDS,
            }


def _maybe_stamp(when: float | None) -> str | None:
    return _stamp(when) if when is not None else None


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
        self.last_error = {"at": _stamp(now), "message": message}
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


def pull_problem(pulls: object, now: float) -> str | None:
    """Why the pulls of `watch --pull-out` need a look (None: they do not): failed
    `alert_after_rounds` rounds in a row, or failing (or one round running) for longer than
    `alert_after_seconds`."""
    if not isinstance(pulls, dict):  # an older status.json, or a watcher that does not pull
        return None
    rounds = int(pulls.get("failed_rounds") or 0)
    max_rounds = int(pulls.get("alert_after_rounds") or PULL_ALERT_ROUNDS)
    max_seconds = float(pulls.get("alert_after_seconds") or PULL_ALERT_SECONDS)
    outbox = pulls.get("outbox") or "the outbox"
    since = pulls.get("failing_since_epoch")
    failing = now - float(since) if since is not None else 0.0
    if rounds and (rounds >= max_rounds or failing > max_seconds):
        said = (pulls.get("last_error") or {}).get("message", "see the log")
        last = pulls.get("last_success") or "never, since the watcher started"
        return (
            f"alive, but the pulls into {outbox} have failed {rounds} round(s) in a row, for "
            f"{failing / 60:.0f} min (last success: {last}): {said}"
        )
    running = pulls.get("running_since_epoch")
    if running is not None and now - float(running) > max_seconds:
        return (
            f"alive, but a pull into {outbox} has been running for "
            f"{(now - float(running)) / 60:.0f} min (since {pulls.get('running_since')}): "
            "Konnect answers very slowly, see the log"
        )
    return None


def pull_lines(status: dict[str, Any] | None) -> list[str]:
    """What `konnect-etl status` prints about the pulls of `watch --pull-out` (none when the
    watcher does not pull, or its status.json predates the pulls' record)."""
    pulls = (status or {}).get("pulls")
    if not isinstance(pulls, dict):
        return []
    every = pulls.get("every_seconds")
    lines = [
        f"pull_outbox: {pulls.get('outbox')}"
        + (f" (every {float(every) / 60:g} min)" if every else ""),
        f"last_pull_success: {pulls.get('last_success') or 'none yet'}",
        f"last_pull_error: {pulls.get('last_error')}",
        f"pull_failed_rounds_in_a_row: {pulls.get('failed_rounds', 0)}"
        + (f" (since {pulls['failing_since']})" if pulls.get("failing_since") else ""),
    ]
    if pulls.get("running_since"):
        lines.append(f"pull_running_since: {pulls['running_since']}")
    return lines


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
