"""Pulls on an interval, for `watch --pull-every`: due now? then pull every status once.

A failed pull is logged and tried again at the next interval; it never stops the watcher
(the journal keeps the last *successful* window, so nothing is missed meanwhile). Each round
is reported to the watcher's `PullHealth` (status.json): a round fails when any of its pulls
fails, a busy outbox (another pull kept the lock) included. `pull_failure` words a failure
with its context — status, location, the page being read, what was written — for the
watcher's log and for `orders pull`. `Pulling` runs the rounds for the watcher, each in a
thread of its own (etl.watch's docstring says why that is safe).
"""

from __future__ import annotations

import logging
import re
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from etl.clientsettings import ClientSettings
from etl.config import Settings, config_path, load_settings
from etl.config_file import read_config_file
from etl.errors import ConfigError, EtlError, PullBusy
from etl.health import Heartbeat
from etl.hostfaults import what_to_check
from etl.orderpages import failed_query
from etl.outbox import check_outbox
from etl.pull import check_status, pull_once
from etl.pullhealth import PullHealth
from etl.pullrequest import PullRequest, PullResult

log = logging.getLogger(__name__)
_INTERVAL = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|sec|m|min|h|hr)?\s*$", re.IGNORECASE)
_UNIT_SECONDS = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "hr": 3600}
MIN_INTERVAL_SECONDS = 60.0  # Konnect's guidance for the busiest stores: every 1-5 min


def parse_interval(text: str) -> float:
    """'10m', '90s', '1h' or a bare number of minutes -> seconds (at least one minute)."""
    found = _INTERVAL.match(text)
    if not found:
        raise ConfigError(f"'{text}' is not an interval; write it like 10m, 90s or 1h")
    unit = (found.group(2) or "m").lower()
    seconds = float(found.group(1)) * _UNIT_SECONDS[unit]
    if seconds < MIN_INTERVAL_SECONDS:
        raise ConfigError(f"pull interval {text} is too short; pull at most once a minute")
    return seconds


@dataclass(frozen=True)
class PullPlan:
    """What `watch --pull-out OUTBOX [--pull-every 10m] [--pull-status ...]` asked for."""

    outbox: Path
    statuses: tuple[str, ...] = ("CREATED",)
    every_seconds: float | None = None  # None: the config's pull_every_minutes

    def schedule(
        self, settings: Settings, connection: ClientSettings, sandbox: bool = False
    ) -> PullSchedule:
        """The watcher's pulls, with `settings` (the inbox's) but for the pull keys of the
        outbox's own config file, which `orders pull` into it reads too."""
        settings = outbox_settings(self.outbox, settings)
        every = self.every_seconds or settings.pull_every_minutes * 60
        requests = [PullRequest(status, self.outbox, sandbox=sandbox) for status in self.statuses]
        return PullSchedule(settings, connection, requests, max(every, MIN_INTERVAL_SECONDS))


# what an outbox's konnect-etl.yaml says for the watcher's pulls into it
PULL_KEYS = ("token_scope", "locations", "pull_lookback_days", "pull_page_size")


def outbox_settings(outbox: Path, settings: Settings) -> Settings:
    """`settings` with the `PULL_KEYS` OUTBOX/konnect-etl.yaml sets, when there is one."""
    own = config_path(outbox)
    if own is None:
        return settings
    found, written = load_settings(config_file=own), read_config_file(own)
    return replace(settings, **{key: getattr(found, key) for key in PULL_KEYS if key in written})


def pull_plan(
    out: Path | None, every: str | None, statuses: list[str] | None, inbox: Path | None = None
) -> PullPlan | None:
    """The plan from `watch`'s options; None when no --pull-out was given. ConfigError when
    the outbox is `inbox` (the watched one) or visibly another inbox."""
    if out is None:
        if every is not None or statuses:
            raise ConfigError("--pull-every and --pull-status need --pull-out OUTBOX")
        return None
    check_outbox(out, inbox, "--pull-out")
    names = tuple(check_status(s) for s in statuses or ["CREATED"])
    return PullPlan(out, names, parse_interval(every) if every else None)


@dataclass
class PullSchedule:
    """The pulls `watch` makes, and when the next round is due (monotonic clock)."""

    settings: Settings
    connection: ClientSettings
    requests: list[PullRequest]
    every_seconds: float
    clock: Callable[[], float] = time.monotonic
    next_due: float | None = None  # None: the first round is due at once
    results: list[PullResult] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)  # the last round's, one line each

    def run_due(self, health: PullHealth | None = None) -> float:
        """Pull every request if a round is due; seconds until the next round. The round's
        outcome goes to `health` (the watcher's status.json) and `failures`."""
        now = self.clock()
        if self.next_due is None or now >= self.next_due:
            if health is not None:
                statuses = [r.status for r in self.requests]
                health.round_started(self.requests[0].outbox, self.every_seconds, statuses,
                                     time.time())  # fmt: skip
            self.failures = []
            self.results = [r for r in map(self._pull, self.requests) if r is not None]
            if health is not None:
                health.round_ended(self.failures, time.time())
            self.next_due = now + self.every_seconds
        return max(0.0, self.next_due - self.clock())

    def _pull(self, request: PullRequest) -> PullResult | None:
        try:
            result = pull_once(self.settings, self.connection, request)
        except PullBusy as exc:  # a cron or manual pull into the same outbox is running
            log.warning("%s; trying again next round", exc)
            self.failures.append(str(exc))
            return None
        except (EtlError, OSError, sqlite3.Error) as exc:  # Konnect; the outbox's disk, share
            said = pull_failure(request, exc)
            log.error("%s; trying again next round", said)
            self.failures.append(said)
            return None
        except Exception as exc:  # unattended: log it and keep watching
            log.exception("pull of %s orders failed unexpectedly", request.status)
            self.failures.append(f"pull of {request.status} orders failed unexpectedly: {exc!r}")
            return None
        where = result.file or "no new orders"
        log.info("pulled %s orders: %d new -> %s", result.status, result.new_orders, where)
        return result


def pull_failure(request: PullRequest, exc: BaseException) -> str:
    """One line for a failed pull: which one (status, location, channel), at which request
    to Konnect (the page being read), why, and what became of the outbox."""
    asked = failed_query(exc)
    where = []
    location = (asked or {}).get("locationCode") or request.location
    where.append(f"location {location}" if location else "all locations")
    if request.channel:
        where.append(f"channel {request.channel}")
    if asked is not None and "orderStatus" not in asked:
        where.append("checking whether Konnect has any order for the --location/--channel")
    elif asked is not None and "pageNumber" in asked:
        where.append(f"page {asked['pageNumber']}")
    said = f"pull of {request.status.strip().upper()} orders ({', '.join(where)}) failed: "
    if isinstance(exc, EtlError):
        return f"{said}{str(exc).rstrip('.')}; nothing was written to {request.outbox}"
    notes = list(getattr(exc, "__notes__", ()))  # what became of a sheet already written
    outcome = ". ".join(notes) if notes else f"nothing was written to {request.outbox}"
    # a full disk, a refused permission...; nothing waits in an outbox: the next pull writes
    hint = what_to_check(request.outbox, exc).replace("; waiting files are kept", "")
    return f"{said}cannot work in the outbox {request.outbox}: {exc}{hint}; {outcome}"


# after a round of pulls that itself broke (a bug of ours): the next one after this long
PULL_RETRY_SECONDS = 60.0


class Pulling:
    """The rounds of pulls of `watch --pull-out`, in a thread of their own (module
    docstring) that waits until one is due and runs it: whatever the loop does meanwhile (a
    pass through a backlog, a back-off), rounds start on time, one at a time."""

    def __init__(self, pulls: Callable[[PullHealth], float], health: PullHealth,
                 wake: threading.Event, stopped: Callable[[], bool]) -> None:  # fmt: skip
        self.pulls, self.health, self.wake, self.stopped = pulls, health, wake, stopped
        self.ending = threading.Event()  # set at a stop: no round starts after it
        self.thread = threading.Thread(target=self._rounds, name="konnect-etl-pulls",
                                       daemon=True)  # fmt: skip
        self.thread.start()

    def _rounds(self) -> None:
        delay = 0.0  # the first round at once
        while not self.ending.wait(delay) and not self.stopped():  # none after a stop request
            delay = self._round()

    def _round(self) -> float:
        """One round; seconds until the next is due."""
        try:
            delay = self.pulls(self.health)  # logs and records its own failures
        except Exception:  # a bug of ours: keep watching, and pulling later
            log.exception("the round of pulls failed unexpectedly; trying again in %.0f s",
                          PULL_RETRY_SECONDS)  # fmt: skip
            self.health.round_ended(["the round of pulls failed unexpectedly (see the log)"],
                                    time.time())  # fmt: skip
            delay = PULL_RETRY_SECONDS
        self.wake.set()  # the loop writes status.json with the round's outcome
        return delay

    def finish(self, heartbeat: Heartbeat) -> None:
        """At a stop: start no more rounds, and let the one in progress end, beating
        meanwhile (`heartbeat` says "stopping"). A second stop request raises StopNow out of
        the wait (signal handlers run here, in the main thread) and leaves it."""
        self.ending.set()
        self.thread.join(0.5)  # between rounds it ends at once
        if not self.thread.is_alive():
            return
        log.warning("waiting for the pull in progress to end before stopping (stop again to "
                    "stop at once: the next pull catches up)")  # fmt: skip
        heartbeat.write(time.time())
        while self.thread.is_alive():
            self.thread.join(0.2)
            heartbeat.write_soon(time.time())
