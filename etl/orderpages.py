"""Reading a list of orders page by page: GET /oms/v3/shipment gives no total.

A full page is followed by the next. A shorter one after full pages is the last (a Konnect
that sent a full page does not cap its pages). A short first page is most often the only one,
but a Konnect that caps its pages below the size asked for sends short pages all along, and
taking the first for the last would hide the rest for good: so after a short first page the
next is asked for too (one request more), and the list ends at an empty page, a page of
orders this listing already had, or a page that cannot be had. If that page has more orders,
the listing is read again from page 1 in the size Konnect sent. (Orders that arrive while a
listing is read are not taken for a cap: after full pages there is no such check, and the
next pull lists them.)

Also here: the listing's filters (`query`), and the check that a --location/--channel which
found nothing is one Konnect has any order for at all (`unknown_filters`).
"""

from __future__ import annotations

import json
import logging
from typing import Any

from etl.client import KonnectClient
from etl.errors import ConfigError, EtlError, RequestRejected, UploadError
from etl.flatten import IST
from etl.konnect import ORDERS_PATH
from etl.pullstate import Window

log = logging.getLogger(__name__)
ASKED = "order listing asked for: "  # the note a failed listing carries (`failed_query`)


async def fetch_all_pages(
    client: KonnectClient, params: dict[str, str], page_size: int
) -> list[dict[str, Any]]:
    """Page 1, 2, ... until the list ends (module docstring). A Konnect found to send fewer
    a page than asked is read again from page 1 in its own page size: whether its page N
    starts at (N-1) x the size asked or x the size sent, pages of the size sent meet both."""
    listing = await _read_pages(client, params, page_size)
    if isinstance(listing, list):
        return listing
    _say_pages_are_capped(listing, page_size)
    again = await _read_pages(client, params, listing)
    return again if isinstance(again, list) else []


async def _read_pages(
    client: KonnectClient, params: dict[str, str], page_size: int
) -> list[dict[str, Any]] | int:
    """Every order of the listing; or, when a short page is followed by more orders, the
    short page's size (Konnect's own page size, the listing to be read again in it)."""
    found: list[dict[str, Any]] = []
    seen: set[str] = set()
    previous: list[str] | None = None
    short = 0  # the size of the first page shorter than asked for (0: none yet)
    for number in range(1, 1_000_000):
        ask = {**params, "pageNumber": str(number), "pageSize": str(page_size)}
        page = await (_page_after_short(client, ask) if short else page_of_orders(client, ask))
        ids = [str(o.get("orderId")) for o in page]
        if short and seen.issuperset(ids):  # empty (or refused), or nothing new: the end
            return found
        if short:
            return short
        if ids and ids == previous:
            raise RequestRejected(
                f"Konnect sent page {number} of the orders again: it seems to ignore pageNumber, "
                "so the pull stops rather than loop",
                200,
            )
        found.extend(page)
        seen.update(ids)
        if not page or (number > 1 and len(page) < page_size):
            return found  # after full pages a short one is the last: Konnect does not cap
        short = len(page) if len(page) < page_size else 0
        previous = ids
    return found


def _say_pages_are_capped(sent: int, asked: int) -> None:
    log.warning(
        "Konnect sent %d orders on a page though %d were asked for, yet the next page has more:"
        " it sends %d a page, so the listing is read again in pages of %d (pull_page_size: %d"
        " in the config file saves those requests)",
        sent, asked, sent, sent, sent,
    )  # fmt: skip


async def _page_after_short(client: KonnectClient, params: dict[str, str]) -> list[dict[str, Any]]:
    """A page after a short one, asked only in case Konnect caps its pages; [] when it cannot
    be had (a 400 or 404 for no such page, or a failure through every retry): the short page
    was the last, as it almost always is, and the orders already read are kept."""
    try:
        return await page_of_orders(client, params)
    except UploadError as exc:  # refused, or no answer through every retry; not a 401
        log.info("page %s of the orders could not be read (%s): the list ends at the short "
                 "page before it", params["pageNumber"], exc)  # fmt: skip
        return []


async def page_of_orders(client: KonnectClient, params: dict[str, str]) -> list[dict[str, Any]]:
    try:
        page = await client.get_json(ORDERS_PATH, params)
    except RequestRejected as exc:
        if "locationcode" in str(exc).lower() and "locationCode" not in params:
            raise ConfigError(
                "Konnect needs a location for this token (a company-level token): set "
                "token_scope: company and locations: [...] in the config file, or give --location"
            ) from exc
        exc.add_note(ASKED + json.dumps(params))
        raise
    except EtlError as exc:
        exc.add_note(ASKED + json.dumps(params))
        raise
    if not isinstance(page, list) or not all(isinstance(o, dict) for o in page):
        raise RequestRejected("Konnect's order list is not a JSON array of orders", 200)
    return page


def failed_query(exc: BaseException) -> dict[str, str] | None:
    """The query of the order listing that failed (page, location, status), as
    `page_of_orders` noted it on the error; None when the failure was not one."""
    for note in getattr(exc, "__notes__", ()):
        if note.startswith(ASKED):
            return {str(k): str(v) for k, v in json.loads(note[len(ASKED) :]).items()}
    return None


async def unknown_filters(
    client: KonnectClient,
    location: str | None,
    channel: str | None,
    locations: list[str | None],
    window: Window,
) -> list[str]:
    """A --location/--channel that found nothing: has Konnect any order at all for it (any
    status) in `window` (the look-back up to now)? None anywhere is most likely a typo.
    One short page per location; if Konnect refuses a listing without a status, no check."""
    for place in locations:
        params = query(None, channel, place, window)
        try:
            if await page_of_orders(client, {**params, "pageNumber": "1", "pageSize": "1"}):
                return []
        except RequestRejected as exc:
            log.debug("could not check the --location/--channel filter: %s", exc)
            return []
    named = [f"{key} '{value}'" for key, value in
             (("location", location), ("channel", channel)) if value]  # fmt: skip
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
