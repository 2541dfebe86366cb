"""Checks that span the rows of one order, for feeds that send one record per order.

An order is sent whole or not at all: order-level fields (invoice number, type...) must agree
on all its rows, package sizes must agree on all rows of one package, an invoice number
belongs to one order, an invoice's item and package cells come with the ID that says whose
they are (and an item with its quantity), and when any row of an order has a problem the
order's other rows are rejected too (`etl.wholeorder`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt
import pandas as pd

from etl.duplicates import key_codes
from etl.feeds import INVOICE_FIELDS, PACKAGE_FIELDS, Feed
from etl.findings import Finding, cell_text
from etl.model import IntArray
from etl.wholeorder import rest_of_order
from etl.wording import label

BoolArray = npt.NDArray[np.bool_]
ORDER_FIELDS: dict[str, tuple[str, ...]] = {"invoice": INVOICE_FIELDS}


def order_findings(
    feed: Feed,
    work: pd.DataFrame,
    bad: BoolArray,
    rows: IntArray,
    unread: Mapping[str, BoolArray] | None = None,
) -> list[Finding]:
    """Conflicting order/package fields, then the rows of orders that cannot be sent whole.
    `unread[field]`: rows whose cell of `field` could not be read (already reported): left out
    of the comparison, or the good rows would be told they disagree with an empty cell."""
    if not feed.grouped:
        return []
    unread = unread or {}
    lost = unread.get("orderId")
    if lost is not None and (lost := lost & work["orderId"].notna().to_numpy(bool)).any():
        return _without_lost_ids(feed, work, bad, rows, unread, lost)
    found = _conflicts(work, ("orderId",), ORDER_FIELDS.get(feed.name, ()), rows, unread)
    if feed.name == "invoice":
        found += _numbers_on_two_orders(work, rows, "invoiceNumber", INVOICE_SHARED)
        found += _partnerless_cells(work, ~bad)
        found += _serials_per_piece(work, ~bad)
    if "packageId" in feed.columns:
        found += _conflicts(work, ("orderId", "packageId"), PACKAGE_FIELDS, rows, unread)
    broken = bad.copy()
    broken[[f.index for f in found]] = True
    return found + rest_of_order(work, broken, rows, invoice=feed.name == "invoice")


def _without_lost_ids(
    feed: Feed,
    work: pd.DataFrame,
    bad: BoolArray,
    rows: IntArray,
    unread: Mapping[str, BoolArray],
    lost: BoolArray,
) -> list[Finding]:
    """`order_findings` over the rows whose order ID could be read. An ID a spreadsheet
    damaged (`4E+19`, 15 digits kept) names no order: many orders read as one, and each of
    their rows would be told it disagrees with the others' invoice numbers. Its own finding
    is all such a row gets (the file's warnings say it once: `etl.damage.shortened_note`).
    But an invoice number on a damaged row and on a readable one is one order's, likely: the
    readable rows are not sent without the rest of their invoice (its number would be used)."""
    shared: list[Finding] = []
    if feed.name == "invoice":
        shared = _numbers_on_two_orders(work, rows, "invoiceNumber", INVOICE_SHARED)
        bad = bad.copy()
        bad[[f.index for f in shared]] = True
    keep = np.flatnonzero(~lost)
    kept = {f: mask[keep] for f, mask in unread.items()}
    part = work.iloc[keep].reset_index(drop=True)
    found = order_findings(feed, part, bad[keep], rows[keep], kept)
    return shared + [replace(f, index=int(keep[f.index])) for f in found]


def _conflicts(
    work: pd.DataFrame,
    keys: tuple[str, ...],
    fields: tuple[str, ...],
    rows: IntArray,
    unread: Mapping[str, BoolArray],
) -> list[Finding]:
    if not fields:
        return []
    codes = pd.Series(key_codes(work, keys))
    present = (codes >= 0).to_numpy()
    groups = codes[present].to_numpy()
    frame = _without_unread(work.loc[present, list(fields)], groups, unread, present)
    distinct = frame.groupby(groups).nunique(dropna=False)
    found: list[Finding] = []
    for code, counts in distinct[distinct.gt(1).any(axis=1)].iterrows():
        members = np.flatnonzero(codes.to_numpy() == code)
        for field in counts[counts > 1].index:
            found += _disagree(work, members, str(field), rows, keys)
    return found


def _without_unread(
    frame: pd.DataFrame, groups: IntArray, unread: Mapping[str, BoolArray], present: BoolArray
) -> pd.DataFrame:
    """`frame` with each unread cell left out of the comparison: it takes the first read
    value of its group (and stays empty in a group with none)."""
    empty = np.zeros(len(present), dtype=bool)
    gone = pd.DataFrame(
        {f: unread.get(str(f), empty)[present] for f in frame.columns}, index=frame.index
    )
    if not gone.to_numpy().any():
        return frame
    first = frame.mask(gone).groupby(groups).transform("first")
    return frame.where(~gone, first)


def _disagree(
    work: pd.DataFrame, members: IntArray, field: str, rows: IntArray, keys: tuple[str, ...]
) -> list[Finding]:
    first = int(members[0])
    whose = f"order {work['orderId'].iat[first]}"
    if "packageId" in keys:
        whose = f"package {work['packageId'].iat[first]} of {whose}"
    shown = [f"row {rows[i]} '{cell_text(work[field].iat[int(i)])}'" for i in members[:5]]
    more = f" and {len(members) - 5} more" if len(members) > 5 else ""
    text = f"{label(field)} must be the same on every row of {whose}: {', '.join(shown)}{more}"
    return [Finding(int(i), field, "order_conflict", text) for i in members]


@dataclass(frozen=True)
class _Shared:
    """A number that belongs to one order: its problem code and why."""

    code: str
    why: str


# Konnect would give an invoice number to whichever order it got first and refuse the other.
INVOICE_SHARED = _Shared("invoice_shared", "an invoice number is one order's")


def _numbers_on_two_orders(
    work: pd.DataFrame, rows: IntArray, field: str, shared: _Shared
) -> list[Finding]:
    """A `field` number on rows of two orders (a copy-paste slip): neither is sent."""
    return [
        Finding(i, field, shared.code, f"{text}; {shared.why}")
        for i, text in _on_two_orders(work, rows, field).items()
    ]


def shared_awb_notes(work: pd.DataFrame, sound: BoolArray, rows: IntArray) -> dict[int, str]:
    """An AWB number on two orders of one file: a fill-down or paste slip, or two orders a
    courier carries as one consignment - said on each row, which is sent (Konnect does not
    say an AWB is one order's)."""
    found = _on_two_orders(work, rows, "awbNumber")
    check = "check that these orders really travel as one consignment"
    return {i: f"{SHARED_AWB} {text}: {check}" for i, text in found.items() if sound[i]}


SHARED_AWB = "note: AWB"  # how `shared_awb_notes` begin (`etl.summary` counts them)


def _on_two_orders(work: pd.DataFrame, rows: IntArray, field: str) -> dict[int, str]:
    """Row index -> "N is on 2 orders: row 4 (order O1), row 9 (order O2)" for each row of a
    `field` number found with two or more orders (one pass: a big file's numbers each on one
    order cost no look at the others)."""
    numbers, orders = work[field], work["orderId"]
    present = (numbers.notna() & orders.notna()).to_numpy(dtype=bool)
    frame = pd.DataFrame(
        {"n": numbers[present].to_numpy(), "o": orders[present].to_numpy(),
         "i": np.flatnonzero(present)}
    )  # fmt: skip
    frame = frame[frame.groupby("n")["o"].transform("nunique") > 1]
    found: dict[int, str] = {}
    for number, group in frame.groupby("n", sort=False):
        firsts = group.groupby("o", sort=False)["i"].first()
        shown = ", ".join(f"row {rows[i]} (order {order})" for order, i in firsts.items())
        text = f"{number} is on {len(firsts)} orders: {shown}"
        found.update(dict.fromkeys(group["i"].tolist(), text))
    return found


@dataclass(frozen=True)
class _Partner:
    """On a row where any of `cells` is filled, `needed` must be filled too."""

    needed: str
    cells: tuple[str, ...]
    code: str
    advice: Callable[[str, int], str]  # (order ID, how many cells are filled) -> what to do


def _which_item(order: str, count: int) -> str:
    they, cells = ("is it", "that cell") if count == 1 else ("are they", "those cells")
    return f"which item of order {order} {they} for? Fill in the item ID, or clear {cells}"


# An invoice's optional cells that mean nothing alone: sent as they are, the record would drop
# an item or package without its ID silently (etl.records.invoice_record), and Konnect refuses
# an item without its quantity with a puzzling IN400 ("unknown order item ... got None").
PARTNERS = (
    _Partner("orderItemId", ("quantity", "imeiSerialNumber"), "item_id_missing", _which_item),
    _Partner(
        "packageId",
        PACKAGE_FIELDS,
        "package_id_missing",
        lambda order, count: "fill in the package ID, or clear the sizes",
    ),
    _Partner(
        "quantity",
        ("orderItemId",),
        "item_quantity_missing",
        lambda order, count: "fill in how many pieces of this item the invoice covers",
    ),
)


def _partnerless_cells(work: pd.DataFrame, sound: BoolArray) -> list[Finding]:
    """Cells filled without their partner (`PARTNERS`), on rows without another problem:
    those rows are the ones that would go to Konnect. An order-level row, its item and package
    cells all empty, needs no partner."""
    found: list[Finding] = []
    for partner in PARTNERS:
        filled = work[list(partner.cells)].notna().to_numpy(dtype=bool)
        alone = sound & filled.any(axis=1) & work[partner.needed].isna().to_numpy(dtype=bool)
        found += [_alone(work, i, partner, filled[i]) for i in np.flatnonzero(alone).tolist()]
    return found


def _serials_per_piece(work: pd.DataFrame, sound: BoolArray) -> list[Finding]:
    """An item's serial numbers are one per piece, or two (a dual-SIM phone's two IMEIs):
    one for a quantity of two is a piece without its serial, three a piece left out of the
    quantity or a serial of another item - and an order is invoiced once, so nothing could
    be added later."""
    if "imeiSerialNumber" not in work or "quantity" not in work:
        return []
    quantities = pd.to_numeric(work["quantity"], errors="coerce").to_numpy()
    found: list[Finding] = []
    for i in np.flatnonzero(sound).tolist():
        serials = work["imeiSerialNumber"].iat[i]
        pieces = quantities[i]
        if not isinstance(serials, list) or not serials or not np.isfinite(pieces):
            continue
        if len(serials) not in (int(pieces), 2 * int(pieces)):
            text = (
                f"{len(serials)} serial number{'s' if len(serials) > 1 else ''} for quantity"
                f" {int(pieces)}: an item has one IMEI/serial number per piece (a dual-SIM"
                " phone two)" + _grouped(serials)
            )
            found.append(Finding(i, "imeiSerialNumber", "serial_count", text))
    return found


def _grouped(serials: list[str]) -> str:
    """`356,938,035,643,833` split at its commas: one IMEI a number format grouped."""
    head, *rest = [str(s) for s in serials]
    if len(rest) < 2 or not (head.isdigit() and len(head) <= 3):
        return ""
    if not all(s.isdigit() and len(s) == 3 for s in rest):
        return ""
    return (
        f"; if '{','.join(serials)}' is one number written with thousands separators, write it"
        f" without them ({''.join(serials)})"
    )


def _alone(work: pd.DataFrame, i: int, partner: _Partner, filled: BoolArray) -> Finding:
    names = [_named(work, i, field) for field, on in zip(partner.cells, filled, strict=True) if on]
    verb = "is" if len(names) == 1 else "are"
    text = (
        f"{_and(names)} {verb} filled but {label(partner.needed)} is empty: "
        f"{partner.advice(str(work['orderId'].iat[i]), len(names))}"
    )
    return Finding(i, partner.needed, partner.code, text)


def _named(work: pd.DataFrame, i: int, field: str) -> str:
    """A cell's plain name and value, "quantity '2'" (a list of serials: the name only)."""
    value = work[field].iat[i]
    return label(field) if isinstance(value, list) else f"{label(field)} '{cell_text(value)}'"


def _and(words: list[str]) -> str:
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"
