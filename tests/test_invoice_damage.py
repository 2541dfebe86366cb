"""An Order ID column Excel damaged: said once for the file, one short message per row.

Excel saves a column of 20-digit ids as `4E+19` in a CSV, and keeps 15 digits of a number
cell: many orders then read as one id, and each row used to be told, at ~1.4 KB a row, that
its invoice number, IRN and Ack No disagree with the other "orders" rows. Now a row whose
order ID is damaged gets its own finding only, and the file's warnings say once which
column, what Excel did and what to do. End to end against the emulator (the demo seed's
12... orders are confirmed); the register is the built-in `erp/invoice` mapping's.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import orjson
from runs import drop, oid, results, run
from test_konnect_cells import drop_xlsx
from test_orders_e2e import applied

HEADER = ["Order ID", "Invoice No", "Invoice Type", "IRN", "Ack No", "Item ID", "Qty"]
SCIENTIFIC = (
    "'Order ID': '4E+19' - order ID is in scientific notation: a spreadsheet shortened a long"
    " number and its real digits are lost; export the file again from your system without"
    " saving it in Excel, or format the column as Text before saving"
)


def register(order: str, n: int, order_cell: Any) -> list[list[Any]]:
    """The rows of one demo order (1 item when n is odd, 2 when even), its own invoice."""
    count = 2 if n % 2 == 0 else 1
    irn = f"{n:02d}" * 32  # a 64-character IRN, as an e-invoice has
    return [
        [order_cell, f"INV/26/{n:04d}", "Tax Invoice", irn, f"11260000{n:04d}", f"{order}-{k}", k]
        for k in range(1, count + 1)
    ]


def warnings(inbox: Path, stem: str) -> list[str]:
    path = inbox / "done" / date.today().isoformat() / f"{stem}.summary.json"
    found: list[str] = orjson.loads(path.read_bytes())["warnings"]
    return found


def test_an_order_id_column_saved_as_4e19_is_said_once(tmp_path: Path, sandbox: Any) -> None:
    inbox = tmp_path / "inbox"
    rows = [row for n in range(1, 7) for row in register(oid(12, n), n, "4E+19")]
    drop(inbox, "invoices_excel_saved.csv", [HEADER, *rows])
    outcome = run(inbox, sandbox)
    assert outcome.exit_code == 1
    found = results(inbox, "invoices_excel_saved")
    assert len(found) == 9
    assert {r["status"] for r in found.values()} == {"rejected"}
    assert {r["message"] for r in found.values()} == {SCIENTIFIC}  # no "must be the same"
    said = warnings(inbox, "invoices_excel_saved")
    assert said == [
        "column 'Order ID': 9 of 9 rows have their order ID saved by Excel (or LibreOffice) in"
        " scientific notation ('4E+19'): different order IDs became the same number and their"
        " real digits are lost, so those rows were not sent; format the column as Text in Excel"
        " and export the file again (or export it from your system again without opening it in"
        " Excel)"
    ]
    assert "column 'Order ID': 9 of 9 rows" in " ".join(outcome.output.split())
    assert applied(sandbox, "invoice") == []


def test_number_cells_of_two_orders_leave_the_third_order_alone(
    tmp_path: Path, sandbox: Any
) -> None:
    """Orders ...001 and ...002 typed as numbers both read 12000000000000000000."""
    inbox = tmp_path / "inbox"
    rows = [
        *register(oid(12, 1), 1, int(oid(12, 1))),
        *register(oid(12, 2), 2, int(oid(12, 2))),
        *register(oid(12, 3), 3, oid(12, 3)),
    ]
    drop_xlsx(inbox, "invoices_typed.xlsx", [HEADER, *rows])
    assert run(inbox, sandbox).exit_code == 1
    found = results(inbox, "invoices_typed")
    assert {row: r["status"] for row, r in found.items()} == {
        "2": "rejected", "3": "rejected", "4": "rejected", "5": "ok"
    }  # fmt: skip
    for row in ("2", "3", "4"):
        message = found[row]["message"]
        assert message.startswith("'Order ID': '12000000000000000000' - order ID was stored as")
        assert "must be the same" not in message and "is on 2 orders" not in message
        assert message.count("; ") == 1  # the finding and its advice, nothing more
    (said,) = warnings(inbox, "invoices_typed")
    assert said.startswith(
        "column 'Order ID': 3 of 4 rows have their order ID stored as a number, which keeps"
        " only 15 digits ('12000000000000000000')"
    )
    assert "format the column as Text in Excel and export the file again" in said
    assert applied(sandbox, "invoice") == [oid(12, 3)]


def test_one_damaged_cell_is_its_rows_business_alone(tmp_path: Path, sandbox: Any) -> None:
    """A single damaged id is said on its row; the file's warnings stay for the column."""
    inbox = tmp_path / "inbox"
    rows = [*register(oid(12, 1), 1, "1.2E+19"), *register(oid(12, 3), 3, oid(12, 3))]
    drop(inbox, "invoices_one.csv", [HEADER, *rows])
    assert run(inbox, sandbox).exit_code == 1
    found = results(inbox, "invoices_one")
    assert found["2"]["status"] == "rejected" and found["3"]["status"] == "ok"
    assert warnings(inbox, "invoices_one") == []


def test_an_order_with_one_damaged_id_cell_is_not_sent_in_part(
    tmp_path: Path, sandbox: Any
) -> None:
    """One row of an order has its id as text, the other as a number cell Excel cut to 15
    digits: the readable row is not sent alone (Konnect would invoice one item, and the
    invoice number, used then, would refuse the rest): it names the other row."""
    inbox = tmp_path / "inbox"
    order = oid(12, 2)
    rows = register(order, 2, order)
    rows[1][0] = int(order)
    drop_xlsx(inbox, "invoices_mixed.xlsx", [HEADER, *rows])
    run(inbox, sandbox)
    found = results(inbox, "invoices_mixed")
    assert {r["status"] for r in found.values()} == {"rejected"}
    assert "INV/26/0002 is on 2 orders: row 2 (order" in found["2"]["message"]
    assert "stored as a number, which keeps only 15 digits" in found["3"]["message"]
    assert applied(sandbox, "invoice") == []


def test_a_damaged_register_with_credit_notes_says_only_the_damage(
    tmp_path: Path, sandbox: Any
) -> None:
    """Tax invoices and credit notes of different orders, every Order ID `4E+19`: they read
    as one order, but no row is told "a tax invoice and a credit note of the same order"."""
    inbox = tmp_path / "inbox"
    rows = [row for n in range(1, 5) for row in register(oid(12, n), n, "4E+19")]
    for row in rows[-2:]:
        row[2] = "Credit Note"
    drop(inbox, "invoices_mixed_kinds.csv", [HEADER, *rows])
    run(inbox, sandbox)
    found = results(inbox, "invoices_mixed_kinds")
    assert {r["message"] for r in found.values()} == {SCIENTIFIC}
