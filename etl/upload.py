"""Send a file's chunks to Konnect: bounded concurrency, retries, and who failed and why.

Each chunk is sent until Konnect answers with an envelope, refuses it, or `etl.retry.decide`
gives up. Its answer is matched back to the chunk's records by their keys (`etl.attribution`);
whatever cannot be matched is `unknown`, never ok. With a journal, results are committed in
small batches while the next chunks go out, each before the run reports it, and chunks
settled by an earlier (crashed) attempt are not resent.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from typing import Protocol, TypeVar

import httpx

from etl.attribution import acknowledged, given_up, not_sent
from etl.chunkresult import ChunkResult, chunk_digest
from etl.client import KonnectClient
from etl.clientsettings import ClientSettings
from etl.envelopes import Answer
from etl.errors import (
    AnswerTimedOut,
    CredentialsError,
    EtlError,
    KonnectDown,
    RateLimited,
    TransientError,
    Unreachable,
    UploadError,
)
from etl.holdover import hold_if_not_taken, holds_now
from etl.journal import Journal
from etl.konnect import ORDERS_PATH, Endpoint
from etl.resumed import earlier_results
from etl.retry import AdaptiveLimit, Attempts, RetryPolicy, decide
from etl.uploadrun import UploadRun
from etl.wording import count

T = TypeVar("T")
__all__ = ["ChunkLike", "ChunkResult", "run_upload", "run_with_client", "upload_chunks"]

log = logging.getLogger(__name__)

# Konnect answering nothing for this long, mid-file, and a look-up not answered either:
# it went away (`_gone_quiet`)
QUIET_SECONDS = 60.0


class ChunkLike(Protocol):
    """What the uploader needs of a chunk: its position, its JSON body, how many records."""

    @property
    def index(self) -> int: ...

    @property
    def body(self) -> bytes: ...

    @property
    def record_count(self) -> int: ...


async def upload_chunks(
    client: KonnectClient,
    endpoint: Endpoint,
    chunks: Sequence[ChunkLike],
    *,
    keys_of: Callable[[ChunkLike], list[str]],
    journal: Journal | None = None,
    file_id: int | None = None,
    concurrency: int = 4,
    on_progress: Callable[[int], None] | None = None,
    resend_unknown: bool = True,
    policy: RetryPolicy | None = None,
    before_send: Callable[[int], None] | None = None,
    look: Callable[[int], Awaitable[None]] | None = None,
    name: str = "",
) -> list[ChunkResult]:
    """Upload `chunks` and return one result per chunk, in chunk index order. `name`: the
    file's, at the head of the log lines (a watcher's log mixes files and processes).

    `on_progress(records_done)` gets the running total of records whose chunk has finished.
    `resend_unknown=False` (order actions) gives up on a chunk at the first request that
    may have been applied, and does not resend chunks a crashed run left in doubt.
    A `CredentialsError`, or Konnect staying unreachable through every retry (`KonnectDown`),
    stops new requests, lets those in flight finish, then propagates: the file is not done.
    Stock and price also stop with `KonnectDown` when Konnect answered some requests but not
    others, for a while (`etl.holdover`).
    """
    run = UploadRun(
        client=client,
        endpoint=endpoint,
        keys_of=keys_of,
        policy=policy or client.settings.retry_policy(resend_unknown=resend_unknown),
        limit=AdaptiveLimit(concurrency),
        journal=journal,
        file_id=file_id,
        on_progress=on_progress,
        before_send=before_send,
        look=look,
        said=f"{name}: " if name else "",
    )
    results = earlier_results(run, chunks)
    run.progress(sum(c.record_count for c in chunks if c.index in results))
    waiting = iter([c for c in chunks if c.index not in results])
    try:
        async with asyncio.TaskGroup() as group:
            if run.saves:
                group.create_task(run.keep_saving())
            # One worker per place, not one task per chunk: a freed place then wakes a handful
            # of waiters instead of every remaining chunk (thousands, for a million rows).
            workers = [group.create_task(_worker(run, waiting)) for _ in range(run.limit.ceiling)]
            for worker in workers:
                await worker
            run.stop_saving()
    except ExceptionGroup as failed:
        # A journal write failing (a full disk, a locked database) is raised as itself, so
        # the caller sees an OSError / sqlite3.Error - a host fault that waits and resumes -
        # and not a group it would take for a bug of ours (the file then went to failed/).
        # A bug among them stays a group: an internal error, never retried forever.
        if failed.split((OSError, sqlite3.Error, EtlError))[1] is not None:
            raise
        raise _first_leaf(failed) from None
    if run.retries > 1:
        tried = count(run.retries, "request")
        log.info("%s%s tried again after a failure (each logged at DEBUG)", run.said, tried)
    if run.halt is not None:
        if isinstance(run.halt, KonnectDown):  # requests in flight may have been answered since
            run.halt.answered = run.halt.answered or run.answered
        raise run.halt
    results.update({r.index: r for w in workers for r in w.result()})
    if run.limit.lowest < run.limit.ceiling:
        log.info("%sKonnect rate-limited us: concurrency went down to %d", run.said,
                 run.limit.lowest)  # fmt: skip
    ordered = sorted(results.values(), key=lambda r: r.index)
    if run.policy.resend_unknown and run.journal is not None and run.file_id is not None:
        minutes = client.settings.retry_failed_minutes
        hold_if_not_taken(run.journal, run.file_id, ordered, minutes)
    return ordered


def _first_leaf(group: BaseExceptionGroup[Exception]) -> Exception:
    first = group.exceptions[0]
    return _first_leaf(first) if isinstance(first, BaseExceptionGroup) else first


async def _worker(run: UploadRun, waiting: Iterator[ChunkLike]) -> list[ChunkResult]:
    """Upload chunks taken from `waiting` (shared by the workers) one after the other."""
    done = []
    for chunk in waiting:
        if run.gone_quiet is not None:
            done.append(run.finish(not_sent(chunk.index, chunk.record_count, run.gone_quiet),
                                   chunk.record_count))  # fmt: skip
            continue
        result = await _upload_one(run, chunk)
        if result is not None:
            done.append(result)
    return done


async def _upload_one(run: UploadRun, chunk: ChunkLike) -> ChunkResult | None:
    """Send one chunk until it is answered or given up; None if the run was stopped."""
    count = chunk.record_count
    body = chunk.body
    digest = chunk_digest(body) if run.journal is not None else ""
    attempts = Attempts()
    while run.halt is None:
        try:
            answer = await _send_once(run, chunk.index, body, digest)
        except CredentialsError as exc:
            run.halt = run.halt or exc
            attempts.tries += 1
            break
        except UploadError as exc:
            delay = decide(exc, attempts, run.policy, run.rng)
            # gone away: the file waits for the next run - unless an order action may already
            # have been applied, which only a look-up can settle (etl.reconcile)
            may_resend = run.policy.resend_unknown or not attempts.unknown
            if delay is None and may_resend and await _konnect_down(run, exc):
                where = run.client.settings.base_url
                tries = f"{attempts.tries} {'try' if attempts.tries == 1 else 'tries'}"
                slow = isinstance(exc, AnswerTimedOut)
                down = KonnectDown(f"{exc} at {where}, {tries}", run.answered, slow)
                run.halt = run.halt or down
                break
            if delay is None:
                if await _gone_quiet(run, exc) and run.gone_quiet is None:  # one worker says it
                    run.gone_quiet = f"chunk {chunk.index}: {exc}"
                    log.warning("%sKonnect stopped answering part-way through the file (%s);"
                                " the requests not sent yet wait for the next run",
                                run.said, run.gone_quiet)  # fmt: skip
                return run.finish(_of_body(given_up(chunk.index, count, attempts), digest), count)
            if isinstance(exc, RateLimited):
                run.limit.rate_limited(delay)
            # the first retry of an upload at INFO, the others at DEBUG and counted at its end:
            # a long outage in `watch` must not push days of the log out of its rotation
            level = logging.INFO if not run.retries else logging.DEBUG
            run.retries += 1
            log.log(level, "%schunk %d: %s; trying again in %.2f s", run.said, chunk.index, exc,
                    delay)  # fmt: skip
            await asyncio.sleep(delay)
        else:
            if answer is not None:
                run.answered = True
                result = acknowledged(chunk.index, answer, count, lambda: run.keys_of(chunk))
                return run.finish(_of_body(result, digest), count)
    if run.marks and attempts.tries > 0 and not attempts.unknown:  # surely never applied
        await run.journal_write(lambda j, file_id: j.clear_inflight(file_id, chunk.index))
    return None


def _of_body(result: ChunkResult, digest: str) -> ChunkResult:
    result.digest = digest
    return result


async def _konnect_down(run: UploadRun, exc: UploadError) -> bool:
    """Konnect itself is down, not just this request: unreachable; or 5xx through every
    retry while nothing of this file was answered (a maintenance 503, a gateway before a
    dead server) and a look-up is not answered either. A request that always breaks the
    server, while Konnect answers others, fails its rows instead: it must not hold its file
    (and every file after it) back forever."""
    if isinstance(exc, Unreachable):
        return True
    if not isinstance(exc, TransientError) or isinstance(exc, RateLimited) or run.answered:
        return False
    if not await konnect_answers(run.client):
        return True
    run.answered = True
    return False


async def _gone_quiet(run: UploadRun, exc: UploadError) -> bool:
    """Konnect, which answered part of this file, answers nothing any more: this request
    got 5xx or no answer through every retry, Konnect answered no request for
    `QUIET_SECONDS`, and a look-up is not answered either (a network gone dark mid-file, a
    server gone down). The requests not sent yet then are not sent (`not_sent`): each would
    use up its retries in turn, for hours with a big file, the log silent and every file
    after it waiting. The file waits with those not taken (`etl.holdover`) - only while it
    would (`holds_now`): with `retry_failed_minutes: 0`, or its time over, every request is
    tried as before, lest rows be reported failed that were never sent. A Konnect that is
    only flaky answers something within the minute, and every request is tried."""
    if run.gone_quiet is not None or not run.answered:  # nothing answered: `_konnect_down`
        return False
    if not isinstance(exc, TransientError) or isinstance(exc, RateLimited):
        return False
    if time.monotonic() - run.client.answered_at < QUIET_SECONDS:
        return False
    minutes = run.client.settings.retry_failed_minutes
    held = await asyncio.to_thread(holds_now, run.journal, run.file_id, minutes)
    # one try: a minute of silence is the evidence; retries would add their timeouts again
    return held and not await konnect_answers(run.client, retry=False)


async def konnect_answers(client: KonnectClient, retry: bool = True) -> bool:
    """Whether Konnect answers at all: a look-up of no order, answered or refused (a company
    token wants a location...); False when it gets only 5xx, 429s or no answer (through
    the retries; `retry=False`: one try)."""
    try:
        await client.get_json(ORDERS_PATH, {"orderId": "0", "pageSize": "1"}, retry=retry)
    except TransientError:
        return False
    except EtlError:
        pass
    return True


async def _send_once(run: UploadRun, index: int, body: bytes, digest: str) -> Answer | None:
    """One request for chunk `index` inside a concurrency slot; None if the run stopped."""
    await run.look_first(index)
    async with run.limit.slot():
        if run.halt is not None:
            return None
        if run.marks:
            await run.journal_write(lambda j, file_id: j.mark_inflight(file_id, index, digest))
        await run.announce(index)
        answer = await run.client.send(run.endpoint, body)
    await run.limit.succeeded()
    return answer


def run_with_client(
    settings: ClientSettings,
    work: Callable[[KonnectClient], Awaitable[T]],
    transport: httpx.AsyncBaseTransport | None = None,
) -> T:
    """Run `work` for synchronous callers: one client, one event loop, per call."""

    async def main() -> T:
        async with KonnectClient(settings, transport=transport) as client:
            return await work(client)

    return asyncio.run(main())


def run_upload(
    settings: ClientSettings,
    endpoint: Endpoint,
    chunks: Sequence[ChunkLike],
    *,
    keys_of: Callable[[ChunkLike], list[str]],
    journal: Journal | None = None,
    file_id: int | None = None,
    on_progress: Callable[[int], None] | None = None,
    resend_unknown: bool = True,
    transport: httpx.AsyncBaseTransport | None = None,
    name: str = "",
) -> list[ChunkResult]:
    """`upload_chunks` for synchronous callers."""
    return run_with_client(
        settings,
        lambda client: upload_chunks(
            client, endpoint, chunks, keys_of=keys_of, journal=journal, file_id=file_id,
            concurrency=settings.concurrency, on_progress=on_progress,
            resend_unknown=resend_unknown, name=name,
        ),
        transport,
    )  # fmt: skip
