"""An invoice's optional item and package cells come with the ID that says whose they are.

A quantity or IMEI/serial numbers without their order item ID, package sizes without their
package ID, were dropped from the record while the row said `ok`; an item without its
quantity got Konnect's puzzling IN400 on every row of the order. Such a row is now rejected
before anything is sent, with what to do, and holds its order back (an order is sent whole
or not at all). Rows that leave all item and package cells empty are order-level invoices.
End to end against the emulator; order ids are the demo seed's (12... are confirmed).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from runs import drop, oid, results, run
from test_konnect_cells import cells, comment, drop_xlsx, highlighted, report
from test_orders_e2e import applied, statuses

from etl.konnect import ENDPOINTS

HEADER = ["orderId", "invoiceNumber", "invoiceType", "orderItemId", "quantity",
          "imeiSerialNumber", "packageId", "packageLengthCm", "packageWeightGms"]  # fmt: skip


def held_back(row: str) -> str:
    """The result file's message on a sound row of an order another row holds back: on the
    row, not on its order ID cell, which is right."""
    return (
        f"not sent: {row} of the same order has a problem (an order is sent whole or not at"
        " all: keep this row in the file you drop back, or the order goes without it)"
    )


def sent_for(sandbox: Any, order: str) -> list[dict[str, Any]]:
    """Every invoiceUpdate record the emulator got for `order`, whatever became of it."""
    path = ENDPOINTS["invoice"].path
    return [e for e in sandbox.ledger() if e["path"] == path and e["key"] == order]


def not_invoiced(sandbox: Any, *orders: str) -> None:
    found = sandbox.state()["orders"]
    for order in orders:
        assert sent_for(sandbox, order) == [], order
        assert found[order]["state"] == "bag_confirmed" and found[order]["invoice"] is None


def test_quantity_or_serials_without_an_order_item_id_are_rejected(
    tmp_path: Path, sandbox: Any
) -> None:
    inbox = tmp_path / "inbox"
    drop(inbox, "invoice_items.csv", [
        HEADER[:6],
        [oid(12, 2), "INV-902", "sale", f"{oid(12, 2)}-1", "1", "IMEI-A"],
        [oid(12, 2), "INV-902", "sale", "", "2", "IMEI-B,IMEI-C"],
        [oid(12, 10), "INV-910", "sale", "", "", "IMEI-Z"],
        [oid(12, 5), "INV-905", "sale", "", "", ""],  # an order-level invoice: no item cells
    ])  # fmt: skip
    assert run(inbox, sandbox).exit_code == 1
    rows = results(inbox, "invoice_items")
    assert statuses(rows) == {"2": "rejected", "3": "rejected", "4": "rejected", "5": "ok"}
    assert rows["3"]["message"] == (
        "'orderItemId': quantity '2' and IMEI/serial number are filled but order item ID is"
        f" empty: which item of order {oid(12, 2)} are they for? Fill in the item ID, or clear"
        " those cells; fix this row rather than delete it: without it, row 2 of the same order"
        " goes to Konnect as the whole order (an invoice cannot take an item later)"
    )
    assert rows["4"]["message"] == (
        "'orderItemId': IMEI/serial number is filled but order item ID is empty: which item of"
        f" order {oid(12, 10)} is it for? Fill in the item ID, or clear that cell"
    )
    assert rows["2"]["message"] == held_back("row 3")
    not_invoiced(sandbox, oid(12, 2), oid(12, 10))
    assert applied(sandbox, "invoice") == [oid(12, 5)]
    assert sandbox.state()["orders"][oid(12, 5)]["invoice"]["invoiceNumber"] == "INV-905"


def test_package_sizes_without_a_package_id_are_rejected(tmp_path: Path, sandbox: Any) -> None:
    inbox = tmp_path / "inbox"
    drop(inbox, "invoice_packages.csv", [
        HEADER,
        [oid(12, 1), "INV-901", "sale", f"{oid(12, 1)}-1", "1", "", "", "30", ""],
        [oid(12, 3), "INV-903", "sale", f"{oid(12, 3)}-1", "1", "", "PKG-3", "20", "500"],
        [oid(12, 5), "INV-905", "sale", "", "", "", "", "", ""],  # order-level
    ])  # fmt: skip
    assert run(inbox, sandbox).exit_code == 1
    rows = results(inbox, "invoice_packages")
    assert statuses(rows) == {"2": "rejected", "3": "ok", "4": "ok"}
    assert rows["2"]["message"] == (
        "'packageId': package length (cm) '30' is filled but package ID is empty: fill in the"
        " package ID, or clear the sizes"
    )
    not_invoiced(sandbox, oid(12, 1))
    assert applied(sandbox, "invoice") == [oid(12, 3), oid(12, 5)]
    packages = sandbox.state()["orders"][oid(12, 3)]["packages"]
    assert packages == [{"packageId": "PKG-3", "packageLengthCm": 20, "packageWeightGms": 500}]


def test_an_item_without_its_quantity_is_rejected_not_refused(tmp_path: Path, sandbox: Any) -> None:
    inbox = tmp_path / "inbox"
    drop(inbox, "invoice_quantity.csv", [
        HEADER[:5],
        [oid(12, 4), "INV-904", "sale", f"{oid(12, 4)}-1", ""],
        [oid(12, 4), "INV-904", "sale", f"{oid(12, 4)}-2", "2"],
        [oid(12, 5), "INV-905", "sale", "", ""],  # order-level
    ])  # fmt: skip
    assert run(inbox, sandbox).exit_code == 1
    rows = results(inbox, "invoice_quantity")
    assert statuses(rows) == {"2": "rejected", "3": "rejected", "4": "ok"}
    assert rows["2"]["message"] == (
        f"'quantity': order item ID '{oid(12, 4)}-1' is filled but quantity is empty: fill in"
        " how many pieces of this item the invoice covers; fix this row rather than delete it:"
        " without it, row 3 of the same order goes to Konnect as the whole order (an invoice"
        " cannot take an item later)"
    )
    assert rows["3"]["message"] == held_back("row 2")
    not_invoiced(sandbox, oid(12, 4))
    assert applied(sandbox, "invoice") == [oid(12, 5)]


def test_the_errors_workbook_highlights_the_empty_partner_cell(
    tmp_path: Path, sandbox: Any
) -> None:
    """ERP invoice register (erp/invoice): the cell to fill is the one filled red."""
    inbox = tmp_path / "inbox"
    drop_xlsx(inbox, "invoices.xlsx", [
        ["Order ID", "Invoice No", "Invoice Type", "Item ID", "Qty", "IMEI / Serial Nos"],
        [oid(12, 2), "INV/26/0102", "Tax Invoice", f"{oid(12, 2)}-1", 1, "IMEI-A"],
        [oid(12, 2), "INV/26/0102", "Tax Invoice", None, 2, "IMEI-B, IMEI-C"],
        [oid(12, 1), "INV/26/0101", "Tax Invoice", f"{oid(12, 1)}-1", None, None],
        [oid(12, 5), "INV/26/0105", "Tax Invoice", None, None, None],  # order-level
    ])  # fmt: skip
    assert run(inbox, sandbox).exit_code == 1
    at = cells(report(inbox, "invoices.errors.xlsx"))
    expected = {"3": ("Item ID", "which item of order"), "4": ("Qty", "fill in how many")}
    for row, (column, words) in expected.items():
        assert highlighted(at[(row, column)]) and words in str(comment(at[(row, column)]))
        others = {"Order ID", "Invoice No", "Item ID", "Qty", "IMEI / Serial Nos"} - {column}
        assert not any(highlighted(at[(row, c)]) for c in others), row
    assert "not sent: row 3 of the same order" in str(at[("2", "error")].value)
    not_invoiced(sandbox, oid(12, 2), oid(12, 1))
    assert applied(sandbox, "invoice") == [oid(12, 5)]
