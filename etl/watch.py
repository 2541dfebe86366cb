"""`watch INBOX`: run forever, taking each file once it is ready.

A scan is woken by a watchdog event or, at the latest, every `poll_seconds` (a full rescan:
the safety net for events that never arrive); on a network share only polling is used, and
a broken observer is restarted before the next scan (`etl.events`).
Faults of the host (share gone, permission denied, disk full) are logged, backed off and
retried; the watcher keeps running and recovers when the folder returns. With --dry-run a
ready file is only validated (as by `run --dry-run`), once per size and mtime, and left where
it is.

With --pull-out the rounds of pulls run in a thread of their own (`Pulling`), one round at a
time, each when it is due: a slow or failing Konnect never holds up the loop (files are
taken and status.json is rewritten meanwhile), and a long pass through the inbox or its
back-off never holds up the pulls. The round touches nothing the loop uses: the pull opens,
uses and closes the outbox's own journal and lock in that thread (`etl.pull`), with its own
HTTP client; what the loop learns of it goes through `PullHealth`, under its lock. A stop lets
the round in progress finish (its sheet and journal stay whole); a second stop request
leaves it, as it leaves a file (nothing is lost: the next pull covers the look-back).
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from etl import latewrites
from etl.errors import EtlError
from etl.events import EventSource, network_filesystem
from etl.health import Beating, Heartbeat
from etl.hostfaults import what_to_check
from etl.inbox import Inbox
from etl.inboxid import InboxIdentity, NotTheInbox
from etl.job import FileResult, Job
from etl.pullhealth import PullHealth
from etl.pullschedule import Pulling
from etl.retention import prune
from etl.runner import RunOptions, RunResult, resume_leftovers, take_files
from etl.session import journal_path
from etl.settling import Settler
from etl.stopping import StopRequest

log = logging.getLogger(__name__)

BUSY_BEAT_SECONDS = 5.0
JobFactory = Callable[[], AbstractContextManager[Job]]
# `watch --dry-run`: validates the given ready files, reports in .konnect-etl/dry-run/
DryRunCheck = Callable[[list[Path]], object]


@dataclass
class WatchOptions:
    run: RunOptions = field(default_factory=RunOptions)
    poll_seconds: float = 10.0
    events: bool | None = None  # None: on, unless the inbox is on a network file system
    max_backoff: float = 60.0
    on_reachable_again: Callable[[], None] | None = None  # e.g. reopen the log file
    # `watch --pull-out`: runs the pulls that are due, reporting to the PullHealth; seconds
    # until the next are due. Called in a thread of its own (`Pulling`).
    pulls: Callable[[PullHealth], float] | None = None
    # `watch --dry-run`: ready files are only validated (once per size+mtime), never taken
    dry_run: DryRunCheck | None = None
    sandbox: bool = False  # --sandbox: the journal kept apart (`etl.session.journal_path`)


def _stat(path: Path) -> os.stat_result | None:
    try:
        return path.stat()
    except OSError:  # gone since the scan
        return None


class Backoff:
    def __init__(self, ceiling: float) -> None:
        self.ceiling, self.failures = ceiling, 0

    def next(self) -> float:
        self.failures += 1
        return float(min(self.ceiling, 2 ** (self.failures - 1)))


@dataclass
class Watcher:
    """The state of one `watch` process."""

    root: Path
    open_job: JobFactory
    options: WatchOptions
    stop: StopRequest
    heartbeat: Heartbeat
    settler: Settler = field(init=False)
    wake: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self.settler = Settler(self.options.run.settle_seconds)
        self.inbox = Inbox(self.root)
        self.identity = InboxIdentity(self.root, self.inbox.state)
        self.backoff = Backoff(self.options.max_backoff)
        self.pruned_on: date | None = None  # keep_days is applied once a day
        self.checked: dict[Path, tuple[int, float]] = {}  # --dry-run: size, mtime validated
        self.said: str | None = None  # the fault last logged

    def scan(self) -> float:
        """One pass: take the ready files (or, in a dry run, validate them); seconds until a
        rescan is due."""
        self.inbox.check_reachable()
        self.identity.check()
        self.inbox.prepare()
        self.identity.remember()
        candidates = self.inbox.candidates(self.options.run.trigger_suffix)
        ready, wait = self.settler.ready(candidates, time.time())
        if self.options.dry_run is not None:
            self._dry_run(self.options.dry_run, candidates, ready)
        else:
            self._take(ready)
        return min(wait, self.options.poll_seconds)

    def _dry_run(self, check: DryRunCheck, candidates: list[Path], ready: list[Path]) -> None:
        """Validate each ready file once; again only when its size or mtime changed."""
        present = set(candidates)
        self.checked = {p: s for p, s in self.checked.items() if p in present}
        signatures = {p: (st.st_size, st.st_mtime) for p in ready if (st := _stat(p)) is not None}
        fresh = [p for p, signature in signatures.items() if self.checked.get(p) != signature]
        if fresh:
            check(fresh)
            self.checked.update((p, signatures[p]) for p in fresh)
            self.heartbeat.files_processed += len(fresh)

    def _take(self, ready: list[Path]) -> None:
        """Apply keep_days, resume leftovers, take the ready files."""
        run = self.options.run
        if run.keep_days is not None and self.pruned_on != date.today():
            with self.open_job() as job:
                prune(self.inbox, job.journal, run.keep_days, job.now().date())
            self.pruned_on = date.today()
        journal = journal_path(self.inbox.root, self.options.sandbox)
        latewrites.requeue_grown(self.inbox, journal, run.settle_seconds, run.trigger_suffix)
        result = RunResult()
        if ready or self.inbox.in_processing():
            with self.open_job() as job:
                self._process(job, ready, result)
        self.heartbeat.still_not_taken(result.not_taken, time.time())

    def _process(self, job: Job, ready: list[Path], result: RunResult) -> None:
        job.progress = self._progress_with_heartbeat(job)
        run = self.options.run
        hooks = {"on_file": self._finished, "on_start": self._started}
        options = RunOptions(**{**run.__dict__, **hooks})
        resume_leftovers(self.inbox, job, options, result)
        take_files(self.inbox, ready, job, options, result, self.settler)

    def _progress_with_heartbeat(self, job: Job) -> Callable[[str, int], Callable[[int], None]]:
        inner = job.progress

        def factory(name: str, total: int) -> Callable[[int], None]:
            self.heartbeat.in_flight = [name]
            self.heartbeat.write(time.time())
            return Beating(inner(name, total) if inner is not None else None, self.heartbeat)

        return factory

    def _started(self, name: str) -> None:
        """From now until it is finished the file is in flight: the heartbeat goes on while
        it waits for its turn or for a slow Konnect (`_beat_while_busy`)."""
        self.heartbeat.in_flight = [name]
        self.heartbeat.write(time.time())

    def _finished(self, file: FileResult) -> None:
        """A file filed: the inbox works again after failed passes, now - not when the whole
        backlog behind it is (one pass takes it all: `status` would say "failing" for minutes
        while files flow)."""
        self.heartbeat.in_flight = []
        self.heartbeat.files_processed += 1
        self.recovered()
        self.heartbeat.write(time.time())
        if self.options.run.on_file is not None:
            self.options.run.on_file(file)

    def fault(self, exc: BaseException) -> float:
        """Log (less and less often), and the seconds to wait before trying again.

        A missing inbox folder (or one that is not the inbox, `etl.inboxid`) is looked at
        again at every poll, so the watcher carries on as soon as the share is back; other
        faults (permission, disk full) back off.
        """
        self.heartbeat.in_flight = []  # a file that waits in processing/ is not in flight
        delay = self.backoff.next()
        failures = self.backoff.failures
        if isinstance(exc, NotTheInbox) or (
            isinstance(exc, FileNotFoundError) and not self.root.is_dir()
        ):
            delay = min(delay, self.options.poll_seconds)
        if isinstance(exc, EtlError | NotTheInbox):  # Konnect unreachable, credentials...
            message = str(exc)
        else:
            message = f"cannot work in the inbox {self.root}: {exc}{what_to_check(self.root, exc)}"
        # the 1st, 2nd, 4th, 8th... time in a row, and whenever it says something new (a
        # file held after the outage that stopped the others must not go unsaid)
        if failures & (failures - 1) == 0 or message != self.said:
            log.error("%s; trying again in %.1f s (failure %d in a row)", message, delay, failures)
            self.said = message
        self.heartbeat.error(message, time.time())
        return delay

    def recovered(self) -> None:
        self.heartbeat.working()
        if self.backoff.failures:
            log.warning("working again on the inbox %s after %d failed passes (the last: %s)",
                        self.root, self.backoff.failures,
                        (self.heartbeat.last_error or {}).get("message", "see above"))  # fmt: skip
            self.backoff.failures = 0
            self.said = None
            if self.options.on_reachable_again is not None:
                self.options.on_reachable_again()


def watch_inbox(watcher: Watcher) -> None:
    """Scan until a stop is requested (SIGTERM, Ctrl+C); never raises for host faults."""
    events = _event_source(watcher)
    pulling = _pulling(watcher)
    done = threading.Event()
    beating = threading.Thread(target=_beat_while_busy, args=(watcher, done), daemon=True)
    beating.start()
    try:
        while not watcher.stop.requested:
            if events is not None:
                events.ensure_running()
            watcher.wake.clear()
            delay = _one_pass(watcher)
            watcher.heartbeat.write(time.time())
            # while faulting, file events (our own failed writes among them) must not cut
            # the back-off short
            watcher.stop.sleep(delay, None if watcher.backoff.failures else watcher.wake)
    finally:
        done.set()
        if watcher.stop.requested:  # `status`: asked to stop, finishing a pull
            watcher.heartbeat.state = "stopping"
        try:
            if pulling is not None:
                pulling.finish(watcher.heartbeat)
        finally:
            beating.join(timeout=5)
            if events is not None:
                events.stop()
            # "stopped" is a stop asked for (`status` may then judge the scheduled runs since);
            # an exception that ends the loop leaves a watcher that `status` finds gone
            watcher.heartbeat.state = "stopped" if watcher.stop.requested else "ended"
            watcher.heartbeat.in_flight = []
            watcher.heartbeat.write(time.time())


def _pulling(watcher: Watcher) -> Pulling | None:
    if watcher.options.pulls is None:
        return None
    if watcher.heartbeat.pulls is None:
        watcher.heartbeat.pulls = PullHealth()
    return Pulling(watcher.options.pulls, watcher.heartbeat.pulls, watcher.wake, watcher.stop)


def _beat_while_busy(watcher: Watcher, done: threading.Event) -> None:
    """While a file is in flight, the heartbeat every few seconds even when no chunk
    finishes (a slow Konnect, retries with back-off): `status` must not call a working
    watcher dead. The requests' timeouts bound how long the work itself can hang. Once a
    stop is asked for, the state says "stopping" while the file in progress finishes."""
    while not done.wait(BUSY_BEAT_SECONDS):
        if watcher.stop.requested and watcher.heartbeat.state == "watching":
            watcher.heartbeat.state = "stopping"  # `status`: asked to stop, finishing a file
            watcher.heartbeat.write_soon(time.time())
        elif watcher.heartbeat.in_flight:
            watcher.heartbeat.write_soon(time.time())


def _one_pass(watcher: Watcher) -> float:
    try:
        delay = watcher.scan()
    except (OSError, sqlite3.Error, EtlError) as exc:  # EtlError: e.g. credentials refused
        return watcher.fault(exc)
    except Exception as exc:  # keep running unattended; the traceback goes to the log
        log.exception("unexpected error while scanning %s", watcher.root)
        return watcher.fault(exc)
    watcher.recovered()
    return delay


def _event_source(watcher: Watcher) -> EventSource | None:
    wanted = watcher.options.events
    network = network_filesystem(watcher.root)
    if wanted is False or (wanted is None and network):
        reason = f"the inbox is on a network file system ({network})" if network else "asked"
        log.info("watching %s by polling every %s s (%s)", watcher.root,
                 watcher.options.poll_seconds, reason)  # fmt: skip
        return None
    log.info("watching %s: file events, and a full rescan every %s s", watcher.root,
             watcher.options.poll_seconds)  # fmt: skip
    return EventSource(watcher.root, watcher.wake)
