"""What a row an order look-up settled says: what Konnect showed that made it applied
(`found_applied`), and what Konnect holds instead of what a refused row asked for (`holds`).
The rules that decide are `etl.order_states`; these are only their words.

A row found applied after its own request's answer was lost reads `applied: ...` (this file
applied it); after a refusal of a replay, `already applied: ...` (Konnect had it before); one
an earlier file of this inbox applied (`etl.orderbook`), `already applied: <file> (row N,
<time>) applied this row before; ...`, whether its answer was lost or not. A return QC whose
items Konnect shows no reason for is told by that book too: `qc_taken_without`,
`qc_cannot_tell`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from etl.konnect import FORWARD_STATES, ORDER_STATUSES, RETURN_STATES
from etl.order_states import (
    Order,
    Record,
    invoice_document,
    invoice_lacks_of,
    other_reasons,
    states_of,
    wanted_items,
)
from etl.wording import count, local_time

if TYPE_CHECKING:
    from etl.orderbook import EarlierRow

ALREADY = "already applied: "  # the summary's `already_applied` counts the rows so noted
# whose answer was lost, for a row found applied (`found_applied`; `etl.reconcile.Lost`)
LostAnswer = Literal["", "now", "unnamed", "before"]
LOST_NOW = "applied: Konnect's answer was lost; the look-up shows "
UNNAMED = "applied: Konnect's answer did not name this row; the look-up shows "
LOST_BEFORE = (
    "applied by an earlier attempt at this file, or before it (Konnect does not say which):"
    " the look-up shows "
)


def found_applied(feed: str, record: Record, order: Order, lost: LostAnswer = "") -> str:
    """What a row found applied says: what was checked, and where the order is now.
    `lost`: "" after a refusal of a replay ('already applied: Konnect shows AWB 7000000123
    (Delhivery) on this order, now bag_picked'); "now" when the answer to this run's own
    request was lost ('applied: Konnect's answer was lost; the look-up shows ...'), "unnamed"
    when its answer named some of the request's rows, not this one; "before"
    when it was an earlier attempt's at this file (a file resumed), which cannot be told from
    an earlier file's. An invoice refused as a replay is told that the order's invoice was
    taken once, for all its items: a row of an invoice split over two files is not on it."""
    state = order.get("state") or order.get("orderStatus") or "done"
    evidence = feed in ("awb", "invoice")
    if lost:
        shown = (_evidence if evidence else _checked)(feed, record, order)
        said = {"now": LOST_NOW, "unnamed": UNNAMED}.get(lost, LOST_BEFORE)
        return f"{said}{shown}, now {state}"
    if evidence:
        shown = f"Konnect shows {_evidence(feed, record, order)}, now {state}"
        return f"{ALREADY}{shown}{_invoiced_once(feed, record)}"
    return f"{ALREADY}{_checked(feed, record, order)}, Konnect shows this order as {state}"


def applied_before(feed: str, record: Record, order: Order, earlier: EarlierRow) -> str:
    """A row found applied that an earlier file of this inbox applied (`etl.orderbook`), its
    own answer lost or not: 'already applied: return_qc_1.csv (row 5, 27 Nov 2026 14:02)
    applied this row before; the look-up shows return QC taken, now return_bag_accepted'."""
    state = order.get("state") or order.get("orderStatus") or "done"
    shown = (_evidence if feed in ("awb", "invoice") else _checked)(feed, record, order)
    return f"{applied_by(earlier)}; the look-up shows {shown}, now {state}"


def applied_by(earlier: EarlierRow) -> str:
    """'already applied: return_qc_1.csv (row 5, 27 Nov 2026 14:02) applied this row before'."""
    when = local_time(earlier.applied_at)
    return f"{ALREADY}{earlier.file} (row {earlier.row}, {when}) applied this row before"


def qc_taken_without(earlier: EarlierRow, missing: list[str]) -> str:
    """A return QC naming items the QC an earlier file sent for the order did not: Konnect
    took that one, and takes one per order."""
    named = _pieces(earlier.record)
    return (
        f"not applied: Konnect took this order's return QC from {earlier.file} (row"
        f" {earlier.row}, {local_time(earlier.applied_at)}), which named {_and('item', named)}"
        f" only; Konnect takes one return QC per order, so {_and('item', missing)} cannot be"
        " added from a file: record it in Konnect"
    )


def qc_cannot_tell(unsure: list[str]) -> str:
    """Items in good condition Konnect shows no reason for, and no earlier file's QC known."""
    return (
        f"Konnect's order view cannot tell whether {_and('item', unsure)} "
        f"{'was' if len(unsure) == 1 else 'were'} in the return QC it took (it shows no reason,"
        " as for an item in good condition): check the order in Konnect"
    )


def _pieces(record: Record) -> list[str]:
    """'1100...-1 (1 piece)' for each item a return QC names."""
    return [f"{w.get('orderItemId')} ({_count(w.get('quantity'))})" for w in wanted_items(record)]


def _count(pieces: object) -> str:
    return count(pieces, "piece") if isinstance(pieces, int) else f"{pieces} pieces"


def _and(noun: str, names: list[str]) -> str:
    """'item A', 'items A and B', 'items A, B and C'."""
    if len(names) <= 1:
        return f"{noun} {''.join(names)}"
    return f"{noun}s {', '.join(names[:-1])} and {names[-1]}"


def _evidence(feed: str, record: Record, order: Order) -> str:
    """'AWB 7000000123 (Delhivery) on this order', 'invoice INV-7 on this order (...)'."""
    if feed == "awb":
        return _awb_shown(record, order)
    document = invoice_document(record, order)
    number = document.get("invoiceNumber") if isinstance(document, dict) else None
    kind = "credit note" if record.get("invoiceType") == "return" else "invoice"
    return f"{kind} {number or record.get('invoiceNumber')} on this order"


def _awb_shown(record: Record, order: Order) -> str:
    """'AWB 7000000123 (Delhivery) on this order' - or 'return AWB ...' - with the courier
    Konnect shows (ours where it shows none)."""
    wanted, forward, back = str(record.get("awbNumber")), order.get("awb"), order.get("returnAwb")
    on = isinstance(forward, dict) and str(forward.get("awbNumber")) == wanted
    shown = forward if on else back
    courier = (shown if isinstance(shown, dict) else {}).get("courierName")
    kind = "AWB" if on else "return AWB"
    return f"{kind} {wanted} ({courier or record.get('courierName')}) on this order"


def _invoiced_once(feed: str, record: Record) -> str:
    if feed != "invoice" or not record.get("orderItems"):
        return ""
    return (
        " (an order is invoiced once, with all its items: put every item of an order in the"
        " same invoice file)"
    )


def _checked(feed: str, record: Record, order: Order) -> str:
    """What the rule of a feed whose order state is its evidence found: 'status bag_picked
    reached', 'confirmed'..."""
    if feed == "status":
        return f"status {str(record.get('orderStatus') or '').lower()} reached"
    if feed == "cancel":
        whole = states_of(order) and states_of(order) <= set(ORDER_STATUSES["CANCELLED"])
        return "the order is cancelled" if whole else "the pieces asked for are cancelled"
    return _DONE.get(feed, "done")


_DONE = {"confirm": "confirmed", "pack": "packed", "dispatch": "dispatched",
         "return_qc": "return QC taken"}  # fmt: skip


def holds(feed: str, record: Record, order: Order) -> str:
    """What Konnect holds instead of what a refused row asked for, in words ("" if nothing
    to say): 'Konnect holds invoice number INV-9 for this order'."""
    if feed == "status":
        return _status_first(record, order) or _status_of_return(record, order)
    if feed == "return_qc":
        reasons = other_reasons(record, order)
        taken = f"Konnect's return QC of this order shows {'; '.join(reasons)}" if reasons else ""
        return _qc_refused(order, taken)
    if feed != "invoice":
        return ""
    document = invoice_document(record, order)
    held = document.get("invoiceNumber") if isinstance(document, dict) else None
    if held is None:
        return ""
    if str(held) == str(record.get("invoiceNumber")):
        lacks = invoice_lacks_of(record, order)
        return (
            f"Konnect took invoice {held} for this order earlier{_listed(lacks)}, and an order"
            " is invoiced once: items or serial numbers left out then cannot be added"
            f"{_fix_in_konnect(lacks)} - put every item of an order in the same invoice file"
        )
    if record.get("invoiceType") == "return":  # IN453 says "already has a credit note"
        return (
            f"{held} - an order takes one credit note, so there is nothing to send: delete this"
            f" row (if {held} is wrong, correct it in Konnect)"
        )
    return f"Konnect holds invoice number {held} for this order"


# PUT /oms/v3/shipment/status moves an order one step at a time [doc]: the status to send
# before a target, and the state from which that one is sent
_STATUS_BEFORE = {"delivery_done": "bag_picked", "rto_bag_delivered": "bag_picked",
                  "return_bag_delivered": "return_bag_in_transit"}  # fmt: skip
_STATUS_FROM = {"bag_picked": "dp_assigned", "return_bag_in_transit": "return_dp_assigned"}


def _status_first(record: Record, order: Order) -> str:
    """A status one step ahead of the order: which to send first ("" when that is not it)."""
    target = str(record.get("orderStatus") or "").lower()
    first = _STATUS_BEFORE.get(target)
    if first is None or states_of(order) != {_STATUS_FROM[first]}:
        return ""
    return (
        f"Konnect shows this order as {_STATUS_FROM[first]} - send {first} first, in a file of"
        f" its own, and {target} in a later file"
    )


def _listed(lacks: list[str]) -> str:
    """' (without package BAG2, without the IRN)'; '' when nothing is missing."""
    return f" ({', '.join(lacks)})" if lacks else ""


def _fix_in_konnect(lacks: list[str]) -> str:
    return ", nor anything corrected from a file: correct it in Konnect" if lacks else ""


# Where an order's return stands, for the words of a refused return QC or return status: no
# return at the store yet (forward, or a return on its way), or closed (QC taken, or after it
# the credit note).
_NOT_RETURNED = frozenset(FORWARD_STATES + RETURN_STATES[:3])
_CLOSED = frozenset({"return_bag_accepted", "rto_bag_accepted", "credit_note_generated"})
NOT_RETURNED = (
    "no return has reached the store for this order in Konnect (it shows {state}): check the"
    " order ID, or wait until the return is marked delivered (return_bag_delivered or"
    " rto_bag_delivered), then drop this errors file again"
)
ONE_QC = (
    "; a return QC is taken once per order: if that QC left an item out or has a wrong"
    " reason, correct it in Konnect (not from a file)"
)


def _qc_refused(order: Order, held: str) -> str:
    """A return QC refused as the order stands: no return at the store yet (check the order
    ID, or wait), or the return closed (what differs from the QC taken is corrected in
    Konnect); else what Konnect holds (`held`)."""
    states, state = states_of(order), _shown_state(order)
    if states and states <= _NOT_RETURNED:
        return NOT_RETURNED.format(state=state)
    if states and states <= _CLOSED:  # a QC refused there differs from the one taken
        return _closed(states, state, done_here=False) + (f"; {held}" if held else "") + ONE_QC
    return held


def _status_of_return(record: Record, order: Order) -> str:
    """A courier's status refused as the return stands: closed (a late update: nothing to
    send), or a customer-return status for an order that has no return ("" otherwise)."""
    states, state = states_of(order), _shown_state(order)
    if states and states <= _CLOSED:
        return _closed(states, state)
    target = str(record.get("orderStatus") or "").lower()
    if target != "return_bag_delivered" or not states or not states <= set(FORWARD_STATES):
        return ""
    if states == {"bag_picked"}:
        return (
            "Konnect shows this order still on its way to the customer (bag_picked): a parcel"
            " the courier brought back undelivered is an RTO - write rto_bag_delivered;"
            " otherwise check the order ID"
        )
    return (
        f"Konnect shows no return for this order (it shows {state}): check the order ID, or wait"
        " until the customer's return shows in Konnect, then drop this errors file again"
    )


def _closed(states: set[str], state: str, done_here: bool = True) -> str:
    """'the return is already closed in Konnect, its credit note issued (credit_note_...)',
    and, when nothing of the row is left to correct (`done_here`), that it can go."""
    done = "its credit note issued" if "credit_note_generated" in states else "its QC taken"
    said = f"the return is already closed in Konnect, {done} ({state})"
    return f"{said}: nothing to do, delete this row" if done_here else said


def _shown_state(order: Order) -> str:
    return str(order.get("state") or order.get("orderStatus") or "")  # as `found_applied`
