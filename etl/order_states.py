"""Has an order action already taken effect? One rule per feed, read off the order as
GET /oms/v3/shipment shows it (`etl.reconcile` asks before it sends anything again).

The rules look at the Fynd `state` (or, without it, every Fynd state the Konnect
`orderStatus` may stand for) and, where Konnect keeps it, the action's own evidence: the
invoice or credit-note number (and the bags with their sizes, IRN, ack number and date sent
with it), the AWB number and courier, the items' cancelled quantities, and that the items we
name are the order's (with at least our quantity not cancelled). An order that has moved
further counts as done (a confirmed order that is now packed was confirmed) when it did so on
every way it may have gone (`_reached`); what the listing does not show cannot tell (None).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from etl.invoice_held import invoice_lacks, unshown
from etl.konnect import FORWARD_STATES, ORDER_STATUSES, REASON_CODES, RETURN_STATES

Record = dict[str, Any]
Order = dict[str, Any]


def states_of(order: Order) -> set[str]:
    """The order's Fynd state, or every Fynd state its Konnect `orderStatus` may stand for."""
    state = order.get("state")
    if isinstance(state, str) and state:
        return {state.lower()}
    return set(ORDER_STATUSES.get(str(order.get("orderStatus") or "").upper(), ()))


# Every way an order can go [doc: konnect-api.md "Status model", status / awb / return QC]:
# forward; forward then a customer return; forward to bag_picked then RTO. A self-ship order
# may skip bag_packed (dp_assigned -> bag_picked by the status feed or AWB autoDispatch), and
# both an accepted return and an accepted RTO end in credit_note_generated.
_RTO = ("rto_bag_delivered", "rto_bag_accepted", "credit_note_generated")
_PICKED = FORWARD_STATES.index("bag_picked") + 1
_PATHS = (
    FORWARD_STATES + RETURN_STATES,
    FORWARD_STATES[:_PICKED] + _RTO,
)
_UNPACKED = tuple(tuple(s for s in p if s != "bag_packed") for p in _PATHS)


def _paths(order: Order) -> tuple[tuple[str, ...], ...]:
    """The ways this order may have gone: without bag_packed only for a self-ship order (or
    one whose listing does not say)."""
    ship = order.get("is_self_ship")
    return _PATHS if ship is False else _PATHS + _UNPACKED


def _reached(order: Order, *targets: str) -> bool | None:
    """Has the order passed through one of `targets`? True when on every way to its state
    (every state its `orderStatus` may stand for) it did, False when on none, None when
    that depends on which way it went (a credit note after an RTO or after a return)."""
    answers = set()
    for state in states_of(order):
        for path in _paths(order):
            if state in path:
                answers.add(any(t in path[: path.index(state) + 1] for t in targets))
    if not answers:
        return False  # cancelled, reassigned, unknown: on no way past anything
    return answers.pop() if len(answers) == 1 else None


def _same(document: Any, name: str, value: Any) -> bool:
    """The order's copy of a field matches ours (an answer without it cannot contradict us)."""
    if not isinstance(document, dict) or document.get(name) is None:
        return True
    return str(document[name]) == str(value)


def _invoiced(record: Record, order: Order) -> bool | None:
    """Done when the order is invoiced with our number and holds what we sent: items,
    serials, packages, IRN, ack number and date... (`etl.invoice_held`); None when it is
    invoiced with our number but shows no key for a field we sent (cannot tell)."""
    number, document = record.get("invoiceNumber"), invoice_document(record, order)
    if record.get("invoiceType") == "return":
        done = _reached(order, "credit_note_generated") is True
    else:
        done = _reached(order, "bag_invoiced") is True and _items_fit(record, order)
        done = done and _serials_kept(record, order)
    if not (done and _same(document, "invoiceNumber", number)):
        return False
    if invoice_lacks_of(record, order, shown_only=True):
        return False
    if not isinstance(document, dict) or document.get("invoiceNumber") is None:
        return None  # under which number? unknown, never resent (an order is invoiced once)
    return None if unshown(_sent(record), document, order) else True


def invoice_document(record: Record, order: Order) -> Any:
    """The order's invoice, or its credit note for a `return` record."""
    return order.get("creditNote" if record.get("invoiceType") == "return" else "invoice")


def invoice_lacks_of(record: Record, order: Order, shown_only: bool = False) -> list[str]:
    return invoice_lacks(
        _sent(record), invoice_document(record, order), order, shown_only=shown_only
    )


def _sent(record: Record) -> Record:
    """The invoice record as Konnect keeps it: a credit note has no bags."""
    if record.get("invoiceType") != "return":
        return record
    return {k: v for k, v in record.items() if k != "packages"}


def _serials_kept(record: Record, order: Order) -> bool:
    """Every IMEI/serial we sent for an item is on that item in Konnect (where it shows
    them): the same invoice number sent again for an item left out the first time is not
    'already applied' - its serials never arrived."""
    items = {str(i.get("orderItemId")): i for i in order.get("items") or [] if isinstance(i, dict)}
    for wanted in record.get("orderItems") or []:
        if not isinstance(wanted, dict) or not wanted.get("imeiSerialNumber"):
            continue
        kept = items.get(str(wanted.get("orderItemId")), {}).get("imeiSerialNumber")
        sent = {str(s) for s in wanted["imeiSerialNumber"]}
        if kept is not None and not sent <= {str(s) for s in kept}:
            return False
    return True


def _items_fit(record: Record, order: Order) -> bool:
    """Every item we name is an item of the order with at least the quantity we give (where
    Konnect lists the items): a row with a wrong item id or quantity on an order that moved
    on anyway is not 'already applied' - Konnect never took that row."""
    listed = order.get("items")
    if not isinstance(listed, list):
        return True
    items = {str(i.get("orderItemId")): i for i in listed if isinstance(i, dict)}
    for wanted in record.get("orderItems") or []:
        if not isinstance(wanted, dict):
            continue
        item = items.get(str(wanted.get("orderItemId")))
        if item is None:
            return False
        has = _number(item.get("quantity"))
        gone = _number(item.get("cancelledQuantity")) or 0  # cancelled pieces are not there
        if has is not None and (_number(wanted.get("quantity")) or 0) > has - gone:
            return False
    return True


def _number(value: Any) -> float | None:
    """A quantity as Konnect may send it (2, 2.0, "2"); None when it is not a number."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _with_items(
    done: Callable[[Record, Order], bool | None],
) -> Callable[[Record, Order], bool | None]:
    def reached(record: Record, order: Order) -> bool | None:
        answer = done(record, order)
        return False if answer is False or not _items_fit(record, order) else answer

    return reached


def _awb_set(record: Record, order: Order) -> bool | None:
    """This AWB is on the order - and, with `autoDispatch`, the order was handed over too: the
    morning's manifest set the AWB, the evening's same AWB with autoDispatch must still pick
    it up (`dp_assigned` -> `bag_picked`), or the courier's handover is lost as "done"."""
    wanted = str(record.get("awbNumber"))
    forward = order.get("awb")
    if _holds_awb(forward, wanted, record):
        return record.get("autoDispatch") is not True or _reached(order, "bag_picked")
    back = order.get("returnAwb")  # a return's AWB: autoDispatch moves only forward orders
    return _holds_awb(back, wanted, record)


def _holds_awb(awb: Any, number: str, record: Record) -> bool:
    """`awb` is ours: the number, and the courier where Konnect shows one. A corrected courier
    name with the same AWB is not applied, so sent again: harmless, PUT /awb replaces the AWB
    (and, past dp_assigned, is refused)."""
    if not isinstance(awb, dict) or str(awb.get("awbNumber")) != number:
        return False
    held, sent = awb.get("courierName"), record.get("courierName")
    return held is None or sent is None or _words(held) == _words(sent)


def _words(value: Any) -> str:
    return " ".join(str(value).split()).casefold()


def _status_reached(record: Record, order: Order) -> bool | None:
    """The order passed through the status on every way to where it is. None when the way
    decides (a credit note reached by RTO never had `return_bag_delivered`): unknown, never
    resent - safe, as a status resent is refused, never applied twice (no move back)."""
    return _reached(order, str(record.get("orderStatus") or "").lower())


def _cancelled(record: Record, order: Order) -> bool | None:
    """Done when the order, or every item asked for, is wholly cancelled; not done when every
    item has fewer cancelled than we asked; else Konnect's order cannot tell: an item
    cancelled enough, but not wholly, looks just the same after an earlier partial cancel of
    it, and when only some items are short the record cannot be sent again either (it would
    cancel one more piece of the others: a row added to an order already sent, say).
    `cancel_moved` tells them apart when the order was looked at just before the send."""
    states = states_of(order)
    if states and states <= set(ORDER_STATUSES["CANCELLED"]):
        return True
    wanted = wanted_items(record)
    if not wanted:
        return False
    found = [_item(order, w) for w in wanted]  # {}: not listed, none of it cancelled
    shown = [_number(i.get("cancelledQuantity")) if i else 0.0 for i in found]
    if not isinstance(order.get("items"), list) or None in shown:
        return None  # cancelled pieces not shown: unknown, never resent (a second piece would go)
    cancelled = [c or 0.0 for c in shown]
    short = [c < _wanted_pieces(w) for c, w in zip(cancelled, wanted, strict=True)]
    if all(short):
        return False
    if any(short):
        return None
    sizes = [_number(i.get("quantity")) for i in found]
    whole = all(s is not None and c >= s for c, s in zip(cancelled, sizes, strict=True))
    return True if whole else None  # pieces not shown: unknown, not "ok" on a guess


def _wanted_pieces(wanted: dict[str, Any]) -> float:
    return _number(wanted.get("quantity")) or 0


def wanted_items(record: Record) -> list[dict[str, Any]]:
    """The items a record names (`orderItems`), each a dict."""
    return [w for w in record.get("orderItems") or [] if isinstance(w, dict)]


def _item(order: Order, wanted: dict[str, Any]) -> dict[str, Any]:
    """The order's item that `wanted` names ({} if it has none)."""
    key = str(wanted.get("orderItemId"))
    items = (i for i in order.get("items") or [] if isinstance(i, dict))
    return next((i for i in items if str(i.get("orderItemId")) == key), {})


def cancel_moved(record: Record, before: Order, after: Order) -> bool | None:
    """`_cancelled`, knowing the order as Konnect showed it just before the cancel was sent
    (`before`): what it cannot tell is told by how far each item's cancelled pieces moved
    since - every item by at least what we asked: done; none at all: not done (safe to send
    again); anything else: still None. (Another cancel of the same item in those seconds,
    from a person or a marketplace, would be taken for ours.)"""
    reached = _cancelled(record, after)
    if reached is not None:
        return reached
    moved, asked = [], []
    for wanted in wanted_items(record):
        counts = [_number(_item(o, wanted).get("cancelledQuantity")) for o in (before, after)]
        if counts[0] is None or counts[1] is None:
            return None  # not shown: how far it moved cannot be told (never resent)
        moved.append(counts[1] - counts[0])
        asked.append(_wanted_pieces(wanted))
    if all(m >= a for m, a in zip(moved, asked, strict=True)):
        return True
    return False if not any(moved) else None


def _qc_done(record: Record, order: Order) -> bool | None:
    """The order's return is accepted, holding our reasons. An item in good condition looks
    the same as one the QC taken left out (no reason either way): `qc_unsure` names them,
    and `etl.reconcile` asks the order-row book before it calls such a row applied."""
    accepted = _reached(order, "return_bag_accepted", "rto_bag_accepted")
    if not accepted or other_reasons(record, order) or _qc_of_others(record, order):
        return False if accepted is not None else None
    return None if _reasons_unshown(record, order) else True  # None: a 2nd QC is refused anyway


def qc_unsure(record: Record, order: Order) -> list[str]:
    """The items we name in good condition (no reason) that Konnect shows no reason for: QC'd
    in good condition, or not in the one return QC it took for the order - its order view
    cannot tell. Not on an order of one item of one piece: the QC taken must have named it."""
    listed = [i for i in order.get("items") or [] if isinstance(i, dict)]
    if len(listed) == 1 and _number(listed[0].get("quantity")) == 1:
        return []
    return [
        str(w.get("orderItemId"))
        for w in wanted_items(record)
        if w.get("reasonCode") in (None, "") and not _item(order, w).get("returnReasonCode")
    ]


def _qc_of_others(record: Record, order: Order) -> bool:
    """An item we do not name holds a QC reason: the QC Konnect took named it, so it was not
    this record (a return QC is taken once per order: the second is refused)."""
    named = {str(w.get("orderItemId")) for w in wanted_items(record)}
    return any(
        isinstance(i, dict) and str(i.get("orderItemId")) not in named and i.get("returnReasonCode")
        for i in order.get("items") or []
    )


def _reasons_unshown(record: Record, order: Order) -> bool:
    """We send a reason for an item Konnect shows no `returnReasonCode` key for: cannot
    tell whether it holds ours (as `invoice_held.unshown`)."""
    return any(
        w.get("reasonCode") not in (None, "") and "returnReasonCode" not in _item(order, w)
        for w in wanted_items(record)
    )


# an item Konnect shows no return reason for (`other_reasons`)
NO_REASON = "no reason shown (it was in good condition, or not in the QC Konnect took)"


def other_reasons(record: Record, order: Order) -> list[str]:
    """'item X: reason 'A'' for each item we name whose return QC Konnect keeps with another
    reason: a corrected reason sent after the QC was taken is refused, not 'already applied' -
    Konnect still holds the first one. No reason shown is good condition, or an item the QC
    taken did not name: Konnect's order view cannot tell them apart, and the words say so."""
    items = {str(i.get("orderItemId")): i for i in order.get("items") or [] if isinstance(i, dict)}
    held = []
    for wanted in record.get("orderItems") or []:
        item = items.get(str(wanted.get("orderItemId")) if isinstance(wanted, dict) else "")
        if item is None or "returnReasonCode" not in item:
            continue
        kept = str(item["returnReasonCode"] or "")
        if kept != str(wanted.get("reasonCode") or ""):
            meaning = f" ({REASON_CODES[kept]})" if kept in REASON_CODES else ""
            shown = f"reason {kept}{meaning}" if kept else NO_REASON
            held.append(f"item {wanted.get('orderItemId')}: {shown}")
    return held


# True: the action has taken effect; False: it has not (safe to send again); None: the order
# as Konnect shows it cannot tell - never sent again, the rows stay `unknown`.
REACHED: dict[str, Callable[[Record, Order], bool | None]] = {
    "confirm": _with_items(lambda record, order: _reached(order, "bag_confirmed")),
    "invoice": _invoiced,
    "awb": _awb_set,
    "status": _status_reached,
    "cancel": _cancelled,
    # None once a self-ship order is handed over: it may have skipped packing (a resend is refused)
    "pack": lambda record, order: _reached(order, "bag_packed"),
    "dispatch": _with_items(lambda record, order: _reached(order, "bag_picked")),
    "return_qc": _with_items(_qc_done),
}
ORDER_FEEDS = frozenset(REACHED)
