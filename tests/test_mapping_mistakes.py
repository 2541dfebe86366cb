"""Mistakes in a user's own mapping that used to send wrong data, or lose rows, without a word.

A skip rule whose column the file lacks stops the file; a default filled in on every row
because its column is absent is said in the summary's warnings; rows a skip rule drops are
named rule by rule; a value map with one name twice is refused at start-up; YAML and
encoding mistakes say what to do.
"""

from __future__ import annotations

import csv
import json
import textwrap
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from runs import oid, results, run
from typer.testing import CliRunner

from etl.cli import app
from etl.errors import MappingError
from etl.konnect import ENDPOINTS
from etl.mapping import load_mapping

TODAY = date.today().isoformat()
SHIPMENTS = [
    ["Channel Order ID", "AWB Code", "Courier Company", "Status"],
    [oid(13, 1), "5012345678", "Blue Dart", "PICKUP SCHEDULED"],
    [oid(13, 2), "5012345679", "Blue Dart", "CANCELED"],
    [oid(13, 3), "5012345680", "Blue Dart", "PICKUP SCHEDULED"],
    [oid(13, 4), "5012345681", "Blue Dart", "canceled "],
]
PORTAL = """
feed: awb
match:
  filename: ["shipments_export*"]
skip:
  rows_where:
    - {{column: {status}, equals: CANCELED}}
fields:
  orderId: Channel Order ID
  awbNumber: AWB Code
  courierName: Courier Company
  autoDispatch: {{constant: No}}
"""
SAP_STOCK = """
feed: stock
match: {filename: ["sap_stock*"]}
fields:
  location_id: Plant
  sku: Material
  quantity: {column: Unrestricted Stock, transforms: [integer]}
"""

ROOT = Path(__file__).resolve().parent.parent


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding=encoding)
    return path


def drop(path: Path, rows: list[list[str]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows)
    return path


def inbox_with(tmp_path: Path, name: str, mapping: str) -> Path:
    """An inbox configured as the README shows, with one mapping of its own."""
    inbox = tmp_path / "inbox"
    write(inbox / "konnect-etl.yaml", "mappings: ./mappings\n")
    write(inbox / "mappings" / name, mapping)
    return inbox


def summary(folder: Path, stem: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((folder / f"{stem}.summary.json").read_text())
    return loaded


def awb_sent(sandbox: Any) -> list[str]:
    return [e["key"] for e in sandbox.ledger() if e["path"] == ENDPOINTS["awb"].path]


SHIPMENTS_CSV = "shipments_export_2711.csv"


def test_a_skip_rule_whose_column_the_file_lacks_stops_the_file(
    tmp_path: Path, sandbox: Any
) -> None:
    inbox = inbox_with(tmp_path, "portal/awb.yaml", PORTAL.format(status="Stauts"))
    drop(inbox / "shipments_export_2711.csv", SHIPMENTS)
    assert run(inbox, sandbox).exit_code == 1
    [error] = summary(inbox / "failed" / TODAY, "shipments_export_2711")["file_errors"]
    assert error.startswith(
        "the mapping's skip rule reads column 'Stauts', which the file does not have; "
        "it has: Channel Order ID, AWB Code, Courier Company, Status. "
    )
    assert "skip.rows_where of mapping portal/awb" in error
    assert awb_sent(sandbox) == []  # the CANCELED shipments were sent before
    args = ["mappings", "--config", str(inbox / "konnect-etl.yaml"), "--explain"]
    explained = CliRunner().invoke(app, [*args, str(inbox / "failed" / TODAY / SHIPMENTS_CSV)])
    assert explained.exit_code == 1 and "run would not take it:" in explained.output


def test_rows_a_skip_rule_drops_are_named_in_the_warnings(tmp_path: Path, sandbox: Any) -> None:
    inbox = inbox_with(tmp_path, "portal/awb.yaml", PORTAL.format(status="Status"))
    drop(inbox / "shipments_export_2711.csv", SHIPMENTS)
    assert run(inbox, sandbox).exit_code == 0
    report = summary(inbox / "done" / TODAY, "shipments_export_2711")
    assert report["warnings"] == [
        "2 rows skipped by the mapping's rule (Status equals CANCELED): rows 3, 5"
    ]
    assert report["skipped_rows"] == 2
    assert sorted(results(inbox, "shipments_export_2711")) == ["2", "4"]
    assert awb_sent(sandbox) == [oid(13, 1), oid(13, 3)]


def refused(path: Path, root: Path) -> MappingError:
    """The MappingError loading the mapping at `path` raises (the test fails if none)."""
    with pytest.raises(MappingError) as caught:
        load_mapping(path, root)
    return caught.value


def validate(config: Path, file: Path) -> dict[str, Any]:
    done = CliRunner().invoke(app, ["validate", "--config", str(config), str(file)])
    assert done.exit_code == 0, done.output
    return summary(file.parent, file.stem)


def test_a_default_filled_in_because_its_column_is_absent_is_a_warning(tmp_path: Path) -> None:
    currency = "  currency: {column: Curr, optional: true, default: INR}\n"
    price = "feed: price\nfields:\n  location_id: Plant\n  sku: Material\n" + currency
    price += "  mrp: {column: MRP, transforms: [decimal]}\n"
    price += "  esp: {column: Price, transforms: [decimal]}\n"
    inbox = inbox_with(tmp_path, "sap/price.yaml", price)
    file = drop(tmp_path / "sap_price_0601.csv", [
        ["Plant", "Material", "MRP", "Price", "Currency"],
        ["DEL-WH-01", "TS-BLK-S", "999", "799", "USD"],
    ])  # fmt: skip
    report = validate(inbox / "konnect-etl.yaml", file)
    assert report["warnings"] == [
        "column 'Curr' is not in the file: currency is 'INR' (the mapping's default) on every row"
    ]


@pytest.mark.parametrize("field", ["location_id", "sku"])
def test_a_key_field_whose_column_may_be_missing_is_refused_at_start_up(
    tmp_path: Path, field: str
) -> None:
    """A misspelt optional Godown column sent a whole multi-godown export to the default
    location, exit 0: a key's column cannot be optional; one location is a constant."""
    text = SAP_STOCK.replace(
        "location_id: Plant" if field == "location_id" else "sku: Material",
        f"{field}: {{column: Plnt, optional: true, default: DEL-WH-01}}",
    )
    error = refused(write(tmp_path / "sap" / "stock.yaml", text), tmp_path)
    assert (error.line, error.key) == (
        4 if field == "location_id" else 5,
        f"fields.{field}.optional",
    )
    assert error.problem == (
        f"{field} is a key of a stock row, so its column cannot be optional: a column missing"
        f" from the file would give every row the same {field}. Remove 'optional: true'; for an"
        f" export of one {'location' if field == 'location_id' else 'SKU'}, write"
        f" '{field}: {{constant: DEL-WH-01}}' instead"
    )


def test_no_warning_where_a_blank_is_honest_or_the_default_is_the_documented_one(
    tmp_path: Path,
) -> None:
    portal = PORTAL.format(status="Status").replace(
        "{constant: No}", "{column: Auto Dispatch, optional: true}"
    )
    inbox = inbox_with(tmp_path, "portal/awb.yaml", portal)
    file = drop(tmp_path / "shipments_export_2711.csv", SHIPMENTS[:2])
    assert validate(inbox / "konnect-etl.yaml", file)["warnings"] == []
    price = drop(tmp_path / "price.csv", [  # generic/price: currency INR when absent
        ["location_id", "sku", "mrp", "esp"],
        ["DEL-WH-01", "TS-BLK-S", "999", "799"],
    ])  # fmt: skip
    assert validate(inbox / "konnect-etl.yaml", price)["warnings"] == []


def test_a_value_map_with_one_name_twice_is_refused_at_start_up(tmp_path: Path) -> None:
    path = write(tmp_path / "sap" / "stock.yaml", """
        feed: stock
        fields:
          location_id:
            column: Plant
            transforms:
              - map:
                  Delhi WH: DEL-WH-01
                  Bandra: MUM-ST-02
                  delhi  wh: MUM-ST-02
          sku: Material
          quantity: Qty
        """)  # fmt: skip
    caught = refused(path, tmp_path)
    assert (caught.line, caught.key) == (
        9,
        "fields.location_id.transforms[0].map.delhi  wh",
    )
    assert caught.problem == (
        "'Delhi WH' (line 7) and 'delhi  wh' are the same name (case and spaces are ignored)"
        " with different values: keep one"
    )


def test_a_value_map_may_repeat_a_name_with_the_same_value(tmp_path: Path) -> None:
    path = write(tmp_path / "sap" / "stock.yaml", """
        feed: stock
        fields:
          location_id:
            column: Plant
            transforms: [{map: {Delhi WH: DEL-WH-01, delhi wh: DEL-WH-01}}]
          sku: Material
          quantity: Qty
        """)  # fmt: skip
    [location, _, _] = load_mapping(path, tmp_path).fields
    assert location.transforms[0].table == {"delhi wh": "DEL-WH-01"}  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("text", "line", "hint"),
    [
        ("feed: stock\nfields:\n\tsku: Material\n", 3, "the line holds a tab: indent with spaces"),
        (
            "feed: stock\nfields:\n  sku:\n    column: Material\n     transforms: [strip]\n",
            5,
            "check this line's indentation",
        ),
        (
            "feed: stock\nfields:\n  sku: Material\n quantity: Qty\n",
            4,
            "check this line's indentation against the lines above it",
        ),
        (
            'feed: stock\nfields:\n  sku: {column: Code, transforms: [{regex: "SKU-(\\d+)"}]}\n',
            3,
            "write the pattern in single quotes, as 'SKU-(\\d+)'",
        ),
    ],
    ids=["tab", "indented-too-far", "indented-too-little", "backslash-in-double-quotes"],
)
def test_yaml_mistakes_say_what_to_do(tmp_path: Path, text: str, line: int, hint: str) -> None:
    path = tmp_path / "sap" / "stock.yaml"
    path.parent.mkdir()
    path.write_text(text, encoding="utf-8")
    caught = refused(path, tmp_path)
    assert caught.line == line
    assert caught.problem.startswith("not valid YAML: ")
    assert hint in caught.problem


@pytest.mark.parametrize(
    ("encoding", "line", "said"),
    [
        ("utf-16", None, "the file is saved as UTF-16 (Notepad's 'Unicode')"),
        ("cp1252", 1, "byte 0x96 is not UTF-8 (in Windows-1252 it is '–')"),
    ],
)
def test_a_mapping_not_saved_as_utf8_says_so(
    tmp_path: Path, encoding: str, line: int | None, said: str
) -> None:
    path = write(
        tmp_path / "sap" / "stock.yaml", "description: SAP – stock\nfeed: stock\n", encoding
    )
    caught = refused(path, tmp_path)
    assert str(caught).startswith(str(path))
    assert caught.line == line
    assert caught.problem == f"{said}: save the mapping as UTF-8"


def test_a_lookup_file_not_saved_as_utf8_says_so(tmp_path: Path) -> None:
    write(
        tmp_path / "lookups" / "plants.csv",
        "SAP plant,Fynd location\nMünchen,DEL-WH-01\n",
        "cp1252",
    )
    path = write(tmp_path / "sap" / "stock.yaml", """
        feed: stock
        fields:
          location_id: {column: Plant, transforms: [{lookup: lookups/plants.csv}]}
          sku: Material
          quantity: Qty
        """)  # fmt: skip
    caught = refused(path, tmp_path)
    assert (caught.file, caught.problem) == (
        "lookups/plants.csv",
        "the lookup file is not UTF-8: save it as UTF-8 (Excel: 'CSV UTF-8') (a lookup file of"
        f" mapping sap/stock.yaml, in {tmp_path})",
    )


def test_validate_without_config_says_own_mappings_need_it(tmp_path: Path) -> None:
    inbox = inbox_with(tmp_path, "sap/stock.yaml", SAP_STOCK)
    file = drop(tmp_path / "sap_stock_0601.csv", [
        ["Plant", "Material", "Unrestricted Stock"],
        ["DEL-WH-01", "TS-BLK-S", "12"],
    ])  # fmt: skip
    done = CliRunner().invoke(app, ["validate", str(file)])
    assert done.exit_code == 1, done.output
    [error] = summary(file.parent, file.stem)["file_errors"]
    assert error.startswith("no mapping fits sap_stock_0601.csv; closest: ")
    assert error.endswith(
        ". Only the built-in mappings were looked at: your own are loaded from the folder "
        "a konnect-etl.yaml names in 'mappings:' (run and watch read the inbox's; validate "
        "and mappings one given with --config)"
    )
    assert validate(inbox / "konnect-etl.yaml", file)["mapping"] == "sap/stock"
    named = CliRunner().invoke(app, ["mappings", "--explain", str(file)])
    assert "Only the built-in mappings were looked at" in " ".join(named.output.split())
    inside = file.rename(inbox / file.name)  # a file in the inbox: its config is named
    CliRunner().invoke(app, ["validate", str(inside)])
    [error] = summary(inbox / ".konnect-etl" / "dry-run", file.stem)["file_errors"]
    assert error.endswith(f'; this file\'s folder has one: --config "{inbox / "konnect-etl.yaml"}"')


def test_a_mapping_asked_for_that_does_not_fit_says_what_it_lacks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--mapping chose it: the message names it and what the file lacks - no hint that the
    user's own mappings were not loaded (they chose a built-in one), no "closest"."""
    file = drop(tmp_path / "stock.csv", [["Plant", "Material"], ["DEL-WH-01", "TS-BLK-S"]])
    monkeypatch.chdir(tmp_path)
    done = CliRunner().invoke(app, ["validate", "stock.csv", "--mapping", "generic/stock"])
    assert done.exit_code == 1, done.output
    said = summary(file.parent, file.stem)
    assert (said["feed"], said["mapping"]) == ("stock", "generic/stock")  # not '-' in the table
    [error] = said["file_errors"]
    assert error.startswith("stock.csv does not fit the mapping asked for, generic/stock (")
    assert "header lacks 'location_id', 'sku', 'quantity'" in error
    assert "Only the built-in" not in error and "closest" not in error
    assert f"Reports: {tmp_path}" in " ".join(done.output.split())  # not "Reports: ."


def test_a_configured_mappings_folder_without_mappings_is_warned_about(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    inbox = tmp_path / "inbox"
    write(inbox / "konnect-etl.yaml", "mappings: ./mappings\n")
    write(inbox / "mappings" / "sap" / "stock.txt", SAP_STOCK)  # saved with the wrong suffix
    file = drop(tmp_path / "sap_stock_0601.csv", [["Plant", "Material"], ["DEL-WH-01", "A-1"]])
    CliRunner().invoke(app, ["validate", "--config", str(inbox / "konnect-etl.yaml"), str(file)])
    assert f"mappings folder {inbox / 'mappings'} has no mapping (.yaml) files" in caplog.text


def test_a_field_not_indented_under_fields_says_so(tmp_path: Path) -> None:
    path = write(tmp_path / "sap" / "stock.yaml", """
        feed: stock
        fields:
        location_id: Plant
        sku: Material
        quantity: Qty
        """)  # fmt: skip
    caught = refused(path, tmp_path)
    assert (caught.line, caught.key) == (3, "location_id")
    assert caught.problem == "'location_id' is a field: indent it under 'fields:' (by two spaces)"


def test_validate_preview_shows_each_row_as_konnect_would_receive_it(tmp_path: Path) -> None:
    """The result file shows the cells as the file has them; a mapping's lookups and number
    reading show only in what is sent, which `--preview` writes (nothing uploaded)."""
    book = ROOT / "inbox_example" / "Stock Summary - Tally.xlsx"
    path = tmp_path / book.name
    path.write_bytes(book.read_bytes())
    done = CliRunner().invoke(app, ["validate", "--preview", str(path)])
    assert done.exit_code in (0, 1), done.output
    preview = tmp_path / "Stock Summary - Tally.preview.result.csv"
    with preview.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == ["row", "location_id", "sku", "quantity"]
    assert rows[1] == {
        "row": "7",
        "location_id": "DEL-WH-01",
        "sku": "TS-BLK-M",
        "quantity": "1200",
    }
    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / book.name).write_bytes(book.read_bytes())
    CliRunner().invoke(app, ["validate", str(plain / book.name)])
    assert list(plain.glob("*.result.*")) and not list(plain.glob("*.preview.*"))
