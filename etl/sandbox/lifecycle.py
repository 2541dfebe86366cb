"""The Fynd order states the emulator knows and the moves between them."""

from __future__ import annotations

from etl.konnect import FORWARD_STATES as FORWARD
from etl.konnect import REASON_CODES
from etl.konnect import RETURN_STATES as RETURN

CREATED = frozenset({"placed", "store_reassigned"})
CANCELLED = frozenset({"cancelled_customer", "cancelled_fynd"})
RTO = ("rto_bag_delivered", "rto_bag_accepted")
KNOWN_STATES = frozenset({*FORWARD, *RETURN, *RTO, *CREATED, *CANCELLED})

AFTER_RETURN = frozenset({*RETURN, *RTO})
INVOICED = frozenset({*FORWARD[2:], *AFTER_RETURN})
PACKED = frozenset({"bag_packed", "bag_picked", "delivery_done", *AFTER_RETURN})
# Fynd has assigned a courier (and, for Fynd's own couriers, an AWB number).
COURIER_ASSIGNED = INVOICED - {"bag_invoiced"}
# A self-ship order carries the seller's AWB once it has been handed over.
SELF_SHIP_HANDED_OVER = frozenset({"bag_picked", "delivery_done", *AFTER_RETURN})
RETURN_COURIER = frozenset(RETURN[1:])

# PUT /oms/v3/shipment/status, self-ship only: (from state, to state) pairs [doc].
STATUS_MOVES = frozenset(
    {
        ("dp_assigned", "bag_picked"),
        ("bag_picked", "delivery_done"),
        ("return_dp_assigned", "return_bag_in_transit"),
        ("return_bag_in_transit", "return_bag_delivered"),
        ("bag_picked", "rto_bag_delivered"),
    }
)
# POST /oms/v3/shipment/return (return QC).
QC_MOVES = {"return_bag_delivered": "return_bag_accepted", "rto_bag_delivered": "rto_bag_accepted"}
CREDIT_NOTE_FROM = frozenset({"return_bag_accepted", "rto_bag_accepted"})
# Whole-shipment cancel until packed; single items only before invoicing [doc].
CANCEL_WHOLE_FROM = frozenset({*CREATED, "bag_confirmed", "bag_invoiced", "dp_assigned"})
CANCEL_ITEMS_FROM = frozenset({*CREATED, "bag_confirmed"})
CANCEL_REASONS = frozenset(REASON_CODES)
