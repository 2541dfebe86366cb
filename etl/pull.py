"""`orders pull`: every page of GET /oms/v3/shipment -> one sheet of new order rows.

    windows   per location: from the last successful window minus an overlap, to now
    fetch     every page of every location (a short page is the last)
    new       drop orders an earlier pull of the same status already wrote (journal)
    write     one row per order item, in our columns or an export mapping's, atomically
    record    the windows and the orders written, only after the sheet exists

Konnect filters on the order's *date*, not on when it reached a status, so pulls of any
status but CREATED always look back `pull_lookback_days` (a return of an old order still
turns up); the de-duplication keeps each (orderId, status) in exactly one sheet.
"""

from __future__ import annotations

import asyncio
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
from etl.outbox import SheetFormat, unique_path, write_sheet
from etl.pullstate import PullState, Window, scope_key
from etl.session import journal_path

INCREMENTAL_STATUSES = ("CREATED",)  # the order date is when the order reached the status
NUMERIC_FIELDS = ("quantity", "cancelledQuantity", "mrp", "esp")
# Orders written more than this long ago are forgotten: automatic windows never reach back
# that far (only an explicit --from could bring such an order into a sheet again).
REMEMBER_DAYS = 180


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


def pull_once(
    settings: Settings,
    connection: ClientSettings,
    request: PullRequest,
    *,
    now: datetime | None = None,
) -> PullResult:
    """One pull: fetch, de-duplicate, write the sheet, remember. Library entry for `watch`."""
    status = check_status(request.status)
    now = (now or datetime.now(IST)).astimezone(IST)
    request.outbox.mkdir(parents=True, exist_ok=True)
    state = PullState(journal_path(request.outbox))
    try:
        return _pull(settings, connection, request, status, now, state)
    finally:
        state.close()


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
    for location in result.locations:
        scope = scope_key(status, location, request.channel)
        result.windows[scope] = plan_window(settings, request, state.last_window(scope), now)
    orders = asyncio.run(_fetch_everything(settings, connection, request, result))
    result.fetched = len(orders)
    seen = state.already_pulled(status, orders)
    new = [order for oid, order in orders.items() if oid not in seen]
    result.new_orders = len(new)
    rows = flatten_orders(new)
    result.rows = len(rows)
    if rows:
        result.file = _write(request, status, rows, now)
    dates = {str(o["orderId"]): _ist_text(o.get("orderDate"), now) for o in new if o.get("orderId")}
    state.record(result.windows, status, dates, result.file, now)
    remember = max(REMEMBER_DAYS, settings.pull_lookback_days + 2)
    state.forget_pulled_before(now - timedelta(days=remember))
    return result


def plan_window(
    settings: Settings, request: PullRequest, last: Window | None, now: datetime
) -> Window:
    """From: --from, else the last window's end minus the overlap, else the lookback; to:
    the end of --to's day, else now. Statuses other than CREATED always reach back the
    lookback, since Konnect filters on the order date (see the module docstring)."""
    lookback = now - timedelta(days=settings.pull_lookback_days)
    end = datetime.combine(request.date_to, time.max, IST) if request.date_to else now
    if request.date_from:
        return Window(datetime.combine(request.date_from, time.min, IST), end)
    start = lookback
    if last is not None:
        start = last.end - timedelta(minutes=settings.pull_overlap_minutes)
        if request.status.upper() not in INCREMENTAL_STATUSES:
            start = min(start, lookback)
    return Window(min(start, end), end)


async def _fetch_everything(
    settings: Settings, connection: ClientSettings, request: PullRequest, result: PullResult
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
    return orders


def query(status: str, channel: str | None, location: str | None, window: Window) -> dict[str, str]:
    """Filters of GET /oms/v3/shipment; dates as YYYY-MM-DD in IST ([ours], whole days)."""
    params = {"orderStatus": status}
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
    path = unique_path(request.outbox, "-".join(p for p in parts if p), f".{fmt}")
    write_sheet(path, header, cells, numeric)
    return path


def _ist_text(value: Any, fallback: datetime) -> str:
    return ist(value) or fallback.strftime(IST_FORMAT)
