"""Spreadsheet damage is rejected, never repaired: fixtures written by LibreOffice Calc.

tests/data/damaged/make_fixtures.py made the files (see its docstring): a 20-digit order id
typed as a number, AWB numbers saved to CSV in scientific notation, SKUs that lost their
leading zeros, and date columns with and without a decidable day/month order.
"""

from __future__ import annotations

import csv
import shutil
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from openpyxl import Workbook
from runs import result_rows, run
from typer.testing import CliRunner

from etl.cli import app
from etl.damage import id_damage
from etl.errors import MappingError
from etl.mapping import apply_mapping, load_mapping
from etl.model import Sheet
from etl.readers import to_table

DAMAGED = Path(__file__).resolve().parent / "data" / "damaged"
TODAY = date.today().isoformat()

STOCK_MAPPING = """\
feed: stock
match:
  filename: ["stock-*"]
  headers: [Store, Item Code, Qty]
fields:
  location_id: {column: Store}
  sku: {column: Item Code, pattern: '^(\\d{8}|[A-Z][A-Z0-9-]*)$'}   # all-digit SKUs have 8
  quantity: {column: Qty, transforms: [integer]}
"""
STATUS_MAPPING = """\
feed: status
match:
  filename: ["status-*"]
  headers: [orderId, orderStatus]
fields:
  orderId: {column: orderId, length: 20}
  orderStatus: {column: orderStatus}
  promised_delivery_date: {column: promised_delivery_date, transforms: [FORMAT]}
"""
PRICE_MAPPING = """\
feed: price
match:
  filename: ["price-*"]
fields:
  location_id: {column: Store}
  sku: {column: SKU}
  mrp: {column: MRP, transforms: [{decimal: {currency: INR}}]}
  esp: {column: Price, transforms: [{decimal: {currency: INR}}]}
  currency: {constant: INR}
"""


def setup_inbox(tmp_path: Path, *files: str, status_format: str = "date") -> Path:
    """An inbox with the fixtures and the mappings they need (through its config file)."""
    mappings = tmp_path / "mappings"
    mappings.mkdir()
    (mappings / "stock.yaml").write_text(STOCK_MAPPING, encoding="utf-8")
    status = STATUS_MAPPING.replace("FORMAT", status_format)
    (mappings / "status.yaml").write_text(status, encoding="utf-8")
    (mappings / "price.yaml").write_text(PRICE_MAPPING, encoding="utf-8")
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "konnect-etl.yaml").write_text(f"mappings: {mappings}\n", encoding="utf-8")
    for name in files:
        shutil.copy(DAMAGED / name, inbox / name)
    return inbox


def validate(inbox: Path, name: str) -> dict[str, dict[str, Any]]:
    """`konnect-etl validate` one file; its result rows by row number."""
    args = ["validate", str(inbox / name), "--config", str(inbox / "konnect-etl.yaml")]
    CliRunner().invoke(app, args, catch_exceptions=False)
    reports = inbox / ".konnect-etl" / "dry-run"  # a file in an inbox: not beside it
    return result_rows(reports / f"{Path(name).stem}.result.{_ext(name)}")


def _ext(name: str) -> str:
    return "csv" if name.endswith(".csv") else "xlsx"


def test_twenty_digit_order_id_typed_as_a_number_is_rejected(tmp_path: Path) -> None:
    inbox = setup_inbox(tmp_path, "awb-order-id-as-number.xlsx")
    rows = validate(inbox, "awb-order-id-as-number.xlsx")
    assert rows["2"]["status"] == "rejected"
    assert rows["2"]["Order No"] == "13000000000000000000"  # what Excel kept of ...0001
    assert "stored as a number, which keeps only 15 digits" in rows["2"]["message"]
    assert "export the file again" in rows["2"]["message"]
    assert rows["3"]["status"] == "ok"  # a 13-digit AWB number is exact as a number


def test_awb_numbers_saved_in_scientific_notation_are_rejected(tmp_path: Path) -> None:
    inbox = setup_inbox(tmp_path, "awb-scientific.csv")
    rows = validate(inbox, "awb-scientific.csv")
    for row in ("2", "3"):
        assert rows[row]["status"] == "rejected"
        assert (
            "'awbNumber': '7.80012E+11' - AWB number is in scientific notation"
            in (rows[row]["message"])
        )
    assert rows["4"]["status"] == "ok"


@pytest.mark.parametrize("name", ["stock-sku-lost-zeros.xlsx", "stock-sku-lost-zeros.csv"])
def test_skus_that_lost_their_leading_zeros_break_the_declared_pattern(
    tmp_path: Path, name: str
) -> None:
    inbox = setup_inbox(tmp_path, name)
    rows = validate(inbox, name)
    assert rows["2"]["status"] == "rejected"
    assert "'12345' - SKU does not have the form the mapping expects" in rows["2"]["message"]
    assert "drops leading zeros" in rows["2"]["message"]
    assert rows["3"]["status"] == "ok" and rows["4"]["status"] == "ok"
    assert rows["5"]["status"] == "rejected"


def test_nothing_damaged_reaches_the_sandbox(tmp_path: Path, sandbox: Any) -> None:
    names = ["stock-sku-lost-zeros.csv", "awb-scientific.csv", "awb-order-id-as-number.xlsx"]
    inbox = setup_inbox(tmp_path, *names)
    env = {"KONNECT_TOKEN": sandbox.token, "KONNECT_BASE_URL": sandbox.url}
    result = CliRunner().invoke(app, ["run", str(inbox), "--settle", "0"], env=env)
    assert result.exit_code == 1, result.output
    keys = {e["key"] for e in sandbox.ledger()}
    assert {"MUM-ST-02|00012345", "DEL-WH-01|TS-BLK-S", "13000000000000000006"} <= keys
    assert {"13000000000000000002", "13000000000000000003"} <= keys  # the good rows went
    damaged = {"DEL-WH-01|12345", "BLR-ST-03|7.80012E+11", "13000000000000000000"}
    damaged |= {"13000000000000000004", "13000000000000000005"}
    assert not keys & damaged
    assert not any("E+" in str(e["record"]) for e in sandbox.ledger())


def test_ambiguous_day_month_column_is_rejected_with_a_hint(tmp_path: Path) -> None:
    inbox = setup_inbox(tmp_path, "status-dates-ambiguous.csv")
    rows = validate(inbox, "status-dates-ambiguous.csv")
    for row in ("2", "3"):
        assert rows[row]["status"] == "rejected"
        assert "day and month may be swapped" in rows[row]["message"]
        assert "set the format in the mapping" in rows[row]["message"]


def test_explicit_date_format_in_the_mapping_wins(tmp_path: Path) -> None:
    inbox = setup_inbox(
        tmp_path, "status-dates-ambiguous.csv", status_format="{date: {formats: ['%d/%m/%Y']}}"
    )
    rows = validate(inbox, "status-dates-ambiguous.csv")
    assert rows["2"]["status"] == "ok" and rows["3"]["status"] == "ok"


def test_unambiguous_and_real_date_columns_are_read(tmp_path: Path) -> None:
    inbox = setup_inbox(tmp_path, "status-dates-unambiguous.csv", "status-dates.xlsx")
    for name in ("status-dates-unambiguous.csv", "status-dates.xlsx"):
        rows = validate(inbox, name)
        assert all(row["status"] == "ok" for row in rows.values()), rows


def test_dates_are_converted_day_first_and_in_ist(tmp_path: Path) -> None:
    mapping_file = tmp_path / "status.yaml"
    mapping_file.write_text(STATUS_MAPPING.replace("FORMAT", "date"), encoding="utf-8")
    mapping = load_mapping(mapping_file)
    cells = pd.DataFrame(
        {0: ["orderId", "16000000000000000003", "16000000000000000004", "16000000000000000005"],
         1: ["orderStatus", "delivery_done", "delivery_done", "delivery_done"],
         2: ["promised_delivery_date", "05/01/2026", "25/01/2026", "46027"]},
        dtype="str",
    )  # fmt: skip
    sheet = Sheet(cells, np.arange(1, 5, dtype=np.int64), tmp_path / "status-x.csv", "csv")
    mapped = apply_mapping(mapping, to_table(sheet, 0))
    dates = mapped.frame["promised_delivery_date"].tolist()
    assert dates == ["2026-01-05", "2026-01-25", "2026-01-05"]  # 46027: an Excel serial date
    assert mapped.problems == []


def test_a_price_marked_in_another_currency_is_rejected(tmp_path: Path) -> None:
    inbox = setup_inbox(tmp_path)
    lines = ["Store,SKU,MRP,Price", "DEL-WH-01,CAP-RED,₹ 499,Rs. 399", "DEL-WH-01,BAG-TOTE,$12,10"]
    lines.append('DEL-WH-01,TS-BLK-S,"1,20,000","120,000"')
    (inbox / "price-list.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    rows = validate(inbox, "price-list.csv")
    assert rows["2"]["status"] == "ok" and rows["4"]["status"] == "ok"
    assert rows["3"]["status"] == "rejected"
    assert "marked in another currency, but this column is in INR" in rows["3"]["message"]


def test_mapping_checks_the_new_keys(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(STOCK_MAPPING.replace("pattern: '", "length: [20, 10], pattern: '"))
    with pytest.raises(MappingError, match="length"):
        load_mapping(path)
    path.write_text(STOCK_MAPPING + "export_time: {filename: 'x', format: 'no percent'}\n")
    with pytest.raises(MappingError, match="export_time"):
        load_mapping(path)
    path.write_text(PRICE_MAPPING.replace("currency: INR}", "currency: rupees}"))
    with pytest.raises(MappingError, match="currency"):
        load_mapping(path)


def test_every_imei_of_a_list_is_checked(tmp_path: Path) -> None:
    mapping_file = tmp_path / "invoice.yaml"
    mapping_file.write_text(
        "feed: invoice\nfields:\n  orderId: {column: orderId}\n  invoiceNumber: {column: inv}\n"
        "  invoiceType: {constant: sale}\n"
        "  imeiSerialNumber: {column: imei, transforms: [split], pattern: '^\\d{15}$'}\n",
        encoding="utf-8",
    )
    cells = pd.DataFrame(
        {0: ["orderId", "12000000000000000001", "12000000000000000002"],
         1: ["inv", "INV-1", "INV-2"],
         2: ["imei", "356938035643809, 356938035643817", "356938035643809; 3.56938E+14"]},
        dtype="str",
    )  # fmt: skip
    sheet = Sheet(cells, np.arange(1, 4, dtype=np.int64), tmp_path / "inv.csv", "csv")
    mapped = apply_mapping(load_mapping(mapping_file), to_table(sheet, 0))
    assert [(p.row, p.code) for p in mapped.problems] == [(3, "id_scientific")]


@pytest.mark.parametrize(
    ("cell", "whole"), [("12.0", 12), ("1,20,000", 120000), ("120,000", 120000), ("12.5", None)]
)
def test_quantities_must_be_whole_numbers(cell: str, whole: int | None) -> None:
    from etl.numberstep import Number

    values, failures = Number(whole=True).apply(pd.Series([cell], dtype="str"))
    if whole is None:
        assert [f.code for f in failures] == ["not_integer"]
    else:
        assert values.iloc[0] == whole and failures == []


def test_a_long_id_with_excels_trailing_zeros_is_rejected_even_from_csv(tmp_path: Path) -> None:
    mapping_file = tmp_path / "pack.yaml"
    mapping_file.write_text("feed: pack\nfields:\n  orderId: {column: orderId}\n")
    cells = pd.DataFrame(
        {0: ["orderId", "13000000000000000000", "13000000000000000001", "1300000000000000"]},
        dtype="str",
    )
    sheet = Sheet(cells, np.arange(1, 5, dtype=np.int64), tmp_path / "pack.csv", "csv")
    mapped = apply_mapping(load_mapping(mapping_file), to_table(sheet, 0))
    assert [(p.row, p.code) for p in mapped.problems] == [(2, "id_rounded")]


def test_a_long_id_in_a_number_cell_says_whether_its_digits_were_changed(tmp_path: Path) -> None:
    """A 16-digit SKU in a number cell: ending in 0 after digit 15, Excel changed it; other
    digits are intact in this file (not saved by Excel) but not to be trusted: both are refused,
    and the message does not claim a change the file does not show."""
    workbook = Workbook()
    workbook.active.append(["location_id", "sku", "quantity"])
    workbook.active.append(["DEL-WH-01", 8901234567890120, 4])
    workbook.active.append(["DEL-WH-01", 8901234567890123, 4])
    workbook.save(tmp_path / "stock.xlsx")
    result = CliRunner().invoke(app, ["validate", str(tmp_path / "stock.xlsx")])
    assert result.exit_code == 1, result.output
    rows = result_rows(tmp_path / "stock.result.xlsx")
    assert "value were changed;" in rows["2"]["message"]
    assert "value cannot be trusted (Excel sets them to 0" in rows["3"]["message"]
    assert {rows[r]["status"] for r in ("2", "3")} == {"rejected"}


def test_codes_written_as_numbers_are_rejected_not_sent(tmp_path: Path, sandbox: Any) -> None:
    """A CSV from a script or another office program: the AWB as a float, with thousands
    separators, with Excel's text apostrophe. The digits are probably the code; not guessed."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    rows = [["orderId", "awbNumber", "courierName"]]
    awbs = ["2345678901231.0", "2,345,678,901,233", "'2345678901234", "23,45,67,890", "5012345"]
    rows += [[f"13{n:018d}", awb, "Blue Dart"] for n, awb in enumerate(awbs, start=1)]
    with (inbox / "awb.csv").open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows)
    env = {"KONNECT_TOKEN": sandbox.token, "KONNECT_BASE_URL": sandbox.url}
    result = CliRunner().invoke(app, ["run", str(inbox), "--settle", "0"], env=env)
    assert result.exit_code == 1, result.output
    path = inbox / "done" / TODAY / "awb.result.csv"
    with path.open(encoding="utf-8-sig", newline="") as handle:
        found = [(r["status"], r["message"]) for r in csv.DictReader(handle)]
    assert found[:4] == [
        ("rejected", "'awbNumber': '2345678901231.0' - AWB number ends in '.0': a"
         " program saved this code as a number with decimals; write it without them (probably"
         " 2345678901231), or export the file again from your system without saving it in"
         " Excel, or format the column as Text before saving"),
        ("rejected", "'awbNumber': '2,345,678,901,233' - AWB number has thousands"
         " separators: it was saved as a formatted number; write it without commas (probably"
         " 2345678901233), or export the file again from your system without saving it in"
         " Excel, or format the column as Text before saving"),
        ("rejected", "'awbNumber': ''2345678901234' - AWB number starts with an"
         " apostrophe, Excel's mark for text that was written into the file: remove the ' (the"
         " code is probably 2345678901234)"),
        ("rejected", "'awbNumber': '23,45,67,890' - AWB number has thousands"
         " separators: it was saved as a formatted number; write it without commas (probably"
         " 234567890), or export the file again from your system without saving it in Excel,"
         " or format the column as Text before saving"),
    ]  # fmt: skip
    assert found[4][0] == "ok"
    assert [e["record"]["awbNumber"] for e in sandbox.ledger()] == ["5012345"]


def test_codes_in_a_number_format_with_groups_or_decimals_are_rejected(tmp_path: Path) -> None:
    """Excel's Number format with separators and decimals, a European locale's dots and
    decimal comma, groups split by spaces: each is a number's dress on a code."""
    awbs = {
        "1,23,45,67,89,012.00": "123456789012",
        "123,456,789,012.00": "123456789012",
        "123456789012,00": "123456789012",
        "123.456.789.012": "123456789012",
        "123.456.789.012,00": "123456789012",
        "123 456 789 017": "123456789017",
        "123\u00a0456\u00a0789\u00a0018": "123456789018",
    }
    rows = [["orderId", "awbNumber", "courierName"]]
    rows += [[f"13{n:018d}", awb, "Blue Dart"] for n, awb in enumerate([*awbs, "AB 123 456"])]
    path = tmp_path / "awb.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows)
    CliRunner().invoke(app, ["validate", str(path)], catch_exceptions=False)
    with (tmp_path / "awb.result.csv").open(encoding="utf-8-sig", newline="") as handle:
        found = [(r["status"], r["message"]) for r in csv.DictReader(handle)]
    for (status, message), digits in zip(found, awbs.values(), strict=False):
        assert status == "rejected" and f"write it as plain digits (probably {digits})" in message
    assert "is written as a formatted number (digits in groups and decimal zeros)" in found[0][1]
    assert found[-1] == ("ok", "")  # letters and spaces: a code, not a number
    # an IMEI list split at a decimal comma; a dotted SKU is a SKU, a grouped one with .00 not
    imei = id_damage("imeiSerialNumber", "356938035643809, 00", numeric=False)
    assert imei is not None and "(probably 356938035643809)" in imei[1]
    assert id_damage("sku", "101.002.003", numeric=False) is None
    assert id_damage("sku", "123 456 789", numeric=False) is None
    assert id_damage("sku", "123,456,789.00", numeric=False) is not None
    # a short code from a float column: Excel shows 10234 and 1001
    for short, digits in (("10234.0", "10234"), ("1001.0", "1001")):
        found = id_damage("location_id", short, numeric=False)
        assert found is not None and f"(probably {digits})" in found[1]
    assert id_damage("sku", "42.0", numeric=False) is None


def test_codes_excel_turned_into_dates_are_rejected_not_sent(tmp_path: Path) -> None:
    """SKUs MAR-01 and 12:30 typed into a General column are a date and a time in the
    workbook: sent, they became SKUs '2001-03-01' and '12:30:00'."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["location_id", "sku", "quantity"])
    sheet.append(["DEL-WH-01", datetime(2001, 3, 1), 4])
    sheet.append(["DEL-WH-01", time(12, 30), 5])
    sheet.append(["DEL-WH-01", "TS-BLK-S", 6])
    book.save(tmp_path / "stock.xlsx")
    CliRunner().invoke(app, ["validate", str(tmp_path / "stock.xlsx")], catch_exceptions=False)
    rows = result_rows(tmp_path / "stock.result.xlsx")
    assert [rows[n]["status"] for n in ("2", "3", "4")] == ["rejected", "rejected", "ok"]
    assert "SKU is a date or time in the workbook (2001-03-01): Excel turns codes like" in str(
        rows["2"]["message"]
    )
    assert "(12:30:00)" in str(rows["3"]["message"])


def test_a_sku_shown_with_leading_zeros_by_its_number_format_is_sent_as_shown(
    tmp_path: Path, sandbox: Any
) -> None:
    """Item codes kept as numbers under the format 00000000: Excel shows 00012345, so that is
    what Konnect gets (the number 12345 would be another SKU, or an unknown one whose hint
    blames Excel for zeros the user can see)."""
    sandbox.faults(catalogue="open")
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["location_id", "sku", "quantity"])
    sheet.append(["DEL-WH-01", 12345, 4])
    sheet["B2"].number_format = "00000000"
    book.save(tmp_path / "stock.xlsx")
    assert run(tmp_path, sandbox).exit_code == 0
    assert [e["record"]["sku"] for e in sandbox.ledger()] == ["00012345"]


def test_letters_an_excel_csv_turned_into_question_marks_are_never_sent(
    tmp_path: Path, sandbox: Any
) -> None:
    """Excel's "CSV (Comma delimited)" (Windows-1252) writes every letter it lacks as '?':
    a SKU `CAFÉ-01` of another script arrives as `CAF?-01`, a Hindi remark as `?????? ??`.
    Such cells are refused with the way out; 'é' (which cp1252 holds) and a real question
    mark at the end of a remark are sent as they are."""
    stock = "location_id,sku,quantity\r\nDEL-WH-01,CAF?-01,3\r\nDEL-WH-01,CAFÉ-02,4\r\n"
    (tmp_path / "stock.csv").write_bytes(stock.encode("cp1252"))
    status = (
        "orderId,orderStatus,remark\r\n"
        "16000000000000000001,delivery_done,?????? ?? ?????\r\n"
        "16000000000000000002,delivery_done,handed over - ok?\r\n"
        "16000000000000000003,delivery_done,customer not reachable??\r\n"
        "16000000000000000004,delivery_done,see https://trk.example.in/t?id=55\r\n"
        "16000000000000000005,delivery_done,handed to Mar?a at the gate\r\n"
    )
    (tmp_path / "status_updates.csv").write_bytes(status.encode("cp1252"))
    sandbox.faults(catalogue="open")  # any SKU is known
    assert run(tmp_path, sandbox).exit_code == 1
    done = tmp_path / "done" / date.today().isoformat()
    rows = result_rows(done / "stock.result.csv")
    assert rows["2"]["status"] == "rejected"
    assert "SKU 'CAF?-01' has a '?'" in rows["2"]["message"]
    assert 'save it as "CSV UTF-8 (Comma delimited)"' in rows["2"]["message"]
    assert rows["3"]["status"] == "ok"
    remarks = result_rows(done / "status_updates.result.csv")
    assert (
        remarks["2"]["status"] == "rejected" and "'?' where letters were" in remarks["2"]["message"]
    )
    assert [remarks[str(n)]["status"] for n in range(3, 7)] == ["ok", "ok", "ok", "rejected"]
    sent = [e["record"] for e in sandbox.ledger()]
    assert {r.get("sku") for r in sent if "sku" in r} == {"CAFÉ-02"}
    assert [r["meta"]["remark"] for r in sent if "meta" in r] == [
        "handed over - ok?",
        "customer not reachable??",
        "see https://trk.example.in/t?id=55",
    ]


def test_a_question_mark_in_a_workbook_is_the_writers(tmp_path: Path, sandbox: Any) -> None:
    """A workbook keeps every character: no character set lost letters there."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["location_id", "sku", "quantity"])
    sheet.append(["DEL-WH-01", "WHAT?-TEE", 3])
    book.save(tmp_path / "stock.xlsx")
    sandbox.faults(catalogue="open")
    assert run(tmp_path, sandbox).exit_code == 0
    assert sandbox.state()["stock"]["DEL-WH-01|WHAT?-TEE"] == 3
