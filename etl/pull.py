"""`orders pull`: every page of GET /oms/v3/shipment -> one sheet of new order rows.

    lock      one pull into an outbox at a time (`pullstate.pull_lock`)
    window    per location: the last `pull_lookback_days` up to now (or --from/--to)
    fetch     every page of every location (a short page is the last)
    new       drop orders an earlier pull of the same status already wrote (journal)
    write     one row per order item, in our columns or an export mapping's, atomically
    record    the windows and the orders written, only after the sheet exists

Every automatic window is the whole look-back, whatever the status: Konnect filters on the
order's *date*, so a return of an old order, an order that arrives late, or one a paging
shift hid (orders confirmed meanwhile leave the list and later pages move up) turns up at
the next pull. A status holds only the orders now in it, so this stays cheap; the journal
keeps each (orderId, status) in one sheet.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from etl.client import ClientSettings, KonnectClient
from etl.config import Settings
from etl.errors import ConfigError, RequestRejected
from etl.exportmap import ExportMapping
from etl.flatten import IST, IST_FORMAT, ORDER_COLUMNS, flatten_orders, ist
from etl.konnect import ORDER_STATUSES, ORDERS_PAGE_SIZE_MAX, ORDERS_PATH
from etl.outbox import SheetFormat, write_new_sheet
from etl.pullstate import PullState, Window, pull_lock, scope_key
from etl.session import journal_path

log = logging.getLogger(__name__)
Order = dict[str, Any]  # one order as Konnect's listing sends it
NUMERIC_FIELDS = ("quantity", "cancelledQuantity", "mrp", "esp")
# Orders written more than this long ago are forgotten: automatic windows never reach back
# that far (only an explicit --from could bring such an order into a sheet again).
REMEMBER_DAYS = 180
LOCK_WAIT_SECONDS = 60.0  # a second pull into one outbox waits this long for the first


@dataclass(frozen=True)
class PullRequest:
    """What to pull and where to put it (the options of `orders pull`)."""

    status: str
    outbox: Path
    channel: str | None = None
    location: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    format: SheetFormat | None = None  # None: the mapping's format, else xlsx
    mapping: ExportMapping | None = None
    again: bool = False  # also orders pulled before (needs date_from): for a re-import


@dataclass
class PullResult:
    """What one pull did: orders fetched, how many were new, the sheet it wrote (if any)."""

    status: str
    locations: list[str | None]
    fetched: int = 0
    new_orders: int = 0
    rows: int = 0
    file: Path | None = None
    windows: dict[str, Window] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def pull_once(
    settings: Settings,
    connection: ClientSettings,
    request: PullRequest,
    *,
    now: datetime | None = None,
) -> PullResult:
    """One pull: fetch, de-duplicate, write the sheet, remember. Library entry for `watch`.
    PullBusy when another pull into the outbox runs all the while we wait."""
    status = check_status(request.status)
    if request.again and request.date_from is None:
        raise ConfigError("--again writes orders pulled before once more: give --from (and --to)")
    if settings.pull_overlap_minutes is not None:
        _overlap_is_gone()
    now = (now or datetime.now(IST)).astimezone(IST)
    request.outbox.mkdir(parents=True, exist_ok=True)
    with pull_lock(request.outbox, status, LOCK_WAIT_SECONDS):
        state = PullState(journal_path(request.outbox))
        try:
            return _pull(settings, connection, request, status, now, state)
        finally:
            state.close()


@functools.cache
def _overlap_is_gone() -> None:
    """Said once per process; the setting is still accepted, so old config files load."""
    log.warning(
        "setting pull_overlap_minutes is no longer used (remove it from the config file): "
        "every pull asks Konnect for the whole pull_lookback_days, so nothing needs overlapping"
    )


def check_status(status: str) -> str:
    name = status.strip().upper()
    if name not in ORDER_STATUSES:
        raise ConfigError(
            f"unknown order status '{status}'; use one of {', '.join(ORDER_STATUSES)}"
        )
    return name


def pull_locations(settings: Settings, location: str | None) -> list[str | None]:
    """The locationCode of each request: the one asked for, each configured one for a
    company-level token, or none (a location-level token sees its own orders)."""
    if location:
        return [location]
    if settings.token_scope != "company":
        return [None]
    if not settings.locations:
        raise ConfigError(
            "the token is company-level (token_scope: company), so Konnect needs a location: "
            "list them in the config file (locations: [DEL-WH-01, ...]) or give --location"
        )
    return list(dict.fromkeys(settings.locations))


def _pull(
    settings: Settings,
    connection: ClientSettings,
    request: PullRequest,
    status: str,
    now: datetime,
    state: PullState,
) -> PullResult:
    result = PullResult(status, pull_locations(settings, request.location))
    window = plan_window(settings, request, now)
    result.windows = {scope_key(status, loc, request.channel): window for loc in result.locations}
    orders = asyncio.run(_fetch_everything(settings, connection, request, result, now))
    result.fetched = len(orders)
    seen = set() if request.again else state.already_pulled(status, orders)
    new = [order for oid, order in orders.items() if oid not in seen]
    result.new_orders = len(new)
    rows = flatten_orders(new)
    result.rows = len(rows)
    if rows:
        result.file = _write(request, status, rows, now)
    _remember(settings, state, result, new, now)
    return result


def _remember(
    settings: Settings, state: PullState, result: PullResult, new: list[Order], now: datetime
) -> None:
    """Record the windows and the orders written; forget those written long ago."""
    for warning in result.warnings:
        log.warning("%s", warning)
    if not result.warnings:  # the only warning is a filter Konnect knows nothing of
        dated = {str(o["orderId"]): o.get("orderDate") for o in new if o.get("orderId")}
        dates = {oid: _ist_text(when, now) for oid, when in dated.items()}
        state.record(result.windows, result.status, dates, result.file, now)
    remember = max(REMEMBER_DAYS, settings.pull_lookback_days + 2)
    state.forget_pulled_before(now - timedelta(days=remember))


def plan_window(settings: Settings, request: PullRequest, now: datetime) -> Window:
    """From the start of --from's day, else `pull_lookback_days` ago whatever the status
    (see the module docstring); to the end of --to's day, else now."""
    end = datetime.combine(request.date_to, time.max, IST) if request.date_to else now
    if request.date_from:
        start = datetime.combine(request.date_from, time.min, IST)
    else:
        start = now - timedelta(days=settings.pull_lookback_days)
    return Window(min(start, end), end)


async def _fetch_everything(
    settings: Settings,
    connection: ClientSettings,
    request: PullRequest,
    result: PullResult,
    now: datetime,
) -> dict[str, dict[str, Any]]:
    """Every order of every location's window, by orderId (first seen wins)."""
    orders: dict[str, dict[str, Any]] = {}
    size = max(1, min(settings.pull_page_size, ORDERS_PAGE_SIZE_MAX))
    async with KonnectClient(connection) as client:
        for location, window in zip(result.locations, result.windows.values(), strict=True):
            params = query(result.status, request.channel, location, window)
            for order in await fetch_all_pages(client, params, size):
                # an order without an id is still written (under a key no id can have)
                key = str(order.get("orderId") or f"#no-id-{len(orders)}")
                orders.setdefault(key, order)
        if not orders and (request.location or request.channel):
            window = next(iter(result.windows.values()))  # every location has the same one
            since = now - timedelta(days=settings.pull_lookback_days)
            probe = Window(min(window.start, since), max(window.end, now))
            result.warnings += await unknown_filters(client, request, result.locations, probe)
    return orders


async def unknown_filters(
    client: KonnectClient, request: PullRequest, locations: list[str | None], window: Window
) -> list[str]:
    """A --location/--channel that found nothing: has Konnect any order at all for it (any
    status) in `window` (the look-back up to now)? None anywhere is most likely a typo.
    One short page per location; if Konnect refuses a listing without a status, no check."""
    for location in locations:
        params = query(None, request.channel, location, window)
        try:
            if await _page(client, {**params, "pageNumber": "1", "pageSize": "1"}):
                return []
        except RequestRejected as exc:
            log.debug("could not check the --location/--channel filter: %s", exc)
            return []
    named = [f"{key} '{value}'" for key, value in
             (("location", request.location), ("channel", request.channel)) if value]  # fmt: skip
    return [
        f"Konnect has no orders at all for {' and '.join(named)} (of any status, dated "
        f"{window.start:%Y-%m-%d} or later): is the code spelt right?"
    ]


def query(
    status: str | None, channel: str | None, location: str | None, window: Window
) -> dict[str, str]:
    """Filters of GET /oms/v3/shipment (no status: every status); dates as YYYY-MM-DD in
    IST ([ours], whole days)."""
    params = {"orderStatus": status} if status else {}
    if channel:
        params["orderingChannel"] = channel
    if location:
        params["locationCode"] = location
    params["orderDateFrom"] = window.start.astimezone(IST).date().isoformat()
    params["orderDateTo"] = window.end.astimezone(IST).date().isoformat()
    return params


async def fetch_all_pages(
    client: KonnectClient, params: dict[str, str], page_size: int
) -> list[dict[str, Any]]:
    """Page 1, 2, ... until a page is shorter than `page_size` (Konnect gives no total)."""
    found: list[dict[str, Any]] = []
    previous: list[str] | None = None
    for number in range(1, 1_000_000):
        page = await _page(
            client, {**params, "pageNumber": str(number), "pageSize": str(page_size)}
        )
        ids = [str(o.get("orderId")) for o in page]
        if ids and ids == previous:
            raise RequestRejected(
                f"Konnect sent page {number} of the orders again: it seems to ignore pageNumber, "
                "so the pull stops rather than loop",
                200,
            )
        found.extend(page)
        if len(page) < page_size:
            break
        previous = ids
    return found


async def _page(client: KonnectClient, params: dict[str, str]) -> list[dict[str, Any]]:
    try:
        page = await client.get_json(ORDERS_PATH, params)
    except RequestRejected as exc:
        if "locationcode" in str(exc).lower() and "locationCode" not in params:
            raise ConfigError(
                "Konnect needs a location for this token (a company-level token): set "
                "token_scope: company and locations: [...] in the config file, or give --location"
            ) from exc
        raise
    if not isinstance(page, list) or not all(isinstance(o, dict) for o in page):
        raise RequestRejected("Konnect's order list is not a JSON array of orders", 200)
    return page


def _write(request: PullRequest, status: str, rows: list[dict[str, str]], now: datetime) -> Path:
    """`orders-<STATUS>[-<location>]-<YYYYMMDD-HHMMSS IST>.<ext>` in the outbox."""
    fmt = request.format or (request.mapping and request.mapping.format) or "xlsx"
    if request.mapping is not None:
        header, cells = request.mapping.header, request.mapping.apply(rows)
        numeric = [c.field in NUMERIC_FIELDS and not c.transforms for c in request.mapping.columns]
    else:
        header = list(ORDER_COLUMNS)
        cells = [[row[c] for c in ORDER_COLUMNS] for row in rows]
        numeric = [c in NUMERIC_FIELDS for c in ORDER_COLUMNS]
    parts = ["orders", status, request.location or "", now.strftime("%Y%m%d-%H%M%S")]
    stem = "-".join(p for p in parts if p)
    return write_new_sheet(request.outbox, stem, f".{fmt}", header, cells, numeric)


def _ist_text(value: Any, fallback: datetime) -> str:
    return ist(value) or fallback.strftime(IST_FORMAT)
