"""Choosing a mapping for a file, explaining the choice, and applying it end to end."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from etl.errors import InputError
from etl.mapping import (
    Mapping,
    apply_mapping,
    choose_mapping,
    explain,
    generic_mapping,
    load_mapping,
    load_mappings,
)
from etl.model import Sheet, Table

SHIPPED = Path(__file__).resolve().parents[1] / "mappings"
PROFILES = Path(__file__).resolve().parent / "data" / "profiles"

TALLY_LIKE = """
feed: stock
match:
  filename: ["*stock*summary*"]
  headers: [Particulars]
skip:
  rows_where:
    - {column: Particulars, matches: '(?i)^grand total'}
fields:
  location_id: {column: Godown}
  sku: {column: Particulars, transforms: [strip, upper]}
  quantity: {column: Closing Qty, transforms: [integer]}
"""


def sheet_of(rows: list[list[str]], name: str = "x.csv") -> Sheet:
    width = max(len(r) for r in rows)
    padded = [r + [""] * (width - len(r)) for r in rows]
    cells = pd.DataFrame(padded, dtype="str")
    return Sheet(cells, np.arange(1, len(rows) + 1, dtype=np.int64), Path(name), "csv")


def table_of(rows: list[list[str]], header_index: int = 0) -> Table:
    sheet = sheet_of(rows)
    data = sheet.cells.iloc[header_index + 1 :].reset_index(drop=True)
    data.columns = range(data.shape[1])
    numbers = sheet.row_numbers[header_index + 1 :]
    return Table(rows[header_index], data, numbers, header_index + 1, sheet)


def mapping_from(tmp_path: Path, text: str, name: str = "erp/stock.yaml") -> Mapping:
    path = tmp_path / "mappings" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return load_mapping(path, tmp_path / "mappings")


def csv_file(tmp_path: Path, name: str, rows: list[list[str]]) -> Path:
    path = tmp_path / name
    path.write_text("\n".join(",".join(r) for r in rows) + "\n", encoding="utf-8")
    return path


TALLY_ROWS = [
    ["Acme Fashions Pvt Ltd"],
    ["Stock Summary"],
    [""],
    ["Particulars", "Godown", "Closing  qty"],
    ["TS-BLK-S", "DEL-WH-01", "12 Nos"],
    ["Grand Total", "", "12 Nos"],
]


def test_header_found_below_title_rows_and_totals_skipped(tmp_path: Path) -> None:
    tally = mapping_from(tmp_path, TALLY_LIKE)
    path = csv_file(tmp_path, "Stock Summary Jan.csv", TALLY_ROWS)
    mapping, table = choose_mapping([generic_mapping("stock"), tally], path)
    assert mapping is tally
    assert table.header_row == 4
    mapped = apply_mapping(mapping, table)
    assert mapped.frame.to_dict("records") == [
        {"location_id": "DEL-WH-01", "sku": "TS-BLK-S", "quantity": 12}
    ]
    assert mapped.row_numbers.tolist() == [5]
    assert mapped.skipped_rows == 1
    assert mapped.sources == {
        "location_id": "Godown",
        "sku": "Particulars",
        "quantity": "Closing Qty",
    }


def test_canonical_headers_choose_the_generic_mapping(tmp_path: Path) -> None:
    path = csv_file(tmp_path, "anything.csv", [["location_id", "sku", "quantity"], ["A", "B", "1"]])
    tally = mapping_from(tmp_path, TALLY_LIKE)
    mapping, table = choose_mapping([tally, generic_mapping("stock")], path)
    assert mapping.name == "generic/stock"
    assert table.header_row == 1


def test_no_mapping_says_which_came_closest_and_what_it_lacked(tmp_path: Path) -> None:
    tally = mapping_from(tmp_path, TALLY_LIKE)
    rows = [r[:2] for r in TALLY_ROWS]
    path = csv_file(tmp_path, "stock summary.csv", rows)
    with pytest.raises(InputError) as caught:
        choose_mapping([tally, generic_mapping("price")], path)
    assert caught.value.code == "no_mapping"
    message = str(caught.value)
    assert f"closest: erp/stock ({tally.path}): file name matches '*stock*summary*'" in message
    assert message.endswith("but header lacks 'Closing Qty'")


def test_a_piece_of_a_file_written_in_pieces_is_named_as_such(tmp_path: Path) -> None:
    """An export that opened confirm.csv again to add rows after its first part was taken:
    the piece starts with data. 'header lacks orderId' alone did not say why (ops review)."""
    rows = [[f"30{n:018d}", f"30{n:018d}-1", "1"] for n in range(41, 61)]
    path = csv_file(tmp_path, "confirm.csv", rows)
    with pytest.raises(InputError) as caught:
        choose_mapping([generic_mapping("confirm"), generic_mapping("stock")], path)
    message = str(caught.value)
    assert "header lacks 'orderId'" in message
    assert (
        ". Its first line reads as data, not column names: was the file written in pieces"
        in message
    )
    named = csv_file(tmp_path, "confirm_x.csv", [["Order", "Item", "Qty"], *rows])
    with pytest.raises(InputError) as caught:  # a header of other names: no such hint
        choose_mapping([generic_mapping("confirm")], named)
    assert "reads as data" not in str(caught.value)


def test_file_name_globs_are_required_unless_the_feed_is_given(tmp_path: Path) -> None:
    tally = mapping_from(tmp_path, TALLY_LIKE)
    path = csv_file(tmp_path, "export.csv", TALLY_ROWS)
    with pytest.raises(InputError, match="file name does not match"):
        choose_mapping([tally], path)
    assert choose_mapping([tally], path, feed="stock")[0] is tally
    assert choose_mapping([tally], path, name="erp/stock")[0] is tally
    with pytest.raises(InputError, match="no mapping named 'x'"):
        choose_mapping([tally], path, name="x")


def test_a_file_name_match_beats_a_headers_only_match(tmp_path: Path) -> None:
    text = TALLY_LIKE.replace('["*stock*summary*"]', '["*acme*"]')
    named = mapping_from(tmp_path, text.replace("Particulars]", "location_id]"), "a.yaml")
    rows = [["location_id", "sku", "quantity", "Particulars", "Godown", "Closing Qty"]]
    path = csv_file(tmp_path, "acme.csv", [*rows, ["A", "B", "1", "x", "y", "2"]])
    assert choose_mapping([generic_mapping("stock"), named], path)[0] is named


def test_two_equal_fits_are_an_error_not_a_guess(tmp_path: Path) -> None:
    first = mapping_from(tmp_path, TALLY_LIKE, "one.yaml")
    second = mapping_from(tmp_path, TALLY_LIKE, "two.yaml")
    path = csv_file(tmp_path, "stock summary.csv", TALLY_ROWS)
    with pytest.raises(InputError) as caught:
        choose_mapping([first, second], path)
    assert caught.value.code == "ambiguous_mapping"


def test_explain_scores_every_mapping_best_first(tmp_path: Path) -> None:
    tally = mapping_from(tmp_path, TALLY_LIKE)
    path = csv_file(tmp_path, "stock summary.csv", TALLY_ROWS)
    reports = explain([generic_mapping("price"), tally, generic_mapping("stock")], path)
    assert reports[0].mapping.name == "erp/stock"
    assert reports[0].fits and reports[0].score == 1.0 and reports[0].header_row == 4
    assert not reports[1].fits
    assert any("header lacks" in m for m in reports[1].missing)


def test_explicit_header_row(tmp_path: Path) -> None:
    text = TALLY_LIKE.replace("skip:", "read: {header_row: 4}\nskip:")
    path = csv_file(tmp_path, "stock summary.csv", TALLY_ROWS)
    _, table = choose_mapping([mapping_from(tmp_path, text)], path)
    assert table.header_row == 4


def test_cell_problems_keep_the_row_and_name_the_source_column() -> None:
    table = table_of([["location_id", "sku", "quantity"], ["A", "B", "12.5"], ["A", "C", "3"]])
    mapped = apply_mapping(generic_mapping("stock"), table)
    assert len(mapped.frame) == 2
    [problem] = mapped.problems
    assert (problem.row, problem.column, problem.value, problem.code) == (
        2,
        "quantity",
        "12.5",
        "not_integer",
    )
    assert problem.text().startswith("Row 2, column 'quantity': '12.5' - not a whole number: ")


def test_missing_required_column_is_a_file_error() -> None:
    table = table_of([["location_id", "sku"], ["A", "B"]])
    with pytest.raises(InputError) as caught:
        apply_mapping(generic_mapping("stock"), table)
    assert caught.value.code == "missing_column"
    assert str(caught.value) == "column 'quantity' not found; the file has: location_id, sku"


def test_a_column_listed_twice_is_a_file_error() -> None:
    table = table_of([["location_id", "sku", "quantity", "SKU"], ["A", "B", "1", "C"]])
    with pytest.raises(InputError, match="column 'sku' appears twice \\(columns B and D\\)"):
        apply_mapping(generic_mapping("stock"), table)


def test_blank_rows_are_skipped_and_counted() -> None:
    rows = [["location_id", "sku", "quantity"], ["A", "B", "1"], ["", " ", ""], ["A", "C", "2"]]
    mapped = apply_mapping(generic_mapping("stock"), table_of(rows))
    assert mapped.positions.tolist() == [0, 2]
    assert mapped.row_numbers.tolist() == [2, 4]
    assert mapped.skipped_rows == 1


def test_optional_columns_default_and_constants() -> None:
    rows = [["location_id", "sku", "mrp", "esp"], ["A", "B", "Rs. 1,499", "999"]]
    mapped = apply_mapping(generic_mapping("price"), table_of(rows))
    assert mapped.frame.to_dict("records") == [
        {"location_id": "A", "sku": "B", "mrp": 1499.0, "esp": 999.0, "currency": "INR"}
    ]


def test_template_joins_columns_and_stays_blank_when_a_part_is_missing(tmp_path: Path) -> None:
    text = """
    feed: stock
    fields:
      location_id: {template: "{Site}-{Bin}"}
      sku: {column: SKU}
      quantity: {column: Qty, default: "0", transforms: [integer]}
    """
    rows = [["Site", "Bin", "SKU", "Qty"], [" DEL-WH", "01", "B", ""], ["MUM-ST", "", "C", "2"]]
    mapped = apply_mapping(mapping_from(tmp_path, text), table_of(rows))
    assert mapped.frame["location_id"].tolist() == ["DEL-WH-01", ""]
    assert mapped.frame["quantity"].tolist() == [0, 2]
    assert mapped.sources["location_id"] == "Site"


def test_unmapped_store_problem_names_the_lookup_file() -> None:
    mapping = load_mapping(SHIPPED / "tally" / "stock.yaml", SHIPPED)
    rows = [["Particulars", "Godown", "Closing Qty"], ["CAP-RED", "Andheri Store", "4 Nos"]]
    mapped = apply_mapping(mapping, table_of(rows))
    [problem] = mapped.problems
    assert problem.column == "Godown"
    assert problem.message == (
        "'Andheri Store' is not in lookups/tally_godowns.csv in the mappings folder — if it is a"
        " new one, have it added there (a running watcher reads it when it starts: restart it"
        " after adding)"
    )


def test_tally_profile_end_to_end() -> None:
    mappings = load_mappings(SHIPPED)
    mapping, table = choose_mapping(mappings, PROFILES / "Stock Summary - Tally.xlsx")
    assert mapping.name == "tally/stock"
    assert table.header_row == 5
    mapped = apply_mapping(mapping, table)
    assert mapped.problems == []
    assert mapped.frame.to_dict("records") == [
        {"location_id": "DEL-WH-01", "sku": "TS-BLK-S", "quantity": 12},
        {"location_id": "DEL-WH-01", "sku": "TS-BLK-M", "quantity": 1200},
        {"location_id": "MUM-ST-02", "sku": "TS-BLK-L", "quantity": 7},
        {"location_id": "BLR-ST-03", "sku": "JN-SLIM-32", "quantity": 0},
        {"location_id": "MUM-ST-02", "sku": "SNK-RUN-42", "quantity": 3},
        {"location_id": "MUM-ST-02", "sku": "SNK-RUN-42", "quantity": 2},
    ]
    assert mapped.row_numbers.tolist() == [6, 7, 8, 9, 11, 12]
    assert mapped.skipped_rows == 2  # the blank row 10 and the Grand Total
    assert mapping.duplicates == "sum"


def test_a_store_missing_from_an_inline_map_names_the_mapping_file(tmp_path: Path) -> None:
    text = (PROFILES / "pos_price_list.csv").read_bytes().replace(b"Delhi", b"Thane", 1)
    (tmp_path / "pos_price_list.csv").write_bytes(text)
    mapping, table = choose_mapping(load_mappings(SHIPPED), tmp_path / "pos_price_list.csv")
    [problem] = apply_mapping(mapping, table).problems
    assert problem.message.startswith("'CP Thane Warehouse'")
    assert problem.message.endswith(
        "is not in the value map in pos/price.yaml: write one of 'CP Delhi Warehouse',"
        " 'Bandra West', 'Indiranagar', or, if it is a new one, have it added there (a running"
        " watcher reads it when it starts: restart it after adding)"
    )


def test_pos_price_profile_end_to_end() -> None:
    mapping, table = choose_mapping(load_mappings(SHIPPED), PROFILES / "pos_price_list.csv")
    assert mapping.name == "pos/price"
    mapped = apply_mapping(mapping, table)
    assert mapped.problems == []
    assert mapped.frame.to_dict("records") == [
        {
            "location_id": "DEL-WH-01",
            "sku": "TS-BLK-S",
            "mrp": 799.0,
            "esp": 599.0,
            "currency": "INR",
        },
        {
            "location_id": "MUM-ST-02",
            "sku": "TS-WHT-M",
            "mrp": 799.0,
            "esp": 649.0,
            "currency": "INR",
        },
        {
            "location_id": "BLR-ST-03",
            "sku": "WTCH-SMART-01",
            "mrp": 125000.0,
            "esp": 119999.5,
            "currency": "INR",
        },
        {
            "location_id": "MUM-ST-02",
            "sku": "BAG-TOTE",
            "mrp": 1499.0,
            "esp": 1299.0,
            "currency": "INR",
        },
    ]


def test_ginesys_stock_profile_end_to_end() -> None:
    mappings = load_mappings(SHIPPED)
    mapping, table = choose_mapping(mappings, PROFILES / "ginesys_closing_stock.xlsx")
    assert mapping.name == "ginesys/stock"
    mapped = apply_mapping(mapping, table)
    assert mapped.problems == []
    assert mapped.frame.to_dict("records") == [
        {"location_id": "DEL-WH-01", "sku": "CAP-RED", "quantity": 40},
        {"location_id": "DEL-WH-01", "sku": "00012345", "quantity": 1200},
        {"location_id": "MUM-ST-02", "sku": "JN-SLIM-34", "quantity": -2},
        {"location_id": "BLR-ST-03", "sku": "SNK-RUN-43", "quantity": 5},
    ]
    assert mapped.skipped_rows == 1  # the Total footer
    assert mapping.negative_stock == "zero"


def test_courier_manifest_profile_keeps_numeric_awb_numbers_exact() -> None:
    mappings = load_mappings(SHIPPED)
    mapping, table = choose_mapping(mappings, PROFILES / "delhivery_manifest.xlsx")
    assert (mapping.name, table.header_row) == ("courier/awb", 2)
    mapped = apply_mapping(mapping, table)
    assert mapped.problems == []
    assert mapped.frame["awbNumber"].tolist() == ["1234567890123", "1234567890124", "1234567890125"]
    assert mapped.frame["autoDispatch"].tolist() == ["Yes", "No", "yes"]
    assert mapped.frame["orderId"].tolist()[0] == "13000000000000000001"


def test_invoice_register_profile_splits_serials_and_reads_excel_dates() -> None:
    mappings = load_mappings(SHIPPED)
    mapping, table = choose_mapping(mappings, PROFILES / "invoice_register.xlsx")
    assert mapping.name == "erp/invoice"
    mapped = apply_mapping(mapping, table)
    assert mapped.problems == []
    frame = mapped.frame
    assert frame["invoiceType"].tolist() == ["sale", "sale", "return"]
    assert frame["ackDate"].tolist() == [
        "2026-01-05 14:30:00",
        "2026-01-05 14:30:00",
        "2026-01-06 00:00:00",
    ]
    assert frame["imeiSerialNumber"].tolist() == [
        ["356938035643809", "356938035643817"],
        ["356938035643825"],
        [],
    ]
    assert frame["quantity"].tolist() == [2, 1, 1]
