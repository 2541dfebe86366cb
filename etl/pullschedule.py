"""Pulls on an interval, for `watch --pull-every`: due now? then pull every status once.

A failed pull is logged and tried again at the next interval; it never stops the watcher
(the journal keeps the last *successful* window, so nothing is missed meanwhile).
"""

from __future__ import annotations

import logging
import re
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from etl.client import ClientSettings
from etl.config import Settings
from etl.errors import ConfigError, EtlError, PullBusy
from etl.outbox import check_outbox
from etl.pull import PullRequest, PullResult, check_status, pull_once

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

    def schedule(self, settings: Settings, connection: ClientSettings) -> PullSchedule:
        every = self.every_seconds or settings.pull_every_minutes * 60
        requests = [PullRequest(status, self.outbox) for status in self.statuses]
        return PullSchedule(settings, connection, requests, max(every, MIN_INTERVAL_SECONDS))


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

    def run_due(self) -> float:
        """Pull every request if a round is due; seconds until the next round."""
        now = self.clock()
        if self.next_due is None or now >= self.next_due:
            self.results = [r for r in map(self._pull, self.requests) if r is not None]
            self.next_due = now + self.every_seconds
        return max(0.0, self.next_due - self.clock())

    def _pull(self, request: PullRequest) -> PullResult | None:
        try:
            result = pull_once(self.settings, self.connection, request)
        except PullBusy as exc:  # a cron or manual pull into the same outbox is running
            log.warning("%s; trying again next round", exc)
            return None
        except EtlError as exc:
            log.error("pull of %s orders failed: %s; trying again next round", request.status, exc)
            return None
        except (OSError, sqlite3.Error) as exc:  # the outbox's disk, share or permissions
            notes = "".join(f". {note}" for note in getattr(exc, "__notes__", ()))
            log.error("pull of %s orders failed: cannot work in the outbox %s: %s%s; trying "
                      "again next round", request.status, request.outbox, exc, notes)  # fmt: skip
            return None
        except Exception:  # unattended: log it and keep watching
            log.exception("pull of %s orders failed unexpectedly", request.status)
            return None
        where = result.file or "no new orders"
        log.info("pulled %s orders: %d new -> %s", result.status, result.new_orders, where)
        return result
