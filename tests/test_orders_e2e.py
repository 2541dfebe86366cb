"""Order feeds end to end: `konnect-etl run` against the real emulator on loopback.

Order ids are the demo seed's (docs/sandbox.md): 11... placed, 12... confirmed, 13... self-ship
awaiting pickup, 14... courier assigned, 15... packed, 16... in transit, 17... return pickup,
18.../19... returned, 20... return accepted, 21... cancelled, 30... placed (bulk).
"""

from __future__ import annotations

import csv
import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook, load_workbook
from runs import drop, oid, results, run
from typer.testing import CliRunner

from etl.cli import app
from etl.konnect import ENDPOINTS

TODAY = date.today().isoformat()
PROFILES = Path(__file__).resolve().parent / "data" / "profiles"


def summary(inbox: Path, stem: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(
        (inbox / "done" / TODAY / f"{stem}.summary.json").read_text()
    )
    return loaded


def xlsx_results(inbox: Path, stem: str) -> list[dict[str, Any]]:
    sheet = load_workbook(inbox / "done" / TODAY / f"{stem}.result.xlsx").active
    assert sheet is not None
    header, *rows = sheet.iter_rows(values_only=True)
    return [dict(zip(header, row, strict=True)) for row in rows]


def applied(sandbox: Any, feed: str) -> list[str]:
    path = ENDPOINTS[feed].path
    return [e["key"] for e in sandbox.ledger() if e["path"] == path and e["outcome"] == "applied"]


def states(sandbox: Any, *orders: str) -> list[str]:
    found = sandbox.state()["orders"]
    return [found[o]["state"] for o in orders]


def statuses(rows: dict[str, dict[str, str]]) -> dict[str, str]:
    return {n: r["status"] for n, r in rows.items()}


def test_confirm_groups_rows_and_explains_konnect_codes(tmp_path: Path, sandbox: Any) -> None:
    inbox = tmp_path / "inbox"
    drop(inbox, "confirm.csv", [
        ["orderId", "orderItemId", "quantity"],
        [oid(11, 1), f"{oid(11, 1)}-1", "1"],
        [oid(11, 2), f"{oid(11, 2)}-1", "1"],
        [oid(11, 2), f"{oid(11, 2)}-2", "2"],
        [oid(21, 1), f"{oid(21, 1)}-1", "1"],    # cancelled -> O400
        [oid(11, 4), f"{oid(11, 4)}-1", "1.5"],  # not a whole quantity
    ])  # fmt: skip
    assert run(inbox, sandbox).exit_code == 1
    rows = results(inbox, "confirm")
    assert statuses(rows) == {"2": "ok", "3": "ok", "4": "ok", "5": "failed", "6": "rejected"}
    assert rows["5"]["message"] == "O400 - this order is cancelled and cannot be confirmed"
    assert "whole number" in rows["6"]["message"]
    assert applied(sandbox, "confirm") == [oid(11, 1), oid(11, 2)]  # two rows, one record
    assert states(sandbox, oid(11, 1), oid(11, 2)) == ["bag_confirmed", "bag_confirmed"]


def test_konnect_refusing_an_order_for_one_item_points_its_other_rows_at_that_row(
    tmp_path: Path, sandbox: Any
) -> None:
    """Konnect refuses the whole order for item -2's quantity; its message named that item
    on every row, so the sound row 2 read as wrong too: it says which row to fix."""
    inbox = tmp_path / "inbox"
    drop(inbox, "confirm.csv", [
        ["orderId", "orderItemId", "quantity"],
        [oid(11, 2), f"{oid(11, 2)}-1", "1"],
        [oid(11, 2), f"{oid(11, 2)}-2", "9"],  # more than ordered
    ])  # fmt: skip
    assert run(inbox, sandbox).exit_code == 1
    rows = results(inbox, "confirm")
    assert statuses(rows) == {"2": "failed", "3": "failed"}
    assert rows["3"]["message"].startswith(f"X422 - Konnect refused the value: item {oid(11, 2)}-2")
    assert rows["2"]["message"] == (
        f"not applied: Konnect refused this order for row 3: {rows['3']['message']}"
    )


def test_invoice_sale_and_credit_note_with_serials_and_per_order_codes(
    tmp_path: Path, sandbox: Any
) -> None:
    inbox = tmp_path / "inbox"
    drop(inbox, "invoice.csv", [
        ["orderId", "invoiceNumber", "invoiceType", "ackDate", "orderItemId", "quantity",
         "imeiSerialNumber"],
        [oid(12, 2), "INV/26/0001", "sale", "2026-01-05", f"{oid(12, 2)}-1", "1", "111; 222"],
        [oid(12, 2), "INV/26/0001", "sale", "2026-01-05", f"{oid(12, 2)}-2", "2", "333\n444"],
        [oid(20, 1), "CN/26/0001", "return", "", "", "", ""],
        [oid(14, 1), "INV/26/0002", "sale", "", "", "", ""],       # invoiced before: IN453
        [oid(12, 3), "INV/26/0003", "proforma", "", "", "", ""],   # not sale/return
    ])  # fmt: skip
    assert run(inbox, sandbox).exit_code == 1
    rows = results(inbox, "invoice")
    assert statuses(rows) == {"2": "ok", "3": "ok", "4": "ok", "5": "failed", "6": "rejected"}
    assert rows["5"]["message"] == (
        "IN453 - this order is already invoiced: Konnect holds invoice number INV0000000001 for"
        " this order"
    )
    assert "invoice type must be sale or return" in rows["6"]["message"]
    orders = sandbox.state()["orders"]
    assert orders[oid(12, 2)]["state"] == "dp_assigned"  # Fynd assigned the courier at once
    serials = [i["imeiSerialNumber"] for i in orders[oid(12, 2)]["items"]]
    assert serials == [["111", "222"], ["333", "444"]]
    assert orders[oid(20, 1)]["creditNote"]["invoiceNumber"] == "CN/26/0001"
    assert orders[oid(20, 1)]["state"] == "credit_note_generated"


def test_conflicting_invoice_numbers_reject_only_that_orders_rows(
    tmp_path: Path, sandbox: Any
) -> None:
    inbox = tmp_path / "inbox"
    drop(inbox, "invoice.csv", [
        ["orderId", "invoiceNumber", "invoiceType", "orderItemId", "quantity"],
        [oid(12, 1), "INV-A1", "sale", f"{oid(12, 1)}-1", "1"],
        [oid(12, 2), "INV-B1", "sale", f"{oid(12, 2)}-1", "1"],
        [oid(12, 2), "INV-B2", "sale", f"{oid(12, 2)}-2", "2"],
    ])  # fmt: skip
    assert run(inbox, sandbox).exit_code == 1
    rows = results(inbox, "invoice")
    assert statuses(rows) == {"2": "ok", "3": "rejected", "4": "rejected"}
    for n in ("3", "4"):
        assert "must be the same on every row of order" in rows[n]["message"]
        assert "row 3 'INV-B1', row 4 'INV-B2'" in rows[n]["message"]
    assert applied(sandbox, "invoice") == [oid(12, 1)]


def test_21_orders_make_two_requests_and_no_order_is_split(tmp_path: Path, sandbox: Any) -> None:
    inbox = tmp_path / "inbox"
    rows: list[list[Any]] = [["orderId", "orderItemId", "quantity"]]
    for n in range(1, 22):  # even orders have two items: 31 rows, 21 orders
        rows += [[oid(30, n), f"{oid(30, n)}-{k}", k] for k in range(1, 2 + (n % 2 == 0))]
    drop(inbox, "confirm.csv", rows)
    assert run(inbox, sandbox).exit_code == 0
    report = summary(inbox, "confirm")
    assert report["chunks"] == {"total": 2, "acknowledged": 2, "settled_by_lookup": 0}
    assert report["rows"]["ok"] == 31
    assert sorted(applied(sandbox, "confirm")) == [oid(30, n) for n in range(1, 22)]


def test_awb_status_pack_dispatch_cancel_return_qc(tmp_path: Path, sandbox: Any) -> None:
    inbox = tmp_path / "inbox"
    drop(inbox, "awb.csv", [
        ["orderId", "awbNumber", "courierName", "autoDispatch"],
        [oid(13, 1), "5012345678", "Blue Dart", "Yes"],
        [oid(17, 1), "5012345679", "Blue Dart", "no"],   # a return pickup's AWB
        [oid(14, 1), "5012345680", "Blue Dart", "No"],   # not self-ship: X409
        [oid(13, 5), "5012345681", "Blue Dart", "maybe"],
    ])  # fmt: skip
    drop(inbox, "status.csv", [
        ["orderId", "orderStatus", "remark"],
        [oid(16, 1), "delivery_done", "handed to customer"],
        [oid(13, 2), "bag_picked", ""],
        [oid(17, 2), "return_bag_in_transit", ""],
        [oid(16, 2), "lost_in_transit", ""],
    ])  # fmt: skip
    drop(inbox, "pack.csv", [["orderId"], [oid(14, 2)], [oid(12, 4)]])  # 12...: CR400
    drop(inbox, "dispatch.csv", [
        ["orderId", "orderItemId", "quantity"],
        [oid(15, 1), f"{oid(15, 1)}-1", "1"],
        [oid(14, 3), f"{oid(14, 3)}-1", "1"],  # not packed: D400
    ])  # fmt: skip
    drop(inbox, "cancel.csv", [
        ["orderId", "orderItemId", "quantity", "reasonCode"],
        [oid(11, 3), f"{oid(11, 3)}-1", "1", "6"],
        [oid(11, 5), f"{oid(11, 5)}-1", "1", "5"],  # no such reason code
    ])  # fmt: skip
    drop(inbox, "return_qc.csv", [
        ["orderId", "orderItemId", "quantity", "reasonCode"],
        [oid(18, 1), f"{oid(18, 1)}-1", "1", ""],
        [oid(19, 1), f"{oid(19, 1)}-1", "1", "9"],
    ])  # fmt: skip
    assert run(inbox, sandbox).exit_code == 1
    awb = results(inbox, "awb")
    assert statuses(awb) == {"2": "ok", "3": "ok", "4": "failed", "5": "rejected"}
    assert awb["4"]["message"].startswith("X409 - ")
    assert "auto dispatch must be Yes or No" in awb["5"]["message"]
    assert statuses(results(inbox, "status")) == {
        "2": "ok", "3": "ok", "4": "ok", "5": "rejected"}  # fmt: skip
    pack = results(inbox, "pack")
    assert pack["3"]["message"] == (
        "CR400 - pack is only possible once the order is invoiced and Konnect has assigned its"
        " courier (invoice it first)"
    )
    dispatch = results(inbox, "dispatch")
    assert dispatch["3"]["message"] == "D400 - dispatch is only possible once the order is packed"
    assert statuses(results(inbox, "cancel")) == {"2": "ok", "3": "rejected"}
    assert statuses(results(inbox, "return_qc")) == {"2": "ok", "3": "ok"}
    orders = sandbox.state()["orders"]
    assert orders[oid(13, 1)]["awb"]["awbNumber"] == "5012345678"
    assert orders[oid(17, 1)]["returnAwb"]["awbNumber"] == "5012345679"
    assert states(sandbox, oid(13, 1), oid(16, 1), oid(13, 2), oid(17, 2)) == [
        "bag_picked", "delivery_done", "bag_picked", "return_bag_in_transit"]  # fmt: skip
    assert states(sandbox, oid(14, 2), oid(15, 1), oid(11, 3)) == [
        "bag_packed", "bag_picked", "cancelled_fynd"]  # fmt: skip
    assert states(sandbox, oid(18, 1), oid(19, 1)) == ["return_bag_accepted", "rto_bag_accepted"]


def test_a_corrected_return_reason_sent_after_the_qc_is_refused_not_already_applied(
    tmp_path: Path, sandbox: Any
) -> None:
    """QC taken in good condition (no reason); the next day a file says 'damaged' for the
    same item. Konnect keeps the first QC (X409): the row must not read 'already applied'."""
    first, second = tmp_path / "first", tmp_path / "second"
    item = f"{oid(18, 6)}-1"
    drop(first, "return_qc.csv", [["orderId", "orderItemId", "quantity", "reasonCode"],
                                  [oid(18, 6), item, "1", ""]])  # fmt: skip
    drop(second, "return_qc.csv", [["orderId", "orderItemId", "quantity", "reasonCode"],
                                   [oid(18, 6), item, "1", "9"]])  # fmt: skip
    assert run(first, sandbox).exit_code == 0
    assert run(second, sandbox).exit_code == 1
    row = results(second, "return_qc")["2"]
    assert row["status"] == "failed"
    assert row["message"] == (
        "X409 - the order is not in a state that allows this action: the return is already"
        " closed in Konnect, its QC taken (return_bag_accepted);"
        f" Konnect's return QC of this order shows item {item}: no reason shown (it was in good"
        " condition, or not in the QC Konnect took); a return QC is taken once per order: if"
        " that QC left an item out or has a wrong reason, correct it in Konnect (not from a file)"
    )
    kept = sandbox.state()["orders"][oid(18, 6)]["items"]
    assert [i["returnReasonCode"] for i in kept if i["orderItemId"] == item] == [None]


def test_a_replayed_action_konnect_refuses_as_done_is_ok_not_failed(
    tmp_path: Path, sandbox: Any
) -> None:
    """The pack file was already processed once (say, before a crash): Konnect answers
    CR400 to the replay, the tool looks the order up, finds it packed and says so."""
    first, second = tmp_path / "first", tmp_path / "second"
    drop(first, "pack.csv", [["orderId"], [oid(14, 4)]])
    drop(second, "pack again.csv", [["orderId"], [oid(14, 4)], [oid(14, 5)]])
    assert run(first, sandbox).exit_code == 0
    assert run(second, sandbox).exit_code == 0
    rows = results(second, "pack again")
    assert statuses(rows) == {"2": "ok", "3": "ok"}
    assert rows["2"]["message"] == "already applied: packed, Konnect shows this order as bag_packed"
    assert applied(sandbox, "pack") == [oid(14, 4), oid(14, 5)]


def test_a_row_naming_an_item_the_order_lacks_is_not_already_applied(
    tmp_path: Path, sandbox: Any
) -> None:
    """12... orders are confirmed already: a confirm row with a wrong item id or too many
    pieces is refused (X409) and, looked up, must not read 'already applied'."""
    inbox = tmp_path / "inbox"
    drop(inbox, "confirm.csv", [
        ["orderId", "orderItemId", "quantity"],
        [oid(12, 1), f"{oid(12, 1)}-1", "1"],
        [oid(12, 3), f"{oid(12, 3)}-7", "1"],
        [oid(12, 5), f"{oid(12, 5)}-1", "9"],
    ])  # fmt: skip
    assert run(inbox, sandbox).exit_code == 1
    rows = results(inbox, "confirm")
    assert statuses(rows) == {"2": "ok", "3": "failed", "4": "failed"}
    assert rows["2"]["message"] == (
        "already applied: confirmed, Konnect shows this order as bag_confirmed"
    )
    assert rows["3"]["message"].startswith("X409 - ")


def test_an_invoice_number_on_two_orders_sends_neither(tmp_path: Path, sandbox: Any) -> None:
    inbox = tmp_path / "inbox"
    drop(inbox, "invoice.csv", [
        ["orderId", "invoiceNumber", "invoiceType"],
        [oid(12, 1), "INV/26/0101", "sale"],
        [oid(12, 3), "INV/26/0101", "sale"],  # pasted one row too far
        [oid(12, 5), "INV/26/0105", "sale"],
    ])  # fmt: skip
    assert run(inbox, sandbox).exit_code == 1
    rows = results(inbox, "invoice")
    assert statuses(rows) == {"2": "rejected", "3": "rejected", "4": "ok"}
    assert rows["2"]["message"] == (
        f"'invoiceNumber': INV/26/0101 is on 2 orders: row 2 (order {oid(12, 1)}), row 3 "
        f"(order {oid(12, 3)}); an invoice number is one order's"
    )
    assert applied(sandbox, "invoice") == [oid(12, 5)]


def test_merged_order_cells_hold_the_whole_order_back(tmp_path: Path, sandbox: Any) -> None:
    """An ERP register with the Order No merged over an order's item rows: the second row's
    id cell is empty. Confirming the first item alone would be a partial order."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["orderId", "orderItemId", "quantity"])
    sheet.append([oid(11, 2), f"{oid(11, 2)}-1", 1])
    sheet.append([None, f"{oid(11, 2)}-2", 2])
    sheet.append([oid(11, 4), f"{oid(11, 4)}-1", 1])
    sheet.merge_cells("A2:A3")
    book.save(inbox / "confirm.xlsx")
    assert run(inbox, sandbox).exit_code == 1
    rows = xlsx_results(inbox, "confirm")
    assert [r["status"] for r in rows] == ["rejected", "rejected", "ok"]
    assert "not sent: row 3 below has no order ID and may be items" in rows[0]["message"]
    assert rows[1]["message"] == (
        "'orderId': order ID is empty; fix this row rather than delete it: without it, row 2"
        " of the same order goes to Konnect as the whole order"  # a confirm: no word on invoices
    )
    assert applied(sandbox, "confirm") == [oid(11, 4)]


def test_an_order_invoiced_with_another_number_names_it(tmp_path: Path, sandbox: Any) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    header = ["orderId", "invoiceNumber", "invoiceType"]
    drop(first, "invoice.csv", [header, [oid(12, 7), "INV/26/0107", "sale"]])
    drop(second, "invoice.csv", [header, [oid(12, 7), "INV/26/0170", "sale"]])  # a typo?
    assert run(first, sandbox).exit_code == 0
    assert run(second, sandbox).exit_code == 1
    assert results(second, "invoice")["2"]["message"] == (
        "IN453 - this order is already invoiced: Konnect holds invoice number INV/26/0107 for"
        " this order"
    )


SPLIT_WITH_SERIALS = (
    "failed",
    "IN453 - this order is already invoiced: Konnect took invoice INV-7 for this order"
    " earlier, and an order is invoiced once: items or serial numbers left out then cannot be"
    " added - put every item of an order in the same invoice file",
)
SPLIT_WITHOUT_SERIALS = (
    "ok",
    "already applied: Konnect shows invoice INV-7 on this order, now dp_assigned (an order is"
    " invoiced once, with all its items: put every item of an order in the same invoice file)",
)


@pytest.mark.parametrize(
    ("serials", "said"), [(["3561", "3562"], SPLIT_WITH_SERIALS), (["", ""], SPLIT_WITHOUT_SERIALS)]
)
def test_an_invoice_split_over_two_files_says_an_order_is_invoiced_once(
    tmp_path: Path, sandbox: Any, serials: list[str], said: tuple[str, str]
) -> None:
    """The second file's item was never on the invoice Konnect took: with serials to compare
    it is refused; without, the order is invoiced with this number (ok), and the row says the
    order was invoiced once."""
    header = ["orderId", "invoiceNumber", "invoiceType", "orderItemId", "quantity"]
    header += ["imeiSerialNumber"]
    order = oid(12, 8)
    for part, serial in enumerate(serials, start=1):
        inbox = tmp_path / str(part)
        drop(
            inbox, "invoice.csv", [header, [order, "INV-7", "sale", f"{order}-{part}", "1", serial]]
        )
        run(inbox, sandbox)
    row = results(tmp_path / "2", "invoice")["2"]
    assert (row["status"], row["message"]) == said
    assert results(tmp_path / "1", "invoice")["2"]["status"] == "ok"


BAGGED = ["orderId", "invoiceNumber", "invoiceType", "irnNumber", "ackNumber", "ackDate",
          "orderItemId", "quantity", "packageId", "packageLengthCm", "packageWidthCm",
          "packageHeightCm", "packageWeightGms"]  # fmt: skip


def test_a_completed_invoice_konnect_refused_names_what_it_lacks(
    tmp_path: Path, sandbox: Any
) -> None:
    """Monday: item 1 in bag 1, no IRN yet. Tuesday: item 2 in bag 2 under the same number,
    with the IRN and ack number. Konnect refuses (IN453) and holds none of Tuesday's: not
    'already applied'."""
    order = oid(12, 10)
    monday = [order, "INV-P-0010", "sale", "", "", "06-01-2026 11:00", f"{order}-1", "1"]
    tuesday = [order, "INV-P-0010", "sale", "5c2f0010", "112610000110", "07-01-2026 15:05"]
    drop(tmp_path / "mon", "invoice.csv", [BAGGED, [*monday, "BAG1", "30", "20", "10", "500"]])
    drop(tmp_path / "tue", "invoice.csv",
         [BAGGED, [*tuesday, f"{order}-2", "2", "BAG2", "40", "30", "10", "1200"]])  # fmt: skip
    assert run(tmp_path / "mon", sandbox).exit_code == 0
    assert run(tmp_path / "tue", sandbox).exit_code == 1
    row = results(tmp_path / "tue", "invoice")["2"]
    assert (row["status"], row["message"]) == ("failed", (
        "IN453 - this order is already invoiced: Konnect took invoice INV-P-0010 for this order"
        " earlier (without package BAG2, without the IRN, without the ack number, with ack date"
        " 06-01-2026 11:00), and an order is invoiced once: items or serial numbers left out"
        " then cannot be added, nor anything corrected from a file: correct it in Konnect - put"
        " every item of an order in the same invoice file"))  # fmt: skip


def test_an_invoice_with_irn_and_bags_whose_answer_was_lost_is_applied(
    tmp_path: Path, sandbox: Any
) -> None:
    """The genuine replay: Konnect took the record (IRN, ack date, bags as sent) and the
    answer was lost; the look-up finds all of it, so the row is ok and sent once."""
    order = oid(12, 9)
    row = [order, "INV-R-0009", "sale", "5c2f0009", "112610000109", "06-01-2026 11:00",
           f"{order}-1", "1", "BAG1", "30", "20", "10", "500"]  # fmt: skip
    drop(tmp_path, "invoice.csv", [BAGGED, row])
    sandbox.faults(drop_rate=1.0, fault_seed=1, faults_on="writes")
    assert run(tmp_path, sandbox).exit_code == 0
    assert results(tmp_path, "invoice")["2"]["message"] == (
        "applied: Konnect's answer was lost; the look-up shows invoice INV-R-0009 on this order,"
        " now dp_assigned"
    )
    assert applied(sandbox, "invoice") == [order]


def test_an_impossible_ack_date_is_refused_before_anything_is_sent(
    tmp_path: Path, sandbox: Any
) -> None:
    """'050126' (ddmmyy) was read as Excel day 50126, 27-03-2037; a year typo went out too.
    An ack date is on or before today: both rows are refused, the third goes."""
    later = f"06-01-{date.today().year + 1} 11:00"
    drop(tmp_path, "invoice.csv", [
        ["orderId", "invoiceNumber", "invoiceType", "ackDate"],
        [oid(12, 3), "INV-D-0003", "sale", "050126"],
        [oid(12, 5), "INV-D-0005", "sale", later],
        [oid(12, 7), "INV-D-0007", "sale", "01-12-2025 11:00"],
    ])  # fmt: skip
    assert run(tmp_path, sandbox).exit_code == 1
    rows = results(tmp_path, "invoice")
    assert statuses(rows) == {"2": "rejected", "3": "rejected", "4": "ok"}
    assert rows["2"]["message"].startswith("'ackDate': '050126' could be a date written without")
    assert rows["3"]["message"] == (
        f"'ackDate': '{later}' - acknowledgement date {later[:10]} is after today: an invoice is"
        " acknowledged on or before the day it is made - check the year, and write the date as"
        " dd-mm-yyyy (05-01-2026)"
    )
    assert applied(sandbox, "invoice") == [oid(12, 7)]


def test_one_item_in_two_bags_is_told_how_to_keep_both_bags(tmp_path: Path, sandbox: Any) -> None:
    """Two rows of one item, one per bag: 'write one row with quantity 2' alone would drop a
    bag from the invoice. The advice, followed, sends the item and both bags."""
    order, head = oid(12, 6), ["orderId", "invoiceNumber", "invoiceType", "orderItemId"]
    head += ["quantity", "packageId", "packageWeightGms"]
    item = [order, "INV-B-0006", "sale", f"{order}-2", "1"]
    drop(tmp_path / "1", "invoice.csv", [head, [*item, "BAG2", "700"], [*item, "BAG3", "700"]])
    assert run(tmp_path / "1", sandbox).exit_code == 1
    assert results(tmp_path / "1", "invoice")["2"]["message"].endswith(
        "in packages BAG2 and BAG3: an item is one row - if its pieces travel in several"
        " packages, write one row with quantity 2 and package BAG2, and for package BAG3 a row"
        " with only the order, invoice and package cells (no item or quantity)"
    )
    bag3 = [order, "INV-B-0006", "sale", "", "", "BAG3", "700"]
    drop(tmp_path / "2", "invoice.csv", [head, [*item[:4], "2", "BAG2", "700"], bag3])
    assert run(tmp_path / "2", sandbox).exit_code == 0
    packages = sandbox.state()["orders"][order]["packages"]
    assert [p["packageId"] for p in packages] == ["BAG2", "BAG3"]


def test_no_answer_and_no_way_to_look_it_up_leaves_rows_unknown_never_resent(
    tmp_path: Path, sandbox: Any
) -> None:
    inbox = tmp_path / "inbox"
    drop(inbox, "confirm.csv", [["orderId", "orderItemId", "quantity"],
                                [oid(11, 7), f"{oid(11, 7)}-1", "1"]])  # fmt: skip
    # not held for the next runs to look it up again (tests/test_holdover.py)
    (inbox / "konnect-etl.yaml").write_text("retries: 1\nretry_failed_minutes: 0\n")
    sandbox.faults(drop_rate=1.0, fault_seed=1)  # every answer lost, lookups included
    assert run(inbox, sandbox).exit_code == 1
    row = results(inbox, "confirm")["2"]
    assert row["status"] == "unknown"
    assert "dropping this row back (the errors file, unchanged) is safe" in row["message"]
    assert applied(sandbox, "confirm") == [oid(11, 7)]  # sent once, never blindly again


def test_courier_manifest_with_numeric_awb_cells_and_yes_no(tmp_path: Path, sandbox: Any) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "delhivery_manifest.xlsx").write_bytes(
        (PROFILES / "delhivery_manifest.xlsx").read_bytes()
    )
    assert run(inbox, sandbox).exit_code == 0
    assert summary(inbox, "delhivery_manifest")["mapping"] == "courier/awb"
    orders = sandbox.state()["orders"]
    assert orders[oid(13, 1)]["awb"]["awbNumber"] == "1234567890123"  # not 1.23E+12
    assert states(sandbox, oid(13, 1), oid(13, 2), oid(13, 3)) == [
        "bag_picked", "dp_assigned", "bag_picked"]  # Auto Dispatch Yes / No / yes # fmt: skip


def test_invoice_register_excel_dates_and_multi_line_serials(tmp_path: Path, sandbox: Any) -> None:
    from datetime import datetime

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["Order ID", "Invoice No", "Invoice Type", "IRN", "Ack No", "Ack Date",
                  "Item ID", "Qty", "IMEI / Serial Nos"])  # fmt: skip
    when = datetime(2026, 1, 5, 14, 30)
    sheet.append([oid(12, 6), "GST/0006", "Tax Invoice", "a" * 64, "1125", when,
                  f"{oid(12, 6)}-1", 1, "3569380356438\n3569380356439"])  # fmt: skip
    sheet.append([oid(12, 6), "GST/0006", "Tax Invoice", "a" * 64, "1125", when,
                  f"{oid(12, 6)}-2", 2, "35693803564, 35693803565"])  # fmt: skip
    book.save(inbox / "invoice register.xlsx")
    assert run(inbox, sandbox).exit_code == 0
    order = sandbox.state()["orders"][oid(12, 6)]
    assert order["invoice"]["ackDate"] == "2026-01-05 14:30:00"
    assert order["invoice"]["irnNumber"] == "a" * 64
    assert [i["imeiSerialNumber"] for i in order["items"]] == [
        ["3569380356438", "3569380356439"], ["35693803564", "35693803565"]]  # fmt: skip


SAMPLE_ROWS: dict[str, dict[str, str]] = {
    "invoice": {"orderId": oid(12, 1), "invoiceNumber": "T-1", "invoiceType": "sale"},
    "awb": {"orderId": oid(13, 1), "awbNumber": "123", "courierName": "Delhivery"},
    "status": {"orderId": oid(16, 1), "orderStatus": "delivery_done"},
    "cancel": {"orderId": oid(11, 1), "orderItemId": "x", "quantity": "1", "reasonCode": "6"},
    "confirm": {"orderId": oid(11, 1), "orderItemId": "x", "quantity": "1"},
    "pack": {"orderId": oid(14, 1)},
    "dispatch": {"orderId": oid(15, 1), "orderItemId": "x", "quantity": "1"},
    "return_qc": {"orderId": oid(18, 1), "orderItemId": "x", "quantity": "1"},
}


def test_filled_in_templates_are_read_by_the_generic_mappings(tmp_path: Path) -> None:
    paths = [tmp_path / f"{feed}.csv" for feed in sorted(SAMPLE_ROWS)]
    for feed, path in zip(sorted(SAMPLE_ROWS), paths, strict=True):
        made = CliRunner().invoke(app, ["template", feed, "--out", str(path)])
        assert made.exit_code == 0, made.output
        with path.open(encoding="utf-8-sig", newline="") as handle:
            header = next(csv.reader(handle))
        with path.open("a", newline="", encoding="utf-8") as handle:
            csv.writer(handle).writerow([SAMPLE_ROWS[feed].get(c, "") for c in header])
    checked = CliRunner().invoke(app, ["validate", *map(str, paths)])
    assert checked.exit_code == 0, checked.output
    for feed in SAMPLE_ROWS:
        report = json.loads((tmp_path / f"{feed}.summary.json").read_text())
        assert (report["mapping"], report["rows"]["ok"]) == (f"generic/{feed}", 1)


def test_an_order_file_with_every_row_rejected_is_reported_not_crashed(
    tmp_path: Path, sandbox: Any
) -> None:
    """The usual errors file dropped back with its mistakes still in: for every order feed,
    done/ with outcome rejected and the reasons, nothing sent (it used to be an internal error
    for the grouped feeds)."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for feed, sample in SAMPLE_ROWS.items():
        path = inbox / f"{feed}.csv"
        assert CliRunner().invoke(app, ["template", feed, "--out", str(path)]).exit_code == 0
        with path.open(encoding="utf-8-sig", newline="") as handle:
            header = next(csv.reader(handle))
        row = [sample.get(c, "") if c != "orderId" else "1.2E+19" for c in header]  # Excel's
        drop(inbox, path.name, [header, row, row])
    assert run(inbox, sandbox).exit_code == 1
    for feed in SAMPLE_ROWS:
        report = summary(inbox, feed)
        assert (report["outcome"], report["rows"]["rejected"]) == ("rejected", 2), feed
        assert "orderId" in results(inbox, feed)["2"]["message"], feed
    assert sandbox.ledger() == []


ORDER_EXAMPLES = [
    "confirm_orders.csv", "cancel_orders.csv", "invoice register - ERP.xlsx", "pack_list.csv",
    "delhivery pickup manifest.xlsx", "dispatch_orders.csv", "status_updates.csv",
    "return_qc.csv",
]  # fmt: skip


def test_the_example_order_files_tell_a_day_with_their_deliberate_mistakes(
    tmp_path: Path, sandbox: Any
) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    examples = Path(__file__).resolve().parent.parent / "inbox_example"
    for name in ORDER_EXAMPLES:
        (inbox / name).write_bytes((examples / name).read_bytes())
    assert run(inbox, sandbox).exit_code == 1
    feeds = {summary(inbox, Path(n).stem)["feed"] for n in ORDER_EXAMPLES}
    assert feeds == set(SAMPLE_ROWS)  # every order feed is in the example inbox
    for name in ORDER_EXAMPLES:
        assert summary(inbox, Path(name).stem)["outcome"] == "partial", name
    confirm = results(inbox, "confirm_orders")
    assert confirm["7"]["message"].startswith("O400 - ")
    assert "not sent: row 9 of the same order has a problem" in confirm["8"]["message"]
    assert results(inbox, "pack_list")["5"]["message"].startswith("CR400 - ")
    assert results(inbox, "dispatch_orders")["5"]["message"].startswith("D400 - ")
    orders = sandbox.state()["orders"]
    assert orders[oid(13, 1)]["awb"]["awbNumber"] == "2345678901231"
    assert orders[oid(12, 2)]["invoice"]["ackDate"] == "2026-01-05 12:40:00"
    assert orders[oid(12, 6)]["state"] == "bag_confirmed"  # conflicting invoice numbers
    assert orders[oid(20, 2)]["state"] == "credit_note_generated"


def test_an_item_wise_pack_list_packs_each_order_once(tmp_path: Path, sandbox: Any) -> None:
    """A WMS pack list has a row per item; the order is packed once, every row reads ok."""
    inbox = tmp_path / "inbox"
    rows = [["orderId", "orderItemId", "sku", "quantity"]]
    rows += [[oid(14, 3), f"{oid(14, 3)}-{n}", "TS-BLK-S", "1"] for n in (1, 2)]
    rows += [[oid(14, 4), f"{oid(14, 4)}-1", "TS-BLK-M", "1"]]
    drop(inbox, "pack_items.csv", rows)
    assert run(inbox, sandbox).exit_code == 0
    assert sorted(applied(sandbox, "pack")) == [oid(14, 3), oid(14, 4)]
    assert {r["status"] for r in results(inbox, "pack_items").values()} == {"ok"}


def test_a_header_a_mapping_matches_on_but_reads_not_is_found(tmp_path: Path, sandbox: Any) -> None:
    """match.headers may name a column no field reads: it must be found, not 'missing'."""
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "wms_pack.yaml").write_text(
        'feed: pack\nmatch: {filename: "wms_*.csv", headers: [orderId, orderItemId]}\n'
        "fields:\n  orderId: orderId\n"
    )
    inbox = tmp_path / "inbox"
    drop(inbox, "wms_today.csv", [["orderId", "orderItemId"], [oid(14, 5), f"{oid(14, 5)}-1"]])
    (inbox / "konnect-etl.yaml").write_text(f"mappings: {tmp_path / 'm'}\n")
    assert run(inbox, sandbox).exit_code == 0
    assert summary(inbox, "wms_today")["mapping"] == "wms_pack"


def test_an_awb_an_earlier_file_set_on_another_order_is_noted(tmp_path: Path, sandbox: Any) -> None:
    """The morning's manifest sets AWB 5555555555 on one order, the evening's on another (a
    paste slip): sent (two orders may travel as one consignment), and said on the row and in
    the file's warnings. The same AWB on the same order again has nothing to note."""
    inbox = tmp_path / "inbox"
    header = ["orderId", "awbNumber", "courierName"]
    drop(inbox, "awb_morning.csv", [header, [oid(13, 6), "5555555555", "Delhivery"]])
    assert run(inbox, sandbox).exit_code == 0
    drop(inbox, "awb_evening.csv", [
        header,
        [oid(13, 9), "5555555555", "Delhivery"],
        [oid(13, 7), "5555555556", "Delhivery"],
    ])  # fmt: skip
    assert run(inbox, sandbox).exit_code == 0
    rows = results(inbox, "awb_evening")
    assert rows["2"]["status"] == "ok" and rows["3"] == {**rows["3"], "message": ""}
    assert rows["2"]["message"].startswith(
        f"note: AWB 5555555555 was set on order {oid(13, 6)} by awb_morning.csv (row 2, "
    ), rows["2"]
    assert rows["2"]["message"].endswith("check that these orders really travel as one consignment")
    summary = json.loads(
        (inbox / "done" / date.today().isoformat() / "awb_evening.summary.json").read_text()
    )
    assert summary["warnings"] == [
        "1 row set an AWB number an earlier file (awb_morning.csv) set on another order: check"
        " that those orders really travel as one consignment (the rows say which)"
    ]
    drop(inbox, "awb_again.csv", [header, [oid(13, 7), "5555555556", "Delhivery"]])
    assert run(inbox, sandbox).exit_code == 0
    again = results(inbox, "awb_again")["2"]["message"]  # the same order: nothing to note
    assert again.startswith("already applied: awb_evening.csv (row 3, ") and "set on" not in again


def test_a_status_written_twice_alike_is_sent_once_two_different_are_refused(
    tmp_path: Path, sandbox: Any
) -> None:
    """A courier feed that sends an event again: the same order, status and remark on two
    rows is one update, sent once (nothing to choose between them). Two different statuses
    of one order in a file stay refused: which is right is the user's to say."""
    drop(tmp_path, "status_courier.csv", [
        ["orderId", "orderStatus", "remark"],
        [oid(16, 5), "delivery_done", "handed to customer"],
        [oid(16, 6), "delivery_done", ""],
        [oid(16, 5), "delivery_done", "handed to customer"],
        [oid(16, 6), "rto_bag_delivered", ""],
    ])  # fmt: skip
    assert run(tmp_path, sandbox).exit_code == 1
    rows = results(tmp_path, "status_courier")
    assert [rows[r]["status"] for r in "2345"] == ["ok", "rejected", "ok", "rejected"]
    assert rows["4"]["message"] == (
        "same order ID as row 2, alike in every cell: sent once, with that row"
    )
    sent = [e["key"] for e in sandbox.ledger() if e["path"].endswith("/status")]
    assert sent == [oid(16, 5)]
    assert states(sandbox, oid(16, 5), oid(16, 6)) == ["delivery_done", "bag_picked"]
