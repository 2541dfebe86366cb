"""`konnect-etl template`: the file it writes is one the inbox reads as it is.

Every mapping shipped in mappings/ is checked, so a new mapping whose template the inbox
would not take (file name, sheet, header row, CSV delimiter or encoding, header names)
fails here rather than in a user's inbox.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from etl.cli import app
from etl.config import builtin_mappings_dir
from etl.errors import ConfigError
from etl.feeds import FEEDS
from etl.mapping import Mapping, choose_mapping, explain, load_mapping, load_mappings
from etl.mapspec import norm_header
from etl.templates import default_name, layout_for, name_from_glob

SHIPPED = {m.name: m for m in load_mappings(builtin_mappings_dir())}


def template(folder: Path, *args: str) -> tuple[Path, Any]:
    """Run `konnect-etl template ARGS` in `folder`; the one file it wrote, and the result."""
    before = set(folder.iterdir())
    result = CliRunner().invoke(app, ["template", *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    written = set(folder.iterdir()) - before
    assert len(written) == 1, written
    return written.pop(), result


def fill(path: Path, mapping: Mapping, row: dict[str, str]) -> None:
    """Type one data row under the header, the way a user would in Excel or a text editor."""
    if path.suffix == ".xlsx":
        book = load_workbook(path)
        where = mapping.sheet or 0
        sheet = book[where] if isinstance(where, str) else book.worksheets[where]
        header = [c.value for c in sheet[mapping.header_row or 1]]
        sheet.append([row.get(str(h), "x") for h in header])
        book.save(path)
        return
    encoding, delimiter = mapping.encoding or "utf-8-sig", mapping.delimiter or ","
    header = path.read_text(encoding=encoding).splitlines()[-1].split(delimiter)
    line = delimiter.join(row.get(h, "x") for h in header) + "\r\n"
    with path.open("a", encoding=encoding.replace("-sig", ""), newline="") as handle:
        handle.write(line)


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_every_shipped_mappings_template_is_matched_by_that_mapping(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mapping = SHIPPED[name]
    monkeypatch.chdir(tmp_path)
    path, result = template(tmp_path, mapping.feed, "--mapping", name)
    assert "warning" not in result.output
    best = explain(list(SHIPPED.values()), path)[0]
    assert (best.mapping.name, best.fits) == (name, True), best.text()
    fill(path, mapping, {})
    chosen, table = choose_mapping(list(SHIPPED.values()), path)
    assert chosen.name == name
    header = [norm_header(h) for h in table.header]
    assert len(header) == len(set(header))  # a column the mapping reads twice is refused
    wanted = [*mapping.headers, *(c for spec in mapping.fields for c in spec.columns)]
    assert {norm_header(h) for h in wanted} <= set(header)
    assert table.header_row == (mapping.header_row or 1) and len(table.data) == 1
    if isinstance(mapping.sheet, str):
        assert table.sheet.sheet_name == mapping.sheet
    if mapping.delimiter or mapping.encoding:
        assert path.suffix == ".csv"
        assert table.sheet.delimiter == (mapping.delimiter or table.sheet.delimiter)


@pytest.mark.parametrize("feed", sorted(FEEDS))
def test_a_canonical_template_is_read_as_its_feed(
    feed: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    path, result = template(tmp_path, feed)
    assert path.name == f"{feed}.xlsx" and "warning" not in result.output
    assert choose_mapping(list(SHIPPED.values()), path)[0].name == f"generic/{feed}"


def test_the_audited_cases_now_get_names_and_a_csv_their_mappings_take(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    stock, _ = template(tmp_path, "stock", "--mapping", "tally/stock")
    price, _ = template(tmp_path, "price", "--mapping", "pos/price")
    assert stock.name == "stock_summary.xlsx"  # '*stock*summary*.xlsx'
    assert price.name == "price.csv"
    assert price.read_bytes() == b"Store;Item Code;MRP;Selling Price\r\n"  # cp1252: no BOM


def test_a_filled_in_tally_template_validates(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    path, _ = template(tmp_path, "stock", "--mapping", "tally/stock")
    row = {"Godown": "Main Godown - Delhi", "Particulars": "ts-blk-s", "Closing Qty": "1,200 Nos"}
    fill(path, SHIPPED["tally/stock"], row)
    result = CliRunner().invoke(app, ["validate", str(path)])
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "stock_summary.summary.json").read_text())
    assert (summary["mapping"], summary["rows"]["ok"]) == ("tally/stock", 1)


def test_a_filled_in_pos_price_template_uploads_from_the_inbox(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sandbox: Any
) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    monkeypatch.chdir(inbox)
    path, _ = template(inbox, "price", "--mapping", "pos/price")
    row = {"Store": "Indiranagar", "Item Code": "ts-blk-s", "MRP": "Rs. 1,299.00",
           "Selling Price": "Rs. 999.50"}  # fmt: skip
    fill(path, SHIPPED["pos/price"], row)
    env = {"KONNECT_TOKEN": sandbox.token, "KONNECT_BASE_URL": sandbox.url}
    result = CliRunner().invoke(app, ["run", str(inbox), "--settle", "0"], env=env)
    assert result.exit_code == 0, result.output
    summary = inbox / "done" / date.today().isoformat() / "price.summary.json"
    assert json.loads(summary.read_text())["mapping"] == "pos/price"
    price = sandbox.state()["prices"]["BLR-ST-03|TS-BLK-S"]
    assert (price["mrp"], price["esp"], price["currency"]) == (1299, 999.5, "INR")


def test_an_out_name_the_mapping_does_not_take_is_written_with_a_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    path, result = template(tmp_path, "stock", "--mapping", "tally/stock", "--out", "godowns.xlsx")
    assert path.name == "godowns.xlsx"
    assert "does not match the file names tally/stock takes" in result.stderr
    assert "stock_summary.xlsx" in result.stderr and "--mapping tally/stock" in result.stderr
    _, renamed = template(tmp_path, "price", "--mapping", "pos/price", "--out", "p.csv")
    assert "rename it to price.csv" in renamed.stderr
    _, fine = template(tmp_path, "stock", "--mapping", "tally/stock", "--out", "Tally Jan.xlsx")
    assert fine.stderr == ""


def test_a_canonical_order_template_named_without_its_feed_is_warned_about(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    _, result = template(tmp_path, "confirm", "--out", "orders.csv")
    assert "'*confirm*'" in result.stderr and "rename it to confirm.csv" in result.stderr


def test_a_template_type_that_cannot_be_written_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "stock.json"
    result = CliRunner().invoke(app, ["template", "stock", "--out", str(out)])
    assert result.exit_code == 2 and ".xlsx, .csv" in result.output and not out.exists()


CUSTOM = """\
feed: stock
description: WMS bin stock
match:
  filename: ["wms_*_bins.*"]
  headers: [Warehouse, Bin, Item, On Hand, Zone]
read: {READ}
skip:
  rows_where: [{column: Status, equals: CLOSED}]  # a column no field reads
fields:
  location_id: {template: "{Warehouse}-{Bin}"}
  sku: {column: Item}
  quantity: {column: On Hand, transforms: [integer]}
"""
READS = {
    "xlsx, header on row 3, named sheet": ("{sheet: Bins, header_row: 3}", ".xlsx"),
    "xlsx, second sheet by index": ("{sheet: 1}", ".xlsx"),
    "utf-16 text, '|' between columns": ('{encoding: utf-16, delimiter: "|", header_row: 2}',
                                         ".csv"),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(READS))
def test_a_new_mappings_sheet_header_row_and_csv_options_are_honoured(
    case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    read, suffix = READS[case]
    folder = tmp_path / "mappings" / "wms"
    folder.mkdir(parents=True)
    (folder / "stock.yaml").write_text(CUSTOM.replace("{READ}", read))
    (tmp_path / "konnect-etl.yaml").write_text("mappings: mappings\n")
    monkeypatch.chdir(tmp_path)
    config = ["--config", "konnect-etl.yaml"]
    path, result = template(tmp_path, "stock", "--mapping", "wms/stock", *config)
    assert path.name == f"wms_stock_bins{suffix}" and "warning" not in result.output
    mapping = load_mapping(folder / "stock.yaml", tmp_path / "mappings")
    fill(path, mapping, {"Warehouse": "DEL", "Bin": "A1", "Item": "CAP-RED", "On Hand": "3"})
    chosen, table = choose_mapping([*SHIPPED.values(), mapping], path)
    assert chosen.name == "wms/stock"
    # Zone: match only; Status: a skip rule's (a file without it is refused)
    assert table.header == ["Warehouse", "Bin", "Item", "On Hand", "Zone", "Status"]
    assert table.header_row == (mapping.header_row or 1)
    assert list(table.data.iloc[0][:4]) == ["DEL", "A1", "CAP-RED", "3"]


@pytest.mark.parametrize(
    ("glob", "feed", "expected"),
    [
        ("*stock*summary*.xlsx", "stock", "stock_summary.xlsx"),
        ("pos_*.csv", "price", "pos_price.csv"),
        ("tally*.xlsx", "stock", "tally.xlsx"),
        ("*awb*", "awb", "awb.xlsx"),  # no type in the glob: the default one
        ("*", "pack", "pack.xlsx"),
        ("stock_????.CSV", "stock", "stock_0000.csv"),
        ("[Ss]tock-*.csv", "stock", "Stock-stock.csv"),
        ("*.xls", "stock", None),  # a type the template cannot be written as
    ],
)
def test_a_name_made_from_a_glob_matches_it(glob: str, feed: str, expected: str | None) -> None:
    assert name_from_glob(glob, feed, ".xlsx") == expected


def test_a_mapping_that_takes_only_xls_names_asks_for_out(tmp_path: Path) -> None:
    yaml = tmp_path / "old.yaml"
    yaml.write_text(CUSTOM.replace("wms_*_bins.*", "*.xls").replace("{READ}", "{}"))
    mapping = load_mapping(yaml)
    with pytest.raises(ConfigError, match="choose one with --out"):
        default_name(mapping, layout_for(mapping))
