"""What of an invoice record Konnect's order does not show, in words.

An order is invoiced once: Konnect refuses a second invoiceUpdate (IN453), so the same
invoice number sent again with a bag, a corrected package size or weight, an IRN or a
corrected ack date it did not have is not
'already applied' - none of it arrived. A genuine replay (the same file twice, a resumed
crash) shows every field as we sent it, so it still reads as done.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from etl.flatten import IST

Record = dict[str, Any]
Order = dict[str, Any]

# The order-level fields of an invoice record, and how the user's register names them.
FIELDS = {
    "irnNumber": "the IRN",
    "ackNumber": "the ack number",
    "ackDate": "the ack date",
    "invoiceQrCode": "the QR code",
    "signedInvoice": "the signed invoice",
}
# The sizes of a package, as the register names them.
PACKAGE_WORDS = {
    "packageLengthCm": "length {} cm",
    "packageWidthCm": "width {} cm",
    "packageHeightCm": "height {} cm",
    "packageWeightGms": "weight {} g",
}


def invoice_lacks(
    record: Record, document: Any, order: Order, *, shown_only: bool = False
) -> list[str]:
    """'without package BAG2', 'without the IRN', 'with ack date 06-01-2026 11:00'... for
    each thing `record` sends that Konnect's `document` (its invoice or credit note) or the
    order's packages do not hold; `shown_only`: only of fields the document has a key for
    (`unshown` tells of the others). A document Konnect does not show at all cannot tell."""
    if not isinstance(document, dict):
        return []
    lacks = [f"without package {p}" for p in _packages_missing(record, order)]
    lacks += _packages_changed(record, order, shown_only)
    for name, words in FIELDS.items():
        sent = record.get(name)
        if sent is None or sent == "" or (shown_only and name not in document):
            continue
        held = document.get(name)
        if held is None or held == "":
            lacks.append(f"without {words}")
        elif not _equal(name, held, sent):
            lacks.append(f"with {words.removeprefix('the ')} {_shown(name, held)}")
    return lacks


def unshown(record: Record, document: Any, order: Order) -> bool:
    """Whether `record` sends a field Konnect's `document` (or the order's packages) shows no
    key for at all: whether it holds it cannot be told (Konnect's order listing is not
    documented to show every field), so an answer lost is not taken for applied nor for
    refused - looked at by hand."""
    if not isinstance(document, dict):
        return False
    sent = [name for name in FIELDS if record.get(name) not in (None, "")]
    if record.get("packages") and not isinstance(order.get("packages"), list):
        return True
    sizes = _sizes_sent(record, order)
    return any(name not in document for name in sent) or any(n not in k for _, n, _, k in sizes)


def _packages_missing(record: Record, order: Order) -> list[str]:
    """The packageIds we send that the order does not list (when it lists packages)."""
    listed = order.get("packages")
    if not isinstance(listed, list):
        return []
    held = {str(p.get("packageId")) for p in listed if isinstance(p, dict)}
    sent = [p.get("packageId") for p in record.get("packages") or [] if isinstance(p, dict)]
    return [str(p) for p in sent if p is not None and str(p) not in held]


def _packages_changed(record: Record, order: Order, shown_only: bool) -> list[str]:
    """'with package BAG1 weight 500 g', 'with package BAG1 without weight' for each size we
    send of a package Konnect lists, that it holds with another value or none; `shown_only`:
    only of sizes it shows a key for."""
    changed = []
    for package, name, ours, kept in _sizes_sent(record, order):
        theirs = kept.get(name)
        if shown_only and name not in kept:
            continue
        if theirs is None or theirs == "":
            changed.append(f"with package {package} without {PACKAGE_WORDS[name].split()[0]}")
        elif _size(theirs) != _size(ours):
            changed.append(f"with package {package} {PACKAGE_WORDS[name].format(theirs)}")
    return changed


def _sizes_sent(record: Record, order: Order) -> list[tuple[str, str, Any, dict[str, Any]]]:
    """(packageId, size name, our value, Konnect's package) for each size we send of a
    package the order lists."""
    listed = order.get("packages")
    held = {str(p.get("packageId")): p for p in listed or [] if isinstance(p, dict)}
    sizes = []
    for sent in record.get("packages") or []:
        kept = held.get(str(sent.get("packageId"))) if isinstance(sent, dict) else None
        for name in PACKAGE_WORDS:
            if kept is not None and sent.get(name) not in (None, ""):
                sizes.append((str(sent["packageId"]), name, sent[name], kept))
    return sizes


def _size(value: Any) -> Any:
    try:
        return float(value)
    except (TypeError, ValueError):
        return str(value)


def _equal(name: str, held: Any, sent: Any) -> bool:
    if name == "ackDate":
        when = _when(held), _when(sent)
        if when[0] is not None and when[1] is not None:
            return when[0] == when[1]
    return str(held) == str(sent)


def _when(value: Any) -> datetime | None:
    """An ack date as Konnect may show it ('2026-01-06 11:00:00', ISO with or without a
    zone), as IST wall-clock time; None when it is none of these."""
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return moment.astimezone(IST).replace(tzinfo=None) if moment.tzinfo else moment


def _shown(name: str, held: Any) -> str:
    """Konnect's value the way the register writes it (an ack date day first)."""
    when = _when(held) if name == "ackDate" else None
    if when is None:
        return f"'{held}'"
    return f"{when:%d-%m-%Y}" if (when.hour, when.minute) == (0, 0) else f"{when:%d-%m-%Y %H:%M}"
