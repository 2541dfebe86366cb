"""PUT /ims/v3/inventory and PUT /ims/v3/price: per-record checks, then the change.

These run once per record, a million times in a benchmark, so they are kept flat: fields
are read once, `type(x) is int` stands for "int but not bool" (JSON gives exact types), and
a currency is looked up among the valid codes seen so far before the pattern is tried. The
checks, their order, codes and messages are the documented ones.
"""

from __future__ import annotations

import re
from typing import Any

from etl.sandbox.model import Refused
from etl.sandbox.runtime import Sandbox

INVENTORY_FIELDS = ("location_id", "sku", "quantity")
PRICE_FIELDS = ("location_id", "sku", "esp", "mrp", "currency")
_NUMBERS = (int, float)
_CURRENCY = re.compile(r"[A-Z]{3}")
_currencies_seen: set[str] = set()  # valid codes only, so at most 26**3 of them


def apply_inventory(sandbox: Sandbox, record: Any) -> None:
    """Set the absolute stock level of one SKU at one location (replaying is harmless)."""
    if not isinstance(record, dict):
        raise _not_an_object()
    try:
        location, sku, quantity = record["location_id"], record["sku"], record["quantity"]
    except KeyError:
        raise _missing(record, INVENTORY_FIELDS) from None
    if location is None or sku is None or quantity is None:
        raise _missing(record, INVENTORY_FIELDS)
    if type(quantity) is not int:
        raise Refused("X422", f"quantity must be a whole number, got {quantity!r}")
    if quantity < 0:
        raise Refused("X422", f"quantity cannot be negative, got {quantity}")
    sandbox.state.stock[_known(sandbox, location, sku)] = quantity


def apply_price(sandbox: Sandbox, record: Any) -> None:
    """Set the selling price (esp), MRP and currency of one SKU at one location."""
    if not isinstance(record, dict):
        raise _not_an_object()
    try:
        location, sku, esp = record["location_id"], record["sku"], record["esp"]
        mrp, currency = record["mrp"], record["currency"]
    except KeyError:
        raise _missing(record, PRICE_FIELDS) from None
    if location is None or sku is None or esp is None or mrp is None or currency is None:
        raise _missing(record, PRICE_FIELDS)
    if type(mrp) not in _NUMBERS or mrp <= 0:
        raise _not_above_zero("mrp", mrp)
    if type(esp) not in _NUMBERS or esp <= 0:
        raise _not_above_zero("esp", esp)
    if esp > mrp:
        raise Refused("X422", f"esp {esp} is above mrp {mrp}")
    if not _is_currency(currency):
        raise Refused("X422", f"currency must be 3 capital letters (e.g. INR), got {currency!r}")
    key = _known(sandbox, location, sku)
    sandbox.state.prices[key] = {"mrp": mrp, "esp": esp, "currency": currency}


def _not_an_object() -> Refused:
    return Refused("X422", "each record must be a JSON object")


def _missing(record: dict[str, Any], names: tuple[str, ...]) -> Refused:
    missing = [n for n in names if record.get(n) is None]
    return Refused("X422", f"missing field(s): {', '.join(missing)}")


def _not_above_zero(name: str, value: Any) -> Refused:
    return Refused("X422", f"{name} must be a number above 0, got {value!r}")


def _is_currency(value: Any) -> bool:
    """3 capital letters; a code already seen valid skips the pattern."""
    if type(value) is not str:
        return False
    if value in _currencies_seen:
        return True
    if _CURRENCY.fullmatch(value) is None:
        return False
    _currencies_seen.add(value)
    return True


def _known(sandbox: Sandbox, location: Any, sku: Any) -> str:
    """The stock key of the record; in a strict catalogue both halves must exist."""
    if type(location) is not str or type(sku) is not str or not location or not sku:
        raise Refused("X422", "location_id and sku must be non-empty text")
    state = sandbox.state
    if location not in state.locations:
        _unknown(sandbox, state.locations, location, "X404LOC", "location")
    if sku not in state.skus:
        _unknown(sandbox, state.skus, sku, "X404SKU", "SKU")
    return f"{location}|{sku}"  # = state.stock_key, without a call per record


def _unknown(sandbox: Sandbox, known: set[str], name: str, code: str, what: str) -> None:
    """An open catalogue creates a location or SKU it does not know; a strict one refuses."""
    if sandbox.catalogue != "open":
        raise Refused(code, f"unknown {what} '{name}'")
    known.add(name)
