"""The library side of `watch` and `status`: assembling a watcher from settings."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any

import orjson

from etl import lastrun
from etl.clientsettings import ClientSettings
from etl.config import Settings
from etl.console import console
from etl.errors import ConfigError
from etl.events import network_filesystem
from etl.guard_settings import Guards
from etl.health import Heartbeat, read_status, status_path, verdict
from etl.heldlook import held_files, held_problem
from etl.inboxlook import (
    WAITING_MAX,
    nothing_through,
    nothing_through_problem,
    unread_files,
    unread_problem,
    waiting_files,
    waiting_problem,
)
from etl.inboxowner import TAKEN_OVER, one_machine, owner_document, owner_line
from etl.job import Job
from etl.journal import Journal
from etl.leftlook import left_files, left_problem
from etl.mapping import Mapping
from etl.notify import Notifier
from etl.pullhealth import pull_lines
from etl.pullschedule import PullPlan
from etl.runner import RunOptions
from etl.session import all_mappings, check_sandbox_folder, connection, journal_path
from etl.stopping import StopNow, StopRequest, stop_on_signals
from etl.watch import DryRunCheck, JobFactory, Watcher, WatchOptions, watch_inbox

log = logging.getLogger(__name__)


def run_options(settings: Settings, stop: Callable[[], bool] | None = None) -> RunOptions:
    """`run`/`watch` options from settings: readiness, duplicates, notifications, stop."""
    notifier = Notifier(settings)
    options = RunOptions(
        settings.settle_seconds,
        settings.trigger_suffix,
        reprocess_duplicates=settings.reprocess_duplicates,
        keep_days=settings.keep_days,
        on_file=notifier if notifier.enabled else None,
    )
    if stop is not None:
        options.should_stop = stop
    return options


def watch_command(
    inbox: Path,
    settings: Settings,
    *,
    poll_seconds: float,
    sandbox: bool = False,
    events: bool | None = None,
    feed: str | None = None,
    mapping: str | None = None,
    on_reachable_again: Callable[[], None] | None = None,
    pulls: PullPlan | None = None,
    dry_run: bool = False,
) -> int:
    """`watch INBOX`: until SIGTERM/Ctrl+C; exit code 0 after a requested stop."""
    if poll_seconds <= 0:
        raise ConfigError("--poll must be more than 0 seconds")
    if dry_run and pulls is not None:
        raise ConfigError("--pull-out writes orders to the outbox: leave it out with --dry-run")
    mappings = all_mappings(settings)
    stop = StopRequest()
    options = WatchOptions(run_options(settings, stop), poll_seconds, events)
    options.on_reachable_again = on_reachable_again
    if dry_run:
        options.dry_run = _dry_run_check(inbox, settings, mappings, feed, mapping)
    if sandbox and not dry_run:
        check_sandbox_folder(inbox)
        if pulls is not None:
            check_sandbox_folder(pulls.outbox, outbox=True)
    options.sandbox = sandbox
    network = network_filesystem(inbox)
    mode = "polling" if network or events is False else "events+polling"
    outbox = pulls.outbox if pulls is not None else None
    owned = one_machine(
        None if dry_run else inbox, outbox, partial(stop.finish_then_stop, TAKEN_OVER)
    )
    with (
        owned,
        connection(settings, sandbox=sandbox, dry_run=dry_run) as client,
        stop_on_signals(stop),
    ):
        if not dry_run:  # a journal a newer version wrote stops the watcher at start (exit 2)
            Journal(journal_path(inbox, sandbox)).close()  # (under the lease: it writes)
        heartbeat = Heartbeat(inbox, poll_seconds, mode + (", dry run" if dry_run else ""),
                              time.time())  # fmt: skip
        if pulls is not None:
            assert client is not None
            options.pulls = pulls.schedule(settings, client, sandbox).run_due
        job_factory = _job_factory(inbox, mappings, client, feed, mapping, settings.guards, sandbox)
        try:
            watch_inbox(Watcher(inbox, job_factory, options, stop, heartbeat))
        except StopNow:
            log.warning("stopped; the file in progress is resumed at the next start")
    return 0


def _dry_run_check(
    inbox: Path, settings: Settings, mappings: list[Mapping], feed: str | None, mapping: str | None
) -> DryRunCheck:
    """`watch --dry-run` checks each file exactly as `run --dry-run` does."""
    from etl.commands import dry_run_files  # not at the top: etl.commands imports this module

    def check(paths: list[Path]) -> None:
        dry_run_files(
            inbox, settings, mappings, feed, mapping, paths, "konnect-etl watch --dry-run"
        )

    return check


def _job_factory(
    inbox: Path,
    mappings: list[Mapping],
    client: ClientSettings | None,
    feed: str | None,
    mapping: str | None,
    guards: Guards,
    sandbox: bool,
) -> JobFactory:
    @contextmanager
    def open_job() -> Iterator[Job]:
        # One journal connection per scan: when the inbox folder is replaced (share back
        # after an outage) the next scan opens the journal that is really there.
        journal = Journal(journal_path(inbox, sandbox))
        try:
            yield Job(mappings, client, journal, feed=feed, mapping_name=mapping, guards=guards)
        finally:
            journal.close()

    return open_job


def status_command(inbox: Path, max_age: float | None, as_json: bool) -> int:
    """`status INBOX`: 0 when the watcher is alive, 1 when it looks dead, 2 never ran."""
    if not inbox.is_dir():
        console.print(f"the inbox folder {inbox} is not there (a share not mounted?)")
        return 2
    status, last_run = read_status(inbox), lastrun.read(inbox)
    now = time.time()
    looked = _Looked(inbox, now, max_age)
    if status is None and last_run is None:
        return _never_finished(inbox, looked, as_json)
    if status is not None and _runs_since_stopped(status, last_run):
        stopped, status = f"the watcher was stopped at {status.get('last_scan')}", None
    else:
        stopped = None
    if status is None:  # a cron / scheduled `run` deployment: how its last run ended
        assert last_run is not None
        alive, reason = looked.judge(lastrun.verdict(last_run, now, max_age))
        shown = {**last_run, **looked.document(), "alive": alive, "verdict": reason}
        if as_json:
            print(orjson.dumps({**shown, "watcher": stopped}).decode())
        else:
            mark = "[green]OK[/]" if alive else "[red]PROBLEM[/]"
            console.print(f"{mark}  {reason}", highlight=False)
            if stopped is not None:
                console.print(f"  ({stopped}; the scheduled runs since are judged)",
                              highlight=False, markup=False)  # fmt: skip
            looked.print_owner()
        return 0 if alive else 1
    alive, reason = looked.judge(verdict(status, now, max_age))
    if as_json:
        shown = {**status, **looked.document(), "alive": alive, "verdict": reason}
        print(orjson.dumps(shown).decode())
    else:
        _print_status(status, alive, reason)
        if last_run is not None:  # a scheduled `run` beside the watcher
            console.print(f"  last run: {lastrun.verdict(last_run, time.time(), None)[1]}",
                          highlight=False, markup=False)  # fmt: skip
        looked.print_owner()
    return 0 if alive else 1


def _never_finished(inbox: Path, looked: _Looked, as_json: bool) -> int:
    """No watcher, no run that finished: 2, "never ran" - unless a run was killed here before
    it could finish (a file left in processing/) or held a file: 1, saying so."""
    if not looked.held and not looked.left:
        console.print(f"no status in {status_path(inbox)}: neither `konnect-etl watch` nor"
                      " `konnect-etl run` ran here")  # fmt: skip
        return 2
    _, reason = looked.judge((True, "no run has finished here yet"), only_stopped=True)
    if as_json:
        print(orjson.dumps({**looked.document(), "alive": False, "verdict": reason}).decode())
    else:
        console.print(f"[red]PROBLEM[/]  {reason}", highlight=False)
        looked.print_owner()
    return 1


def _runs_since_stopped(status: dict[str, Any], last_run: dict[str, Any] | None) -> bool:
    """A watcher stopped on purpose (SIGTERM, Ctrl+C), and `run` came after it: the inbox is
    worked by scheduled runs now (switched from the watch service to a timer), which are
    judged; a watcher that died or could not start stays a problem."""
    if last_run is None or status.get("state") != "stopped":
        return False
    finished = float(last_run.get("finished_epoch", 0.0))
    return finished > float(status.get("last_scan_epoch", 0.0))


class _Looked:
    """What a look at the inbox's folders adds to the verdict (`etl.inboxlook`)."""

    def __init__(self, inbox: Path, now: float, max_age: float | None) -> None:
        self.limit = max(WAITING_MAX, max_age or 0.0)
        self.waiting = waiting_files(inbox, now, self.limit)
        self.nothing = nothing_through(inbox)
        self.unread = unread_files(inbox, now, self.limit)
        self.held = held_files(inbox, now)
        self.left = left_files(inbox, now)
        self.owner = owner_document(inbox, now)  # one machine per inbox: whose lease it is

    def judge(self, judged: tuple[bool, str], only_stopped: bool = False) -> tuple[bool, str]:
        """The verdict, made a problem by what the look found (after what it already says);
        `only_stopped`: by the files held or left in processing/ only."""
        alive, reason = judged
        found = [left_problem(self.left)] if self.left else []
        found += [held_problem(self.held)] if self.held else []
        if not only_stopped:
            found += [waiting_problem(self.waiting, self.limit)] if self.waiting else []
            found += [nothing_through_problem(self.nothing)] if self.nothing else []
            found += [unread_problem(self.unread)] if self.unread else []
        if not alive or not found:
            return judged
        return False, f"{reason}; but {'; and '.join(found)}"

    def document(self) -> dict[str, object]:
        return {"files_waiting_in_inbox": self.waiting, "files_nothing_through": self.nothing,
                "files_in_folders_not_read": self.unread, "files_held": self.held,
                "files_left_in_processing": self.left, "owner": self.owner}  # fmt: skip

    def print_owner(self) -> None:
        if self.owner is not None:
            console.print(f"  {owner_line(self.owner, time.time())}", highlight=False, markup=False)


def _print_status(status: dict[str, object], alive: bool, reason: str) -> None:
    mark = "[green]OK[/]" if alive else "[red]PROBLEM[/]"
    console.print(f"{mark}  {reason}", highlight=False)
    for key in ("inbox", "state", "mode", "version", "pid", "host", "started_at", "last_scan",
                "files_in_flight", "files_processed", "last_error", "files_not_taken"):  # fmt: skip
        console.print(f"  {key}: {_shown(status.get(key))}", highlight=False, markup=False)
    for line in pull_lines(status):
        console.print(f"  {line}", highlight=False, markup=False)


def _shown(value: object) -> str:
    """A status value as a person reads it: "none" for nothing, lists and errors as text."""
    if value in (None, [], {}):
        return "none"
    if isinstance(value, list):
        return ", ".join(map(str, value))
    if isinstance(value, dict):
        if set(value) <= {"at", "message"}:  # last_error
            return f"{value.get('message')} (at {value.get('at')})"
        return ", ".join(f"{k} (since {v})" for k, v in value.items())  # files_not_taken
    return str(value)
