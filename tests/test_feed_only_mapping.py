"""A mapping with only `feed:` reads Konnect's own column names (SPEC §2), and order files
whose name does not say the feed are refused with what to do, never guessed."""

from __future__ import annotations

import csv
import json
import textwrap
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from etl.cli import app
from etl.errors import InputError, MappingError
from etl.mapping import (
    apply_mapping,
    canonical_fields,
    choose_mapping,
    explain,
    generic_mapping,
    load_mapping,
    load_mappings,
)
from etl.matching import left_for_another_run

SHIPPED = Path(__file__).resolve().parents[1] / "mappings"
TODAY = date.today().isoformat()
STOCK_ROWS = [["location_id", "sku", "quantity"], ["DEL-WH-01", "TS-BLK-S", "2"]]
ORDER_ROWS = [["orderId", "orderItemId", "quantity"], ["1", "1-1", "1"]]


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def drop(path: Path, rows: list[list[str]], delimiter: str = ",") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle, delimiter=delimiter).writerows(rows)
    return path


def mapping(root: Path, text: str, name: str = "shop/stock.yaml") -> Any:
    return load_mapping(write(root / name, text), root)


def test_feed_alone_reads_every_canonical_column_as_the_generic_mapping_does(
    tmp_path: Path,
) -> None:
    loaded = mapping(tmp_path, "feed: invoice\n", "shop/invoice.yaml")
    assert loaded.fields == generic_mapping("invoice").fields == canonical_fields("invoice")
    assert loaded.required_headers == ("orderId", "invoiceNumber", "invoiceType")
    assert (loaded.filename, loaded.headers) == ((), ())
    assert loaded.description == "invoice file with the canonical column names"
    described = mapping(tmp_path, "feed: stock\ndescription: shop export\n")
    assert described.description == "shop export"


def test_feed_with_match_and_read_options_chooses_and_reads_the_file(tmp_path: Path) -> None:
    text = """
    feed: stock
    match: {filename: "shop_*.csv"}
    read: {delimiter: ";", header_row: 2}
    skip:
      rows_where:
        - {column: sku, equals: Total}
    policies: {duplicates: sum}
    """
    shop = mapping(tmp_path / "mappings", text)
    rows = [["Shop export"], *STOCK_ROWS, ["", "Total", "2"]]
    path = drop(tmp_path / "shop_1.csv", rows, delimiter=";")
    chosen, table = choose_mapping([generic_mapping("stock"), shop], path)
    assert chosen is shop and table.header_row == 2
    mapped = apply_mapping(chosen, table)
    assert mapped.frame.to_dict("records") == [
        {"location_id": "DEL-WH-01", "sku": "TS-BLK-S", "quantity": 2}
    ]
    assert mapped.skipped_rows == 1 and shop.duplicates == "sum"
    with pytest.raises(InputError, match=r"file name does not match 'shop_\*\.csv'"):
        choose_mapping([shop], drop(tmp_path / "other.csv", rows, delimiter=";"))


def test_an_explicit_but_empty_fields_is_still_an_error_with_a_hint(tmp_path: Path) -> None:
    with pytest.raises(MappingError) as caught:
        mapping(tmp_path, "feed: stock\nfields:\n")
    assert (caught.value.line, caught.value.key) == (2, "fields.location_id")
    assert "leave 'fields:' out" in caught.value.problem
    with pytest.raises(MappingError, match="did you mean 'fields'"):
        mapping(tmp_path, "feed: stock\nfeilds: {}\n")


def test_a_missing_canonical_column_is_reported_as_for_any_mapping(tmp_path: Path) -> None:
    shop = mapping(tmp_path / "mappings", "feed: stock\n")
    path = drop(tmp_path / "stock.csv", [["location_id", "sku", "qty"], ["A", "B", "1"]])
    with pytest.raises(InputError) as caught:
        choose_mapping([shop], path)
    assert caught.value.code == "no_mapping"
    assert str(caught.value) == (
        f"no mapping fits stock.csv; closest: shop/stock ({shop.path}): "
        "row 1 has 'location_id', 'sku', but header lacks 'quantity'"
    )
    [report] = explain([shop], path)
    assert not report.fits and report.missing == ["header lacks 'quantity'"]


def test_a_header_written_with_spaces_is_named_beside_the_one_it_lacks(tmp_path: Path) -> None:
    """'Order Id' is orderId to the person who wrote it: the message names their column."""
    shop = mapping(tmp_path / "mappings", "feed: stock\n")
    path = drop(tmp_path / "stock.csv", [["Location Id", "SKU", "quantity"], ["A", "B", "1"]])
    [report] = explain([shop], path)
    assert report.missing == [
        "header lacks 'location_id' (the file has 'Location Id' for 'location_id': write the"
        " header as the mapping names it)"
    ]


def test_the_generic_mapping_gives_way_to_one_of_its_own_feed_only(tmp_path: Path) -> None:
    path = drop(tmp_path / "stock.csv", STOCK_ROWS)
    shop = mapping(tmp_path / "mappings", "feed: stock\n")
    assert choose_mapping([generic_mapping("stock"), shop], path)[0] is shop
    assert explain([generic_mapping("stock"), shop], path)[0].mapping is shop
    twin = mapping(tmp_path / "mappings", "feed: stock\n", "other/stock.yaml")
    with pytest.raises(InputError, match="both shop/stock and other/stock fit equally well"):
        choose_mapping([generic_mapping("stock"), shop, twin], path)
    as_price = """
    feed: price
    fields:
      location_id: location_id
      sku: sku
      mrp: {column: quantity, transforms: [decimal]}
      esp: {constant: "1"}
      currency: {constant: INR}
    """
    price = mapping(tmp_path / "mappings", as_price, "odd/price.yaml")
    with pytest.raises(InputError) as caught:  # another feed: never a silent choice
        choose_mapping([generic_mapping("stock"), price], path)
    assert caught.value.code == "ambiguous_mapping"
    assert str(caught.value) == (
        "both odd/price and generic/stock fit equally well; give one a more specific match "
        "(file name or headers) or choose with --feed (price or stock) or --mapping"
    )


def test_canonical_order_columns_without_the_feed_in_the_name_say_what_to_do(
    tmp_path: Path,
) -> None:
    shipped = load_mappings(SHIPPED)
    path = drop(tmp_path / "orders_today.csv", ORDER_ROWS)
    with pytest.raises(InputError) as caught:
        choose_mapping(shipped, path)
    message = str(caught.value)
    assert caught.value.code == "no_mapping"
    assert message.startswith(
        "no mapping fits orders_today.csv: its header fits generic/confirm, generic/dispatch, "
        "generic/return_qc, generic/pack, but the file name does not match '*confirm*', "
    )
    assert message.endswith("pass --feed (confirm, dispatch, return_qc or pack)")
    assert choose_mapping(shipped, path, feed="dispatch")[0].name == "generic/dispatch"
    reports = explain(shipped, path)  # the near misses first, each saying the name is wrong
    assert {r.mapping.name for r in reports[:3]} == {
        "generic/confirm",
        "generic/dispatch",
        "generic/return_qc",
    }
    assert reports[0].missing == [f"file name does not match '{reports[0].mapping.filename[0]}'"]


def test_one_feed_that_fits_but_for_the_name_gets_a_short_hint(tmp_path: Path) -> None:
    rows = [["orderId", "awbNumber", "courierName"], ["1", "A", "B"]]
    path = drop(tmp_path / "courier.csv", rows)
    with pytest.raises(InputError) as caught:
        choose_mapping(load_mappings(SHIPPED), path)
    assert str(caught.value) == (
        "no mapping fits courier.csv: its header fits generic/awb, generic/pack, but the file "
        "name does not match '*awb*', '*pack*'. The columns alone do not say which feed it is: "
        "rename the file to match the right one or pass --feed (awb or pack)"
    )
    awb_only = [generic_mapping("awb")]
    with pytest.raises(InputError) as single:
        choose_mapping(awb_only, path)
    assert str(single.value).endswith(
        "does not match '*awb*'; rename the file to match or pass --feed awb"
    )


def _run(inbox: Path, sandbox: Any) -> Any:
    env = {"KONNECT_TOKEN": sandbox.token, "KONNECT_BASE_URL": sandbox.url}
    args = ["run", str(inbox), "--settle", "0"]
    return CliRunner().invoke(app, args, env=env, catch_exceptions=False)


def _summary(inbox: Path, stem: str, where: str = "done") -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(
        (inbox / where / TODAY / f"{stem}.summary.json").read_text()
    )
    return loaded


def _inbox(tmp_path: Path) -> Path:
    """An inbox configured as the README shows, with two feed-only mappings of its own."""
    inbox = tmp_path / "inbox"
    write(inbox / "konnect-etl.yaml", "mappings: ./mappings\n")
    stock = "feed: stock\nskip:\n  rows_where:\n    - {column: sku, equals: Total}\n"
    write(inbox / "mappings" / "shop" / "stock.yaml", stock + "policies: {duplicates: sum}\n")
    confirm = "feed: confirm\nmatch:\n  filename: orders_*\n"
    write(inbox / "mappings" / "shop" / "confirm.yaml", confirm)
    return inbox


def test_feed_only_mappings_in_an_inbox_run_against_the_sandbox(
    tmp_path: Path, sandbox: Any
) -> None:
    inbox = _inbox(tmp_path)
    order = f"11{1:018d}"
    drop(inbox / "stock.csv", [*STOCK_ROWS, ["DEL-WH-01", "TS-BLK-S", "3"], ["", "Total", "5"]])
    drop(inbox / "orders_today.csv", [ORDER_ROWS[0], [order, f"{order}-1", "1"]])
    other = f"11{2:018d}"
    drop(inbox / "picklist.csv", [ORDER_ROWS[0], [other, f"{other}-1", "1"]])
    result = _run(inbox, sandbox)
    assert result.exit_code == 1, result.output  # picklist.csv: no feed in its name
    stock = _summary(inbox, "stock")
    assert (stock["mapping"], stock["outcome"], stock["skipped_rows"]) == (
        "shop/stock",
        "uploaded",
        1,
    )
    assert sandbox.state()["stock"]["DEL-WH-01|TS-BLK-S"] == 5  # summed: the generic would reject
    assert _summary(inbox, "orders_today")["mapping"] == "shop/confirm"
    assert sandbox.state()["orders"][order]["state"] == "bag_confirmed"
    [failure] = _summary(inbox, "picklist", "failed")["file_errors"]
    assert "its header fits generic/confirm, generic/dispatch" in failure
    assert "'orders_*'" in failure and failure.endswith("return_qc or pack)")
    assert sandbox.state()["orders"][other]["state"] != "bag_confirmed"


def test_mappings_lists_and_explains_a_feed_only_mapping(tmp_path: Path) -> None:
    inbox = _inbox(tmp_path)
    config = str(inbox / "konnect-etl.yaml")
    listed = CliRunner().invoke(app, ["mappings", "--config", config])
    assert listed.exit_code == 0, listed.output
    words = " ".join(listed.output.split())  # the console wraps long lines
    assert "shop/stock (stock) stock file with the canonical column names" in words
    assert "shop/confirm (confirm) confirm file with the canonical column names" in words
    path = drop(tmp_path / "stock_today.csv", STOCK_ROWS)
    args = ["mappings", "--config", config, "--explain", str(path)]
    explained = CliRunner().invoke(app, args)
    assert explained.exit_code == 0, explained.output
    words = " ".join(explained.output.split())
    assert words.startswith("matches shop/stock (")
    assert "stock.yaml): row 1 has 'location_id', 'sku', 'quantity' matches generic/stock" in words


def test_a_name_of_two_order_actions_is_refused_unless_your_own_mapping_says(
    tmp_path: Path,
) -> None:
    """`pack_list_for_dispatch.csv` fits pack and dispatch by name and columns: dispatch
    needing more columns does not make it a dispatch file."""
    shipped = load_mappings(SHIPPED)
    path = drop(tmp_path / "pack_list_for_dispatch_28-11.csv", ORDER_ROWS)
    with pytest.raises(InputError) as caught:
        choose_mapping(shipped, path)
    assert caught.value.code == "ambiguous_mapping"
    assert str(caught.value) == (
        "pack_list_for_dispatch_28-11.csv is named like two order actions, dispatch"
        " ('*dispatch*') and pack ('*pack*'), and has the columns of both: an order action"
        " cannot be undone, so it is not guessed; rename the file to name one, or pass"
        " --feed (dispatch or pack)"
    )
    assert choose_mapping(shipped, path, feed="pack")[0].name == "generic/pack"
    own = mapping(tmp_path, "feed: dispatch\nmatch:\n  filename: pack_list*\n", "wms/d.yaml")
    assert choose_mapping([*shipped, own], path)[0].name == "wms/d"
    # an invoice number proves an invoice file, whatever '*pack*' matched in its name
    invoice = [["orderId", "invoiceNumber", "invoiceType"], ["1", "INV-1", "sale"]]
    packages = drop(tmp_path / "invoice_packages.csv", invoice)
    assert choose_mapping(shipped, packages)[0].name == "generic/invoice"
    # a stock file named like a price list too is no order action: headers decide, as before
    stock = drop(tmp_path / "stock_price_list.csv", STOCK_ROWS)
    assert choose_mapping(shipped, stock)[0].feed == "stock"


def test_feed_option_leaves_a_file_named_for_another_feed_where_it_is(
    tmp_path: Path, sandbox: Any
) -> None:
    """`run --feed confirm` for a WMS export whose name says no feed must not read the cancel
    file waiting beside it as confirms: it stays in the inbox for a run without --feed."""
    inbox = tmp_path / "inbox"
    confirmed, cancelled = f"11{1:018d}", f"11{3:018d}"
    drop(inbox / "WMS_export_281126.csv", [ORDER_ROWS[0], [confirmed, f"{confirmed}-1", "1"]])
    cancel_header = [*ORDER_ROWS[0], "reasonCode"]
    drop(inbox / "cancel_28-11.csv", [cancel_header, [cancelled, f"{cancelled}-1", "1", "6"]])
    env = {"KONNECT_TOKEN": sandbox.token, "KONNECT_BASE_URL": sandbox.url}
    args = ["run", str(inbox), "--settle", "0", "--feed", "confirm"]
    result = CliRunner().invoke(app, args, env=env, catch_exceptions=False)
    assert result.exit_code == 1, result.output  # not everything waiting was done
    assert "Left for a run without --feed/--mapping" in result.output
    assert "cancel_28-11.csv" in result.output
    orders = sandbox.state()["orders"]
    assert orders[confirmed]["state"] == "bag_confirmed"
    assert orders[cancelled]["state"] == "placed"  # neither confirmed nor cancelled
    assert (inbox / "cancel_28-11.csv").is_file()
    assert _run(inbox, sandbox).exit_code == 0  # the next plain run cancels it
    assert sandbox.state()["orders"][cancelled]["state"] == "cancelled_fynd"
    # validate with --feed says the same of such a file, and reads the errors file of an
    # export that was read with --feed (its name says no other feed)
    other = drop(tmp_path / "cancel_29-11.csv", [cancel_header, ["1", "1-1", "1", "6"]])
    with pytest.raises(InputError) as caught:
        choose_mapping(load_mappings(SHIPPED), other, feed="confirm")
    assert caught.value.code == "named_otherwise"
    assert str(caught.value) == (
        "not read: its name matches '*cancel*' of generic/cancel: it is a cancel file, and this"
        " run reads files as confirm; run it without --feed/--mapping"
    )
    fixed = drop(tmp_path / "WMS_export_281126.errors.csv", ORDER_ROWS)
    assert choose_mapping(load_mappings(SHIPPED), fixed, feed="confirm")[0].feed == "confirm"


@pytest.mark.parametrize(
    ("name", "rows", "feed"),
    [
        ("stock_status_2811.csv", STOCK_ROWS, "stock"),  # '*status*': a word, not a feed here
        ("pos_stock_2811.csv", STOCK_ROWS, "stock"),  # 'pos_*.csv' of pos/price: the ERP
        ("dispatch_backpacks_2811.csv", ORDER_ROWS, "dispatch"),  # 'pack' inside a word
        ("dispatch_packed_orders.csv", ORDER_ROWS, "dispatch"),
    ],
)
def test_names_that_only_contain_another_feeds_word_are_read_as_asked(
    tmp_path: Path, name: str, rows: list[list[str]], feed: str
) -> None:
    """A stock or price run reads what it is given (vendor globs and words such as 'status'
    in a stock file's name say nothing of order actions), and a built-in `*pack*` names a
    file only as a word: `backpacks` and `packed` are no pack files."""
    shipped = load_mappings(SHIPPED)
    path = drop(tmp_path / name, rows)
    assert left_for_another_run(shipped, name, feed, None) is None
    assert choose_mapping(shipped, path, feed=feed)[0].feed == feed
    if feed == "dispatch":  # and without --feed: no "two order actions"
        assert choose_mapping(shipped, path)[0].name == "generic/dispatch"
