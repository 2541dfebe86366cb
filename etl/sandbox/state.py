"""What the emulator knows: catalogue, stock, prices, orders, and the ledger of records."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from etl.sandbox.model import Order

Outcome = Literal["applied", "rejected"]


def stock_key(location_id: str, sku: str) -> str:
    return f"{location_id}|{sku}"


@dataclass
class SandboxState:
    """Everything a reset puts back to the seed.

    `locations` are the ones the token covers; orders in `other_locations` exist in Konnect
    but belong to another location, so order actions on them fail with a location error.
    """

    locations: set[str]
    skus: set[str]
    other_locations: set[str] = field(default_factory=set)
    stock: dict[str, int] = field(default_factory=dict)
    prices: dict[str, dict[str, Any]] = field(default_factory=dict)
    orders: dict[str, Order] = field(default_factory=dict)
    ledger: list[dict[str, Any]] = field(default_factory=list)

    def log(
        self,
        method: str,
        path: str,
        key: str,
        outcome: Outcome,
        code: str | None,
        record: Any,
    ) -> None:
        """Add one record to the ledger, in arrival order."""
        self.ledger.append(
            {
                "seq": len(self.ledger) + 1,
                "method": method,
                "path": path,
                "key": key,
                "outcome": outcome,
                "code": code,
                "record": record,
            }
        )

    def invoice_numbers(self) -> set[str]:
        """Every sale invoice and credit note number already used."""
        used: set[str] = set()
        for order in self.orders.values():
            for document in (order.invoice, order.credit_note):
                if document:
                    used.add(str(document["invoiceNumber"]))
        return used

    def snapshot(self) -> dict[str, Any]:
        """The answer of GET /_sandbox/state."""
        return {
            "stock": dict(self.stock),
            "prices": {k: dict(v) for k, v in self.prices.items()},
            "orders": {oid: o.to_json() for oid, o in self.orders.items()},
        }
