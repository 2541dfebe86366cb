"""`orders pull`: every page of GET /oms/v3/shipment -> one sheet of new order rows.

    check     the outbox is not an inbox (`outbox.check_outbox`)
    lock      one pull into an outbox at a time (`pullstate.pull_lock`)
    window    per location: the last `pull_lookback_days` up to now (or --from/--to)
    fetch     every page of every location (`etl.orderpages`)
    new       drop orders an earlier pull of the same status already wrote for the same
              location (journal): an order moved to another store is new there
    write     one row per order item, in our columns or an export mapping's, atomically
    record    the windows and the orders written, only after the sheet exists; if that
              fails, the sheet is removed again (the next pull writes it, never twice)

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
from pathlib import Path
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
from etl.pullstate import PullState, Window, pull_lock, scope_key
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
    result = PullResult(status, pull_locations(settings, request.location))
    window = plan_window(settings, request, now)
    result.windows = {scope_key(status, loc, request.channel): window for loc in result.locations}
    orders = asyncio.run(_fetch_everything(settings, connection, request, result, now))
    result.fetched = len(orders)
    places = {oid: text(order.get("locationCode")) for oid, order in orders.items()}
    seen = set() if request.again else state.already_pulled(status, places)
    new = [order for oid, order in orders.items() if oid not in seen]
    result.new_orders = len(new)
    rows = flatten_orders(new)
    warn_unreadable_dates(new)
    result.rows = len(rows)
    staged = _write(request, status, rows, now) if rows else None
    try:
        _remember(settings, state, result, new, now, staged)
    finally:
        if staged is not None and result.file is None:  # not named: orders not recorded
            with contextlib.suppress(OSError):  # a hidden temp name left is harmless
                staged.discard()
    return result


def _remember(
    settings: Settings,
    state: PullState,
    result: PullResult,
    new: list[Order],
    now: datetime,
    staged: StagedSheet | None,
) -> None:
    """Record the windows and the orders written, the sheet named in the same transaction
    (an ERP never imports a sheet whose orders the journal may not know); forget orders
    written long ago. A sheet whose orders cannot be recorded (disk full, journal locked) is
    not named, or removed again if the commit failed."""
    for warning in result.warnings:
        log.warning("%s", warning)
    if result.warnings:  # the only warning is a filter Konnect knows nothing of: no orders
        result.file = staged.publish() if staged is not None else None
    else:
        ids = {str(o["orderId"]): o for o in new if o.get("orderId")}
        dates = {oid: _ist_text(o.get("orderDate"), now) for oid, o in ids.items()}
        places = {oid: text(o.get("locationCode")) for oid, o in ids.items()}

        def publish() -> Path | None:
            result.file = staged.publish() if staged is not None else None
            return result.file

        try:
            state.record(result.windows, result.status, dates, publish, now, places)
        except (OSError, sqlite3.Error) as exc:
            _withdraw(result, exc)
            raise
    remember = max(REMEMBER_DAYS, settings.pull_lookback_days + 2)
    try:
        state.forget_pulled_before(now - timedelta(days=remember))
    except (OSError, sqlite3.Error) as exc:  # the sheet and its record stand: no harm done
        log.warning("could not forget orders pulled long ago in the outbox's journal: %s "
                    "(tried again at the next pull)", exc)  # fmt: skip


def _withdraw(result: PullResult, exc: Exception) -> None:
    """The sheet just written lists orders the journal could not record: left there, the
    next pull would write them again and the ERP import them twice. So it goes; the note
    says so (`cliopts.host_fault`, the watcher's log)."""
    if result.file is None and result.rows:
        exc.add_note(
            f"Its {result.new_orders} new orders could not be recorded in the outbox's journal,"
            " so no sheet was written: the next pull writes them (none missed, none twice)"
        )
        return
    if result.file is None:
        exc.add_note("No sheet was written (no new orders); nothing is lost")
        return
    name = result.file.name
    try:
        result.file.unlink()
    except OSError as gone:
        exc.add_note(
            f"The sheet {name} was written, but its orders could not be recorded in the "
            f"outbox's journal and it could not be removed either ({gone}): delete "
            f"{result.file} before the ERP imports it, as the next pull writes those orders again"
        )
        return
    exc.add_note(
        f"The sheet {name} was written, but its {result.new_orders} orders could not be "
        "recorded in the outbox's journal, so it was removed again: the next pull writes them "
        "(none missed, none twice)"
    )
    result.file = None


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
            found = await unknown_filters(client, request.location, request.channel,
                                          result.locations, probe)  # fmt: skip
            result.warnings += found
    return orders


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
