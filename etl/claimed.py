"""One claimed file, from processing/ to done/, failed/ or duplicates/.

A file seen before is moved next to its reports or set aside; one the process died on too
often is set aside (`etl.deaths`); otherwise it is processed (`etl.pipeline.process`), and what
a failure means for it is decided here: credentials refused (back to the inbox if nothing was
sent), Konnect or the host down (it waits in processing/), a fault of ours (failed/), the
export still writing (back to the inbox, to be taken whole).
"""

from __future__ import annotations

import logging
import sqlite3
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import date
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from etl import deaths, latewrites
from etl.allocator import release_freed_memory
from etl.atomic import reserved_name
from etl.errors import CredentialsError, EtlError, InputError, KonnectDown, PartlyTaken
from etl.filehash import content_hash
from etl.inbox import Inbox
from etl.job import FileResult, Job
from etl.matching import choose_mapping
from etl.pipeline import internal_error, process
from etl.report import remove_reports
from etl.seen_before import applied_nothing, earlier_copy, finish_move, set_aside
from etl.settling import file_signature
from etl.wording import local_time

if TYPE_CHECKING:
    from etl.runner import RunOptions

log = logging.getLogger(__name__)


def journal_file(job: Job) -> Path | None:
    return job.journal.path if job.journal is not None else None


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
        release_freed_memory()  # a watcher waits for the next file at its resting size
        assert where.path is not None  # `process` always asks where its reports go
        if taken is not None and file_signature(claimed) not in (taken, None):
            return _still_written(inbox, claimed, where.path, result, options)
        try:
            claimed.rename(where.path)  # a name nobody else may take: it replaces nothing
        except FileNotFoundError:  # someone deleted it while we worked; its report says so
            log.warning("%s: the file disappeared while it was being processed", claimed.name)
            return result
        result.final_path = where.path
        latewrites.remember(journal_file(job), where.path, claimed.name, taken)
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
            f"run (watch: after a pause) continues where this one stopped. {_if_it_lasts(exc)}",
            exc.answered,
            exc.slow,
        ) from None
    except (OSError, sqlite3.Error, EtlError):
        raise  # the disk, the share or the set-up: the caller backs off and tries again
    except Exception as exc:  # ours, on this file: set it aside and go on with the others
        log.exception("%s: internal error; the file goes to failed/", claimed.name)
        if where.path is not None:  # reports of this attempt may be half written: none is right
            remove_reports(where.path.parent, where.path.stem)
        return internal_error(claimed, exc, job, where)


def _if_it_lasts(down: KonnectDown) -> str:
    """What to check when Konnect stays away; a Konnect that answers, but always slower than
    `timeout_seconds`, would keep the file waiting for good."""
    check = "If this lasts, check the network and base_url / KONNECT_BASE_URL"
    if not down.slow:
        return check
    return f"{check}; if Konnect is just slow, raise timeout_seconds in konnect-etl.yaml"


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
