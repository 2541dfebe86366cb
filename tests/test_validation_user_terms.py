"""What a user-eye review found: amounts with a third decimal, negative stock sent as 0
without a word, enumerations spelt differently from Konnect. Unit checks on `validate`, then
one `run` against the emulator to see what Konnect received."""

from __future__ import annotations

import csv
import json
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import openpyxl
import pandas as pd
import pytest
from typer.testing import CliRunner

from etl.cli import app
from etl.feeds import FEEDS
from etl.model import Mapped
from etl.numberstep import Number
from etl.validation import Validated, validate
from etl.wording import message

REASONS = (
    "reason code must be one of 6 (out of stock), 7 (not as described), 8 (price mismatch), "
    "9 (damaged), NA (store closed)"
)
ZERO_WHY = "(negative stock is sent as 0 by this mapping)"


def mapped(columns: dict[str, Any]) -> Mapped:
    """Cells as a mapping hands them over (text, or a transform's numbers), rows from 2."""
    frame = pd.DataFrame(
        {
            k: v if isinstance(v, pd.Series) else pd.Series(v, dtype="str")
            for k, v in columns.items()
        }
    )
    n = len(frame)
    return Mapped(
        frame=frame,
        positions=np.arange(n, dtype=np.int64),
        row_numbers=np.arange(2, 2 + n, dtype=np.int64),
        sources={},
    )


def price(mrp: list[Any] | pd.Series, esp: list[Any] | pd.Series) -> Validated:
    n = len(mrp)
    columns = {"location_id": ["L1"] * n, "sku": [f"S{i}" for i in range(n)], "mrp": mrp}
    columns |= {"esp": esp, "currency": ["INR"] * n}
    return validate(FEEDS["price"], mapped(columns))


def stock(skus: list[str], quantities: list[Any] | pd.Series, **policies: str) -> Validated:
    columns = {"location_id": ["L1"] * len(skus), "sku": skus, "quantity": quantities}
    return validate(FEEDS["stock"], mapped(columns), **policies)


def problems(v: Validated) -> list[tuple[int, str, str, str]]:
    return [(p.row, p.column, p.code, p.message) for p in v.problems]


# 1. Amounts: at most 2 decimals; Excel's floating-point noise is rounded away.


def test_a_dot_as_thousands_separator_is_refused_and_named() -> None:
    v = price(["1.299", "1299"], ["1.099", "1099"])
    hint = (
        "'{}' has 3 decimals, and prices have 2: if the '.' separates thousands, write {};"
        " if it is rupees and paise, keep 2 decimals"
    )
    assert problems(v) == [
        (2, "mrp", "too_many_decimals", "MRP " + hint.format("1.299", "1299")),
        (2, "esp", "too_many_decimals", "selling price (esp) " + hint.format("1.099", "1099")),
    ]
    assert v.frame["mrp"].tolist() == [1299.0]
    # MRP 1.299 (1,299) with esp 999: the MRP is the one to fix, not "esp above MRP"
    assert [p.code for p in price(["1.299"], ["999"]).problems] == ["too_many_decimals"]


def test_a_barcode_in_an_amount_or_quantity_column_is_too_large() -> None:
    v = price(["8901234567890", "100000000", "100000000.01"], ["1", "1", "1"])
    assert problems(v) == [
        (2, "mrp", "too_large", "MRP 8901234567890 is more than Rs 10,00,00,000 (10 crore), no"
         " retail price is that high: is there a barcode or another number in this column?"),
        (4, "mrp", "too_large", "MRP 100000000.01 is more than Rs 10,00,00,000 (10 crore), no"
         " retail price is that high: is there a barcode or another number in this column?"),
    ]  # fmt: skip
    assert v.frame["mrp"].tolist() == [100000000.0]
    v = stock(["A", "B", "C"], ["8901234567890", "2147483647", "9007199254740993"])
    assert [(p.row, p.code) for p in v.problems] == [(2, "too_large"), (4, "too_large")]
    assert v.problems[0].message.startswith("stock quantity is more than 2,147,483,647")


def test_a_third_decimal_that_is_no_separator_is_refused_too() -> None:
    v = price(["1999.999", "1.23000001"], ["1499", "1"])
    message = (
        "MRP has more than 2 decimals (rupees and paise): correct the amount in the file (a "
        "formula's result? round it with =ROUND(..., 2) - Excel may show it rounded while the "
        "cell is not)"
    )
    assert problems(v) == [(row, "mrp", "too_many_decimals", message) for row in (2, 3)]
    assert problems(v)[0][3] in v.problems[0].text()
    assert "'1999.999'" in v.problems[0].text()  # the report shows the cell as typed


def test_the_separator_hint_is_given_only_where_it_could_be_one() -> None:
    def said(value: float) -> str:
        return message("too_many_decimals", "mrp", lambda field: value, "price")

    assert "if the '.' separates thousands, write 12345;" in said(12.345)
    assert "(rupees and paise)" in said(0.005) and "separates" not in said(0.005)
    assert "(rupees and paise)" in said(1234.567)


def test_excel_float_noise_is_rounded_to_paise() -> None:
    v = price(["799.0000000001", "18.899999999999999", "123456.780000001"], ["9.99"] * 3)
    assert v.problems == []
    assert v.frame["mrp"].tolist() == [799.0, 18.9, 123456.78]


def test_excel_float_noise_in_quantities_is_rounded_to_whole_pieces() -> None:
    """=(1-0.9)*100 is 9.999999999999998 in the cell and 10 on screen; 10.5 is no noise."""
    v = stock(["A", "B", "C"], ["9.999999999999998", "3.0000000000000004", "10.5"])
    assert [(p.row, p.code) for p in v.problems] == [(4, "not_integer")]
    assert v.frame["quantity"].tolist() == [10, 3]
    counted, failures = Number(whole=True).apply(pd.Series(["9.999999999999998", "10.5"]))
    assert counted.tolist()[0] == 10 and [f.code for f in failures] == ["not_integer"]


def test_a_number_cell_with_a_third_decimal_is_a_formula_to_round_not_a_separator() -> None:
    """532.933 typed as text may be 532,933; in a number cell it is =799*(1-0.333)."""
    columns = {"location_id": ["L1"] * 2, "sku": ["A", "B"], "mrp": ["999", "999"]}
    columns |= {"esp": ["532.933", "532.933"], "currency": ["INR"] * 2}
    cells = mapped(columns)
    cells.numeric = {"esp": np.array([False, True])}
    said = [p.message for p in validate(FEEDS["price"], cells).problems]
    assert "if the '.' separates thousands, write 532933;" in said[0]
    assert "=ROUND(..., 2)" in said[1] and "separates" not in said[1]


def test_amounts_from_a_decimal_transform_are_checked_the_same_way() -> None:
    mrp, _ = Number().apply(pd.Series(["Rs. 1.299", "Rs. 799.0000000001"], dtype="str"))
    v = price(mrp, ["1", "1"])
    assert [p.code for p in v.problems] == ["too_many_decimals"]
    assert v.frame["mrp"].tolist() == [799.0]


def test_two_decimals_pass_exactly_at_any_size() -> None:
    cents = np.random.default_rng(7).integers(100, 10**10, size=2000)  # Rs 1 to 10 crore
    text = [f"{c // 100}.{c % 100:02d}" for c in cents]
    v = price(text, ["1.00"] * len(text))
    assert v.problems == []


# 2. negative_stock: zero tells the user what it changed.


def test_negative_stock_sent_as_zero_says_so() -> None:
    v = stock(["A", "B", "C"], ["-2", "4", "-7"], negative_stock="zero")
    assert v.problems == []
    assert v.frame["quantity"].tolist() == [0, 4, 0]
    assert v.notes == {
        0: f"sent as 0: the file says -2 {ZERO_WHY}",
        2: f"sent as 0: the file says -7 {ZERO_WHY}",
    }


def test_rejected_rows_get_no_zero_note_and_error_policy_gives_none() -> None:
    v = validate(
        FEEDS["stock"],
        mapped({"location_id": ["", "L1"], "sku": ["A", "B"], "quantity": ["-2", "-1.5"]}),
        negative_stock="zero",
    )
    assert [p.code for p in v.problems] == ["missing", "not_integer"]
    assert v.notes == {}
    assert stock(["A"], ["-2"]).notes == {}


def test_zero_notes_with_duplicates_policies() -> None:
    summed = stock(["A", "A"], ["-3", "4"], negative_stock="zero", duplicates="sum")
    assert summed.frame["quantity"].tolist() == [4]
    assert summed.notes == {0: f"counted as 0: the file says -3 {ZERO_WHY}"}
    last = stock(["A", "A"], ["-3", "5"], negative_stock="zero", duplicates="last")
    assert last.notes == {}  # row 2 was not sent at all: its duplicate message says so
    first = stock(["A", "A"], ["-3", "5"], negative_stock="zero", duplicates="first")
    assert first.notes == {0: f"sent as 0: the file says -3 {ZERO_WHY}"}


# 3. Tally's "(-)5 Nos" is a negative quantity, worded as one.


def test_tally_negative_is_negative_stock() -> None:
    quantities, _ = Number(whole=True).apply(pd.Series(["(-)5 Nos", "3 Nos"], dtype="str"))
    refused = stock(["A", "B"], quantities)
    assert problems(refused) == [(2, "quantity", "negative", "stock cannot be negative")]
    zeroed = stock(["A", "B"], quantities, negative_stock="zero")
    assert zeroed.notes == {0: f"sent as 0: the file says -5 {ZERO_WHY}"}


def test_a_refused_row_quotes_its_cell_as_the_file_has_it(tmp_path: Path) -> None:
    """Not as it was read: "(-)3 Pcs" and "(5)" are what the person sees in the sheet."""
    path = tmp_path / "stock.csv"
    _write(path, "location_id,sku,quantity\nL1,A,(-)3 Pcs\nL1,B,(5)\nL1,C,2\n")
    CliRunner().invoke(app, ["validate", str(path)], catch_exceptions=False)
    rows = _result_rows(tmp_path / "stock.result.csv")
    assert rows["2"]["message"] == "'quantity': '(-)3 Pcs' - stock cannot be negative"
    assert rows["3"]["message"] == "'quantity': '(5)' - stock cannot be negative"


def test_an_item_on_a_row_per_piece_is_never_told_to_delete_a_serial(tmp_path: Path) -> None:
    """An invoice register with a row per IMEI (quantity 1 each) names the same item twice.
    Deleting a row, as for a row written twice, would invoice one piece and lose its IMEI for
    good (an order is invoiced once): the message says to write one row with both."""
    path = tmp_path / "invoice.csv"
    _write(
        path,
        "orderId,invoiceNumber,invoiceType,orderItemId,quantity,imeiSerialNumber\n"
        "O46,INV-46,sale,O46-2,1,356938035640002\n"
        "O46,INV-46,sale,O46-2,1,356938035640003\n"
        "O47,INV-47,sale,O47-1,1,\n"
        "O47,INV-47,sale,O47-1,2,\n",
    )
    CliRunner().invoke(app, ["validate", str(path)], catch_exceptions=False)
    rows = _result_rows(tmp_path / "invoice.result.csv")
    assert rows["2"]["message"] == (
        "'orderItemId': 'O46-2' - same order and order item as row 3, with other serial numbers:"
        " an item is one row - if these are its pieces, write one row with quantity 2 and all"
        " their serial numbers (356938035640002; 356938035640003)"
    )
    assert "delete" not in rows["3"]["message"] and rows["3"]["status"] == "rejected"
    assert rows["4"]["message"].endswith(
        "with quantities 1 in row 4, 2 in row 5: an item is one row - if these are its pieces,"
        " write one row with quantity 3; if not, keep the right row and delete the others"
    )


def test_serial_numbers_are_one_per_piece_and_never_two_in_one(tmp_path: Path) -> None:
    """'…809 …817' or '…809/…817' was sent as one serial number, and nothing compared the
    serials with the quantity: a piece without its IMEI, for good (an order is invoiced once).
    Two per piece are a dual-SIM phone's IMEIs."""
    path = tmp_path / "invoice.csv"
    _write(
        path,
        "orderId,invoiceNumber,invoiceType,orderItemId,quantity,imeiSerialNumber\n"
        "O1,INV-1,sale,O1-1,2,356938035643809 356938035643817\n"
        "O2,INV-2,sale,O2-1,2,356938035643825/356938035643833\n"
        "O3,INV-3,sale,O3-1,2,356938035643841\n"
        "O4,INV-4,sale,O4-1,2,356938035643858; 356938035643866; 356938035643890\n"
        "O5,INV-5,sale,O5-1,2,356938035643874; 356938035643882\n"
        "O6,INV-6,sale,O6-1,1,356938035643908; 356938035643916\n"  # a dual-SIM phone
        'O7,INV-7,sale,O7-1,1,"356,938,035,643,924"\n',  # one IMEI in a number format
    )
    CliRunner().invoke(app, ["validate", str(path)], catch_exceptions=False)
    rows = _result_rows(tmp_path / "invoice.result.csv")
    joined = "holds serial numbers joined by a space or '/': separate them with ';'"
    assert joined in rows["2"]["message"] and joined in rows["3"]["message"]
    assert rows["4"]["message"].endswith(
        "1 serial number for quantity 2: an item has one IMEI/serial number per piece (a"
        " dual-SIM phone two)"
    )
    assert rows["5"]["message"].endswith(
        "3 serial numbers for quantity 2: an item has one IMEI/serial number per piece (a"
        " dual-SIM phone two)"
    )
    assert rows["6"]["status"] == rows["7"]["status"] == "ok"
    assert rows["8"]["message"].endswith(
        "5 serial numbers for quantity 1: an item has one IMEI/serial number per piece (a"
        " dual-SIM phone two); if '356,938,035,643,924' is one number written with thousands"
        " separators, write it without them (356938035643924)"
    )
    assert [r["status"] for r in rows.values()][:4] == ["rejected"] * 4


# 4. Enumerations: any case, Konnect's spelling out; reason codes listed with meanings.


def orders(feed: str, columns: dict[str, list[str]]) -> Validated:
    return validate(FEEDS[feed], mapped(columns))


def test_order_status_is_matched_whatever_the_case() -> None:
    said = ["BAG_PICKED", "Delivery_Done", " delivery_done ", "Delivery Done", "Delivered"]
    v = orders("status", {"orderId": [f"O{i}" for i in range(5)], "orderStatus": said})
    assert v.frame["orderStatus"].tolist() == ["bag_picked"] + ["delivery_done"] * 3
    assert [(p.row, p.code) for p in v.problems] == [(6, "bad_order_status")]


def test_invoice_type_is_matched_whatever_the_case() -> None:
    v = orders(
        "invoice",
        {
            "orderId": ["O1", "O2", "O3"],
            "invoiceNumber": ["I1", "I2", "I3"],
            "invoiceType": ["Sale", "RETURN", "credit"],
        },
    )
    assert v.frame["invoiceType"].tolist() == ["sale", "return"]
    assert problems(v) == [
        (4, "invoiceType", "bad_invoice_type", "invoice type must be sale or return")
    ]


@pytest.mark.parametrize("feed", ["cancel", "return_qc"])
def test_reason_codes_any_case_and_leading_zeros(feed: str) -> None:
    codes = ["06", "na", "Na", "8", "5", "damaged", "Out of stock", "6.0", "broken"]
    codes += ["6 - Out of stock", "09: Damaged", "6 - Damaged"]  # an ERP drop-down's text
    n = len(codes)
    v = orders(
        feed,
        {
            "orderId": [f"O{i}" for i in range(n)],
            "orderItemId": [f"O{i}-1" for i in range(n)],
            "quantity": ["1"] * n,
            "reasonCode": codes,
        },
    )
    # a meaning as our message lists it stands for its code: 'damaged' is 9
    assert v.frame["reasonCode"].tolist() == ["6", "NA", "NA", "8", "9", "6", "6", "6", "9"]
    expected = REASONS + (", or empty for an item in good condition" if feed == "return_qc" else "")
    assert problems(v) == [
        (6, "reasonCode", "bad_reason_code", expected),
        (10, "reasonCode", "bad_reason_code", expected),
        (13, "reasonCode", "bad_reason_code", expected),  # 6 or 9? never guessed
    ]


def test_a_refused_word_is_quoted_even_when_the_message_uses_it(tmp_path: Path) -> None:
    """'good' occurs in "... for an item in good condition": the value was left out, as if
    the message had quoted it."""
    path = tmp_path / "return_qc.csv"
    _write(path, "orderId,orderItemId,quantity,reasonCode\nO1,O1-1,1,good\n")
    CliRunner().invoke(app, ["validate", str(path)], catch_exceptions=False)
    message = _result_rows(tmp_path / "return_qc.result.csv")["2"]["message"]
    assert message.startswith("'reasonCode': 'good' - reason code must be one of 6")


# What Konnect receives.

TODAY = date.today().isoformat()


def _run(inbox: Path, sandbox: Any) -> Any:
    env = {"KONNECT_TOKEN": sandbox.token, "KONNECT_BASE_URL": sandbox.url}
    args = ["run", str(inbox), "--settle", "0"]
    return CliRunner().invoke(app, args, env=env, catch_exceptions=False)


def _write(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8", newline="")


def _ginesys(path: Path) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Closing Stock"
    sheet.append(["Site Code", "Item Code", "Closing Stock"])
    sheet.append(["DEL-WH-01", "CAP-RED", 40])
    sheet.append(["MUM-ST-02", "JN-SLIM-34", -2])
    book.save(path)


def _result_rows(path: Path) -> dict[str, dict[str, str]]:
    if path.suffix == ".csv":
        with path.open(encoding="utf-8-sig", newline="") as handle:
            rows = list(csv.DictReader(handle, delimiter=";" if "price" in path.name else ","))
        return {r["row"]: r for r in rows}
    sheet = openpyxl.load_workbook(path).active
    assert sheet is not None
    values = [[str(c) if c is not None else "" for c in row] for row in sheet.values]
    return {r[values[0].index("row")]: dict(zip(values[0], r, strict=True)) for r in values[1:]}


def test_what_konnect_receives(tmp_path: Path, sandbox: Any) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    _write(
        inbox / "eu_price.csv",
        "location_id;sku;mrp;esp;currency\n"
        "DEL-WH-01;TS-BLK-S;1.299;1.099;INR\n"
        "DEL-WH-01;TS-BLK-M;1.999,50;1.499,00;INR\n"
        "DEL-WH-01;TS-BLK-L;799.0000000001;599.00;INR\n"
        "MUM-ST-02;TS-WHT-M;1999.999;1499;INR\n"
        "MUM-ST-02;JN-SLIM-32;$12;10;INR\n",
    )
    _ginesys(inbox / "ginesys_closing_stock.xlsx")
    _write(
        inbox / "status_updates.csv",
        "orderId,orderStatus\n16000000000000000001,Delivery_Done\n13000000000000000006,BAG_PICKED\n",
    )
    _write(
        inbox / "cancel_orders.csv",
        "orderId,orderItemId,quantity,reasonCode\n"
        "11000000000000000003,11000000000000000003-1,1,06\n"
        "11000000000000000004,11000000000000000004-2,2,na\n",
    )
    _run(inbox, sandbox)
    received = {e["key"]: e for e in sandbox.ledger()}

    assert set(received) >= {"DEL-WH-01|TS-BLK-L", "MUM-ST-02|JN-SLIM-34"}
    sent_price = received["DEL-WH-01|TS-BLK-L"]["record"]
    assert (sent_price["mrp"], sent_price["esp"]) == (799.0, 599.0)
    for refused in ("TS-BLK-S", "TS-BLK-M"):
        assert f"DEL-WH-01|{refused}" not in received
    assert "MUM-ST-02|TS-WHT-M" not in received and "MUM-ST-02|JN-SLIM-32" not in received
    prices = _result_rows(inbox / "done" / TODAY / "eu_price.result.csv")
    # 1.299 in a column that writes 1.999,50: one thousand two hundred ninety-nine, maybe
    assert "'1.299' can be read two ways" in prices["2"]["message"]
    assert "has a decimal comma" in prices["3"]["message"]
    assert "'$12' has a currency sign other than ₹/Rs" in prices["6"]["message"]
    assert [prices[r]["status"] for r in "23456"] == ["rejected"] * 2 + ["ok"] + ["rejected"] * 2

    assert received["MUM-ST-02|JN-SLIM-34"]["record"]["quantity"] == 0
    stock_rows = _result_rows(inbox / "done" / TODAY / "ginesys_closing_stock.result.xlsx")
    assert stock_rows["3"]["status"] == "ok"
    assert stock_rows["3"]["message"] == f"sent as 0: the file says -2 {ZERO_WHY}"
    assert stock_rows["2"]["message"] == ""

    ledger = sandbox.ledger()
    status = {e["key"]: e["record"]["orderStatus"] for e in ledger if e["path"].endswith("/status")}
    assert status["16000000000000000001"] == "delivery_done"
    assert status["13000000000000000006"] == "bag_picked"
    cancels = [e["record"] for e in ledger if e["path"].endswith("/cancel")]
    reasons = [item["reasonCode"] for r in cancels for item in r["orderItems"]]
    assert reasons == ["6", "NA"]
    assert all(e["outcome"] == "applied" for e in ledger), json.dumps(ledger)


def test_a_price_marked_in_rupees_on_a_row_in_another_currency_is_not_sent(
    tmp_path: Path, sandbox: Any
) -> None:
    """`₹499` with currency USD was sent as 499 US dollars: the mark was read away."""
    sandbox.faults(catalogue="open")
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    _write(
        inbox / "rates.csv",
        "location_id,sku,mrp,esp,currency\n"
        "DEL-WH-01,TS-BLK-S,₹499,₹399,USD\n"
        "DEL-WH-01,TS-BLK-M,Rs. 499,399,AED\n"
        "DEL-WH-01,TS-BLK-L,499,399,USD\n"  # unmarked: the row says dollars
        "DEL-WH-01,CAP-RED,₹499,₹399,INR\n",
    )
    assert _run(inbox, sandbox).exit_code == 1
    sent = {e["key"]: e["record"]["currency"] for e in sandbox.ledger()}
    assert sent == {"DEL-WH-01|TS-BLK-L": "USD", "DEL-WH-01|CAP-RED": "INR"}
    rows = _result_rows(inbox / "done" / TODAY / "rates.result.csv")
    assert rows["2"]["message"].startswith("'mrp': '₹499' - marked in rupees, but the row's")
    assert "currency is AED" in rows["3"]["message"]


def test_a_price_whose_dot_or_comma_may_separate_thousands_is_not_sent_1000_times_smaller(
    tmp_path: Path, sandbox: Any
) -> None:
    """`2.000` (a European `#.##0` export) was sent as 2 rupees, and `12,000` in a
    `decimal_comma` column as 12: prices have 2 decimals, so three after the mark are refused
    as maybe thousands - unless the column writes three decimals (`1299.000`). The message
    quotes the cell as typed (`2,499`, not the `2.499` it was read as)."""
    sandbox.faults(catalogue="open")
    inbox = tmp_path / "inbox"
    (inbox / "mappings").mkdir(parents=True)
    (inbox / "konnect-etl.yaml").write_text("mappings: ./mappings\n")
    (inbox / "mappings" / "busy.yaml").write_text(
        "feed: price\n"
        "match: {filename: ['busy_*'], headers: [Item, MRP, Rate]}\n"
        "read: {delimiter: ';'}\n"
        "fields:\n"
        "  location_id: {constant: DEL-WH-01}\n"
        "  sku: {column: Item, transforms: [strip]}\n"
        "  mrp: {column: MRP, transforms: [{decimal: {decimal_comma: true}}]}\n"
        "  esp: {column: Rate, transforms: [{decimal: {decimal_comma: true}}]}\n"
        "  currency: {constant: INR}\n"
    )
    header = "location_id,sku,mrp,esp,currency\n"
    _write(inbox / "rates_eu.csv", header + "DEL-WH-01,TS-BLK-S,2.000,1.500,INR\n"
           "DEL-WH-01,TS-BLK-M,999.00,899.00,INR\n")  # fmt: skip
    _write(inbox / "rates_sap.csv", header + "DEL-WH-01,TS-BLK-L,1299.000,999.000,INR\n"
           "DEL-WH-01,TS-BLK-XL,2.000,1.500,INR\n")  # fmt: skip
    _write(inbox / "busy_price_0105.csv", "Item;MRP;Rate\nCAP-RED;999,50;899,50\n"
           "CAP-BLUE;12,000;9,000\nCAP-GRN;2,499;1,999\n")  # fmt: skip
    assert _run(inbox, sandbox).exit_code == 1
    sent = {e["key"]: (e["record"]["mrp"], e["record"]["esp"]) for e in sandbox.ledger()}
    assert sent == {
        "DEL-WH-01|TS-BLK-M": (999, 899),
        "DEL-WH-01|TS-BLK-L": (1299, 999),
        "DEL-WH-01|TS-BLK-XL": (2, 1.5),  # the column writes three decimals: 2 rupees
        "DEL-WH-01|CAP-RED": (999.5, 899.5),
    }
    done = inbox / "done" / TODAY
    eu = _result_rows(done / "rates_eu.result.csv")["2"]["message"]
    assert eu.startswith(
        "'mrp': '2.000' has 3 decimals, and prices have 2: if the '.' separates thousands,"
        " write 2000; if it is rupees and paise, keep 2 decimals; 'esp': '1.500' has"
    ), eu
    busy = _result_rows(done / "busy_price_0105.result.csv")
    assert "'MRP': '12,000' has 3 decimals" in busy["3"]["message"]
    assert "if the ',' separates thousands, write 12000" in busy["3"]["message"]
    assert "'MRP': '2,499' has 3 decimals" in busy["4"]["message"], busy["4"]
    assert "2.499" not in busy["4"]["message"]


def _rates_book(path: Path, rows: list[list[Any]], esp_format: str) -> None:
    """A price workbook whose first row's esp cell has Excel number format `esp_format`."""
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["location_id", "sku", "mrp", "esp", "currency"])
    for row in rows:
        sheet.append(row)
    sheet["D2"].number_format = esp_format
    book.save(path)


def test_a_price_cell_formatted_as_a_percentage_is_not_sent_as_rupees(
    tmp_path: Path, sandbox: Any
) -> None:
    """Excel shows 0.85 formatted `0%` as 85%; the cell holds 0.85, which was sent as Rs 0.85.
    No rupee price is below Rs 1: refused, saying why. A dollar price of 0.99 is one."""
    sandbox.faults(catalogue="open")
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    rows = [
        ["DEL-WH-01", "TS-BLK-S", 999, 0.85, "INR"],
        ["DEL-WH-01", "TS-BLK-M", 1.5, 0.99, "USD"],
        ["DEL-WH-01", "TS-BLK-L", 499, 399, "INR"],
    ]
    _rates_book(inbox / "rates.xlsx", rows, esp_format="0%")
    assert _run(inbox, sandbox).exit_code == 1
    sent = {e["key"]: e["record"]["esp"] for e in sandbox.ledger()}
    assert sent == {"DEL-WH-01|TS-BLK-M": 0.99, "DEL-WH-01|TS-BLK-L": 399}
    row = _result_rows(inbox / "done" / TODAY / "rates.result.xlsx")["2"]
    assert row["message"] == (
        "'esp': selling price (esp) 0.85 is less than Rs 1: is the cell formatted as a"
        " percentage (Excel shows 0.85 as 85%), or is this a discount column? Write the price"
        " in rupees"
    ), row


def test_the_older_rupee_sign_is_read_and_a_missing_price_is_not_told_to_be_0(
    tmp_path: Path,
) -> None:
    """`₨ 1299` (U+20A8, still on some POS exports) is 1299 rupees; `NA` in MRP is told to
    write the amount - not "or 0", which the MRP check refuses next."""
    path = tmp_path / "rates.csv"
    _write(path, "location_id,sku,mrp,esp,currency\nL1,A,₨ 1299,₨ 999,INR\nL1,B,NA,5,INR\n")
    CliRunner().invoke(app, ["validate", str(path)], catch_exceptions=False)
    rows = _result_rows(tmp_path / "rates.result.csv")
    assert rows["2"]["status"] == "ok", rows["2"]
    assert rows["3"]["message"] == "'mrp': 'NA' is not a number: write the amount"


def test_a_number_cell_formatted_as_a_date_says_so(tmp_path: Path) -> None:
    """599 formatted dd-mm-yyyy shows 21-08-1901 and is read as that date: the message says
    the cell is formatted as a date, not just 'not a number'."""
    _rates_book(tmp_path / "rates.xlsx", [["L1", "A", 799, 599, "INR"]], esp_format="dd-mm-yyyy")
    CliRunner().invoke(app, ["validate", str(tmp_path / "rates.xlsx")], catch_exceptions=False)
    row = _result_rows(tmp_path / "rates.result.xlsx")["2"]
    assert row["message"] == (
        "'esp': '1901-08-21' is a date: the cell is formatted as a date in Excel, which shows a"
        " number as the day that many days after 1900 (1901-08-21 is the number 599); format"
        " the column as Number and check the value"
    ), row


def test_a_price_typed_as_a_percentage_or_in_scientific_notation_or_with_3_decimals(
    tmp_path: Path,
) -> None:
    """The 7 a.m. fixer's messages (price review): `30%` said only "not a number", a price
    in scientific notation asked about a barcode, and 1299.001 beside MRP 1299 said "above
    MRP" (true, but the cell's own fault is its third decimal)."""
    path = tmp_path / "rates.csv"
    lines = ["location_id,sku,mrp,esp", "L1,A,1299,30%", "L1,B,1.299E+03,999", "L1,C,1299,1299.001"]
    _write(path, "\n".join(lines) + "\n")
    CliRunner().invoke(app, ["validate", str(path)], catch_exceptions=False)
    rows = _result_rows(tmp_path / "rates.result.csv")
    assert rows["2"]["message"] == (
        "'esp': '30%' is a percentage: write the amount itself (is this a discount column?)"
    )
    assert rows["3"]["message"].startswith(
        "'mrp': '1.299E+03' is in scientific notation: Excel wrote the number shortened"
    )
    assert "barcode" not in rows["3"]["message"]
    assert rows["4"]["message"].startswith(
        "'esp': '1299.001' - selling price (esp) has more than 2 decimals"
    )


def test_a_tax_invoice_and_its_credit_note_in_one_register_are_told_so_once(
    tmp_path: Path,
) -> None:
    """Sale on Monday, return on Friday, one weekly register: two documents of one order, not
    an item written twice nor an order whose rows disagree ("write one row with quantity 2"
    would make a wrong invoice). Another order of the file goes ahead."""
    rows = _validated_invoice(
        tmp_path,
        "orderId,invoiceNumber,invoiceType,ackDate,orderItemId,quantity\n"
        "O7,INV-7,sale,02-01-2026,O7-1,1\n"
        "O7,CN-7,return,06-01-2026,O7-1,1\n"
        "O8,INV-8,sale,02-01-2026,O8-1,1\n",
    )
    said = (
        "a tax invoice and a credit note of the same order (rows 2 and 3): Konnect takes them"
        " one at a time - send the tax invoice, and drop the credit note in a file of its own"
        " once the return is accepted"
    )
    assert rows["2"]["message"] == f"'invoiceType': 'sale' - {said}"
    assert rows["3"]["message"] == f"'invoiceType': 'return' - {said}"
    assert rows["4"]["status"] == "ok"


def _validated_invoice(folder: Path, text: str) -> dict[str, dict[str, str]]:
    """`konnect-etl validate` on an invoice.csv of `text`: its result rows by row number."""
    _write(folder / "invoice.csv", text)
    CliRunner().invoke(app, ["validate", str(folder / "invoice.csv")], catch_exceptions=False)
    return _result_rows(folder / "invoice.result.csv")


def test_a_credit_note_with_a_negative_quantity_is_told_to_write_it_positive(
    tmp_path: Path,
) -> None:
    """ERPs print a credit note's quantity as -1 or (1): say what to write, not just '> 0'."""
    rows = _validated_invoice(
        tmp_path,
        "orderId,invoiceNumber,invoiceType,orderItemId,quantity\n"
        "O8,CN-8,return,O8-1,-2\nO9,CN-9,return,O9-1,(1)\nO10,INV-10,sale,O10-1,-1\n",
    )
    assert rows["2"]["message"] == (
        "'quantity': '-2' - quantity must be more than 0: a credit note's quantity is the number"
        " of pieces returned, written positive: write 2"
    )
    assert rows["3"]["message"].endswith("written positive: write 1")
    assert rows["4"]["message"] == "'quantity': '-1' - quantity must be more than 0"


def test_a_package_weight_in_kilograms_is_refused_saying_what_to_write(tmp_path: Path) -> None:
    """'Weight (kg)' put into packageWeightGms: a 1.2 g parcel of 40x30x10 cm, which the
    courier would charge as such. Under 10 g with sizes is refused; without sizes, or 10 g
    and more, is taken."""
    head = "orderId,invoiceNumber,invoiceType,packageId,packageLengthCm,packageWidthCm,"
    rows = _validated_invoice(
        tmp_path,
        f"{head}packageHeightCm,packageWeightGms\n"
        "O4,INV-4,sale,BAG2,40,30,10,1.2\nO5,INV-5,sale,BAG1,,,,5\nO6,INV-6,sale,BAG1,8,6,2,10\n",
    )
    assert rows["2"]["message"] == (
        "'packageWeightGms': 1.2 g for a 40x30x10 cm package: if this is kilograms, write 1200"
        " (the weight is in grams)"
    )
    assert (rows["3"]["status"], rows["4"]["status"]) == ("ok", "ok")


def test_an_unreadable_package_size_is_not_blamed_on_the_good_row(tmp_path: Path) -> None:
    """'30 cm' on row 2 read as empty, and row 3's good '30' was told it disagreed with it.
    The unreadable cell is left out of the comparison; a real disagreement names the package."""
    head = "orderId,invoiceNumber,invoiceType,orderItemId,quantity,packageId,packageLengthCm"
    rows = _validated_invoice(
        tmp_path,
        f"{head}\nO10,INV-10,sale,O10-1,1,BAG1,30 cm\nO10,INV-10,sale,O10-2,2,BAG1,30\n"
        "O11,INV-11,sale,O11-1,1,BAG1,30\nO11,INV-11,sale,O11-2,1,BAG1,40\n",
    )
    assert rows["2"]["message"].startswith("'packageLengthCm': '30 cm' - not a number; fix this")
    assert rows["3"]["message"].startswith("not sent: row 2 of the same order")
    assert rows["4"]["message"] == (
        "'packageLengthCm': package length (cm) must be the same on every row of package BAG1 of"
        " order O11: row 4 '30', row 5 '40'"
    )
