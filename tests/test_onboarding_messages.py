"""The messages met while writing a mapping for a new ERP export say what to write instead:
an unquoted glob, `currency: INR` read as a column, a `header_row` on the wrong row, a
quantity read without `integer`."""

from __future__ import annotations

import textwrap
from pathlib import Path

import openpyxl
import pytest

from etl.errors import InputError, MappingError
from etl.mapping import Mapping, apply_mapping, choose_mapping, load_mapping

STOCK = """
feed: stock
match:
  filename: ["marg_stock*"]
read:
  header_row: auto
fields:
  location_id: Godown
  sku: Item Code
  quantity: {column: Cl. Qty, transforms: [integer]}
"""


def mapping_file(tmp_path: Path, text: str, name: str = "marg/stock.yaml") -> Path:
    path = tmp_path / "mappings" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def load(path: Path) -> Mapping:
    return load_mapping(path, path.parents[1])


def refused(path: Path) -> MappingError:
    with pytest.raises(MappingError) as caught:
        load(path)
    return caught.value


def no_fit(mapping: Mapping, file: Path) -> str:
    """Why `mapping` does not fit `file` (the test fails if it does)."""
    with pytest.raises(InputError) as raised:
        choose_mapping([mapping], file)
    return str(raised.value)


def marg_stock(path: Path) -> Path:
    """Marg's "Stock Status": a title, group headings on row 4, the header on row 5."""
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["SHREE RETAIL PVT LTD"])
    sheet.append([])
    sheet.append([])
    sheet.append(["Item", None, "Location", "Closing"])
    sheet.append(["Item Code", "Item Name", "Godown", "Cl. Qty"])
    sheet.append(["TS-BLK-S", "T-Shirt Black S", "DEL-WH-01", "1,200"])
    sheet.append(["TS-BLK-M", "T-Shirt Black M", "DEL-WH-01", "12 Pcs"])
    book.save(path)
    return path


@pytest.mark.parametrize(
    ("line", "glob"),
    [
        ("  filename: *marg_stock*\n", "*marg_stock*"),
        ("  filename: *marg_stock\n", "*marg_stock"),
        ("  filename: [*stock*.xlsx]\n", "*stock*.xlsx"),
    ],
)
def test_an_unquoted_glob_says_to_quote_it(tmp_path: Path, line: str, glob: str) -> None:
    text = STOCK.replace('  filename: ["marg_stock*"]\n', line)
    error = refused(mapping_file(tmp_path, text))
    assert error.line == 3
    assert error.problem.startswith("not valid YAML: ")
    assert error.problem.endswith(f" - a value starting with * must be in quotes: '{glob}'")


def test_a_one_word_field_is_a_column_and_the_message_says_so(tmp_path: Path) -> None:
    text = """
    feed: price
    match: {filename: ["busy_pricelist*"]}
    fields:
      location_id: Godown
      sku: Item Code
      mrp: {column: MRP, transforms: [decimal]}
      esp: {column: Rate, transforms: [decimal]}
      currency: INR
    """
    mapping = load(mapping_file(tmp_path, text, "busy/price.yaml"))
    file = tmp_path / "busy_pricelist_2611.csv"
    file.write_text("Item Code,Godown,MRP,Rate\nTS-BLK-S,DEL-WH-01,999,799\n", encoding="utf-8")
    assert no_fit(mapping, file).endswith(
        "but header lacks 'INR' (`currency: INR` reads a column named 'INR'; for one value on"
        " every row write `currency: {constant: INR}`)"
    )


def test_a_header_row_on_the_group_headings_names_the_row_that_fits(tmp_path: Path) -> None:
    mapping = load(mapping_file(tmp_path, STOCK.replace("header_row: auto", "header_row: 4")))
    file = marg_stock(tmp_path / "marg_stock_26112026.xlsx")
    assert no_fit(mapping, file).endswith(
        "but header lacks 'Godown', 'Item Code', 'Cl. Qty'; row 4 (read.header_row) holds"
        " 'Item', 'Location', 'Closing'; row 5 has them all: set header_row: 5 or auto"
    )


def test_a_quantity_without_a_number_transform_is_read_as_integer(tmp_path: Path) -> None:
    """'1,200' and '12 Pcs' were refused as "must be a number": the person fixing the errors
    file could not fix that, the mapping could."""
    text = STOCK.replace("{column: Cl. Qty, transforms: [integer]}", "Cl. Qty")
    mapping = load(mapping_file(tmp_path, text))
    file = marg_stock(tmp_path / "marg_stock_26112026.xlsx")
    _, table = choose_mapping([mapping], file)
    mapped = apply_mapping(mapping, table)
    assert (mapped.problems, mapped.frame["quantity"].tolist()) == ([], [1200, 12])


def test_a_quantity_read_as_decimal_is_read_as_integer_with_its_options(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A mapping that worked before must not stop every file after an upgrade: its options
    (a decimal comma) are kept, and 12,5 pieces is refused as before."""
    text = STOCK.replace("[integer]", "[{decimal: {decimal_comma: true}}]")
    mapping = load(mapping_file(tmp_path, text))
    assert "fields.quantity is read with 'decimal'; it is read with 'integer'" in caplog.text
    file = tmp_path / "marg_stock_2611.csv"
    file.write_text("Item Code;Godown;Cl. Qty\nA;DEL-WH-01;1.200\nB;DEL-WH-01;12,5\n")
    _, table = choose_mapping([mapping], file)
    mapped = apply_mapping(mapping, table)
    assert mapped.frame["quantity"].tolist()[0] == 1200
    assert [p.row for p in mapped.problems] == [3]


def test_a_header_of_two_rows_names_the_groups_of_the_column_it_cannot_tell_apart(
    tmp_path: Path,
) -> None:
    """Marg's and Busy's stock summary: Qty and Value under Opening, and again under Closing
    (merged group cells on the row above)."""
    mapping = load(mapping_file(tmp_path, STOCK.replace("Cl. Qty", "Qty")))
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["Item", None, "Location", "Opening", None, "Closing", None])
    sheet.append(["Item Code", "Item Name", "Godown", "Qty", "Value", "Qty", "Value"])
    sheet.append(["TS-BLK-S", "T-Shirt Black S", "DEL-WH-01", 4, 400, 6, 600])
    sheet.merge_cells("D1:E1")
    sheet.merge_cells("F1:G1")
    file = tmp_path / "marg_stock_26112026.xlsx"
    book.save(file)
    chosen, table = choose_mapping([mapping], file)
    with pytest.raises(InputError) as raised:
        apply_mapping(chosen, table)
    assert str(raised.value) == (
        "column 'Qty' appears twice (columns D and F, under 'Opening' and 'Closing' in the row"
        " above): the mapping cannot tell which one to read; export the report with one header"
        " row and distinct column names (such as 'Closing Qty'), or rename one of them in the"
        " file"
    )


def test_a_list_written_without_brackets_says_how_to_write_it(tmp_path: Path) -> None:
    text = STOCK.replace('  filename: ["marg_stock*"]\n', '  filename: ["marg_stock*"]\n'
                         "  headers: Item Code, Godown, Cl. Qty\n")  # fmt: skip
    error = refused(mapping_file(tmp_path, text))
    assert (error.line, error.key) == (4, "match.headers")
    assert error.problem == (
        "one header named 'Item Code, Godown, Cl. Qty': for several headers write a list,"
        " [Item Code, Godown, Cl. Qty] (a header that holds a comma:"
        " ['Item Code, Godown, Cl. Qty'])"
    )
    listed = STOCK.replace("  filename: [\"marg_stock*\"]\n", "  filename: [\"marg_stock*\"]\n"
                           "  headers: ['Qty, Nos']\n")  # fmt: skip
    assert load(mapping_file(tmp_path, listed)).headers == ("Qty, Nos",)
    strip = STOCK.replace("location_id: Godown", "location_id: {column: Godown, transforms: strip}")
    error = refused(mapping_file(tmp_path, strip))
    assert error.problem == "expected a list of transforms: write [strip]"


def test_a_field_at_the_left_margin_between_fields_is_named_on_its_own_line(
    tmp_path: Path,
) -> None:
    """PyYAML places the slip on the next field's line ("expected <block end>")."""
    error = refused(mapping_file(tmp_path, STOCK.replace("  sku: Item Code", "sku: Item Code")))
    assert (error.line, error.key) == (8, "sku")
    assert error.problem == "'sku' is a field: indent it under 'fields:' (by two spaces)"
