"""What the client and the emulator must agree on about Konnect, declared once.

Everything marked [ours] in `shared/konnect-api.md` (guesses where the docs are silent) lives
here, so one edit fixes both the client (`etl.client`) and the emulator (`etl.sandbox`) when
the truth is known. Neither of those imports the other; both import this module.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from etl.lookalike import look_alike_hint

Envelope = Literal["ims", "oms"]

TOKEN_PATH = "/aggregator/v1/token"
TOKEN_HEADER = "x-access-token"
# [ours] the token response field is undocumented: read the first of these that is present.
TOKEN_FIELDS = ("access_token", "token", "accessToken")
TOKEN_TTL_SECONDS = 55 * 60
ORDERS_PATH = "/oms/v3/shipment"
# [ours] GET /oms/v3/shipment paging: pages start at 1 (0 means 1); pageSize is 1..max.
ORDERS_PAGE_SIZE_DEFAULT = 20
ORDERS_PAGE_SIZE_MAX = 100

# Konnect `orderStatus` (what GET /oms/v3/shipment filters on) -> the Fynd states it covers.
ORDER_STATUSES: dict[str, tuple[str, ...]] = {
    "CREATED": ("placed", "store_reassigned"),
    "CONFIRMED": ("bag_confirmed",),
    "PROCESSING": ("bag_invoiced", "dp_assigned"),
    "COMPLETED": ("bag_packed",),
    "TRANSIT": ("bag_picked",),
    "DELIVERED": ("delivery_done",),
    "CANCELLED": ("cancelled_customer", "cancelled_fynd"),
    "RETURN_PROCESSING": ("return_initiated", "return_dp_assigned", "return_bag_in_transit"),
    "RETURN_DELIVERED": ("return_bag_delivered", "rto_bag_delivered"),
    "RETURN_COMPLETED": ("return_bag_accepted", "rto_bag_accepted"),
    "CREDIT_NOTE_GENERATED": ("credit_note_generated",),
}

# Values of order-feed fields that Konnect accepts [doc]; checked by us (etl.schemas) and the
# emulator alike.
INVOICE_TYPES = ("sale", "return")
# Cancel / return QC reason codes and what each means.
REASON_CODES: dict[str, str] = {
    "6": "out of stock",
    "7": "not as described",
    "8": "price mismatch",
    "9": "damaged",
    "NA": "store closed",
}
# `orderStatus` a self-ship order may be moved to (the status feed).
SELF_SHIP_STATUSES = (
    "bag_picked",
    "delivery_done",
    "return_bag_in_transit",
    "return_bag_delivered",
    "rto_bag_delivered",
)

# The forward path of a shipment [doc]; `etl.reconcile` reads "has the order got this far?".
FORWARD_STATES = (
    "placed",
    "bag_confirmed",
    "bag_invoiced",
    "dp_assigned",
    "bag_packed",
    "bag_picked",
    "delivery_done",
)
RETURN_STATES = (
    "return_initiated",
    "return_dp_assigned",
    "return_bag_in_transit",
    "return_bag_delivered",
    "return_bag_accepted",
    "credit_note_generated",
)
# The codes Konnect answers when an order action is sent again after it was applied:
# IN453, CR400, D400 [doc]; X409 is the emulator's "wrong state" [ours]. A refusal with one
# of these is checked against the order before it is reported (`etl.reconcile`).
REPLAY_CODES: dict[str, frozenset[str]] = {
    "confirm": frozenset({"X409"}),
    "invoice": frozenset({"IN453"}),
    "awb": frozenset({"X409"}),
    "status": frozenset({"X409"}),
    "cancel": frozenset({"X409"}),
    "pack": frozenset({"CR400"}),
    "dispatch": frozenset({"D400"}),
    "return_qc": frozenset({"X409"}),
}

NAMED_ENVIRONMENTS = {
    "fyndkonnect-uat": "https://fyndkonnect.konnect.uat.fyndx1.de/",
    "ginesys-uat": "https://ginesys.konnect.uat.fyndx1.de/",
    "unicommerce-uat": "https://unicommerce.konnect.uat.fyndx1.de/",
}


@dataclass(frozen=True)
class Endpoint:
    """One Konnect call: where it goes, how many records it takes, how it answers."""

    method: str
    path: str
    limit: int
    envelope: Envelope
    # [ours] the keys that identify a record inside an `errors` entry
    key_fields: tuple[str, ...]


ENDPOINTS: dict[str, Endpoint] = {
    "inventory": Endpoint("PUT", "/ims/v3/inventory", 500, "ims", ("location_id", "sku")),
    "price": Endpoint("PUT", "/ims/v3/price", 500, "ims", ("location_id", "sku")),
    "invoice": Endpoint("POST", "/oms/v3/shipment/invoiceUpdate", 20, "oms", ("orderId",)),
    "awb": Endpoint("PUT", "/oms/v3/shipment/awb", 20, "ims", ("orderId",)),
    "status": Endpoint("PUT", "/oms/v3/shipment/status", 20, "ims", ("orderId",)),
    "cancel": Endpoint("POST", "/oms/v3/shipment/cancel", 20, "oms", ("orderId",)),
    "confirm": Endpoint("POST", "/oms/v3/shipment/confirm", 20, "oms", ("orderId",)),
    "pack": Endpoint("POST", "/oms/v3/shipment/pack", 20, "oms", ("orderId",)),
    "dispatch": Endpoint("POST", "/oms/v3/shipment/dispatch", 20, "oms", ("orderId",)),
    "return_qc": Endpoint("POST", "/oms/v3/shipment/return", 20, "oms", ("orderId",)),
    "courier_details": Endpoint("POST", "/oms/v3/shipment/courierDetails", 20, "oms", ("orderId",)),
    "labels": Endpoint("POST", "/oms/v3/shipment/labels", 20, "oms", ("orderId",)),
    "invoice_pdf": Endpoint("POST", "/oms/v3/shipment/invoice", 20, "oms", ("orderId",)),
}


def record_key(endpoint: Endpoint, record: dict[str, Any]) -> str:
    """The key a record is known by in errors and in the emulator's ledger.

    `location_id|sku` for inventory/price, the `orderId` otherwise.
    """
    return "|".join(str(record.get(f, "")) for f in endpoint.key_fields)


def error_entry(
    endpoint: Endpoint, index: int, record: dict[str, Any], code: str, message: str
) -> dict[str, Any]:
    """[ours] One entry of an `errors` array: the record's index, its key fields, code, text."""
    entry: dict[str, Any] = {"index": index}
    for f in endpoint.key_fields:
        entry[f] = record.get(f)
    entry["code"] = code
    entry["message"] = message
    return entry


def ims_envelope(
    payload_count: int, errors: list[dict[str, Any]], ack_id: str, time: str
) -> dict[str, Any]:
    """IMS-style answer (inventory, price, awb, status) [doc]."""
    failed = len(errors)
    return {
        "data": {
            "payload_count": payload_count,
            "success_count": payload_count - failed,
            "failed_count": failed,
            "errors": errors,
        },
        "meta": {
            "ack_id": ack_id,
            "integrationId": "konnect-etl",
            "time": time,
            "status": "SUCCESS",
        },
    }


def oms_envelope(payload_count: int, errors: list[dict[str, Any]]) -> dict[str, Any]:
    """OMS-style answer (cancel, confirm, invoiceUpdate, pack, dispatch, return) [doc]."""
    failed = len(errors)
    status = "SUCCESS" if failed == 0 else ("FAILED" if failed == payload_count else "PARTIAL")
    return {
        "payloadCount": payload_count,
        "successCount": payload_count - failed,
        "failedCount": failed,
        "status": status,
        "errors": errors,
    }


# Plain explanations of Konnect's documented error codes, for the report's message column.
# Codes starting with "X" are [ours]: the emulator's per-record checks for IMS records.
CODE_EXPLANATIONS: dict[str, str] = {
    "O400": "this order is cancelled and cannot be confirmed",
    "O422": "this order does not belong to this location",
    "IN400": "wrong location or unknown order item for this order",
    "IN401": "this order is cancelled and cannot be invoiced",
    "IN403": "the order must be confirmed before it can be invoiced",
    "IN422": "the invoice number or invoice type breaks Konnect's rules",
    "IN453": "this order is already invoiced",
    "CR400": "pack is only possible once the order is invoiced and Konnect has assigned its"
    " courier (invoice it first)",
    "CR401": "this order is cancelled and cannot be packed",
    "CR422": "this order does not belong to this location",
    "D400": "dispatch is only possible once the order is packed",
    "D401": "this order is cancelled and cannot be dispatched",
    "D422": "this order does not belong to this location",
    "C400": "this order does not belong to this location",
    "L403": "label requested before the order was packed",
    "L400": "this order does not belong to this location",
    "X404SKU": "Konnect does not know this SKU",
    "X404LOC": "Konnect does not know this location",
    "X404ORD": "Konnect does not know this order: check its order ID (a typo, or an order of"
    " another store, location or channel); the file's other orders are not affected",
    "X422": "Konnect refused the value",
    "X409": "the order is not in a state that allows this action",
    "X400": "Konnect could not read the request",
    "X413": "too many records in one request",
}


# The same codes from the label and invoice PDF endpoints mean something else [doc].
DOCUMENT_EXPLANATIONS: dict[str, str] = {
    "IN403": "the invoice PDF is ready once the order is packed",
    "IN400": "this order does not belong to this location",
}


# The canonical fields a refusal code points at: the reports highlight the cells they were
# read from (those the feed has), with the explanation as the cell's comment. [ours] where
# the docs name no field: an unknown item (IN400) is in the item's cell; a cancelled order,
# one of another location or in the wrong state is found by its orderId. A code that is not
# listed (codes we do not know) points at no cell of its own: on an order feed the orderId is
# marked (`etl.refusals`), elsewhere only the row. A whole request refused marks no cell.
CODE_FIELDS: dict[str, tuple[str, ...]] = {
    "X404SKU": ("sku",),
    "X404LOC": ("location_id",),
    "X404ORD": ("orderId",),
    "X422": ("esp", "mrp"),  # the emulator's price refusals: mrp/esp <= 0, esp above mrp
    "X409": ("orderId",),
    **dict.fromkeys(("O400", "O422", "IN401", "IN403", "IN453"), ("orderId",)),
    **dict.fromkeys(("CR400", "CR401", "CR422", "D400", "D401", "D422"), ("orderId",)),
    **dict.fromkeys(("C400", "L400", "L403"), ("orderId",)),
    "IN400": ("orderItemId",),
    "IN422": ("invoiceNumber",),
}
# [ours] Konnect's words that name the field at fault better than its code does (an X422 of a
# return QC is about an item or a quantity, not a price): tried first, in this order.
MESSAGE_FIELDS: tuple[tuple[str, str], ...] = (
    ("has no item", "orderItemId"),
    ("quantity must be", "quantity"),
    ("more items cancelled", "quantity"),
    ("reasonCode must be", "reasonCode"),
    ("invoiceType must be", "invoiceType"),
    ("needs an accepted return", "orderId"),  # the order's state, not the credit note number
)
DATE_LOOK = r"(?i)\d{1,2}-[a-z]{3}(?:-\d{2,4})?|[a-z]{3}-\d{2,4}"  # 1-Mar, 01-Mar-26, Mar-01
DATE_HINT = (
    "Excel may have turned this code into a date (MAR-01 is saved as 1-Mar): format the "
    "column as Text and export again"
)
LOST_ZEROS_HINT = (
    "if the SKU had leading zeros in your ERP (e.g. 00012345), Excel (or LibreOffice) may have"
    " removed them: format the column as Text and export again"
)


# Codes whose explanation names only the kind of refusal: Konnect's own words say which value
# (`item ...-2: quantity must be 1..2, got 5`), so they are kept after ours.
SAYS_WHICH = frozenset({"X422", "X409", "X400", "IN400", "IN422", "IN453"})


# [ours] A code whose general explanation misleads for some of Konnect's words: what they
# mean instead (an IN400 about a quantity is no unknown item).
SAID_INSTEAD: dict[str, tuple[tuple[str, str], ...]] = {
    "IN400": (("quantity must be", "wrong quantity for an item of this order"),),
    "IN422": (("needs an accepted return", "a credit note needs the return QC taken first"),),
    "IN453": (("credit note", "this order already has a credit note"),),
}
# [ours] the emulator's words for a credit note sent before the return QC: what to do next
EARLY_CREDIT_NOTE = re.compile(r"needs an accepted return; order is ((return|rto)_bag_delivered)")
TAKE_QC_FIRST = (
    "the {0} has reached the store, but its QC is not taken yet in Konnect ({1}): take the {0}"
    " QC first (a return_qc file), then drop this errors file again"
)


def explain(code: str, message: str = "", *, document: bool = False) -> str:
    """'IN453 - this order is already invoiced' (falls back to Konnect's own message); for
    a code in SAYS_WHICH Konnect's message follows: 'X422 - Konnect refused the value:
    esp 120 is above mrp 100'. `document`: the code came from a label/invoice PDF request.
    Some of Konnect's words change the explanation (`SAID_INSTEAD`) or say what to do next
    (a credit note before its return QC: take the QC first)."""
    meanings = {**CODE_EXPLANATIONS, **DOCUMENT_EXPLANATIONS} if document else CODE_EXPLANATIONS
    said = () if document else SAID_INSTEAD.get(code, ())
    plain = next((instead for part, instead in said if part in message), None)
    plain = plain or meanings.get(code) or message or "refused by Konnect"
    if code == "IN422" and (early := EARLY_CREDIT_NOTE.search(message)):
        message = TAKE_QC_FIRST.format("RTO" if early[2] == "rto" else "return", early[1])
    if code in SAYS_WHICH and message and message.casefold() not in plain.casefold():
        plain = f"{plain}: {message}"
    return f"{code} - {plain}" if code else plain


def refusal_hint(code: str, sku: object) -> str:
    """What may have caused a refusal, when the value says so ("" otherwise): a SKU that
    Konnect does not know has often lost its leading zeros in Excel (all digits), been
    turned into a date (`MAR-01` saved as `1-Mar`), got a dash or quote that only looks
    like the usual one (`etl.lookalike`), or was typed in small letters."""
    if code != "X404SKU" or not isinstance(sku, str):
        return ""
    if not sku.isascii():
        return look_alike_hint(sku)
    if sku.isdigit():
        return LOST_ZEROS_HINT
    if re.fullmatch(DATE_LOOK, sku):
        return DATE_HINT
    if sku != sku.upper():  # `cap-red` typed for CAP-RED
        return (
            f"Konnect tells codes apart by case and this SKU has small letters; if the SKU is"
            f" {sku.upper()}, type it so"
        )
    return ""
