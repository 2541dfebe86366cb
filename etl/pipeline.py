"""One file, start to finish: read -> map -> validate -> upload -> report."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Literal, cast

from etl import guards, outcomes, repeats, turns
from etl.allocator import hand_memory_back, release_freed_memory
from etl.appliedrows import note_applied
from etl.bodies import Chunk, build_chunks
from etl.errors import CredentialsError, EtlError, InputError, KonnectDown, PartlyTaken
from etl.feeds import ABSOLUTE_FEEDS, get_feed
from etl.filehash import file_digest
from etl.grown import continue_grown
from etl.job import Destination, FileResult, Job, Prepared
from etl.journal import Journal
from etl.mapping import apply_mapping, choose_mapping
from etl.order_states import ORDER_FEEDS
from etl.outoforder import export_time_notes
from etl.partway import results_so_far
from etl.preview import write_preview
from etl.readers import file_kind
from etl.reconcile import run_order_upload
from etl.report import RowOutcomes, write_reports
from etl.resumed import resume_note
from etl.summary import build_summary
from etl.upload import ChunkResult, run_upload
from etl.validation import validate
from etl.wording import count, local_time

log = logging.getLogger(__name__)

hand_memory_back()  # a big file's columns go back to the system once freed


def _prepare_within_memory(path: Path, job: Job) -> Prepared:
    """`prepare`, with running out of memory on this one file made a file problem: the file
    goes to failed/ instead of being retried forever as if the machine were at fault."""
    try:
        return prepare(path, job)
    except MemoryError:
        raise InputError(
            "the file is too big to read with the memory this machine has: split it into "
            "smaller files (or lower the 'limits:' in konnect-etl.yaml so such files are "
            "refused before reading)",
            code="memory",
        ) from None


def prepare(path: Path, job: Job) -> Prepared:
    """Read, map and validate `path`; InputError when the file as a whole cannot be used."""
    mapping, table = choose_mapping(job.mappings, path, feed=job.feed, name=job.mapping_name)
    feed = get_feed(mapping.feed)
    table.notes += export_time_notes(mapping, path)
    mapped = apply_mapping(mapping, table)
    if len(mapped.frame) == 0:
        raise InputError(
            "the file has a header but no data rows: nothing was uploaded "
            "(an empty export would otherwise look like a successful run)",
            code="no_rows",
        )
    validated = validate(
        feed,
        mapped,
        duplicates=mapping.duplicates,
        negative_stock=mapping.negative_stock,
        now=job.now(),
    )
    mapped.drop_frame()
    return Prepared(feed, mapping, table, mapped, validated, build_chunks(feed, validated))


def upload(
    prepared: Prepared, path: Path, job: Job, sha256: str, size: int | None = None
) -> tuple[int | None, list[ChunkResult]]:
    """Send the chunks; the journal makes a resumed file skip what Konnect acknowledged.
    `sha256`, `size`: the file's `file_digest`, which the journal knows it by."""
    assert job.client is not None
    feed, validated = prepared.feed, prepared.validated
    file_id = None
    if job.journal is not None:
        if earlier := job.journal.unfinished(sha256, path.name):  # the summary's warnings
            note = resume_note(job.journal, earlier, feed.name, prepared.chunks)
            prepared.table.notes.append(note)
        file_id = job.journal.begin_file(
            sha256, path.name, feed.name, prepared.mapping.name, size=size
        )
    on_progress = job.progress(path.name, len(validated.frame)) if job.progress else None
    # Order actions are not idempotent: what is in doubt is looked up, never resent blindly.
    send: Callable[..., list[ChunkResult]] = partial(run_upload, name=path.name)
    if feed.name in ORDER_FEEDS:
        expect = guards.expecting_cancels(prepared, path, job, sha256)
        send = partial(run_order_upload, feed=feed.name, before_send=expect, name=path.name)
    return file_id, send(
        job.client,
        endpoint=feed.endpoint,
        chunks=prepared.chunks,
        keys_of=lambda chunk: cast(Chunk, chunk).keys(validated, feed),
        journal=job.journal,
        file_id=file_id,
        on_progress=on_progress,
    )


def _stopped_part_way(
    prepared: Prepared, path: Path, job: Job, sha256: str, stopped: EtlError
) -> None:
    """A file that waits in processing/ after part of it was sent (`PartlyTaken`, Konnect
    down, credentials refused). Konnect answering nothing at all does not use up a hold's
    time (`etl.holdover`). A cancel file's cancels applied so far are remembered
    (`guards.partly_applied`), so that a copy edited meanwhile does not send them again:
    from the results `PartlyTaken` carries, or else from the journal (a chunk in flight
    counts as maybe applied, one never sent or cut otherwise since is left out)."""
    journal = job.journal
    attempt = journal.unfinished(sha256, path.name) if journal is not None else None
    if journal is None or attempt is None:
        return
    if isinstance(stopped, KonnectDown) and not stopped.answered:
        journal.restart_hold(attempt.id)
    if prepared.feed.name != repeats.FEED:
        return
    if isinstance(stopped, PartlyTaken):
        results = list(stopped.results)
    else:
        results = results_so_far(journal, attempt.id, prepared.chunks)
    guards.partly_applied(prepared, judge(prepared, results), path, job, sha256)


def judge(prepared: Prepared, results: list[ChunkResult] | None) -> RowOutcomes:
    """One verdict per data row: validation problems first, then the API's answers."""
    out = outcomes.new_outcomes(prepared.table, prepared.mapped)
    if results is not None:
        rows = prepared.table.row_numbers.tolist()
        outcomes.apply_results(out, prepared.validated, prepared.chunks, results, rows)
        note_applied(out, prepared.validated, prepared.chunks, results)
    outcomes.apply_problems(out, prepared.table, prepared.validated.problems)
    outcomes.mark_merged(out, prepared.validated)
    return out


def report_kind(path: Path) -> Literal["csv", "xlsx"]:
    """Excel inputs get XLSX reports (highlighted cells); everything else CSV."""
    try:
        return "csv" if file_kind(path) == "csv" else "xlsx"
    except InputError:
        return "csv"


def process(
    path: Path, job: Job, destination: Destination, *, resuming: bool = False
) -> FileResult:
    """Process one file and write its reports where `destination(kind)` says.

    `kind` is "done" when the file reached the validation/upload stage and "failed" when the
    file as a whole could not be used; `destination` answers (folder, report stem).
    `resuming`: a leftover in processing/ (it may continue a grown attempt, `etl.grown`).
    """
    started = job.now()
    # hashed before it is read: rows an export adds meanwhile are then not in the content
    # the journal records as done (`etl.claimed` gives such a file back, to be taken whole)
    sha256, size = file_digest(path) if job.client is not None else ("", None)
    try:
        prepared = _prepare_within_memory(path, job)
    except InputError as exc:
        log.warning("%s: %s", path.name, exc)
        return failed(path, str(exc), started, job, destination)
    release_freed_memory()  # what reading and mapping needed on the way
    if job.client is None:
        return _report(
            path, prepared, judge(prepared, None), None, None, started, job, destination("done")
        )
    with turns.taking_turns(prepared, job, sha256):
        if resuming and job.journal is not None:
            continue_grown(job.journal, path, sha256, size)
        elif job.journal is not None and prepared.feed.name in ABSOLUTE_FEEDS:
            _start_over(job.journal, path, sha256)
        reason = guards.before_upload(prepared, path, job, sha256)
        if reason is not None:
            sent = acknowledged_before(job, path, sha256)
            return hold(path, prepared, reason, started, job, destination, sent)
        try:
            file_id, results = upload(prepared, path, job, sha256, size)
        except (KonnectDown, CredentialsError) as stopped:  # it waits in processing/
            _stopped_part_way(prepared, path, job, sha256, stopped)
            raise
        release_freed_memory()  # before the reports and the protection recording
        out = judge(prepared, results)
        folder, stem = destination("done")
        guards.after_upload(prepared, out, path, job, stem + path.suffix, sha256)
        # the journal records the file finished before the turn passes: an order file
        # unfinished in processing/ then is one given up on (`etl.turns`)
        return _report(path, prepared, out, results, file_id, started, job, (folder, stem))


def _start_over(journal: Journal, path: Path, sha256: str) -> None:
    """A stock or price file taken from the inbox never takes up an attempt that stopped
    part-way (its file deleted from processing/, or failed and dropped again): a newer export
    may have set some of its keys since, so what was acknowledged then is sent again."""
    begun = journal.abandon(sha256, path.name)
    if begun is not None:
        log.warning("%s: an attempt at this file begun at %s stopped part-way; dropped in"
                    " again, it is sent whole", path.name, local_time(begun))  # fmt: skip


def _report(
    path: Path,
    prepared: Prepared,
    out: RowOutcomes,
    results: list[ChunkResult] | None,
    file_id: int | None,
    started: datetime,
    job: Job,
    where: tuple[Path, str],
) -> FileResult:
    """Write the reports of a file that reached validation to `where` (folder, stem)."""
    folder, stem = where
    summary = build_summary(path, prepared, out, results, started, job, stem)
    read = prepared.table.sheet.delimiter
    # a tab-separated input (Excel's "Unicode Text"): Excel splits a .csv at its list
    # separator only, never at tabs, so its reports would open as one column
    delimiter = prepared.mapping.report_delimiter or (read if read and read != "\t" else ",")
    kind = report_kind(path)
    if job.journal is not None and file_id is not None:
        job.journal.note_reports(file_id, folder / f"{stem}.summary.json")
    reports = write_reports(folder, stem, kind, prepared.table, out, summary, delimiter=delimiter)
    if job.preview:
        reports.append(write_preview(folder, stem, prepared))
    if job.journal is not None and file_id is not None:
        job.journal.finish_file(file_id, "done", folder / f"{stem}.summary.json",
                                row_count=summary["rows"]["total"])  # fmt: skip
    errors_file = folder / f"{stem}.errors.{kind}"
    outcomes.log_outcome(path, summary, errors_file, job.client is not None, prepared.table.notes)
    return FileResult(summary, reports)


def failed(
    path: Path,
    reason: str,
    started: datetime,
    job: Job,
    destination: Destination,
    results: list[ChunkResult] | None = None,
) -> FileResult:
    """The file as a whole was not used: failed/ gets its summary and a report saying why;
    `results`: what Konnect acknowledged of it in an earlier attempt (`etl.deaths`)."""
    folder, stem = destination("failed")
    summary = build_summary(path, None, None, results, started, job, stem, [reason])
    return FileResult(summary, write_reports(folder, stem, report_kind(path), None, None, summary))


def internal_error(path: Path, exc: Exception, job: Job, destination: Destination) -> FileResult:
    """A fault of ours (a bug, or memory running out) on this one file: it goes to failed/
    with a report, so that it does not block every file after it, run after run."""
    if isinstance(exc, MemoryError):
        cause = "the computer ran out of memory while working on it"
    else:
        what = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        cause = f"of an internal error ({what})"
    reason = (
        f"konnect-etl stopped on this file because {cause}. Nothing is lost: what was already "
        "sent is recorded, and dropping the file in again under the same name continues from "
        "there (a stock or price file is sent whole again). If it happens again, send the log "
        "to whoever looks after konnect-etl."
    )
    return failed(path, reason, job.now(), job, destination)


def hold(
    path: Path,
    prepared: Prepared,
    reason: str,
    started: datetime,
    job: Job,
    to: Destination,
    sent: list[ChunkResult] | None = None,
) -> FileResult:
    """Put a file aside in held/ with a report saying why; `konnect-etl release` lets it go.
    `sent`: what Konnect acknowledged of it in an attempt that stopped part-way (a resumed
    file is held too when the guards' comparison changed meanwhile): in its summary's
    `chunks` and `ack_ids`, and said, not "nothing was uploaded"."""
    folder, stem = to("held")
    held_file = folder / f"{stem}{path.suffix}"
    errors = [f"held, {_uploaded_so_far(sent or [])}: {reason}", guards.release_hint(held_file)]
    summary = build_summary(path, None, None, sent, started, job, stem, errors)
    summary.update(feed=prepared.feed.name, mapping=prepared.mapping.name, held=reason)
    # the name it is filed under (a second `stock.csv` of the day is `stock-2.csv`) and how
    # to let it go: who reads the log (or cron's mail of it) must release the right one
    log.warning("%s: held as %s: %s; %s", path.name, held_file, reason, errors[1])
    return FileResult(summary, write_reports(folder, stem, report_kind(path), None, None, summary))


def acknowledged_before(job: Job, path: Path, sha256: str) -> list[ChunkResult]:
    """What Konnect acknowledged of `path` in its unfinished attempt (one this run resumes,
    killed part-way or after the whole file went out); none for a new attempt."""
    attempt = job.journal.unfinished(sha256, path.name) if job.journal is not None else None
    if attempt is None or job.journal is None:
        return []
    return list(job.journal.chunk_results(attempt.id, ("acknowledged",)).values())


def _uploaded_so_far(sent: list[ChunkResult]) -> str:
    if not sent:
        return "nothing was uploaded"
    return (
        f"nothing more was uploaded (Konnect had acknowledged {count(len(sent), 'request')} of"
        " it in an attempt that stopped before it finished: what it accepted then is applied)"
    )
