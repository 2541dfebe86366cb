"""`orders pull`: every page of GET /oms/v3/shipment -> one sheet of new order rows.

    check     the outbox is not an inbox (`outbox.check_outbox`)
    lock      one pull into an outbox at a time (`pullstate.pull_lock`)
    window    per location: the last `pull_lookback_days` up to now (or --from/--to)
    fetch     every page of every location (`etl.orderpages`)
    new       drop orders an earlier pull of the same status already wrote for the same
              location (journal): an order moved to another store is new there
    write     one row per order item, in our columns or an export mapping's, under a
              hidden temp name; an order listed without an orderId is left out (WARNING)
    record    the windows and the orders, pending under the name the sheet gets
    name      the sheet (a hard link), only once its orders are recorded for good; then
              mark them done (`etl.pullstate`: a pull stopped between two steps is
              settled by the next one, so no order is missed or written twice)

Every automatic window is the whole look-back, whatever the status: Konnect filters on the
order's *date*, so a return of an old order, an order that arrives late, or one a paging
shift hid (orders confirmed meanwhile leave the list and later pages move up) turns up at
the next pull. A status holds only the orders now in it, so this stays cheap; the journal
keeps each (orderId, status) in one sheet.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import sqlite3
from datetime import datetime, time, timedelta
from typing import Any

from etl.client import KonnectClient
from etl.clientsettings import ClientSettings
from etl.config import Settings
from etl.errors import ConfigError
from etl.flatten import (
    IST,
    IST_FORMAT,
    ORDER_COLUMNS,
    flatten_orders,
    ist,
    text,
    warn_unreadable_dates,
)
from etl.konnect import ORDER_STATUSES, ORDERS_PAGE_SIZE_MAX
from etl.orderpages import fetch_all_pages, query, unknown_filters
from etl.outbox import ColumnKind, StagedSheet, check_outbox, stage_sheet
from etl.pullrequest import PullRequest, PullResult
from etl.pullsheet import free_name, publish, settle
from etl.pullstate import Pending, PullState, Window, pull_lock, scope_key
from etl.session import journal_path

log = logging.getLogger(__name__)
Order = dict[str, Any]  # one order as Konnect's listing sends it
# Columns written as what they are in XLSX (`etl.outbox`); the rest are text
FIELD_KINDS: dict[str, ColumnKind] = {
    "quantity": "number",
    "cancelledQuantity": "number",
    "mrp": "amount",
    "esp": "amount",
    "orderDate": "datetime",
    "updatedDate": "datetime",
}
# Orders written more than this long ago are forgotten: automatic windows never reach back
# that far (only an explicit --from could bring such an order into a sheet again).
REMEMBER_DAYS = 180
LOCK_WAIT_SECONDS = 60.0  # a second pull into one outbox waits this long for the first


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
    check_outbox(request.outbox)
    request.outbox.mkdir(parents=True, exist_ok=True)
    with pull_lock(request.outbox, status, LOCK_WAIT_SECONDS):
        state = PullState(journal_path(request.outbox, request.sandbox))
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
    settle(state, request.outbox)
    result = PullResult(status, pull_locations(settings, request.location))
    window = plan_window(settings, request, now)
    result.windows = {scope_key(status, loc, request.channel): window for loc in result.locations}
    orders, nameless = asyncio.run(_fetch_everything(settings, connection, request, result, now))
    warn_without_id(status, nameless)
    result.fetched = len(orders)
    places = {oid: text(order.get("locationCode")) for oid, order in orders.items()}
    seen = set() if request.again else state.already_pulled(status, places)
    new = {oid: order for oid, order in orders.items() if oid not in seen}
    result.new_orders = len(new)
    rows = flatten_orders(list(new.values()))
    warn_unreadable_dates(list(new.values()))
    result.rows = len(rows)
    staged = _write(request, status, rows, now) if rows else None
    try:
        pending = _record(state, result, new, now, staged)
    except BaseException:
        if staged is not None:  # not recorded: never named
            with contextlib.suppress(OSError):  # a hidden temp name left is swept later
                staged.discard()
        raise
    if staged is not None and pending is not None:
        result.file = publish(state, staged, pending)
    _forget_old(settings, state, now)
    return result


def warn_without_id(status: str, orders: list[Order]) -> None:
    """Orders Konnect listed without an orderId are left out: no journal could remember
    them, so every pull would write them into a new sheet again, and an ERP import them."""
    if not orders:
        return
    shown = "; ".join(_about(o) for o in orders[:5])
    more = f"; and {len(orders) - 5} more" if len(orders) > 5 else ""
    log.warning("%d %s order(s) Konnect listed without an orderId were left out of the sheet "
                "(ask Fynd about them; an ERP could not tell them apart): %s%s",
                len(orders), status, shown, more)  # fmt: skip


def _about(order: Order) -> str:
    """Enough to find an order without an id: its location, date and items."""
    items = [text(i.get("orderItemId")) for i in order.get("items") or [] if isinstance(i, dict)]
    date = ist(order.get("orderDate")) or text(order.get("orderDate"))
    place = text(order.get("locationCode"))
    return f"location {place or '?'}, ordered {date or '?'}, items {','.join(items) or '?'}"


def _record(
    state: PullState,
    result: PullResult,
    new: dict[str, Order],
    now: datetime,
    staged: StagedSheet | None,
) -> Pending | None:
    """Record the windows and the orders written, pending under the name the sheet gets:
    it is named only then (`pullsheet.publish`), so an ERP never sees a sheet whose orders the
    journal may not know. Orders that cannot be recorded (disk full, journal locked) get no
    sheet."""
    for warning in result.warnings:
        log.warning("%s", warning)
    if result.warnings:  # the only warning is a filter Konnect knows nothing of: no orders
        return None
    dates = {oid: _ist_text(o.get("orderDate"), now) for oid, o in new.items()}
    places = {oid: text(o.get("locationCode")) for oid, o in new.items()}
    pending = Pending(staged.path.name, free_name(staged).name) if staged else None
    try:
        state.record(result.windows, result.status, dates, now, places, pending)
    except (OSError, sqlite3.Error) as exc:
        _not_recorded(result, exc)
        raise
    return pending


def _forget_old(settings: Settings, state: PullState, now: datetime) -> None:
    remember = max(REMEMBER_DAYS, settings.pull_lookback_days + 2)
    try:
        state.forget_pulled_before(now - timedelta(days=remember))
    except (OSError, sqlite3.Error) as exc:  # the sheet and its record stand: no harm done
        log.warning("could not forget orders pulled long ago in the outbox's journal: %s "
                    "(tried again at the next pull)", exc)  # fmt: skip


def _not_recorded(result: PullResult, exc: Exception) -> None:
    """The note on the error (`cliopts.host_fault`, the watcher's log): nothing is named."""
    if result.rows:
        exc.add_note(
            f"Its {result.new_orders} new orders could not be recorded in the outbox's journal,"
            " so no sheet was written: the next pull writes them (none missed, none twice)"
        )
    else:
        exc.add_note("No sheet was written (no new orders); nothing is lost")


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
) -> tuple[dict[str, Order], list[Order]]:
    """Every order of every location's window, by orderId (first seen wins); and those
    listed without an orderId."""
    orders: dict[str, Order] = {}
    nameless: list[Order] = []
    size = max(1, min(settings.pull_page_size, ORDERS_PAGE_SIZE_MAX))
    async with KonnectClient(connection) as client:
        for location, window in zip(result.locations, result.windows.values(), strict=True):
            params = query(result.status, request.channel, location, window)
            for order in await fetch_all_pages(client, params, size):
                if order.get("orderId") in (None, ""):
                    nameless.append(order)
                else:
                    orders.setdefault(str(order["orderId"]), order)
        if not orders and not nameless and (request.location or request.channel):
            window = next(iter(result.windows.values()))  # every location has the same one
            since = now - timedelta(days=settings.pull_lookback_days)
            probe = Window(min(window.start, since), max(window.end, now))
            found = await unknown_filters(client, request.location, request.channel,
                                          result.locations, probe)  # fmt: skip
            result.warnings += found
    return orders, nameless


def _write(
    request: PullRequest, status: str, rows: list[dict[str, str]], now: datetime
) -> StagedSheet:
    """`orders-<STATUS>[-<location>]-<YYYYMMDD-HHMMSS IST>.<ext>` in the outbox, staged."""
    fmt = request.format or (request.mapping and request.mapping.format) or "xlsx"
    if request.mapping is not None:
        header, cells = request.mapping.header, request.mapping.apply(rows)
        kinds = [_kind(c.field) if not c.transforms else "text" for c in request.mapping.columns]
    else:
        header = list(ORDER_COLUMNS)
        cells = [[row[c] for c in ORDER_COLUMNS] for row in rows]
        kinds = [_kind(c) for c in ORDER_COLUMNS]
    parts = ["orders", status, request.location or "", now.strftime("%Y%m%d-%H%M%S")]
    stem = "-".join(p for p in parts if p)
    return stage_sheet(request.outbox, stem, f".{fmt}", header, cells, kinds)


def _kind(field: str | None) -> ColumnKind:
    return FIELD_KINDS.get(field or "", "text")


def _ist_text(value: Any, fallback: datetime) -> str:
    return ist(value) or fallback.strftime(IST_FORMAT)
