"""PUT /ims/v3/inventory and PUT /ims/v3/price: per-record checks, then the change."""

from __future__ import annotations

import re
from typing import Any

from etl.sandbox.model import Refused
from etl.sandbox.state import SandboxState, stock_key

_CURRENCY = re.compile(r"[A-Z]{3}")


def apply_inventory(state: SandboxState, record: Any, catalogue: str) -> None:
    """Set the absolute stock level of one SKU at one location (replaying is harmless)."""
    _require(record, ("location_id", "sku", "quantity"))
    quantity = record["quantity"]
    if not _is_int(quantity):
        raise Refused("X422", f"quantity must be a whole number, got {quantity!r}")
    if quantity < 0:
        raise Refused("X422", f"quantity cannot be negative, got {quantity}")
    key = _known(state, record, catalogue)
    state.stock[key] = quantity


def apply_price(state: SandboxState, record: Any, catalogue: str) -> None:
    """Set the selling price (esp), MRP and currency of one SKU at one location."""
    _require(record, ("location_id", "sku", "esp", "mrp", "currency"))
    mrp, esp, currency = record["mrp"], record["esp"], record["currency"]
    for name, value in (("mrp", mrp), ("esp", esp)):
        if not _is_number(value) or value <= 0:
            raise Refused("X422", f"{name} must be a number above 0, got {value!r}")
    if esp > mrp:
        raise Refused("X422", f"esp {esp} is above mrp {mrp}")
    if not isinstance(currency, str) or not _CURRENCY.fullmatch(currency):
        raise Refused("X422", f"currency must be 3 capital letters (e.g. INR), got {currency!r}")
    key = _known(state, record, catalogue)
    state.prices[key] = {"mrp": mrp, "esp": esp, "currency": currency}


def _require(record: Any, names: tuple[str, ...]) -> None:
    if not isinstance(record, dict):
        raise Refused("X422", "each record must be a JSON object")
    missing = [n for n in names if record.get(n) is None]
    if missing:
        raise Refused("X422", f"missing field(s): {', '.join(missing)}")


def _known(state: SandboxState, record: dict[str, Any], catalogue: str) -> str:
    """The stock key of the record; in a strict catalogue both halves must exist."""
    location, sku = record["location_id"], record["sku"]
    if not isinstance(location, str) or not isinstance(sku, str) or not location or not sku:
        raise Refused("X422", "location_id and sku must be non-empty text")
    if catalogue == "open":
        state.locations.add(location)
        state.skus.add(sku)
    elif location not in state.locations:
        raise Refused("X404LOC", f"unknown location '{location}'")
    elif sku not in state.skus:
        raise Refused("X404SKU", f"unknown SKU '{sku}'")
    return stock_key(location, sku)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
