"""Loading mappings: the shipped set, and every defect named by file, line and key."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from etl.datestep import DateStep
from etl.errors import ConfigError, MappingError
from etl.feeds import FEEDS
from etl.mapping import generic_mapping, load_mapping, load_mappings
from etl.numberstep import Number
from etl.transforms import Extract, Split, Strip, Upper, ValueMap, Zfill

SHIPPED = Path(__file__).resolve().parents[1] / "mappings"


def write(root: Path, text: str, name: str = "erp/stock.yaml") -> Path:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def defect(root: Path, text: str) -> MappingError:
    path = write(root, text)
    with pytest.raises(MappingError) as caught:
        load_mapping(path, root)
    assert caught.value.file == str(path)
    return caught.value


MINIMAL = """
feed: stock
fields:
  location_id: {column: Site}
  sku: {column: SKU}
  quantity: {column: Qty, transforms: [integer]}
"""


def test_shipped_mappings_all_load() -> None:
    mappings = {m.name: m for m in load_mappings(SHIPPED)}
    assert {f"generic/{feed}" for feed in FEEDS} <= set(mappings)
    assert {"tally/stock", "pos/price", "ginesys/stock"} <= set(mappings)
    tally = mappings["tally/stock"]
    assert tally.feed == "stock"
    assert tally.duplicates == "sum"
    assert tally.path == SHIPPED / "tally" / "stock.yaml"


@pytest.mark.parametrize("feed", sorted(FEEDS))
def test_generic_yaml_is_the_same_as_generic_mapping(feed: str) -> None:
    shipped = load_mapping(SHIPPED / "generic" / f"{feed}.yaml", SHIPPED)
    built = generic_mapping(feed)
    assert shipped.name == built.name
    assert (shipped.fields, shipped.headers, shipped.filename) == (
        built.fields,
        built.headers,
        built.filename,
    )
    assert list(built.headers) == [c for c in FEEDS[feed].required if c != "currency"]


def test_generic_price_defaults_currency_and_invoice_splits_serials() -> None:
    price = {f.name: f for f in generic_mapping("price").fields}
    assert price["currency"].default == "INR" and price["currency"].optional
    assert price["mrp"].transforms == (Number(),)
    invoice = {f.name: f for f in generic_mapping("invoice").fields}
    assert invoice["imeiSerialNumber"].transforms == (Split(),)
    assert {f.name: f for f in generic_mapping("awb").fields}["autoDispatch"].transforms == (
        Strip(),
    )


def test_a_full_mapping_loads_every_option(tmp_path: Path) -> None:
    write(tmp_path, "Godown,Code\nMain Godown,DEL-WH-01\n", "lookups/godowns.csv")
    path = write(
        tmp_path,
        r"""
        feed: stock
        description: test export
        match:
          filename: ["*stock*.xlsx"]
          headers: [Particulars]
        read: {sheet: 0, header_row: 3}
        skip:
          blank: false
          rows_where:
            - {column: Particulars, matches: '(?i)^grand total'}
            - {column: Godown, empty: true}
        fields:
          location_id: {column: Godown, transforms: [strip, {lookup: lookups/godowns.csv}]}
          sku: {template: "{Style}-{Size}", transforms: [upper, {zfill: 8}, {regex: '(.*)'}]}
          quantity: {column: Qty, default: "0", transforms: [{decimal: {units: [box]}}, integer]}
        policies: {duplicates: sum, negative_stock: zero}
        """,
    )
    mapping = load_mapping(path, tmp_path)
    assert mapping.name == "erp/stock"
    assert (mapping.sheet, mapping.header_row, mapping.skip_blank) == (0, 3, False)
    assert mapping.filename == ("*stock*.xlsx",)
    assert mapping.required_headers == ("Particulars", "Godown", "Style", "Size", "Qty")
    fields = {f.name: f for f in mapping.fields}
    lookup = fields["location_id"].transforms[1]
    assert isinstance(lookup, ValueMap) and lookup.table == {"main godown": "DEL-WH-01"}
    assert lookup.source == "lookups/godowns.csv in the mappings folder"
    assert fields["sku"].transforms == (Upper(), Zfill(width=8), Extract(pattern="(.*)"))
    assert fields["quantity"].transforms == (Number(units=("box",)), Number(whole=True))
    assert fields["quantity"].default == "0"
    assert mapping.skip_rows[1].empty is True
    assert (mapping.duplicates, mapping.negative_stock) == ("sum", "zero")


def test_scalars_stay_text_as_written(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        feed: price
        fields:
          location_id: {column: Store, transforms: [{map: {0123: DEL-WH-01, No: "1.50"}}]}
          sku: {column: SKU, default: 007}
          mrp: {column: MRP}
          esp: {column: ESP}
          currency: {constant: INR}
        read: {delimiter: "\\t", encoding: cp1252}
        reports: {delimiter: ";"}
        """,
    )
    mapping = load_mapping(path, tmp_path)
    fields = {f.name: f for f in mapping.fields}
    step = fields["location_id"].transforms[0]
    assert isinstance(step, ValueMap) and step.table == {"0123": "DEL-WH-01", "no": "1.50"}
    assert fields["sku"].default == "007"
    assert (mapping.delimiter, mapping.encoding, mapping.report_delimiter) == ("\t", "cp1252", ";")
    bad = path.read_text().replace('reports: {delimiter: ";"}', "reports: {delimiter: '\"'}")
    path.write_text(bad)
    with pytest.raises(MappingError, match=r"reports\.delimiter.*not a quote or a line break"):
        load_mapping(path, tmp_path)


@pytest.mark.parametrize(
    ("field", "problem"),
    [
        ("quantity: {column: Qty, default: abc, transforms: [integer]}",
         "'abc' is refused by the field's transforms (not a whole number)"),
        ("quantity: {column: Qty, default: '1.5', transforms: [integer]}",
         "'1.5' is refused by the field's transforms (not a whole number: pieces are counted"),
        ("location_id: {column: Plant, default: '9999', transforms: [{map: {'1000': DEL-WH-01}}]}",
         "'9999' is refused by the field's transforms ("),
        ("quantity: {column: Qty, default: '1901-01-23', transforms: [integer]}",
         "'1901-01-23' is refused by the field's transforms ('1901-01-23' is a date: the cell is"
         " formatted as a date in Excel, which shows a number as the day that many days after"
         " 1900 (1901-01-23 is the number 389)"),
    ],
)  # fmt: skip
def test_a_default_its_own_transforms_refuse_is_refused_at_start_up(
    tmp_path: Path, field: str, problem: str
) -> None:
    """It would be refused on every row it fills, each time blaming the file's empty cell."""
    fields = {
        "location_id": "location_id: Plant",
        "sku": "sku: Material",
        "quantity": "quantity: Qty",
    }
    fields[field.split(":")[0]] = field
    body = "\n".join(f"  {line}" for line in fields.values())
    path = write(tmp_path, f"feed: stock\nfields:\n{body}\n")
    with pytest.raises(MappingError) as caught:
        load_mapping(path, tmp_path)
    assert caught.value.problem.startswith(problem) and caught.value.key.endswith(".default")


def test_a_currency_constant_that_is_no_currency_code_is_refused_at_start_up(
    tmp_path: Path,
) -> None:
    body = "  location_id: Store\n  sku: SKU\n  mrp: MRP\n  esp: ESP\n  currency: {constant: inr}\n"
    path = write(tmp_path, f"feed: price\nfields:\n{body}")
    with pytest.raises(MappingError) as caught:
        load_mapping(path, tmp_path)
    assert caught.value.problem == "'inr' is not a currency code of 3 capital letters, like INR"
    fixed = body.replace("{constant: inr}", "{constant: inr, transforms: [upper]}")
    assert load_mapping(write(tmp_path, f"feed: price\nfields:\n{fixed}"), tmp_path)


def test_date_options(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        feed: invoice
        fields:
          orderId: {column: Order}
          invoiceNumber: {column: Invoice}
          invoiceType: {constant: sale}
          ackDate: {column: Ack, transforms: [{date: {formats: ["%d-%m-%Y"], excel_serial: false}}]}
        """,
    )
    fields = {f.name: f for f in load_mapping(path, tmp_path).fields}
    assert fields["ackDate"].transforms == (DateStep(formats=("%d-%m-%Y",), excel_serial=False),)


@pytest.mark.parametrize(
    ("text", "line", "key", "words"),
    [
        ("feed: stock\nfeilds: {}\n", 2, "feilds", "did you mean 'fields'?"),
        ("feed: stonk\nfields: {}\n", 1, "feed", "unknown feed 'stonk'"),
        ("description: x\n", 1, "feed", "missing"),
        (MINIMAL + "  qty: {column: Q}\n", 6, "fields.qty", "did you mean 'quantity'?"),
        (
            MINIMAL.replace("[integer]", "[integr]"),
            5,
            "fields.quantity.transforms[0].integr",
            "integer",
        ),
        (
            MINIMAL.replace("[integer]", "[integer, upper]"),
            5,
            "fields.quantity.transforms[1]",
            "'upper' cannot follow a step that gives a number",
        ),
        (MINIMAL.replace("{column: SKU}", "{colum: SKU}"), 4, "fields.sku.colum", "'column'"),
        (
            MINIMAL.replace("{column: SKU}", "{column: SKU, constant: X}"),
            4,
            "fields.sku",
            "exactly one of column, constant, template",
        ),
        (MINIMAL.replace("  sku: {column: SKU}\n", ""), 2, "fields.sku", "needs field 'sku'"),
        (
            MINIMAL + "skip:\n  rows_where:\n    - {column: A, matches: '(unclosed'}\n",
            8,
            "skip.rows_where[0].matches",
            "not a valid regex",
        ),
        (MINIMAL + "read: {header_row: top}\n", 6, "read.header_row", "'auto' or the row number"),
        (MINIMAL + "read:\n  encoding: klingon\n", 7, "read.encoding", "unknown encoding"),
        (MINIMAL + "policies:\n  duplicates: merge\n", 7, "policies.duplicates", "not one of"),
        (
            MINIMAL.replace("{column: Site}", "{template: 'Site'}"),
            3,
            "fields.location_id.template",
            "in braces",
        ),
        (MINIMAL + "feed: price\n", 6, "feed", "appears twice"),
        (MINIMAL + "match: [x\n", 7, "", "not valid YAML"),
        ("- just\n- a list\n", 1, "", "set of 'key: value' lines"),
    ],
)
def test_defects_name_file_line_and_key(
    tmp_path: Path, text: str, line: int, key: str, words: str
) -> None:
    error = defect(tmp_path, text)
    assert (error.line, error.key) == (line, key)
    assert words in error.problem
    assert str(error).startswith(f"{error.file}, line {line}")


def test_sum_and_zero_are_for_stock_only(tmp_path: Path) -> None:
    text = """
    feed: pack
    fields:
      orderId: {column: Order}
    policies:
      duplicates: first
      negative_stock: zero
    """
    error = defect(tmp_path, text)
    assert (error.line, error.key) == (6, "policies.negative_stock")


def test_missing_lookup_file(tmp_path: Path) -> None:
    text = MINIMAL.replace("{column: Site}", "{column: Site, transforms: [{lookup: nope.csv}]}")
    error = defect(tmp_path, text)
    assert (error.line, error.key) == (3, "fields.location_id.transforms[0].lookup")
    assert "lookup file 'nope.csv' not found" in error.problem


def test_lookup_outside_the_mappings_folder_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "mappings"
    (tmp_path / "secret.csv").write_text("a,b\nx,y\n", encoding="utf-8")
    text = MINIMAL.replace(
        "{column: Site}", "{column: Site, transforms: [{lookup: ../secret.csv}]}"
    )
    path = write(root, text)
    with pytest.raises(MappingError) as caught:
        load_mapping(path, root)
    assert "outside the mappings folder" in caught.value.problem
    assert caught.value.line == 3


def test_lookup_with_conflicting_rows_names_the_csv_line(tmp_path: Path) -> None:
    write(tmp_path, "Godown,Code\nMain,DEL-WH-01\nmain ,MUM-ST-02\n", "godowns.csv")
    text = MINIMAL.replace("{column: Site}", "{column: Site, transforms: [{lookup: godowns.csv}]}")
    with pytest.raises(MappingError) as caught:
        load_mapping(write(tmp_path, text), tmp_path)
    assert (caught.value.file, caught.value.line) == ("godowns.csv", 3)


def test_lookup_columns_must_exist(tmp_path: Path) -> None:
    write(tmp_path, "Godown,Code\nMain,DEL-WH-01\n", "godowns.csv")
    step = "{lookup: godowns.csv, from: Name, to: Code}"
    text = MINIMAL.replace("{column: Site}", "{column: Site, transforms: [" + step + "]}")
    with pytest.raises(MappingError) as caught:
        load_mapping(write(tmp_path, text), tmp_path)
    assert "no column 'Name'" in caught.value.problem


def test_load_mappings_reads_yml_too_and_rejects_a_missing_folder(tmp_path: Path) -> None:
    write(tmp_path, MINIMAL, "a/stock.yml")
    write(tmp_path, MINIMAL, "b/stock.yaml")
    assert [m.name for m in load_mappings(tmp_path)] == ["a/stock", "b/stock"]
    with pytest.raises(ConfigError):
        load_mappings(tmp_path / "absent")


def test_shorthand_field_is_a_column(tmp_path: Path) -> None:
    text = MINIMAL.replace("{column: SKU}", "Item Code")
    fields = {f.name: f for f in load_mapping(write(tmp_path, text), tmp_path).fields}
    assert fields["sku"].column == "Item Code"


def test_changes_only_is_a_stock_policy(tmp_path: Path) -> None:
    stock = write(tmp_path, MINIMAL + "policies: {changes_only: true}\n")
    assert load_mapping(stock, tmp_path).changes_only is True
    price = MINIMAL.replace("feed: stock", "feed: price").replace(
        "  quantity: {column: Qty, transforms: [integer]}",
        "  mrp: {column: MRP}\n  esp: {column: ESP}\n  currency: {constant: INR}",
    )
    found = defect(tmp_path, price + "policies: {changes_only: true}\n")
    assert "'changes_only' applies to stock files only" in str(found)
