"""How the pulls of `watch --pull-out` go, as `status.json` records them (`pulls`) and
`konnect-etl status` reads them: last successful round, last error, failed rounds in a row,
a round running since when. Pulls that failed `PULL_ALERT_ROUNDS` rounds in a row, or have
been failing (or one round running) for `PULL_ALERT_SECONDS`, are a problem; so are pulls
overdue: no round ended for `overdue_after` (3 intervals, at least `PULL_OVERDUE_SECONDS`)
while none runs. The rest of the heartbeat is `etl.health`'s.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

# `watch --pull-out`: pulls need a look once this many rounds in a row failed, or once they
# have been failing (or one round has been running) this long, whichever comes first
PULL_ALERT_ROUNDS = 3
PULL_ALERT_SECONDS = 3600.0
# ... or once no round has ended for this many intervals (and at least this long, well over
# the lag of a status.json that `status` still takes for alive) while none runs
PULL_OVERDUE_INTERVALS = 3
PULL_OVERDUE_SECONDS = 600.0


def overdue_after(every_seconds: float) -> float:
    """Seconds without a round ended after which pulls every `every_seconds` are overdue."""
    return max(PULL_OVERDUE_INTERVALS * every_seconds, PULL_OVERDUE_SECONDS)


def stamp(epoch: float) -> str:
    """A time as status.json writes it: UTC, ISO 8601, to the second."""
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds")


@dataclass
class PullHealth:
    """How the pulls of `watch --pull-out` go. A round (every status once) runs in a thread
    of its own while the loop writes status.json, so every access holds `_lock`."""

    outbox: str | None = None
    every_seconds: float | None = None
    statuses: list[str] = field(default_factory=list)  # those each round pulls
    running_since: float | None = None  # a round in progress
    last_round: float | None = None  # when the last round ended
    last_success: float | None = None  # when a round last ended with every pull done
    last_error: dict[str, str] | None = None  # stays after a success, for the record
    failed_rounds: int = 0  # in a row
    failing_since: float | None = None  # the first failed round of this run of failures
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def round_started(
        self, outbox: Path, every_seconds: float, statuses: list[str], now: float
    ) -> None:
        with self._lock:
            self.outbox, self.every_seconds = str(outbox), every_seconds
            self.statuses = list(statuses)
            self.running_since = now

    def round_ended(self, failures: list[str], now: float) -> None:
        """`failures`: one message per pull of the round that failed (none: a success)."""
        with self._lock:
            self.running_since, self.last_round = None, now
            if failures:
                self.failed_rounds += 1
                self.failing_since = self.failing_since or now
                self.last_error = {"at": stamp(now), "message": "; ".join(failures)}
            else:
                self.failed_rounds, self.failing_since = 0, None
                self.last_success = now

    def document(self) -> dict[str, Any]:
        with self._lock:
            return {
                "outbox": self.outbox,
                "every_seconds": self.every_seconds,
                "statuses": list(self.statuses),
                "running_since": _maybe_stamp(self.running_since),
                "running_since_epoch": self.running_since,
                "last_round": _maybe_stamp(self.last_round),
                "last_round_epoch": self.last_round,
                "last_success": _maybe_stamp(self.last_success),
                "last_success_epoch": self.last_success,
                "last_error": dict(self.last_error) if self.last_error else None,
                "failed_rounds": self.failed_rounds,
                "failing_since": _maybe_stamp(self.failing_since),
                "failing_since_epoch": self.failing_since,
                "alert_after_rounds": PULL_ALERT_ROUNDS,
                "alert_after_seconds": PULL_ALERT_SECONDS,
                "overdue_after_seconds": overdue_after(self.every_seconds or 0.0),
            }


def _maybe_stamp(when: float | None) -> str | None:
    return stamp(when) if when is not None else None


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
    return _overdue(pulls, now) if running is None else None


def _overdue(pulls: dict[str, Any], now: float) -> str | None:
    """No round has ended for `overdue_after_seconds`, and none runs: rounds do not start."""
    last, limit = pulls.get("last_round_epoch"), pulls.get("overdue_after_seconds")
    if last is None or not limit or now - float(last) <= float(limit):
        return None
    every = float(pulls.get("every_seconds") or 0)
    return (
        f"alive, but the pulls into {pulls.get('outbox') or 'the outbox'} are overdue: the "
        f"last round ended {(now - float(last)) / 60:.0f} min ago ({pulls.get('last_round')}),"
        f" one is due every {every / 60:g} min (limit {float(limit) / 60:g} min); see the log"
    )


def pull_in_progress(pulls: object) -> str:
    """The round of pulls running, in words ("the pull of CREATED orders"); "" if none."""
    if not isinstance(pulls, dict) or pulls.get("running_since_epoch") is None:
        return ""
    statuses = " and ".join(pulls.get("statuses") or []) or "the"
    return f"the pull of {statuses} orders"


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
