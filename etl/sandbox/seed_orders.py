"""Seed orders: blocks of numbered orders plus single orders, filled in by fixed rules.

Order n (1-based) of a block gets id `first_id + n - 1`, location `locations[(n-1) % L]`,
channel `CHANNELS[(n-1) % 3]`, date `start + (n-1) hours`, and 1 item (odd n) or 2 items
(even n): item k is `skus[(n+k-2) % S]` with quantity k and id `<orderId>-<k>`.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, NamedTuple

from etl.sandbox import lifecycle
from etl.sandbox.model import IST, Item, Order
from etl.sandbox.state import SandboxState, stock_key

CHANNELS = ("FYND", "MYNTRA", "AJIO")
DEFAULT_START = "2026-01-05T09:00:00+05:30"
_NAMES = ("Aarav Sharma", "Diya Patel", "Kabir Rao", "Meera Iyer", "Rohan Gupta")
_CITIES = {"DEL": ("New Delhi", "Delhi", "110001"), "MUM": ("Mumbai", "Maharashtra", "400001")}
_DEFAULT_CITY = ("Bengaluru", "Karnataka", "560001")


class _Catalogue(NamedTuple):
    state: SandboxState
    locations: list[str]  # in seed order: the rules above index into them
    skus: list[str]


def build_orders(seed: dict[str, Any], state: SandboxState) -> dict[str, Order]:
    """Every order of the seed's `order_blocks` and `orders`, by orderId."""
    skus = [str(s) for s in seed.get("skus", [])] or ["SKU-1"]
    cat = _Catalogue(state, [str(x) for x in seed["locations"]], skus)
    orders: dict[str, Order] = {}
    for block in seed.get("order_blocks", []):
        first = int(block["first_id"])
        for n in range(1, int(block["count"]) + 1):
            order = _order(cat, block, str(first + n - 1).zfill(20), n)
            orders[order.order_id] = order
    for spec in seed.get("orders", []):
        order = _order(cat, spec, str(spec["orderId"]), int(spec.get("n", 1)))
        orders[order.order_id] = order
    return orders


def new_orders(seed: dict[str, Any], state: SandboxState, extra: dict[str, Any]) -> list[Order]:
    """Orders from `extra` (seed-file `orders` / `order_blocks`) built with the seed's rules.

    ValueError when one of them has an orderId the state already holds.
    """
    spec = {"locations": seed["locations"], "skus": seed.get("skus", [])}
    spec.update({k: extra.get(k, []) for k in ("orders", "order_blocks")})
    built = build_orders(spec, state)
    taken = sorted(set(built) & set(state.orders))
    if taken:
        raise ValueError(f"orderId already exists: {', '.join(taken[:5])}")
    return list(built.values())


def _order(cat: _Catalogue, spec: dict[str, Any], order_id: str, n: int) -> Order:
    status = str(spec["state"])
    if status not in lifecycle.KNOWN_STATES:
        raise ValueError(f"order {order_id}: unknown state '{status}'")
    location = str(spec.get("location") or cat.locations[(n - 1) % len(cat.locations)])
    start = datetime.fromisoformat(str(spec.get("start") or spec.get("orderDate") or DEFAULT_START))
    order = Order(
        order_id=order_id,
        state=status,
        location=location,
        channel=str(spec.get("channel") or CHANNELS[(n - 1) % len(CHANNELS)]),
        order_date=start.astimezone(IST) + timedelta(hours=n - 1),
        items=_items(cat, spec, order_id, location, n),
        is_self_ship=bool(spec.get("is_self_ship", False)),
        customer=_customer(n),
        address={**_address(location, n), **spec.get("address", {})},  # a test's own lines
    )
    _documents(order)
    return order


def _items(cat: _Catalogue, spec: dict[str, Any], oid: str, loc: str, n: int) -> list[Item]:
    wanted = spec.get("items")
    if wanted is None:
        skus = cat.skus
        count = 2 if n % 2 == 0 else 1
        wanted = [
            {"sku": skus[(n + k - 2) % len(skus)], "quantity": k} for k in range(1, count + 1)
        ]
    items = []
    for k, item in enumerate(wanted, start=1):
        price = cat.state.prices.get(stock_key(loc, str(item["sku"])), {})
        items.append(
            Item(
                item_id=str(item.get("orderItemId") or f"{oid}-{k}"),
                sku=str(item["sku"]),
                quantity=int(item.get("quantity", 1)),
                mrp=float(price.get("mrp", 1000)),
                esp=float(price.get("esp", 900)),
            )
        )
    return items


def _customer(n: int) -> dict[str, str]:
    name = _NAMES[(n - 1) % len(_NAMES)]
    return {
        "name": name,
        "phone": f"98{n:08d}",
        "email": f"{name.split()[0].lower()}{n}@example.com",
    }


def _address(location: str, n: int) -> dict[str, str]:
    city, region, pincode = _CITIES.get(location[:3], _DEFAULT_CITY)
    return {
        "address1": f"{n} Demo Street",
        "city": city,
        "state": region,
        "pincode": pincode,
        "country": "India",
    }


def _documents(order: Order) -> None:
    """The invoice, AWB and credit note an order in its state already has."""
    tail = order.order_id[-10:]
    if order.state in lifecycle.INVOICED:
        order.invoice = {"invoiceNumber": f"INV{tail}", "invoiceType": "sale"}
    handed_over = order.is_self_ship and order.state in lifecycle.SELF_SHIP_HANDED_OVER
    if handed_over:
        order.awb = {"awbNumber": f"SS{tail}", "courierName": "Store Delivery"}
    elif not order.is_self_ship and order.state in lifecycle.COURIER_ASSIGNED:
        order.awb = fynd_awb(order)
    if not order.is_self_ship and order.state in lifecycle.RETURN_COURIER:
        order.return_awb = {"awbNumber": f"RT{tail}", "courierName": "Delhivery"}
    if order.state == "credit_note_generated":
        order.credit_note = {"invoiceNumber": f"CN{tail}", "invoiceType": "return"}


def fynd_awb(order: Order) -> dict[str, str]:
    """The courier Fynd assigns to a non-self-ship order once it is invoiced."""
    return {
        "awbNumber": f"FY{order.order_id[-10:]}",
        "courierName": "Delhivery",
        "courierCode": "delhivery",
    }
