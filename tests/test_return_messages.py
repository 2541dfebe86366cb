"""What a refused return, RTO or credit-note row tells the returns or accounts clerk: where the
return stands in Konnect, in words (the Fynd state in brackets), and what to do - check the
order ID or wait, take the QC first, or nothing: delete the row. And every order row Konnect
refused has its cell marked in the Excel errors file: the item, the quantity of the item
Konnect named, or the order ID. Against the real emulator on loopback.

Demo seed (docs/sandbox.md): 11... placed, 12... confirmed, 15... packed, 16... self-ship in
transit, 17... return pickup, 18... returned to the store, 19... RTO at the store, 20...
return accepted, 22... delivered, 23... credit note issued; odd orders have 1 item, even ones
2 (item k has quantity k).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from runs import drop, oid, results, run
from test_konnect_cells import cells, comment, drop_xlsx, highlighted, report
from test_orders_e2e import applied, states

QC = ["orderId", "orderItemId", "quantity", "reasonCode"]
REGISTER = ["Order ID", "Invoice No", "Invoice Type", "Item ID", "Qty"]
X409 = "X409 - the order is not in a state that allows this action: "
NOT_RETURNED = (
    X409 + "no return has reached the store for this order in Konnect (it shows {}): check the"
    " order ID, or wait until the return is marked delivered (return_bag_delivered or"
    " rto_bag_delivered), then drop this errors file again"
)
ONE_QC = (
    "; a return QC is taken once per order: if that QC left an item out or has a wrong"
    " reason, correct it in Konnect (not from a file)"
)


def marks(inbox: Path, name: str) -> dict[str, dict[str, str | None]]:
    """The errors workbook's marked cells: report row -> {column: comment}."""
    found: dict[str, dict[str, str | None]] = {}
    for (row, column), cell in cells(report(inbox, name)).items():
        if column not in ("row", "error") and highlighted(cell):
            found.setdefault(row, {})[column] = comment(cell)
    return found


def messages(inbox: Path, stem: str) -> dict[str, str]:
    return {row: r["message"] for row, r in results(inbox, stem).items()}


def on_order_id(said: dict[str, str]) -> dict[str, dict[str, str | None]]:
    """Each row's order ID cell marked with the row's message."""
    return {row: {"orderId": message} for row, message in said.items()}


def test_a_qc_of_an_order_whose_return_has_not_reached_the_store_says_check_or_wait(
    tmp_path: Path, sandbox: Any
) -> None:
    """Delivered, in transit, a return still on its way: no return at the store to QC."""
    drop_xlsx(tmp_path, "return_qc.xlsx", [QC, *[
        [oid(block, 1), f"{oid(block, 1)}-1", 1, ""] for block in (22, 16, 17)
    ]])  # fmt: skip
    assert run(tmp_path, sandbox).exit_code == 1
    said = messages(tmp_path, "return_qc")
    assert said == {
        "2": NOT_RETURNED.format("delivery_done"),
        "3": NOT_RETURNED.format("bag_picked"),
        "4": NOT_RETURNED.format("return_dp_assigned"),
    }
    assert marks(tmp_path, "return_qc.errors.xlsx") == on_order_id(said)
    assert applied(sandbox, "return_qc") == []


def test_a_qc_of_a_closed_return_says_there_is_nothing_to_do(tmp_path: Path, sandbox: Any) -> None:
    """The day's QC sheet exported again with a reason changed: the return and the RTO are
    closed since the morning - nothing to send; a wrong QC is corrected in Konnect."""
    morning = [[oid(18, 1), f"{oid(18, 1)}-1", 1, "9"], [oid(19, 1), f"{oid(19, 1)}-1", 1, "9"]]
    drop_xlsx(tmp_path / "a", "return_qc_am.xlsx", [QC, *morning])
    assert run(tmp_path / "a", sandbox).exit_code == 0
    evening = [[*morning[0][:3], "7"], [*morning[1][:3], "6"]]
    drop_xlsx(tmp_path / "b", "return_qc_pm.xlsx", [QC, *evening])
    assert run(tmp_path / "b", sandbox).exit_code == 1
    held = "; Konnect's return QC of this order shows item {}-1: reason 9 (damaged)"
    closed = "the return is already closed in Konnect, its QC taken ({})"  # not "delete it":
    # the evening's reason differs from the one Konnect took, which is corrected in Konnect
    said = messages(tmp_path / "b", "return_qc_pm")
    assert said == {
        "2": X409 + closed.format("return_bag_accepted") + held.format(oid(18, 1)) + ONE_QC,
        "3": X409 + closed.format("rto_bag_accepted") + held.format(oid(19, 1)) + ONE_QC,
    }
    assert marks(tmp_path / "b", "return_qc_pm.errors.xlsx") == on_order_id(said)
    assert states(sandbox, oid(18, 1), oid(19, 1)) == ["return_bag_accepted", "rto_bag_accepted"]


def test_a_courier_status_says_where_the_return_stands(tmp_path: Path, sandbox: Any) -> None:
    """A late update after the credit note (delete it), a customer-return status for a parcel
    still on its way out (an RTO?) or for an order without a return, and `RTO` typed."""
    closed, delivered = sandbox.add_orders(orders=[
        {"orderId": "61000000000000000001", "state": "credit_note_generated",
         "is_self_ship": True, "location": "DEL-WH-01"},
        {"orderId": "61000000000000000002", "state": "delivery_done", "is_self_ship": True,
         "location": "DEL-WH-01"},
    ])  # fmt: skip
    drop_xlsx(tmp_path, "status_courier.xlsx", [
        ["orderId", "orderStatus"],
        [closed, "return_bag_delivered"],
        [oid(16, 1), "return_bag_delivered"],
        [delivered, "return_bag_delivered"],
        [oid(16, 2), "RTO"],
    ])  # fmt: skip
    assert run(tmp_path, sandbox).exit_code == 1
    said = messages(tmp_path, "status_courier")
    rto = (
        "'orderStatus': order status must be bag_picked, delivery_done, return_bag_in_transit,"
        " return_bag_delivered or rto_bag_delivered: 'RTO' is a return to origin (the courier"
        " brought the parcel back undelivered); write rto_bag_delivered once it is back at the"
        " store"
    )
    assert said == {
        "2": X409 + "the return is already closed in Konnect, its credit note issued"
        " (credit_note_generated): nothing to do, delete this row",
        "3": X409 + "Konnect shows this order still on its way to the customer (bag_picked): a"
        " parcel the courier brought back undelivered is an RTO - write rto_bag_delivered;"
        " otherwise check the order ID",
        "4": X409 + "Konnect shows no return for this order (it shows delivery_done): check the"
        " order ID, or wait until the customer's return shows in Konnect, then drop this errors"
        " file again",
        "5": rto,
    }
    marked = marks(tmp_path, "status_courier.errors.xlsx")
    assert marked == {**on_order_id({r: said[r] for r in "234"}), "5": {"orderStatus": rto[15:]}}
    assert applied(sandbox, "status") == []


def test_credit_notes_say_what_the_return_needs_first_and_mark_the_cell(
    tmp_path: Path, sandbox: Any
) -> None:
    """ERP register: credit notes before the return or RTO QC, a second credit note, a
    quantity above what was ordered (on a 1-item order, and on one item of a 2-item order)."""
    drop_xlsx(tmp_path, "invoice register - credit notes.xlsx", [
        REGISTER,
        [oid(18, 3), "CN/26/0001", "Credit Note", f"{oid(18, 3)}-1", 1],
        [oid(19, 3), "CN/26/0002", "Credit Note", f"{oid(19, 3)}-1", 1],
        [oid(23, 2), "CN/26/0003", "Credit Note", f"{oid(23, 2)}-1", 1],
        [oid(20, 1), "CN/26/0004", "Credit Note", f"{oid(20, 1)}-1", 5],
        [oid(20, 2), "CN/26/0005", "Credit Note", f"{oid(20, 2)}-1", 1],
        [oid(20, 2), "CN/26/0005", "Credit Note", f"{oid(20, 2)}-2", 3],
    ])  # fmt: skip
    assert run(tmp_path, sandbox).exit_code == 1
    said = messages(tmp_path, "invoice register - credit notes")
    qc_first = (
        "IN422 - a credit note needs the return QC taken first: the {0} has reached the store,"
        " but its QC is not taken yet in Konnect ({1}): take the {0} QC first (a return_qc"
        " file), then drop this errors file again"
    )
    quantity = "IN400 - wrong quantity for an item of this order: item {}: quantity must be {}"
    held = "CN0000000002"  # the seed's credit note of order 23...002
    assert said == {
        "2": qc_first.format("return", "return_bag_delivered"),
        "3": qc_first.format("RTO", "rto_bag_delivered"),
        "4": f"IN453 - this order already has a credit note: {held} - an order takes one credit"
        f" note, so there is nothing to send: delete this row (if {held} is wrong, correct it"
        " in Konnect)",
        "5": quantity.format(f"{oid(20, 1)}-1", "1..1, got 5"),
        "6": "not applied: Konnect refused this order for row 7: "
        + quantity.format(f"{oid(20, 2)}-2", "1..2, got 3"),
        "7": quantity.format(f"{oid(20, 2)}-2", "1..2, got 3"),
    }
    assert marks(tmp_path, "invoice register - credit notes.errors.xlsx") == {
        **{row: {"Order ID": said[row]} for row in "2346"},
        **{row: {"Qty": said[row]} for row in "57"},
    }
    assert applied(sandbox, "invoice") == []


@pytest.mark.parametrize("typed", ["credit note", "Credit-Note", "CN"])
def test_a_credit_note_typed_as_such_is_a_return(tmp_path: Path, sandbox: Any, typed: str) -> None:
    """The generic invoice file's invoiceType as accounts write it: sent as `return`."""
    drop(tmp_path, "invoice_cn.csv", [
        ["orderId", "invoiceNumber", "invoiceType"], [oid(20, 3), "CN/26/0010", typed]
    ])  # fmt: skip
    done = run(tmp_path, sandbox)
    assert done.exit_code == 0, done.output
    assert results(tmp_path, "invoice_cn")["2"]["status"] == "ok"
    assert states(sandbox, oid(20, 3)) == ["credit_note_generated"]
    assert sandbox.state()["orders"][oid(20, 3)]["creditNote"]["invoiceType"] == "return"


# Every order feed with items: a wrong item, and too many pieces of item -2 of a 2-item order
ITEM_FEEDS = {
    "confirm": (11, ["orderId", "orderItemId", "quantity"], [], "X422"),
    "cancel": (11, QC, ["6"], "X422"),
    "dispatch": (15, ["orderId", "orderItemId", "quantity"], [], "X422"),
    "return_qc": (18, QC, [""], "X422"),
    "invoice": (12, ["orderId", "orderItemId", "quantity", "invoiceNumber", "invoiceType"],
                ["INV-M-{}", "sale"], "IN400"),
}  # fmt: skip


@pytest.mark.parametrize("feed", sorted(ITEM_FEEDS))
def test_konnects_item_and_quantity_refusals_mark_a_cell_on_every_row(
    tmp_path: Path, sandbox: Any, feed: str
) -> None:
    block, head, more, code = ITEM_FEEDS[feed]
    one, two = oid(block, 1), oid(block, 2)

    def row(order: str, item: str, pieces: int) -> list[Any]:
        return [order, item, pieces, *[m.format(order[-1]) for m in more]]

    drop_xlsx(tmp_path, f"{feed}_items.xlsx", [
        head, row(one, f"{one}-9", 1), row(two, f"{two}-1", 1), row(two, f"{two}-2", 3)
    ])  # fmt: skip
    assert run(tmp_path, sandbox, "--feed", feed).exit_code == 1
    said = messages(tmp_path, f"{feed}_items")
    assert said["2"].startswith(f"{code} - ") and f"has no item {one}-9" in said["2"]
    assert said["4"].startswith(f"{code} - ") and "quantity must be 1..2, got 3" in said["4"]
    assert said["3"] == f"not applied: Konnect refused this order for row 4: {said['4']}"
    assert marks(tmp_path, f"{feed}_items.errors.xlsx") == {
        "2": {"orderItemId": said["2"]},
        "3": {"orderId": said["3"]},
        "4": {"quantity": said["4"]},
    }
