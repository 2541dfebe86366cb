"""What the emulator knows: catalogue, stock, prices, orders, and the ledger of records."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson

from etl.konnect import Endpoint, record_key
from etl.sandbox.model import Order


def stock_key(location_id: str, sku: str) -> str:
    return f"{location_id}|{sku}"


@dataclass(frozen=True, slots=True)
class LedgerBlock:
    """One request's records as the ledger keeps them: the body they came in, and which failed.

    A benchmark sends a million records: kept as parsed dicts plus a dict per entry, they
    would cost hundreds of MB and slow every request down (memory, garbage collection). The
    body is a tenth of that, and parsing it again when the ledger is read gives the same
    records; the entries are built then too.
    """

    endpoint: Endpoint
    body: bytes
    refused: dict[int, str]  # index -> code of each refused record

    def add_entries(self, entries: list[dict[str, Any]]) -> None:
        """Append one ledger entry per record of this request, numbered on from `entries`."""
        endpoint, refused = self.endpoint, self.refused
        for index, record in enumerate(orjson.loads(self.body)):
            code = refused.get(index)
            fields = record if isinstance(record, dict) else {}
            entries.append(
                {
                    "seq": len(entries) + 1,
                    "method": endpoint.method,
                    "path": endpoint.path,
                    "key": record_key(endpoint, fields),
                    "outcome": "rejected" if code else "applied",
                    "code": code,
                    "record": record,
                }
            )


@dataclass
class SandboxState:
    """Everything a reset puts back to the seed.

    `locations` are the ones the token covers; orders in `other_locations` exist in Konnect
    but belong to another location, so order actions on them fail with a location error.
    `invoice_numbers` holds every sale invoice and credit note number on any order (cancelled
    ones too): orders come in through `add_orders` and documents through `add_document`, so
    the "already used" check of each invoice record costs O(1), not a pass over all orders.
    """

    locations: set[str]
    skus: set[str]
    other_locations: set[str] = field(default_factory=set)
    stock: dict[str, int] = field(default_factory=dict)
    prices: dict[str, dict[str, Any]] = field(default_factory=dict)
    orders: dict[str, Order] = field(default_factory=dict)
    ledger: list[LedgerBlock] = field(default_factory=list)
    invoice_numbers: set[str] = field(default_factory=set)

    def add_orders(self, orders: Iterable[Order]) -> None:
        """Hold these orders (seed or added at run time) and the numbers of their documents."""
        for order in orders:
            self.orders[order.order_id] = order
            for document in (order.invoice, order.credit_note):
                if document:
                    self.invoice_numbers.add(str(document["invoiceNumber"]))

    def add_document(self, document: dict[str, Any]) -> None:
        """Note the number of an invoice or credit note an order has just been given."""
        self.invoice_numbers.add(str(document["invoiceNumber"]))

    def log(self, endpoint: Endpoint, body: bytes, refused: dict[int, str]) -> None:
        """Add the records of one request (its JSON body) to the ledger, in arrival order."""
        self.ledger.append(LedgerBlock(endpoint, body, refused))

    def ledger_entries(self) -> list[dict[str, Any]]:
        """The answer of GET /_sandbox/ledger: one entry per record, numbered from 1."""
        entries: list[dict[str, Any]] = []
        for block in self.ledger:
            block.add_entries(entries)
        return entries

    def snapshot(self) -> dict[str, Any]:
        """The answer of GET /_sandbox/state."""
        return {
            "stock": dict(self.stock),
            "prices": {k: dict(v) for k, v in self.prices.items()},
            "orders": {oid: o.to_json() for oid, o in self.orders.items()},
        }
