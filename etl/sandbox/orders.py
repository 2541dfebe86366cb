"""The order actions: each checks one record against the order's state, then moves it.

A record is checked completely before anything changes, so a refused record leaves the
order as it was. Codes are Konnect's where documented (O400, IN453, CR400, D400...);
`X409` (wrong state, no documented code) and `X422` (bad field) are ours.
"""

from __future__ import annotations

import re
from typing import Any

from etl.konnect import INVOICE_TYPES
from etl.sandbox import lifecycle
from etl.sandbox.model import Item, Order, Refused
from etl.sandbox.records import Action
from etl.sandbox.runtime import Sandbox
from etl.sandbox.seed_orders import fynd_awb
from etl.sandbox.state import SandboxState

# action -> (code when the order is cancelled, code when it belongs to another location)
CODES: dict[str, tuple[str | None, str]] = {
    "confirm": ("O400", "O422"),
    "cancel": ("X409", "O422"),
    "invoice": ("IN401", "IN400"),
    "awb": ("X409", "O422"),
    "status": ("X409", "O422"),
    "pack": ("CR401", "CR422"),
    "dispatch": ("D401", "D422"),
    "return_qc": ("X409", "O422"),
    "courier_details": (None, "C400"),
    "labels": (None, "L400"),
    "invoice_pdf": (None, "IN400"),
}
ACTION_NAMES = ("confirm", "cancel", "invoice", "awb", "status", "pack", "dispatch", "return_qc")
# [ours] GST rule: at most 16 characters, letters, digits, '/' and '-'.
INVOICE_NUMBER = re.compile(r"[A-Za-z0-9/-]{1,16}")
_INVOICE_FIELDS = ("invoiceQrCode", "irnNumber", "signedInvoice", "ackNumber", "ackDate")
ItemPick = tuple[Item, int, dict[str, Any]]


def find_order(state: SandboxState, record: Any, name: str) -> Order:
    """The record's order, refused when unknown, elsewhere, or cancelled (for this action)."""
    if not isinstance(record, dict):
        raise Refused("X422", "each record must be a JSON object")
    order_id = record.get("orderId")
    if order_id in (None, ""):
        raise Refused("X422", "missing field: orderId")
    order = state.orders.get(str(order_id))
    if order is None:
        raise Refused("X404ORD", f"unknown orderId '{order_id}'")
    cancelled_code, location_code = CODES[name]
    if order.location not in state.locations:
        raise Refused(location_code, f"order {order_id} belongs to location {order.location}")
    if cancelled_code and order.state in lifecycle.CANCELLED:
        raise Refused(cancelled_code, f"order {order_id} is cancelled")
    return order


def action(name: str) -> Action:
    """The ledger-ready action for one order endpoint."""
    step = _STEPS[name]

    def run(sandbox: Sandbox, record: Any) -> None:
        step(sandbox.state, find_order(sandbox.state, record, name), record)

    return run


def picked_items(order: Order, record: dict[str, Any], code: str = "X422") -> list[ItemPick]:
    """The record's `orderItems`, each an item of this order with a quantity it still has."""
    given = record.get("orderItems")
    if not isinstance(given, list) or not given:
        raise Refused(code, "orderItems must be a non-empty list")
    picks = []
    for entry in given:
        item = order.item(entry.get("orderItemId")) if isinstance(entry, dict) else None
        if item is None:
            named = entry.get("orderItemId") if isinstance(entry, dict) else entry
            raise Refused(code, f"order {order.order_id} has no item {named}")
        quantity = entry.get("quantity")
        left = item.quantity - item.cancelled
        if not isinstance(quantity, int) or isinstance(quantity, bool) or not 0 < quantity <= left:
            wrong = f"item {item.item_id}: quantity must be 1..{left}, got {quantity!r}"
            raise Refused(code, wrong)
        picks.append((item, quantity, entry))
    return picks


def _wrong_state(order: Order, wanted: str) -> Refused:
    return Refused("X409", f"order {order.order_id} is {order.state}; {wanted}")


def _confirm(state: SandboxState, order: Order, record: dict[str, Any]) -> None:
    if order.state not in lifecycle.CREATED:
        raise _wrong_state(order, "only placed orders can be confirmed")
    picked_items(order, record)
    order.move("bag_confirmed")


def _cancel(state: SandboxState, order: Order, record: dict[str, Any]) -> None:
    picks = picked_items(order, record)
    totals: dict[str, int] = {}
    for item, quantity, entry in picks:
        if str(entry.get("reasonCode", "")) not in lifecycle.CANCEL_REASONS:
            raise Refused("X422", f"reasonCode must be one of 6, 7, 8, 9, NA: {entry!r}")
        totals[item.item_id] = totals.get(item.item_id, 0) + quantity
    whole = all(totals.get(i.item_id, 0) == i.quantity - i.cancelled for i in order.items)
    allowed = lifecycle.CANCEL_WHOLE_FROM if whole else lifecycle.CANCEL_ITEMS_FROM
    if order.state not in allowed:
        what = "a whole order until packed" if whole else "single items before invoicing"
        raise _wrong_state(order, f"cancel is possible for {what}")
    if any(totals[i.item_id] > i.quantity - i.cancelled for i, _, _ in picks):
        raise Refused("X422", "more items cancelled than the order has")
    for item, quantity, _ in picks:
        item.cancelled += quantity
    if all(i.cancelled == i.quantity for i in order.items):
        order.move("cancelled_fynd")


def _invoice(state: SandboxState, order: Order, record: dict[str, Any]) -> None:
    kind, number = record.get("invoiceType"), record.get("invoiceNumber")
    if kind not in INVOICE_TYPES:
        raise Refused("IN422", f"invoiceType must be 'sale' or 'return', got {kind!r}")
    if not isinstance(number, str) or not INVOICE_NUMBER.fullmatch(number):
        raise Refused("IN422", f"invoiceNumber must be 1-16 letters, digits, / or -: {number!r}")
    _check_invoice_state(order, kind)
    if number in state.invoice_numbers:
        raise Refused("IN422", f"invoiceNumber {number} is already used by another order")
    picks = picked_items(order, record, "IN400") if record.get("orderItems") else []
    packages = _packages(record)
    document = {"invoiceNumber": number, "invoiceType": kind}
    document |= {f: record[f] for f in _INVOICE_FIELDS if record.get(f) is not None}
    state.add_document(document)
    if kind == "return":
        order.credit_note = document
        order.move("credit_note_generated")
    else:
        _apply_sale(order, document, picks, packages)


def _apply_sale(
    order: Order, document: dict[str, Any], picks: list[ItemPick], packages: list[dict[str, Any]]
) -> None:
    order.invoice, order.packages = document, packages
    for item, _, entry in picks:
        item.serials = [str(s) for s in entry.get("imeiSerialNumber") or []]
    order.move("bag_invoiced")
    # Fynd assigns the courier at once (the seller's own for self-ship, AWB comes later).
    if not order.is_self_ship:
        order.awb = fynd_awb(order)
    order.move("dp_assigned")


def _check_invoice_state(order: Order, kind: str) -> None:
    if kind == "sale":
        if order.state in lifecycle.CREATED:
            raise Refused("IN403", f"order {order.order_id} is not confirmed yet")
        if order.state != "bag_confirmed":
            raise Refused("IN453", f"order {order.order_id} is already invoiced")
    elif order.state == "credit_note_generated":
        raise Refused("IN453", f"order {order.order_id} already has a credit note")
    elif order.state not in lifecycle.CREDIT_NOTE_FROM:
        raise Refused("IN422", f"a credit note needs an accepted return; order is {order.state}")


def _packages(record: dict[str, Any]) -> list[dict[str, Any]]:
    packages = record.get("packages") or []
    sizes = ("packageLengthCm", "packageWidthCm", "packageHeightCm", "packageWeightGms")
    for package in packages if isinstance(packages, list) else [None]:
        if not isinstance(package, dict):
            raise Refused("IN422", "packages must be a list of objects")
        for name in sizes:
            value = package.get(name)
            if value is not None and (not isinstance(value, int | float) or value <= 0):
                raise Refused("IN422", f"{name} must be a number above 0, got {value!r}")
    return list(packages)


def _awb(state: SandboxState, order: Order, record: dict[str, Any]) -> None:
    number, courier = record.get("awbNumber"), record.get("courierName")
    if not isinstance(number, str) or not number or not isinstance(courier, str) or not courier:
        raise Refused("X422", "awbNumber and courierName must be non-empty text")
    auto = record.get("autoDispatch", False)
    if not isinstance(auto, bool):
        raise Refused("X422", f"autoDispatch must be true or false, got {auto!r}")
    if not order.is_self_ship:
        raise _wrong_state(order, "an AWB can only be set on self-ship orders")
    awb = {"awbNumber": number, "courierName": courier}
    if order.state == "dp_assigned":
        order.awb = awb
        if auto:
            order.move("bag_picked")
    elif order.state == "return_dp_assigned":
        order.return_awb = awb
    else:
        raise _wrong_state(order, "an AWB needs dp_assigned or return_dp_assigned")


def _status(state: SandboxState, order: Order, record: dict[str, Any]) -> None:
    target = record.get("orderStatus")
    if not isinstance(target, str) or not target:
        raise Refused("X422", "orderStatus must be a Fynd state such as bag_picked")
    if record.get("meta") is not None and not isinstance(record["meta"], dict):
        raise Refused("X422", "meta must be an object")
    if not order.is_self_ship:
        raise _wrong_state(order, "status updates are for self-ship orders only")
    if (order.state, target.lower()) not in lifecycle.STATUS_MOVES:
        raise _wrong_state(order, f"it cannot move to {target}")
    order.move(target.lower())


def _pack(state: SandboxState, order: Order, record: dict[str, Any]) -> None:
    if order.state != "dp_assigned":
        raise Refused("CR400", f"order {order.order_id} is {order.state}, not dp_assigned")
    order.move("bag_packed")


def _dispatch(state: SandboxState, order: Order, record: dict[str, Any]) -> None:
    if order.state != "bag_packed":
        raise Refused("D400", f"order {order.order_id} is {order.state}, not packed")
    picked_items(order, record)
    order.move("bag_picked")


def _return_qc(state: SandboxState, order: Order, record: dict[str, Any]) -> None:
    target = lifecycle.QC_MOVES.get(order.state)
    if target is None:
        raise _wrong_state(order, "return QC needs return_bag_delivered or rto_bag_delivered")
    picks = picked_items(order, record)
    for item, _, entry in picks:
        item.qc_reason = str(entry.get("reasonCode") or "") or None
    order.move(target)


_STEPS = {
    "confirm": _confirm,
    "cancel": _cancel,
    "invoice": _invoice,
    "awb": _awb,
    "status": _status,
    "pack": _pack,
    "dispatch": _dispatch,
    "return_qc": _return_qc,
}
