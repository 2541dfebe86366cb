"""A file Konnect answered only in part: it waits for another run, for a while.

Konnect that is down altogether stops the run and the file waits in processing/ however long
it takes (`etl.upload`). A flaky Konnect, which takes most requests but answers some only
with 5xx, timeouts or 429s through every retry, used to end those requests' rows `failed`
(or `unknown`) and file the input in done/: after a short outage someone had to drop the
errors file in again, or check orders in Konnect one by one. Now such a file waits in
processing/ too, and the next runs send the requests not taken (stock/price: resent, absolute
values; order actions: only those surely not applied, `refused_for_now`) and look up again
the orders whose answer was lost and whose look-up failed (`etl.reconcile`), for up to
`retry_failed_minutes` from the first run that got only part of an answer (a run in which
Konnect answered nothing at all starts that time afresh: `etl.pipeline`). After that its rows
are reported as before, so a request that always breaks the server holds the inbox up for
that long at most.
The run stops meanwhile, so no newer file overtakes the waiting one (stock and price are
absolute: the older would land on top of the newer; order actions build on each other).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from etl.attribution import NOT_SENT
from etl.chunkresult import ChunkResult
from etl.errors import PartlyTaken
from etl.journal import Journal

# the codes `etl.attribution.given_up` gives the rows of a request Konnect never took
NOT_TAKEN = ("UNAVAILABLE", "HTTP429")


def refused_for_now(result: ChunkResult) -> bool:
    """Konnect refused the whole request through every retry in a way that applied nothing
    (500, 503, 429, a connection that could not be made): sending it later is safe, even for
    an order action."""
    if result.state != "failed" or not result.record_errors:
        return False
    code, _ = next(iter(result.record_errors.values()))  # every row has the request's reason
    return code in NOT_TAKEN


def not_taken(result: ChunkResult) -> bool:
    """A stock/price request Konnect never answered with an envelope through every retry:
    its rows are not wrong, and sending it again (absolute values) may well go through."""
    return (result.state == "unknown" and result.ack_id is None) or refused_for_now(result)


def hold(
    journal: Journal,
    file_id: int,
    minutes: float,
    results: Sequence[ChunkResult],
    what: str,
    again: str,
    answered: bool = True,
) -> None:
    """PartlyTaken (the file waits in processing/) until `minutes` after Konnect first took
    only part of this attempt; `what` says what it did not take, `again` what the next runs
    do about it. After that, nothing: the rows are reported as they stand. `answered` False:
    Konnect answered nothing at all this time - the file waits whatever the time, which
    starts afresh (`etl.pipeline`), as for a Konnect that is down."""
    if minutes <= 0:
        return
    since, now = journal.held_since(file_id)
    until = since + timedelta(minutes=minutes) if answered else now + timedelta(minutes=minutes)
    if now >= until:
        return
    local = until.astimezone().strftime("%d %b %H:%M")
    raise PartlyTaken(
        f"{what}. It waits in processing/ (newer files wait behind it). Until {local} "
        f"(retry_failed_minutes: {minutes:g}) the next runs {again}; after that the rows "
        "left are reported in its errors file",
        results,
        answered,
    )


def holds_now(journal: Journal | None, file_id: int | None, minutes: float) -> bool:
    """Whether a file Konnect took only part of would wait now for the next runs (`hold`):
    while its hold's time lasts (the first call starts it). Not when `minutes` is 0 or the
    time is over: its rows are then reported as they stand."""
    if journal is None or file_id is None or minutes <= 0:
        return False
    since, now = journal.held_since(file_id)
    return now < since + timedelta(minutes=minutes)


def hold_if_not_taken(
    journal: Journal, file_id: int, results: Sequence[ChunkResult], minutes: float
) -> None:
    """`hold` a stock/price file when Konnect did not take some of its requests."""
    missed = [r for r in results if not_taken(r)]
    if missed:
        rows = sum(len(r.record_errors) + len(r.unknown_records) for r in missed)
        what = _unanswered(results, missed, rows)
        hold(journal, file_id, minutes, results, what, "send them again")


def _unanswered(results: Sequence[ChunkResult], missed: Sequence[ChunkResult], rows: int) -> str:
    """What Konnect did not take; those not sent at all (it stopped answering part-way,
    `etl.upload._gone_quiet`) are not said to have been tried through every retry."""
    tried = [r for r in missed if not r.message.startswith(NOT_SENT)]
    unsent = len(missed) - len(tried)
    more = f", then stopped answering: {unsent} more not sent" if unsent else ""
    return (
        f"Konnect gave no usable answer to {len(tried)} of this file's {len(results)} "
        f"requests through every retry{more} ({_rows(rows)}; the last: "
        f"{(tried or missed)[-1].message})"
    )


def hold_orders(
    journal: Journal,
    file_id: int,
    results: Sequence[ChunkResult],
    unsettled: int,
    minutes: float,
    answered: bool,
) -> None:
    """`hold` an order file when Konnect refused some requests for now, or `unsettled`
    orders in doubt could not be looked up (or resent) for now; `answered`: Konnect
    answered anything at all this time."""
    missed = [r for r in results if refused_for_now(r)]
    parts = []
    if missed:
        rows = sum(len(r.record_errors) for r in missed)
        parts.append(_unanswered(results, missed, rows) + ", none of them applied")
    if unsettled:
        parts.append(
            f"{_rows(unsettled)} in doubt (an answer lost, or a refusal that may be our own "
            "replay) could not be looked up in Konnect, or sent again, for now"
        )
    if parts:
        again = "send them again, looking the orders in doubt up first"
        hold(journal, file_id, minutes, results, "; ".join(parts), again, answered)


def _rows(count: int) -> str:
    return f"{count:,} row{'' if count == 1 else 's'}"
