"""A stock/price file Konnect answered only in part: it waits for another run, for a while.

Konnect that is down altogether stops the run and the file waits in processing/ however long
it takes (`etl.upload`). A flaky Konnect, which takes most requests but answers some only
with 5xx, timeouts or 429s through every retry, used to end those requests' rows `failed`
(or `unknown`) and file the input in done/: after a short outage someone had to drop the
errors file in again. Now such a file waits in processing/ too, and the next runs send the
requests not taken, for up to `retry_failed_minutes` from its first attempt; after that its
rows are reported as before, so a request that always breaks the server holds the inbox up
for that long at most. The run stops meanwhile, so no newer stock or price file overtakes
the waiting one (absolute values: the older would overwrite the newer when it got through).

Order actions are not held: a request that may have been applied is looked up instead
(`etl.reconcile`), and their errors file is the way back.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from etl.errors import KonnectDown
from etl.journal import ChunkResult, Journal

# the codes `etl.attribution.given_up` gives the rows of a request Konnect never took
NOT_TAKEN = ("UNAVAILABLE", "HTTP429")


def not_taken(result: ChunkResult) -> bool:
    """A request Konnect never answered with an envelope through every retry: its rows are
    not wrong, and sending it again later may well go through (stock and price only: an
    `unknown` order action is looked up, never resent blindly)."""
    if result.state == "unknown":
        return result.ack_id is None
    if result.state != "failed" or not result.record_errors:
        return False
    code, _ = next(iter(result.record_errors.values()))  # every row has the request's reason
    return code in NOT_TAKEN


def hold_if_not_taken(
    journal: Journal, file_id: int, results: Sequence[ChunkResult], minutes: float
) -> None:
    """KonnectDown (the file waits in processing/) when Konnect did not take some requests and
    the file's first attempt began less than `minutes` ago; else nothing."""
    missed = [r for r in results if not_taken(r)]
    if not missed or minutes <= 0:
        return
    begun = datetime.fromisoformat(journal.attempt(file_id).started_at)
    until = begun + timedelta(minutes=minutes)
    if datetime.now(UTC) >= until:
        return
    rows = sum(len(r.record_errors) + len(r.unknown_records) for r in missed)
    local = until.astimezone().strftime("%H:%M")
    raise KonnectDown(
        f"Konnect took {len(results) - len(missed)} of this file's {len(results)} requests "
        f"but not the other {len(missed)} ({rows:,} rows; the last: {missed[-1].message}). "
        f"The next runs send those again until {local} (retry_failed_minutes: {minutes:g} "
        "from the first attempt); after that their rows are reported failed in the errors file"
    )
