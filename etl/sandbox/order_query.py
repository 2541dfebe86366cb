"""GET /oms/v3/shipment: filter, sort and page the orders the token can see."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, time, timedelta

from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import Response

from etl.konnect import ORDER_STATUSES, ORDERS_PAGE_SIZE_DEFAULT, ORDERS_PAGE_SIZE_MAX
from etl.sandbox.model import IST, Order
from etl.sandbox.responses import JSONAnswer, refusal
from etl.sandbox.runtime import Sandbox

Test = Callable[[Order], bool]
_DATE_FORMATS = ("%d-%m-%Y", "%Y-%m-%d", "%d-%m-%Y %H:%M:%S", "%d-%m-%Y %H:%M")
# '+05:30' typed into a URL arrives as ' 05:30': put the plus sign back.
_LOST_PLUS = re.compile(r"(\d\d:\d\d(?::\d\d(?:\.\d+)?)?) (\d\d:?\d\d)$")


async def list_orders(request: Request, sandbox: Sandbox) -> Response:
    """A JSON array of orders, oldest first; no total count (a short page is the last)."""
    query = request.query_params
    if sandbox.settings.token_scope == "company" and not query.get("locationCode"):
        return refusal(400, "X400", "locationCode is required with a company-level token")
    try:
        tests = _filters(query)
        number, size = _page(query)
    except ValueError as exc:
        return refusal(400, "X400", str(exc))
    state = sandbox.state
    visible = [o for o in state.orders.values() if o.location in state.locations]
    found = sorted((o for o in visible if all(t(o) for t in tests)), key=_oldest_first)
    page = found[(number - 1) * size : number * size]
    return JSONAnswer([o.to_json() for o in page])


def _oldest_first(order: Order) -> tuple[datetime, str]:
    return order.order_date, order.order_id


def _filters(query: QueryParams) -> list[Test]:
    tests: list[Test] = []
    if order_id := query.get("orderId"):
        tests.append(lambda o: o.order_id == order_id)
    if status := query.get("orderStatus"):
        states = _states(status)
        tests.append(lambda o: o.state in states)
    if channel := query.get("orderingChannel"):
        tests.append(lambda o: o.channel.lower() == channel.lower())
    if location := query.get("locationCode"):
        tests.append(lambda o: o.location == location)
    if start := query.get("orderDateFrom"):
        after = parse_when(start, end_of_day=False)
        tests.append(lambda o: o.order_date >= after)
    if end := query.get("orderDateTo"):
        before = parse_when(end, end_of_day=True)
        tests.append(lambda o: o.order_date <= before)
    return tests


def _states(status: str) -> set[str]:
    """Konnect status names (CREATED...) or Fynd states (placed...), comma separated."""
    states: set[str] = set()
    for name in (s.strip() for s in status.split(",") if s.strip()):
        states.update(ORDER_STATUSES.get(name.upper(), (name.lower(),)))
    return states


def parse_when(text: str, *, end_of_day: bool) -> datetime:
    """dd-mm-yyyy, YYYY-MM-DD or an ISO datetime; times without a zone are IST."""
    text = _LOST_PLUS.sub(r"\1+\2", text.strip())
    for fmt in _DATE_FORMATS:
        try:
            parsed = datetime.strptime(text, fmt)
        except ValueError:
            continue
        if "%H" not in fmt and end_of_day:
            parsed = datetime.combine(parsed.date(), time.max)
        return parsed.replace(tzinfo=IST)
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"cannot read the date '{text}' (use YYYY-MM-DD)") from None
    if len(text) == 10 and end_of_day:
        parsed += timedelta(days=1, microseconds=-1)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=IST)


def _page(query: QueryParams) -> tuple[int, int]:
    """(pageNumber from 1, pageSize); page 0 means 1."""
    try:
        number = int(query.get("pageNumber", "1"))
        size = int(query.get("pageSize", str(ORDERS_PAGE_SIZE_DEFAULT)))
    except ValueError:
        raise ValueError("pageNumber and pageSize must be whole numbers") from None
    if number < 0 or not 1 <= size <= ORDERS_PAGE_SIZE_MAX:
        raise ValueError(f"pageNumber must be >= 0 and pageSize 1..{ORDERS_PAGE_SIZE_MAX}")
    return max(number, 1), size
