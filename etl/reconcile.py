"""Exactly once for order actions: what is in doubt is settled by asking Konnect, never by
sending it again blindly.

Order actions (confirm, invoice, pack...) are not idempotent. `upload_orders` sends a file's
chunks without resending any request that may have been applied (`resend_unknown=False`).
Then, for every order whose outcome is in doubt - no answer, or a refusal that a replay would
also get (`etl.konnect.REPLAY_CODES`: IN453, CR400, D400, X409) - it fetches the order
(GET /oms/v3/shipment?orderId=...) and asks `REACHED[feed]`: is the action's effect already in
place? Those orders are ok - "applied" by this file when its own request's answer was lost
(`Lost`), "already applied" after a refusal of a replay; a refusal of an order not there keeps
its code; only unanswered orders are sent again, at most `settings.retries` times. An order
that cannot be fetched is never resent: its rows stay `unknown`, never `ok`. What earlier
files applied (`etl.orderbook.Recalled`) tells what the order cannot: whose a replay's lost
answer was, which items a return QC named.

A partial cancel cannot be told from the order alone (1 of 2 pieces cancelled: this request,
or an earlier one?), so a cancel chunk's orders are looked up just before it is sent
(`etl.orderlookup.CancelLook`) and the pieces cancelled since are compared
(`order_states.cancel_moved`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial

import orjson

from etl.chunkresult import ChunkResult
from etl.client import KonnectClient
from etl.clientsettings import ClientSettings
from etl.errors import KonnectDown
from etl.holdover import hold_orders
from etl.journal import Journal
from etl.keystate import order_rows
from etl.konnect import REPLAY_CODES, Endpoint
from etl.order_states import Order
from etl.orderbook import FEEDS, Reader, Recalled
from etl.orderlookup import (
    CancelLook,
    Shown,
    Ticker,
    fetch_orders,
    looked_words,
    phase_of,
    sent_words,
)
from etl.orderverdicts import Verdicts
from etl.orderwords import LostAnswer, found_applied, holds
from etl.upload import ChunkLike, konnect_answers, run_with_client, upload_chunks
from etl.wording import count

log = logging.getLogger(__name__)


@dataclass
class _Resend:
    index: int
    body: bytes
    origins: list[tuple[Verdicts, int]]

    @property
    def record_count(self) -> int:
        return len(self.origins)


# --- the rounds ---


async def upload_orders(
    client: KonnectClient,
    feed: str,
    endpoint: Endpoint,
    chunks: Sequence[ChunkLike],
    *,
    keys_of: Callable[[ChunkLike], list[str]],
    journal: Journal | None = None,
    file_id: int | None = None,
    on_progress: Callable[[int], None] | None = None,
    before_send: Callable[[int], None] | None = None,
    name: str | None = None,
) -> list[ChunkResult]:
    """Upload order-action chunks exactly once: one result per chunk, in chunk order.
    KonnectDown (`etl.holdover`) when Konnect refused some requests for now, or orders in
    doubt could not be looked up: the file waits for the next run, for a while. `name`: the
    file's, for the progress lines (default: the feed's)."""
    name = name or feed
    before = CancelLook(client, {c.index: c for c in chunks}, keys_of)
    lost = Lost()

    async def look(index: int) -> None:  # before each chunk this run sends
        lost.sent.add(index)
        if feed == "cancel":
            await before.look(index)

    phase = phase_of(on_progress)
    if phase is None:  # not a terminal: a line now and then instead of a bar
        total = sum(c.record_count for c in chunks)
        on_progress = Ticker(partial(sent_words, name, feed), total, also=on_progress)
    first = await upload_chunks(
        client, endpoint, chunks, keys_of=keys_of, journal=journal, file_id=file_id,
        concurrency=client.settings.concurrency, on_progress=on_progress, resend_unknown=False,
        before_send=before_send, look=look, name=name,
    )  # fmt: skip
    bodies = {c.index: c for c in chunks}
    book = [
        Verdicts.of(r, bodies[r.index].body, keys_of(bodies[r.index]), feed)
        for r in first
        if r.state != "failed"
    ]
    lost.note(book)
    shown = Shown(name, phase)
    judge = _Judge(feed, before, lost, Recalled(feed, _book(journal, file_id, name, feed)))

    def save(verdicts: list[Verdicts]) -> None:
        if journal is not None and file_id is not None:
            journal.record_chunks(file_id, [v.result() for v in verdicts])

    try:
        await _settle(client, feed, endpoint, book, save, judge, shown)
    except KonnectDown as stopped:  # during a resend: a look-up was answered before it
        stopped.answered = True
        raise
    save([v for v in book if v.touched])
    settled = {v.first.index: v.result() for v in book if v.touched}
    results = [settled.get(r.index, r) for r in first]
    if journal is not None and file_id is not None:
        unsettled = sum(v.unsettled() for v in book)
        minutes = client.settings.retry_failed_minutes
        answered = client.answered > 0 or (unsettled > 0 and await konnect_answers(client))
        hold_orders(journal, file_id, results, unsettled, minutes, answered)
    return results


async def _settle(
    client: KonnectClient,
    feed: str,
    endpoint: Endpoint,
    book: list[Verdicts],
    save: Callable[[list[Verdicts]], None],
    judge: _Judge,
    shown: Shown,
) -> None:
    """Look up the orders in doubt; resend only those Konnect has not applied; repeat.
    Before a resend, its records are saved as in doubt (`save`), so that a stop while it is
    under way (a token refused, Konnect gone) leaves them `unknown`, not "not applied".
    `shown`: the file's name and how the look-ups show their progress."""
    rounds = max(client.settings.retries, 0) + 1  # the last round only looks up
    for round_number in range(1, rounds + 1):
        doubts = [(v, i) for v in book for i in v.doubts(REPLAY_CODES[feed])]
        if not doubts:
            return
        keys = {v.keys[i] for v, i in doubts}
        fetched, for_now = await fetch_orders(
            client, keys, on_done=shown.looking(len(keys)).add, name=shown.name
        )
        down = not fetched and for_now >= keys  # none answered: more rounds would not be
        last = round_number == rounds or down
        judge.recalled.load(set(fetched))
        again = [(v, i) for v, i in doubts if judge.decide(v, i, fetched, last, for_now)]
        if down:
            log.warning("%s: Konnect answered none of the look-ups of %s whose answer needs"
                        " checking; they stay in doubt for a later run", shown.name,
                        count(len(keys), "order"))  # fmt: skip
            return
        log.info("%s", looked_words(shown.name, len(keys), len(keys - fetched.keys()), len(again)))
        if again:
            for v, i in again:
                v.in_doubt(i)
                judge.lost.resent(v, i)
            save(list({id(v): v for v, _ in again}.values()))
            await _resend(client, endpoint, again, f"{shown.name} (sent again)")


@dataclass
class Lost:
    """Whose answer was lost, by (chunk index, record): this run's own request's (`now`),
    or an earlier attempt's at the file, as the journal kept it (`before`: a file resumed,
    or held and taken again). A record found applied after either was applied by this file
    (unless an earlier file applied the same record: `Recalled`); one refused as a replay
    (IN453...) and found applied was there already."""

    sent: set[int] = field(default_factory=set)  # the chunks this run sent
    now: set[tuple[int, int]] = field(default_factory=set)
    unnamed: set[tuple[int, int]] = field(default_factory=set)  # answered, this row not named
    before: set[tuple[int, int]] = field(default_factory=set)

    def note(self, book: list[Verdicts]) -> None:
        """The records of `book` whose first answer was lost, once the chunks are sent."""
        for v in book:
            index, first = v.first.index, v.first
            if index not in self.sent:  # in doubt since an earlier attempt
                self.before |= {(index, i) for i in v.unknown}
            elif first.state == "unknown":
                self.now |= {(index, i) for i in range(len(v.keys))}
            else:
                self.unnamed |= {(index, i) for i in first.unknown_records}

    def resent(self, v: Verdicts, i: int) -> None:
        self.before.discard((v.first.index, i))
        self.unnamed.discard((v.first.index, i))
        self.now.add((v.first.index, i))

    def of(self, v: Verdicts, i: int) -> LostAnswer:
        """'now', 'unnamed', 'before', or '' (refused as a replay): `found_applied`'s `lost`."""
        key = (v.first.index, i)
        said: tuple[tuple[LostAnswer, set[tuple[int, int]]], ...] = (
            ("now", self.now), ("unnamed", self.unnamed), ("before", self.before)
        )  # fmt: skip
        return next((lost for lost, keys in said if key in keys), "")


@dataclass
class _Judge:
    """What settles a record in doubt from its order: the feed's rule (`CancelLook.reached`),
    whose answer was lost (`Lost`) for the words of a record found applied, and what earlier
    files of the inbox applied to the order (`Recalled`: the order-row book)."""

    feed: str
    before: CancelLook
    lost: Lost
    recalled: Recalled

    def decide(
        self, v: Verdicts, i: int, fetched: dict[str, Order | None], last: bool, for_now: set[str]
    ) -> bool:
        """Settle record `i` from its order as Konnect shows it; True when it must be resent.
        `for_now`: orders whose look-up failed in a way a later run may get through."""
        feed, v.touched, key = self.feed, True, v.keys[i]
        if key not in fetched:  # could not be looked up: never resend blindly; look again later
            if last:
                v.final.add(i)
                if key in for_now:  # the next run asks again (etl.holdover)
                    v.for_now.add(i)
            return False
        order = fetched[key]
        reached: bool | None = False
        more = ""
        if order is not None:
            reached, more = self.before.reached(feed, v.first.index, key, v.records[i], order)
        if reached and order is not None:  # by this file, or an earlier one (the book)?
            lost = self.lost.of(v, i)
            if not self.recalled.settle(v, i, order, lost):
                v.applied(i, found_applied(feed, v.records[i], order, lost) + more)
            return False
        if reached is None or i in v.errors or last:  # cannot tell, a real refusal, or out of tries
            v.final.add(i)
            if i in v.errors and order is not None and (held := holds(feed, v.records[i], order)):
                v.errors[i] = (v.errors[i][0], held)  # Konnect's own words say less
            return False
        return True


def _book(journal: Journal | None, file_id: int | None, name: str, feed: str) -> Reader | None:
    """The order-row book as attempt `file_id` at file `name` reads it (what it recorded itself
    is not an earlier file's: a file resumed or held); None without a journal."""
    if journal is None or file_id is None or feed not in FEEDS:
        return None
    mine = journal.unfinished_by_name().get(name)
    if mine is None or mine.id != file_id:
        return order_rows(journal.path.parent, feed, None)
    return order_rows(journal.path.parent, feed, mine.attempt, mine.started_at)


async def _resend(
    client: KonnectClient, endpoint: Endpoint, again: list[tuple[Verdicts, int]], name: str
) -> None:
    """Send the records in `again` once more, in requests of at most `endpoint.limit`;
    `name` heads their log lines ("orders.csv (sent again): chunk 0: ...")."""
    parts = [again[a : a + endpoint.limit] for a in range(0, len(again), endpoint.limit)]
    resends = [
        _Resend(n, orjson.dumps([v.records[i] for v, i in part]), part)
        for n, part in enumerate(parts)
    ]
    results = await upload_chunks(
        client, endpoint, resends, keys_of=lambda c: [v.keys[i] for v, i in _origins(c)],
        concurrency=client.settings.concurrency, resend_unknown=False, name=name,
    )  # fmt: skip
    for result in results:
        for j, (v, i) in enumerate(resends[result.index].origins):
            v.answered(i, result, j)


def _origins(chunk: ChunkLike) -> list[tuple[Verdicts, int]]:
    assert isinstance(chunk, _Resend)
    return chunk.origins


def run_order_upload(
    settings: ClientSettings,
    feed: str,
    endpoint: Endpoint,
    chunks: Sequence[ChunkLike],
    *,
    keys_of: Callable[[ChunkLike], list[str]],
    journal: Journal | None = None,
    file_id: int | None = None,
    on_progress: Callable[[int], None] | None = None,
    before_send: Callable[[int], None] | None = None,
    name: str | None = None,
) -> list[ChunkResult]:
    """`upload_orders` for synchronous callers."""
    return run_with_client(
        settings,
        lambda client: upload_orders(
            client, feed, endpoint, chunks, keys_of=keys_of, journal=journal,
            file_id=file_id, on_progress=on_progress, before_send=before_send, name=name,
        ),
    )  # fmt: skip
