"""Looking orders up in Konnect (GET /oms/v3/shipment?orderId=...): after a lost answer
(`etl.reconcile`), and just before a cancel request goes (`CancelLook`).

A partial cancel cannot be told from the order alone (1 of 2 pieces cancelled: this
request, or an earlier one?), so each request of a cancel file first looks its orders up,
and a lost answer is settled by how far each item's cancelled pieces moved since
(`order_states.cancel_moved`). The look is this run's only: kept for a later run, it would
count another file's cancel of the item, applied meanwhile, as this one's.

Looking up 2,000 orders takes minutes: `Ticker` shows how far it got, on a bar of its own on
a terminal, else in a log line at most every `LOG_EVERY` seconds.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import cast

from etl.client import KonnectClient
from etl.clientsettings import ClientSettings
from etl.errors import RateLimited, TransientError, UploadError
from etl.konnect import ORDERS_PATH
from etl.order_states import REACHED, Order, Record, cancel_moved
from etl.upload import ChunkLike, run_with_client
from etl.wording import count

log = logging.getLogger(__name__)


async def fetch_orders(
    client: KonnectClient,
    keys: set[str],
    *,
    quiet: bool = False,
    slots: asyncio.Semaphore | None = None,
    once: bool = False,
    on_done: Callable[[int], None] | None = None,
    name: str = "",
) -> tuple[dict[str, Order | None], set[str]]:
    """Each order as GET /oms/v3/shipment shows it (None: not listed), failures left out
    (one WARNING for them all, `failed_words`, unless `quiet`; each at DEBUG); and the
    orders whose look-up failed for now (5xx, no answer, 429: not a 4xx refusal, which a
    later run would get too). `slots`: how many at a time (default: `concurrency`, for these
    keys alone); `once`: one try each, no retry. Once a look-up has failed through all its
    retries and none has been answered (Konnect down, or answering 5xx only), the others try
    once: a maintenance window must not cost every order a full backoff. `on_done(n)`: n
    more orders looked up (or given up on). `name`: the file's, for the WARNING."""
    slots = slots or asyncio.Semaphore(max(client.settings.concurrency, 1))
    for_now: set[str] = set()
    failed: dict[str, str] = {}  # order -> why its look-up failed
    # a look-up failed through all its retries (not a 429) and none was answered: the rest
    # try once (a Konnect that answers some look-ups is flaky, not down: they keep retrying)
    outage, answered = False, 0

    # a company-level token must name a location: the order is looked for at each in turn
    scopes = [{"locationCode": code} for code in client.settings.lookup_locations] or [{}]

    async def one(key: str) -> tuple[str, Order | None] | None:
        nonlocal outage, answered
        for scope in scopes:
            async with slots:
                try:
                    down = outage and not answered
                    found = await client.get_json(
                        ORDERS_PATH, {"orderId": key, **scope}, retry=not (once or down)
                    )
                    answered += 1
                except UploadError as exc:
                    log.debug("order %s could not be looked up: %s", key, exc)
                    failed[key] = _reason(exc)
                    if isinstance(exc, TransientError):
                        for_now.add(key)
                        outage = outage or not isinstance(exc, RateLimited)
                    else:
                        answered += 1  # a refusal: Konnect is there
                    return None
            orders = found if isinstance(found, list) else []
            match = [o for o in orders if isinstance(o, dict) and str(o.get("orderId")) == key]
            if match:
                return key, match[0]
        return key, None

    async def counted(key: str) -> tuple[str, Order | None] | None:
        try:
            return await one(key)
        finally:
            if on_done is not None:
                on_done(1)

    answers = await asyncio.gather(*(counted(k) for k in sorted(keys)))
    if failed and not quiet:
        log.warning("%s", failed_words(name, len(keys), failed))
    return dict(a for a in answers if a is not None), for_now


def _reason(exc: UploadError) -> str:
    """Why a look-up failed, the same for every order it happened to: without the request
    ('GET /oms/v3/shipment: ...') and a 429's wait."""
    if isinstance(exc, RateLimited):
        return "Konnect asked us to slow down (HTTP 429)"
    said = str(exc)
    return said.split(": ", 1)[1] if said.startswith(f"GET {ORDERS_PATH}: ") else said


def failed_words(name: str, total: int, failed: dict[str, str], shown: int = 3) -> str:
    """'invoices.xlsx: 239 of 241 orders could not be looked up (201: Konnect answered HTTP
    500 Internal Server Error; 38: Konnect closed the connection without answering): orders
    41..., 41..., 41... and 236 more' - one line for a round's failed look-ups."""
    reasons = Counter(failed.values()).most_common()
    why = "; ".join(f"{n}: {reason}" for reason, n in reasons[:shown])
    if len(reasons) > shown:
        why += f"; {count(len(reasons) - shown, 'other reason')}"
    keys = sorted(failed)
    more = f" and {len(keys) - shown} more" if len(keys) > shown else ""
    head = f"{name}: " if name else ""
    return (
        f"{head}{len(failed)} of {count(total, 'order')} could not be looked up ({why}):"
        f" {'order' if len(keys) == 1 else 'orders'} {', '.join(keys[:shown])}{more}"
    )


def looked_words(name: str, total: int, failed: int, again: int) -> str:
    """The line after a round of look-ups: how many were answered, how many failed (the
    WARNING before it says why), how many orders were sent again."""
    answered = f"{total - failed} answered" + (
        f", {failed} could not be looked up" if failed else ""
    )
    return (
        f"{name}: {count(total, 'order')} to check (an answer lost, or a refusal that may mean"
        f" done already): {answered}; {again} sent again"
    )


def look_up(settings: ClientSettings) -> Callable[[set[str]], dict[str, Order | None]]:
    """For synchronous callers: the orders of a set of IDs, one try each (`fetch_orders`;
    left out: no answer), with a client of their own (`etl.repeats.settle_lost`)."""

    def look(keys: set[str]) -> dict[str, Order | None]:
        return run_with_client(settings, lambda c: fetch_orders(c, keys, quiet=True, once=True))[0]

    return look


# Off a terminal, a long phase (look-ups, a cancel file's requests) says how far it got at
# most this often: a scheduled job's log shows it is working, without a line per request
LOG_EVERY = 10.0


@dataclass
class Ticker:
    """How far a long phase has got: `bar` (a terminal's progress bar) hears every count;
    without one, a log line `say(done, total)` goes out at most every `LOG_EVERY` seconds.
    `also` hears every count too (a watcher's heartbeat)."""

    say: Callable[[int, int], str]
    total: int
    bar: Callable[[int], None] | None = None
    also: Callable[[int], None] | None = None
    done: int = 0
    since: float = field(default_factory=time.monotonic)

    def __call__(self, done: int) -> None:
        self.done = done
        if self.also is not None:
            self.also(done)
        if self.bar is not None:
            self.bar(done)
        elif done < self.total and time.monotonic() - self.since >= LOG_EVERY:
            self.since = time.monotonic()
            log.info("%s", self.say(done, self.total))

    def add(self, n: int) -> None:
        self(self.done + n)


Phase = Callable[[str, int], Callable[[int], None]]


def phase_of(on_progress: object) -> Phase | None:
    """A terminal's progress callback (`etl.console`) opens a bar for a phase of its own
    with its `phase(description, total)`; None for any other callback (or none)."""
    phase = getattr(on_progress, "phase", None)
    return cast(Phase, phase) if callable(phase) else None


@dataclass
class Shown:
    """How a file's upload shows its progress: `name` in the log lines; `phase` opens a bar
    on a terminal (`phase_of`), without which a line goes out now and then."""

    name: str
    phase: Phase | None

    def looking(self, total: int) -> Ticker:
        """The progress of looking up `total` orders in doubt."""
        said = count(total, "order")
        bar = self.phase(f"looking up {self.name}: {said} in doubt", total) if self.phase else None
        return Ticker(partial(_looked, self.name), total, bar=bar)


def _looked(name: str, done: int, total: int) -> str:
    return (
        f"{name}: looked up {done} of {count(total, 'order')} whose answer was lost (or a"
        " refusal that may mean done already)"
    )


def sent_words(name: str, feed: str, done: int, total: int) -> str:
    """The progress line of an order file's upload, off a terminal."""
    said = f"{name}: {done} of {count(total, 'order')} sent"
    if feed == "cancel":  # ~12 times the time of another order file of the same size
        said += " (each request of a cancel file first looks its orders up)"
    return said


@dataclass
class CancelLook:
    """The orders of each cancel chunk as Konnect showed them just before the chunk was
    sent, by (chunk index, order ID): what a lost answer is later compared with. An order
    that could not be looked up then has none, and is judged as without (`REACHED`)."""

    client: KonnectClient
    chunks: dict[int, ChunkLike]
    keys_of: Callable[[ChunkLike], list[str]]
    orders: dict[tuple[int, str], Order] = field(default_factory=dict)
    taken: dict[int, float] = field(default_factory=dict)  # chunk -> when looked (monotonic)

    def __post_init__(self) -> None:
        # shared by the looks of all chunks: `concurrency` look-ups at a time in all
        self.slots = asyncio.Semaphore(max(self.client.settings.concurrency, 1))

    async def look(self, index: int) -> None:
        keys = set(self.keys_of(self.chunks[index]))
        fetched, _ = await fetch_orders(self.client, keys, quiet=True, slots=self.slots, once=True)
        self.orders.update({(index, k): o for k, o in fetched.items() if o is not None})
        self.taken[index] = time.monotonic()
        if missed := len(keys - fetched.keys()):
            log.info("cancel: %s not looked up just before sending (Konnect's look-ups"
                     " failed): should an answer be lost, their partial cancels stay unknown",
                     count(missed, "order"))  # fmt: skip

    def reached(
        self, feed: str, index: int, key: str, record: Record, order: Order
    ) -> tuple[bool | None, str]:
        """`REACHED[feed]` for `record` (order `key`, of chunk `index`), told by the look
        where the order alone cannot; and what an "already applied" message then adds."""
        alone = REACHED[feed](record, order)
        before = self.orders.get((index, key))
        age = time.monotonic() - self.taken.get(index, -math.inf)
        if alone is not None or before is None or age > FRESH_SECONDS:
            return alone, ""
        moved = cancel_moved(record, before, order)
        return moved, MOVED if moved else ""


MOVED = ", with the pieces asked for cancelled since just before this request went"
# A look older than this settles nothing: the longer since, the likelier another cancel of
# the same item (a person, a marketplace) moved it - a big or slowed file's first requests
FRESH_SECONDS = 120.0
