"""Page headings repeated in the data (a report exported for printing; two CSVs joined with
`copy a+b`) are skipped and named, never rejected as bad data (etl/pageheads.py)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import openpyxl
from runs import run

from etl.mapping import apply_mapping, choose_mapping, generic_mapping, load_mappings

TODAY = date.today().isoformat()
HEADER = "location_id,sku,quantity\r\n"
MARG = """feed: stock
match: {filename: ["marg_stock*"]}
fields:
  location_id: Godown
  sku: Item Code
  quantity: Cl. Qty
"""


def test_two_csv_exports_joined_upload_without_the_second_header(
    tmp_path: Path, sandbox: Any
) -> None:
    """`copy delhi.csv+mumbai.csv stock.csv`: the second file's header (with its BOM) sits
    on line 4; it was rejected as an unknown location and a quantity that is no number."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    delhi = "\ufeff" + HEADER + "DEL-WH-01,TS-BLK-S,5\r\nDEL-WH-01,TS-BLK-M,6\r\n"
    mumbai = "\ufeff" + HEADER + "MUM-ST-02,TS-WHT-M,3\r\n"
    (inbox / "stock.csv").write_text(delhi + mumbai, encoding="utf-8")
    assert run(inbox, sandbox).exit_code == 0
    summary = json.loads((inbox / "done" / TODAY / "stock.summary.json").read_text())
    assert (summary["outcome"], summary["rows"]["ok"], summary["skipped_rows"]) == (
        "uploaded",
        3,
        1,
    )
    assert summary["warnings"] == [
        "row 4 repeats the column names (a page break, or two files joined?): skipped"
    ]
    assert sandbox.state()["stock"]["MUM-ST-02|TS-WHT-M"] == 3


def test_a_report_printed_in_pages_repeats_its_title_and_header(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    title = [["SHREE RETAIL PVT LTD"], ["Stock Status as on 26-11-2026"], []]
    header = ["Item Code", "Item Name", "Godown", "Cl. Qty"]
    page_1 = [["TS-BLK-S", "T", "DEL-WH-01", 12], ["Page 1 of 2"]]
    page_2 = [["TS-WHT-M", "T", "MUM-ST-02", 7], ["Page 2 of 2"]]
    for row in [*title, header, *page_1, *title, header, *page_2]:
        sheet.append(row)
    book.save(tmp_path / "marg_stock_26112026.xlsx")
    (tmp_path / "mappings" / "marg").mkdir(parents=True)
    (tmp_path / "mappings" / "marg" / "stock.yaml").write_text(MARG)
    mappings = load_mappings(tmp_path / "mappings")
    _, table = choose_mapping(mappings, tmp_path / "marg_stock_26112026.xlsx")
    mapped = apply_mapping(mappings[0], table)
    assert (mapped.row_numbers.tolist(), mapped.problems) == ([5, 11], [])
    assert table.skipped == [
        "row 10 repeats the column names (a page break, or two files joined?): skipped",
        "rows 7, 8 repeat the report's title above the column names (a page break?): skipped",
        "skipped as totals or report footers, not data: rows 6, 12",
    ]


def test_a_row_unlike_the_header_in_one_cell_is_data(tmp_path: Path, sandbox: Any) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    text = HEADER + "DEL-WH-01,TS-BLK-S,5\r\nlocation_id,sku,7\r\n"
    (inbox / "stock.csv").write_text(text, encoding="utf-8")
    assert run(inbox, sandbox).exit_code == 1
    summary = json.loads((inbox / "done" / TODAY / "stock.summary.json").read_text())
    assert (summary["rows"]["total"], summary["skipped_rows"]) == (2, 0)  # sent: Konnect says


def test_a_title_cell_every_data_row_repeats_skips_only_the_title_row_itself(
    tmp_path: Path,
) -> None:
    """A one-godown list whose title line is the godown's code, in the location column: each
    data row starts the same way (every row a candidate on that column alone), but only the
    row equal to the title line, cell for cell, is a page heading."""
    rows = ["Closing stock as on 05-01-2026,,", "DEL-WH-01,,", "location_id,sku,quantity"]
    rows += [f"DEL-WH-01,SKU-{i:05d},{i % 7}" for i in range(2000)]
    rows += ["DEL-WH-01,,", "DEL-WH-01,SKU-99999,4"]
    path = tmp_path / "stock.csv"
    path.write_text("\r\n".join(rows) + "\r\n", encoding="utf-8")
    mapping, table = choose_mapping([generic_mapping("stock")], path)
    mapped = apply_mapping(mapping, table)
    assert (len(mapped.frame), mapped.problems) == (2001, [])
    assert table.skipped == [
        "row 2004 repeats the report's title above the column names (a page break?): skipped"
    ]
