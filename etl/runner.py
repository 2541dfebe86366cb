"""`run` over an inbox: resume what a crash left, take every ready file, file it away.

Several `run`/`watch` processes may share one inbox: a file is claimed by an atomic rename
into processing/, and worked on only while its lock (`etl.locks`) is held - from the rename
on, for a file claimed - so a file is processed once, by the process that claimed it, even
when another resumes leftovers meanwhile; that one leaves it, and says so.
What becomes of one claimed file is `etl.claimed`'s.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

from etl import latewrites
from etl.claimed import journal_file, process_claimed
from etl.inbox import Inbox, trigger_path
from etl.job import FileResult, Job
from etl.matching import left_for_another_run
from etl.retention import prune
from etl.seen_before import drop_unfinished_reports
from etl.settling import Settler, file_signature, wait_until_ready
from etl.turns import waiting_order_files

log = logging.getLogger(__name__)


def _never() -> bool:
    return False


@dataclass
class RunOptions:
    settle_seconds: float = 5.0
    trigger_suffix: str | None = None
    max_wait: float = 30.0
    reprocess_duplicates: bool = True
    keep_days: int | None = None  # remove older day folders of done/... (etl.retention)
    # called with every finished file (notifications, health); never stops the run
    on_file: Callable[[FileResult], None] | None = None
    # called with the name of each file as work on it begins (the watcher's heartbeat: a
    # file waiting for its turn behind another process's is work in progress too)
    on_start: Callable[[str], None] | None = None
    # asked between files: a stop request (SIGTERM, Ctrl+C) lets the current file finish
    should_stop: Callable[[], bool] = _never


@dataclass
class RunResult:
    files: list[FileResult] = field(default_factory=list)
    # files left in the inbox because they may not be moved into processing/ (permissions)
    not_taken: list[str] = field(default_factory=list)
    # files left where they are for a run without --feed/--mapping (named for another feed)
    left: list[str] = field(default_factory=list)
    # files seen, but left to another live konnect-etl process that had taken them: not
    # "no files were ready", nor a fault of this run
    busy: list[str] = field(default_factory=list)

    @property
    def all_ok(self) -> bool:
        done = all(f.outcome == "uploaded" for f in self.files)
        return not self.not_taken and not self.left and done


def run_inbox(root: Path, job: Job, options: RunOptions) -> RunResult:
    """Process every pending file once. CredentialsError stops the run, files untouched."""
    inbox = Inbox(root)
    inbox.check_reachable()
    inbox.prepare()
    prune(inbox, job.journal, options.keep_days, job.now().date())
    result = RunResult()
    resume_leftovers(inbox, job, options, result)
    latewrites.requeue_grown(
        inbox, journal_file(job), options.settle_seconds, options.trigger_suffix
    )
    settler = Settler(options.settle_seconds)
    window_ends = time.time() + max(options.max_wait, options.settle_seconds + 1)
    max_wait = options.max_wait
    while not options.should_stop():
        ready = wait_until_ready(
            inbox, options.trigger_suffix, options.settle_seconds, max_wait, settler
        )
        changed = take_files(inbox, ready, job, options, result, settler)
        max_wait = window_ends - time.time()
        if not changed or max_wait <= 0:  # waiting for them again: while the window lasts
            for path in changed:
                log.info("%s: left in the inbox for the next run (it was still changing when "
                         "this run's waiting time ended)", path.name)  # fmt: skip
            break
    return result


def resume_leftovers(inbox: Inbox, job: Job, options: RunOptions, result: RunResult) -> None:
    """Finish the files a crashed (or killed) process left in processing/: the order files an
    attempt began on first, in the order they began (one that stopped part-way goes before
    one another process claimed while it waited for its turn), then the others by name."""
    leftovers = inbox.in_processing()
    if job.journal is not None and leftovers:
        waiting = waiting_order_files(inbox.processing, job.journal)
        begun = {name: attempt.id for name, attempt in waiting.items()}
        leftovers.sort(key=lambda path: (path.name not in begun, begun.get(path.name, 0)))
    _busy_said.intersection_update(leftovers)  # said again if it is busy again later
    for leftover in leftovers:
        if options.should_stop():
            return
        if _left(leftover, job, result):
            continue
        finished = _resume(inbox, leftover, job, options, result)
        if finished is not None:  # the hook runs with the lock released (a new file of the
            _record(result, finished, options)  # same name may be claimed meanwhile)


def take_files(
    inbox: Inbox,
    paths: list[Path],
    job: Job,
    options: RunOptions,
    result: RunResult,
    settler: Settler | None = None,
) -> list[Path]:
    """Claim each ready file (atomic rename) and process it under its lock, held from the
    claim on. A file written again since `settler` found it ready is left in the inbox
    (returned): it must settle again. Without `settler`: a file modified within the settle
    time is left."""
    changed = []
    for path in paths:
        if options.should_stop():
            break
        if _written_again(path, settler, options.settle_seconds):
            changed.append(path)
            continue
        if _left(path, job, result):
            continue
        finished = _take(inbox, path, job, options, result)
        if finished is not None:  # the hook runs with the lock released, as for a leftover
            _record(result, finished, options)
    return changed


def _take(
    inbox: Inbox, path: Path, job: Job, options: RunOptions, result: RunResult
) -> FileResult | None:
    """Claim `path` and process it, its lock held from the rename on: let go in between, a
    process resuming leftovers would take it for one a crash left, with its own options,
    and this run would say no file was ready. None when it is not taken."""
    with ExitStack() as held:
        claimed = _claim(inbox, path, result, held)
        if claimed is None:
            return None
        if options.trigger_suffix:
            trigger_path(path, options.trigger_suffix).unlink(missing_ok=True)
        return _work_on(inbox, claimed, job, options)


def _left(path: Path, job: Job, result: RunResult) -> bool:
    """With --feed/--mapping, a file named for another feed stays where it is (the inbox, or
    processing/ for one to resume): read as `--feed confirm`, `cancel_28-11.csv` would
    confirm its orders. Said once per process (`watch` sees it at every scan)."""
    why = left_for_another_run(job.mappings, path.name, job.feed, job.mapping_name)
    if why is None:
        return False
    result.left.append(path.name)
    if path not in _left_said:
        _left_said.add(path)
        log.warning("%s: left in %s/ for a run without --feed/--mapping: %s",
                    path.name, path.parent.name, why)  # fmt: skip
    return True


_left_said: set[Path] = set()


def _resume(
    inbox: Inbox, leftover: Path, job: Job, options: RunOptions, result: RunResult
) -> FileResult | None:
    """Finish a leftover while holding its lock; None when another live process has it
    (claimed it and works on it, or resumes it) or finished it meanwhile."""
    with inbox.lock_soon(leftover.name) as held:
        if not held:
            _busy(leftover, result)
            return None
        if not leftover.is_file():
            return None
        log.info("resuming %s (left in processing/ by an earlier run)", leftover.name)
        drop_unfinished_reports(job.journal, leftover)
        return _work_on(inbox, leftover, job, options, resuming=True)


def _work_on(
    inbox: Inbox, claimed: Path, job: Job, options: RunOptions, resuming: bool = False
) -> FileResult:
    """Process a claimed file; the caller holds its lock."""
    if options.on_start is not None:
        options.on_start(claimed.name)
    return process_claimed(inbox, claimed, job, options, resuming=resuming)


def _busy(path: Path, result: RunResult) -> None:
    """Another live process works on `path`: said once while it does (`watch` looks at every
    scan), in the user's terms."""
    result.busy.append(path.name)
    if path not in _busy_said:
        _busy_said.add(path)
        log.info("%s is being worked on by another konnect-etl process; left to it", path.name)


_busy_said: set[Path] = set()


def _written_again(path: Path, settler: Settler | None, settle_seconds: float) -> bool:
    """`path` changed since it was found ready (a new export written over the old one)."""
    signature = file_signature(path)
    if signature is None or settle_seconds <= 0:
        return False  # gone: another process took it (the claim finds out); or no settling
    if settler is not None:
        again = not settler.still_ready(path)
    else:  # a future mtime is a share whose clock runs ahead: it says nothing
        again = 0 <= time.time() - signature[1] < settle_seconds
    if again:
        log.info("%s: it changed after it was found ready (written again); it stays in the "
                 "inbox until it has not changed for %g s", path.name, settle_seconds)  # fmt: skip
    return again


_complained: set[Path] = set()


def _claim(inbox: Inbox, path: Path, result: RunResult, held: ExitStack) -> Path | None:
    """Claim one file, its lock kept in `held`; a file we may not move is skipped (said
    once), not the whole inbox; one another process took first is left to it."""
    try:
        claimed = held.enter_context(inbox.claimed(path))
    except PermissionError as exc:
        result.not_taken.append(path.name)
        if path not in _complained:
            _complained.add(path)
            log.error("%s: cannot be moved into processing/ (%s); check the permissions of the "
                      "file and of the inbox folder (read-only, locked, immutable, another "
                      "owner). Other files go on; it is tried again at every scan",
                      path.name, exc)  # fmt: skip
        return None
    _complained.discard(path)
    if claimed is None:
        result.busy.append(path.name)
        log.info("%s was taken by another konnect-etl process first (or moved away); left to"
                 " it", path.name)  # fmt: skip
    return claimed


def _record(result: RunResult, file: FileResult, options: RunOptions) -> None:
    result.files.append(file)
    if options.on_file is not None:
        try:
            options.on_file(file)
        except Exception:  # a broken notifier must never stop the processing of files
            log.exception("after %s: the notification/health hook failed", file.summary["input"])
