"""A CSV row with more cells than its header line is rejected, never sent (etl/ragged.py).

A value with a comma in it, written without quotes (`Jeans 32, 34`), splits in two and
shifts the cells after it: the quantity column would hold 34 instead of 5. Empty fields at
the end of a line are padding (Excel writes every line of a CSV with the same number of
fields), and lines that are not data rows (titles, totals) are never rejected for this.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pytest
from runs import results, run
from typer.testing import CliRunner

from etl.cli import app
from etl.ragged import field_counts

SHIFTED = (
    "this row has {cells} cells but the header has {header} ('{value}' is past its last"
    " column, '{last}'): a {sep} inside a value (like a name) without quotes shifts the"
    " cells after it; put that value in quotes or remove the {sep}"
)


def shifted(cells: int, header: int, value: str, last: str, sep: str = "comma") -> str:
    """The message of a row with more cells than the header line."""
    return SHIFTED.format(cells=cells, header=header, value=value, last=last, sep=sep)


GODOWN_STOCK = """\
feed: stock
match:
  filename: ["godown*"]
  headers: [Godown, Item Code, Closing Qty]
read:
  header_row: 3
fields:
  location_id:
    column: Godown
    transforms:
      - map: {Bandra Store: MUM-ST-02, Main Godown: DEL-WH-01}
        unmatched: error
  sku: {column: Item Code, transforms: [strip]}
  quantity: {column: Closing Qty, transforms: [integer]}
"""


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8", newline="")
    return path


def sent(sandbox: Any) -> dict[str, Any]:
    """Every record Konnect received, by key."""
    return {e["key"]: e["record"] for e in sandbox.ledger()}


def validated(path: Path, delimiter: str = ",") -> dict[str, dict[str, str]]:
    """`konnect-etl validate FILE`: its result file's rows (written with the file's
    delimiter), by row number."""
    CliRunner().invoke(app, ["validate", str(path)], catch_exceptions=False)
    report = path.with_name(f"{path.stem}.result.csv")
    with report.open(encoding="utf-8-sig", newline="") as handle:
        return {row["row"]: row for row in csv.DictReader(handle, delimiter=delimiter)}


def test_a_shifted_stock_row_is_rejected_and_the_others_are_sent(
    tmp_path: Path, sandbox: Any
) -> None:
    inbox = tmp_path / "inbox"
    write(inbox / "stock.csv", (
        "Closing stock, all stores, 05-01-2026\n"  # a title line: not data, not rejected
        "location_id,sku,name,quantity\n"
        "DEL-WH-01,TS-BLK-S,Jeans 32, 34,5\n"
        'DEL-WH-01,TS-BLK-M,"Jeans 32, 34",7\n'
        "MUM-ST-02,CAP-RED,Cap,3\n"
        "Grand Total,,,15,all stores\n"  # a totals line: skipped, not rejected
    ))  # fmt: skip
    assert run(inbox, sandbox).exit_code == 1
    rows = results(inbox, "stock")
    assert {n: r["status"] for n, r in rows.items()} == {"3": "rejected", "4": "ok", "5": "ok"}
    assert rows["3"]["message"] == shifted(5, 4, "5", "quantity")
    records = sent(sandbox)
    assert "DEL-WH-01|TS-BLK-S" not in records
    assert records["DEL-WH-01|TS-BLK-M"]["quantity"] == 7
    assert records["MUM-ST-02|CAP-RED"]["quantity"] == 3


def test_a_shifted_price_row_is_rejected_though_its_cells_read_as_prices(
    tmp_path: Path, sandbox: Any
) -> None:
    inbox = tmp_path / "inbox"
    write(inbox / "price.csv", (
        "location_id,sku,name,esp,mrp\n"
        "DEL-WH-01,TS-BLK-S,Jeans 32, 34,999,1299\n"  # read shifted: esp 34, mrp 999
        "DEL-WH-01,TS-BLK-M,Jeans 34,1099,1399\n"
    ))  # fmt: skip
    assert run(inbox, sandbox).exit_code == 1
    rows = results(inbox, "price")
    assert rows["2"]["status"] == "rejected" and rows["3"]["status"] == "ok"
    assert rows["2"]["message"] == shifted(6, 5, "1299", "mrp")
    assert set(sent(sandbox)) == {"DEL-WH-01|TS-BLK-M"}


def test_a_mapping_with_a_header_row_number_compares_with_that_line(
    tmp_path: Path, sandbox: Any
) -> None:
    """The ERP file of the user's report: title lines of their own length above the header."""
    inbox, mappings = tmp_path / "inbox", tmp_path / "mappings"
    write(mappings / "godown.yaml", GODOWN_STOCK)
    write(inbox / "konnect-etl.yaml", f"mappings: {mappings}\n")
    write(inbox / "godown_stock.csv", (
        "Acme Retail Pvt Ltd,,,,,,,\n"
        "Closing stock\n"
        "Godown,Item Code,Item Name,Closing Qty,Rate\n"
        "Bandra Store,TS-BLK-S,Jeans 32, 34,5,299\n"
        "Bandra Store,CAP-RED,Cap,3,499\n"
    ))  # fmt: skip
    assert run(inbox, sandbox).exit_code == 1
    rows = results(inbox, "godown_stock")
    assert rows["4"]["status"] == "rejected" and rows["5"]["status"] == "ok"
    assert rows["4"]["message"] == shifted(6, 5, "299", "Rate")
    cap = {"location_id": "MUM-ST-02", "sku": "CAP-RED", "quantity": 3}
    assert sent(sandbox) == {"MUM-ST-02|CAP-RED": cap}


def test_empty_fields_at_the_end_and_a_note_under_an_empty_header_field_are_not_shifts(
    tmp_path: Path,
) -> None:
    """A note typed right of a sheet's table: Excel gives the header line an empty field of
    its own. A line ending in empty fields (`a,b,c,,`) has nothing past the header."""
    path = write(tmp_path / "stock.csv", (
        "Stock on 05-01-2026\n"
        "location_id,sku,quantity,\n"
        "DEL-WH-01,TS-BLK-S,5,\n"
        "DEL-WH-01,TS-BLK-M,7,counted twice\n"
        "DEL-WH-01,TS-BLK-L,2,,,\n"
        "DEL-WH-01,TS-WHT-M,4,,Jeans 32, 34\n"  # cell 6: past even the header's empty field
    ))  # fmt: skip
    rows = validated(path)
    assert {n: r["status"] for n, r in rows.items()} == {
        "3": "ok", "4": "ok", "5": "ok", "6": "rejected"}  # fmt: skip
    assert rows["6"]["message"].startswith("this row has 6 cells but the header has 4 ('Jeans 32'")


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("stock.csv", (
            "location_id,sku,name,quantity,\n"
            "DEL-WH-01,TS-BLK-S,Jeans 32, 34,5,\n"  # read shifted: quantity 34
            "DEL-WH-01,TS-BLK-L,Jeans,7,\n"
        ), shifted(6, 5, "5", "quantity")),
        ("stock_short.csv", (
            "location_id,sku,quantity,\n"
            "DEL-WH-01,TS-BLK-M,1,200,\n"  # an unquoted 1,200 in the last column: quantity 1
            "DEL-WH-01,TS-BLK-L,7,\n"
        ), shifted(5, 4, "200", "quantity")),
        ("price.csv", (
            "location_id,sku,mrp,esp,\n"
            "DEL-WH-01,TS-BLK-S,1499.00,1,299.00,\n"  # read shifted: esp 1, mrp 1499
            "DEL-WH-01,TS-BLK-M,1499.00,1299.00,\n"
        ), shifted(6, 5, "299.00", "esp")),
    ],
)  # fmt: skip
def test_a_shift_into_the_empty_field_of_lines_that_end_with_the_delimiter_is_caught(
    tmp_path: Path, name: str, text: str, message: str
) -> None:
    """Many ERPs end every line with the delimiter, the header's too: a shifted row's cell
    lands in that empty field, and its own last one is the one past the header."""
    rows = validated(write(tmp_path / name, text))
    assert {n: r["status"] for n, r in rows.items()} == {"2": "rejected", "3": "ok"}
    assert rows["2"]["message"] == message


def test_a_quote_never_closed_that_takes_in_the_rows_after_it_is_rejected(
    tmp_path: Path,
) -> None:
    """A lone `"` opening a cell (a ditto mark, inches) runs on to the next quote: the lines
    between become one cell, and their rows were neither sent nor reported."""
    path = write(tmp_path / "stock.csv", (
        "location_id,sku,quantity,brand\n"
        "DEL-WH-01,A1,5,Nike\n"
        'DEL-WH-01,A2,7,"\n'  # ditto mark: the same brand as above
        'DEL-WH-01,A3,9,"\n'
        "DEL-WH-01,A4,2,Adidas\n"
        'DEL-WH-01,A5,4,"12 inch\n'  # never closed: takes in the rest of the file
        "DEL-WH-01,A6,6,Puma\n"
        "DEL-WH-01,A7,8,Puma\n"
    ))  # fmt: skip
    rows = validated(path)
    assert {n: r["status"] for n, r in rows.items()} == {
        "2": "ok", "3": "rejected", "4": "ok", "5": "rejected"}  # fmt: skip
    assert rows["5"]["message"] == (
        "a cell of this row holds 2 lines of the file after a line break ('DEL-WH-01,A6,6,Puma'):"
        ' a quote (") that opens a cell and is never closed takes in the lines after it, so'
        " those rows were not read either; remove that quote (or close it) and send the file"
        " again"
    )
    assert "holds 1 line of the file after a line break ('DEL-WH-01,A3,9,')" in rows["3"]["message"]
    fine = write(tmp_path / "stock_2.csv", (
        "location_id,sku,quantity,brand\n"
        'DEL-WH-01,A8,1,"Flat 2,\nMG Road, Bengaluru"\n'  # a cell over two lines: fine
        # commas enough for a row on its second line, but no row of this file starts so
        'DEL-WH-01,A9,1,"Black tee\r\n100% cotton, regular fit, round neck, short sleeves"\n'
        'DEL-WH-01,B1,2,"Flat 4B, Sunshine Apts\r\nMG Road, Bandra West, Mumbai, MH"\n'
    ))  # fmt: skip
    assert {n: r["status"] for n, r in validated(fine).items()} == {
        "2": "ok", "3": "ok", "4": "ok"}  # fmt: skip


def test_semicolon_files_are_checked_the_same_way(tmp_path: Path) -> None:
    path = write(tmp_path / "stock.csv", (
        "location_id;sku;name;quantity\n"
        "DEL-WH-01;TS-BLK-S;Jeans; slim fit;5\n"
        "DEL-WH-01;TS-BLK-M;Jeans;7\n"
    ))  # fmt: skip
    rows = validated(path, ";")
    assert rows["2"]["status"] == "rejected" and rows["3"]["status"] == "ok"
    message = shifted(5, 4, "5", "quantity", "semicolon")
    # then what the shift did, as for any cell: ' slim fit' in the quantity column
    assert rows["2"]["message"].startswith(f"{message}; 'quantity': ' slim fit'")


def counted(payload: bytes, sep: str, records: int) -> list[int] | None:
    found = field_counts(payload, sep, records)
    return None if found is None else found.tolist()


def test_fields_are_counted_as_the_parser_splits_records() -> None:
    payload = b'a,b\n"x,y",z\n\n"two\nlines",1,2\r\nq,"say ""hi"", then",\n'
    assert counted(payload, ",", 5) == [2, 2, 1, 3, 3]
    assert counted(payload, ",", 4) is None  # not the parser's records: nothing is judged
    # a delimiter beyond ASCII is looked for in characters: "Ʀ" is C6 A6 in UTF-8, and A6 is "¦"
    assert counted("Ʀ¦b\n".encode(), "¦", 1) == [2]


def test_its_errors_file_dropped_back_unfixed_is_rejected_again_and_fixed_is_sent(
    tmp_path: Path, sandbox: Any
) -> None:
    """The errors file puts the stray cell under a column with no header: every line of it
    has as many cells as its header, so only that column tells the row is still shifted."""
    inbox = tmp_path / "inbox"
    write(inbox / "stock.csv", "location_id,sku,name,quantity\nDEL-WH-01,TS-BLK-S,Jeans 32, 34,5\n")
    assert run(inbox, sandbox).exit_code == 1
    [errors] = inbox.glob("done/*/stock.errors.csv")
    unfixed = errors.read_text(encoding="utf-8-sig")
    write(inbox / "stock.errors.csv", unfixed)
    assert run(inbox, sandbox).exit_code == 1
    [row] = results(inbox, "stock.errors-2").values()  # done/ has a stock.errors.csv
    assert (
        row["status"] == "rejected" and "a cell with no column header holds '5'" in (row["message"])
    )
    assert sent(sandbox) == {}
    fixed = unfixed.replace("Jeans 32, 34,5,", '"Jeans 32, 34",5,,')
    write(inbox / "stock.errors.csv", fixed)
    assert run(inbox, sandbox).exit_code == 0
    assert sent(sandbox)["DEL-WH-01|TS-BLK-S"]["quantity"] == 5
