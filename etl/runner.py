"""`run` over an inbox: resume what a crash left, take every ready file, file it away.

Several `run`/`watch` processes may share one inbox: a file is claimed by an atomic rename
into processing/, and worked on only while its lock (`etl.locks`) is held, so a file is
processed once even when one process resumes leftovers while another claims new files.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import date
from functools import partial
from pathlib import Path

from etl import deaths, latewrites
from etl.atomic import reserved_name
from etl.errors import CredentialsError, EtlError, InputError, KonnectDown, PartlyTaken
from etl.filehash import content_hash
from etl.inbox import Inbox, Settler, file_signature, trigger_path, wait_until_ready
from etl.matching import choose_mapping, left_for_another_run
from etl.pipeline import FileResult, Job, internal_error, process
from etl.report import remove_reports
from etl.retention import prune
from etl.seen_before import (
    applied_nothing,
    drop_unfinished_reports,
    earlier_copy,
    finish_move,
    set_aside,
)
from etl.wording import local_time

log = logging.getLogger(__name__)


def _never() -> bool:
    return False


def _journal_path(job: Job) -> Path | None:
    return job.journal.path if job.journal is not None else None


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
        inbox, _journal_path(job), options.settle_seconds, options.trigger_suffix
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
    """Finish the files a crashed (or killed) process left in processing/: those an attempt
    began on first, in the order they began (an order file that stopped part-way goes before
    one another process claimed while it waited for its turn), then the others by name."""
    leftovers = inbox.in_processing()
    if job.journal is not None:
        begun = {name: attempt.id for name, attempt in job.journal.unfinished_by_name().items()}
        leftovers.sort(key=lambda path: (path.name not in begun, begun.get(path.name, 0)))
    for leftover in leftovers:
        if options.should_stop():
            return
        if _left(leftover, job, result):
            continue
        finished = _under_lock(inbox, leftover, job, options, resuming=True)
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
    """Claim each ready file (atomic rename) and process it under its lock. A file written
    again since `settler` found it ready is left in the inbox (returned): it must settle
    again. Without `settler`: a file modified within the settle time is left."""
    changed = []
    for path in paths:
        if options.should_stop():
            break
        if _written_again(path, settler, options.settle_seconds):
            changed.append(path)
            continue
        if _left(path, job, result):
            continue
        claimed = _claim(inbox, path, result)
        if claimed is None:
            continue  # another konnect-etl process took it first, or it cannot be moved
        if options.trigger_suffix:
            trigger_path(path, options.trigger_suffix).unlink(missing_ok=True)
        finished = _under_lock(inbox, claimed, job, options)
        if finished is not None:
            _record(result, finished, options)
    return changed


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


def _under_lock(
    inbox: Inbox, claimed: Path, job: Job, options: RunOptions, resuming: bool = False
) -> FileResult | None:
    """Process a claimed file while holding its lock; None when another live process has
    it (resuming it as a leftover, or finishing it)."""
    with inbox.lock(claimed.name) as held:
        if not held or not claimed.is_file():
            return None
        if resuming:
            log.info("resuming %s (left in processing/ by an earlier run)", claimed.name)
            drop_unfinished_reports(job.journal, claimed)
        if options.on_start is not None:
            options.on_start(claimed.name)
        return process_claimed(inbox, claimed, job, options, resuming=resuming)


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


def _claim(inbox: Inbox, path: Path, result: RunResult) -> Path | None:
    """Claim one file; a file we may not move is skipped (said once), not the whole inbox."""
    try:
        claimed = inbox.claim(path)
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
    return claimed


def _record(result: RunResult, file: FileResult, options: RunOptions) -> None:
    result.files.append(file)
    if options.on_file is not None:
        try:
            options.on_file(file)
        except Exception:  # a broken notifier must never stop the processing of files
            log.exception("after %s: the notification/health hook failed", file.summary["input"])


def _feed_of(path: Path, job: Job) -> str | None:
    """The feed `path` would be processed as; None when no mapping fits it."""
    try:
        mapping, _ = choose_mapping(job.mappings, path, feed=job.feed, name=job.mapping_name)
    except InputError:
        return None
    return mapping.feed


def process_claimed(
    inbox: Inbox,
    claimed: Path,
    job: Job,
    options: RunOptions | None = None,
    *,
    resuming: bool = False,
) -> FileResult:
    """Process a file in processing/ and move it, with its reports, to done/ or failed/
    (or to duplicates/ when it repeats a finished order file). `resuming`: a leftover."""
    repeated = _repeat_of_earlier(inbox, claimed, job, options)
    if repeated is not None:
        return repeated
    with ExitStack() as names:  # the names taken in done/... are ours until the file is there
        where = _Destinations(inbox, claimed.name, job.now().date(), names)
        taken = file_signature(claimed)
        with deaths.working_on(inbox, claimed.name, resuming) as died:
            if died.too_many:  # it would only kill this process too
                result = deaths.set_aside(claimed, died, job, where)
            else:
                result = _process(inbox, claimed, job, options, where, resuming)
        assert where.path is not None  # `process` always asks where its reports go
        if taken is not None and file_signature(claimed) not in (taken, None):
            return _still_written(inbox, claimed, where.path, result, options)
        try:
            claimed.rename(where.path)  # a name nobody else may take: it replaces nothing
        except FileNotFoundError:  # someone deleted it while we worked; its report says so
            log.warning("%s: the file disappeared while it was being processed", claimed.name)
            return result
        result.final_path = where.path
        latewrites.remember(_journal_path(job), where.path, claimed.name, taken)
        return result


def _repeat_of_earlier(
    inbox: Inbox, claimed: Path, job: Job, options: RunOptions | None
) -> FileResult | None:
    """What becomes of a file processed before (moved next to its reports, or set aside in
    duplicates/); None when it is to be processed."""
    reprocess = options.reprocess_duplicates if options is not None else True
    if job.journal is None or job.client is None or not claimed.is_file():
        return None
    feed = partial(_feed_of, claimed, job)
    original = earlier_copy(job.journal, content_hash(claimed), claimed.name, reprocess, feed)
    if original is None:
        return None
    finished = finish_move(claimed, original)
    if finished is not None:
        log.info("%s: had been processed before the tool stopped; moved next to its reports",
                 claimed.name)  # fmt: skip
        return finished
    if applied_nothing(original):  # every row refused before: nothing to repeat
        log.info("%s: same content as %s, which applied no row; sending it again",
                 claimed.name, original.name)  # fmt: skip
        return None
    log.warning("%s: same content as %s, processed at %s; set aside in duplicates/",
                claimed.name, original.name, local_time(original.finished_at))  # fmt: skip
    return set_aside(inbox, claimed, original, job.now())


@dataclass
class _Destinations:
    """`process`'s `destination`: the folder and report stem for a finished file, under a
    name reserved (`reserved_name`) while `names` is open; `path`: the last one given."""

    inbox: Inbox
    name: str
    day: date
    names: ExitStack
    path: Path | None = None

    def __call__(self, kind: str) -> tuple[Path, str]:
        folder = self.inbox.outcome_dir(kind, self.day)
        name = self.names.enter_context(reserved_name(folder, self.name, self.inbox.lock))
        self.path = folder / name
        return folder, Path(name).stem


def _process(
    inbox: Inbox,
    claimed: Path,
    job: Job,
    options: RunOptions | None,
    where: _Destinations,
    resuming: bool,
) -> FileResult:
    """`process`, with what a failure means for the file: credentials refused (back to the
    inbox if nothing was sent), Konnect or the host down (it waits in processing/), a fault
    of ours (failed/)."""
    try:
        return process(claimed, job, where, resuming=resuming)
    except CredentialsError:
        if job.journal is not None and job.journal.partly_sent(claimed.name):
            log.error("%s: stopped part-way, Konnect refused the credentials; it waits in "
                      "processing/ and the next run continues where this one stopped",
                      claimed.name)  # fmt: skip
            raise
        if job.journal is not None:  # nothing of it went out: the next run is a first attempt,
            job.journal.abandon(content_hash(claimed), claimed.name)  # not "stopped part-way"
        back = inbox.give_back(claimed, options.trigger_suffix if options else None)
        log.error("%s: stopped, Konnect refused the credentials; file left at %s", back.name, back)
        raise
    except PartlyTaken as exc:  # its message says it all (etl.holdover)
        raise PartlyTaken(f"{claimed.name}: {exc}") from None
    except KonnectDown as exc:
        # It stays in processing/, as after a crash: the next run (watch: its next pass, after
        # a pause) resumes it from the journal, under the same name and free of the drop
        # folder (a trigger file gone, a new export of the same name arriving meanwhile).
        raise KonnectDown(
            f"{exc}. Nothing of {claimed.name} is lost: it waits in processing/, and the next "
            "run (watch: after a pause) continues where this one stopped. If this lasts, check "
            "the network and base_url / KONNECT_BASE_URL"
        ) from None
    except (OSError, sqlite3.Error, EtlError):
        raise  # the disk, the share or the set-up: the caller backs off and tries again
    except Exception as exc:  # ours, on this file: set it aside and go on with the others
        log.exception("%s: internal error; the file goes to failed/", claimed.name)
        if where.path is not None:  # reports of this attempt may be half written: none is right
            remove_reports(where.path.parent, where.path.stem)
        return internal_error(claimed, exc, job, where)


def _still_written(
    inbox: Inbox, claimed: Path, target: Path, result: FileResult, options: RunOptions | None
) -> FileResult:
    """The file changed while it was processed: its export was still writing (paused longer
    than the settle time). It goes back to the inbox and is taken again, whole, once it stops
    changing (stock and price are absolute; order rows already applied are recognised), so no
    row it gains is lost; this attempt's reports, of a file that is not there, are removed."""
    remove_reports(target.parent, target.stem)
    back = inbox.give_back(claimed, options.trigger_suffix if options else None)
    log.warning("%s: the file changed while it was processed (its export was still writing): "
                "its rows read so far were processed; it is back in the inbox as %s and is "
                "taken again, whole, once it stops changing", claimed.name, back.name)  # fmt: skip
    return result
