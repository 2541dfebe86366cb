"""Validation: each rule gives the right Problem, valid rows go on typed, row policies."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from etl.errors import ConfigError
from etl.feeds import FEEDS
from etl.model import Mapped, Problem
from etl.validation import Validated, validate

STOCK_SOURCES = {"location_id": "Store", "sku": "Item Code", "quantity": "Closing Qty"}


def mapped(
    columns: dict[str, list[Any]],
    sources: dict[str, str] | None = None,
    problems: list[Problem] | None = None,
    first_row: int = 2,
) -> Mapped:
    """A Mapped as a mapping would hand it over: text cells, source row numbers from 2."""
    frame = pd.DataFrame({k: pd.Series(v, dtype="str") for k, v in columns.items()})
    n = len(frame)
    return Mapped(
        frame=frame,
        positions=np.arange(n, dtype=np.int64),
        row_numbers=np.arange(first_row, first_row + n, dtype=np.int64),
        sources=sources or {},
        problems=problems or [],
    )


def stock(
    locations: list[str], skus: list[str], quantities: list[Any], **policies: str
) -> Validated:
    m = mapped({"location_id": locations, "sku": skus, "quantity": quantities}, STOCK_SOURCES)
    return validate(FEEDS["stock"], m, **policies)


def price(mrp: list[str], esp: list[str], currency: list[str]) -> Validated:
    n = len(mrp)
    columns = {
        "location_id": ["L1"] * n,
        "sku": [f"S{i}" for i in range(n)],
        "mrp": mrp,
        "esp": esp,
        "currency": currency,
    }
    return validate(FEEDS["price"], mapped(columns))


def only(validated: Validated) -> Problem:
    assert len(validated.problems) == 1, validated.problems
    return validated.problems[0]


def test_valid_stock_rows_pass_with_konnect_types() -> None:
    v = stock(["L1", "L1"], ["A", "B"], ["12", " 0 "])
    assert v.problems == []
    assert v.frame.to_dict("records") == [
        {"location_id": "L1", "sku": "A", "quantity": 12},
        {"location_id": "L1", "sku": "B", "quantity": 0},
    ]
    assert v.frame["quantity"].dtype == np.int64
    assert v.frame["sku"].dtype == "str"
    assert v.positions.tolist() == [0, 1]
    assert v.row_numbers.tolist() == [2, 3]


def test_negative_stock_is_rejected_in_the_users_words() -> None:
    v = stock(["L1"] * 3, ["A", "B", "C"], ["5", "-3", "7"])
    problem = only(v)
    assert problem == Problem(3, "Closing Qty", "-3", "negative", "stock cannot be negative")
    assert problem.text() == "Row 3, column 'Closing Qty': '-3' - stock cannot be negative"
    assert v.frame["sku"].tolist() == ["A", "C"]
    assert v.row_numbers.tolist() == [2, 4]
    assert v.positions.tolist() == [0, 2]


def test_negative_stock_zero_policy_sends_zero() -> None:
    v = stock(["L1", "L1"], ["A", "B"], ["-3", "4"], negative_stock="zero")
    assert v.problems == []
    assert v.frame["quantity"].tolist() == [0, 4]


@pytest.mark.parametrize(
    ("cell", "code", "message"),
    [
        ("", "missing", "stock quantity is empty"),
        ("1.5", "not_integer", "stock must be a whole number"),
        ("12 pcs", "not_a_number", "stock quantity must be a number"),
        ("1e999", "not_a_number", "stock quantity must be a number"),
    ],
)
def test_unusable_quantities(cell: str, code: str, message: str) -> None:
    problem = only(stock(["L1"], ["A"], [cell]))
    assert (problem.row, problem.column, problem.value) == (2, "Closing Qty", cell)
    assert (problem.code, problem.message) == (code, message)


def test_empty_sku_and_location() -> None:
    v = stock(["  ", "L1"], ["B", ""], ["1", "2"])
    assert [(p.row, p.column, p.code, p.message) for p in v.problems] == [
        (2, "Store", "missing", "location is empty"),
        (3, "Item Code", "missing", "SKU is empty"),
    ]
    assert len(v.frame) == 0


def test_quantities_already_numeric_after_a_transform() -> None:
    m = mapped({"location_id": ["L1", "L1"], "sku": ["A", "B"]}, STOCK_SOURCES)
    m.frame["quantity"] = pd.Series([3.0, -1.0])
    v = validate(FEEDS["stock"], m)
    assert v.frame["quantity"].tolist() == [3]
    assert only(v).value == "-1"


def test_every_problem_of_a_row_is_reported() -> None:
    v = stock([""], [""], ["-1"])
    assert [p.code for p in v.problems] == ["missing", "missing", "negative"]


def test_object_and_list_cells_are_read() -> None:
    m = mapped({"location_id": ["L1", "L1"], "sku": ["A", "B"]}, STOCK_SOURCES)
    m.frame["sku"] = pd.Series([" A ", 1234.0], dtype=object)
    m.frame["quantity"] = pd.Series(["3", 4], dtype=object)
    v = validate(FEEDS["stock"], m)
    assert v.problems == []
    assert v.frame.to_dict("records")[1] == {"location_id": "L1", "sku": "1234", "quantity": 4}
    assert v.frame["sku"].tolist()[0] == "A"


def test_column_falls_back_to_the_canonical_name() -> None:
    m = mapped({"location_id": ["L1"], "sku": ["A"], "quantity": ["-1"]}, {"sku": "Item"})
    assert only(validate(FEEDS["stock"], m)).column == "quantity"


def test_esp_above_mrp() -> None:
    problem = only(price(["999"], ["1200"], ["INR"]))
    assert (problem.column, problem.value, problem.code) == ("esp", "1200", "esp_above_mrp")
    assert problem.message == "selling price (esp) 1200 is above MRP 999"


def test_prices_must_be_positive() -> None:
    v = price(["0", "100"], ["10", "-5"], ["INR", "INR"])
    assert [(p.row, p.column, p.code) for p in v.problems] == [
        (2, "mrp", "not_positive"),
        (3, "esp", "not_positive"),
    ]
    assert v.problems[0].message == "MRP must be more than 0"


@pytest.mark.parametrize("currency", ["inr", "IN", "RUPEE", "₹"])
def test_currency_must_be_three_capital_letters(currency: str) -> None:
    problem = only(price(["100"], ["90"], [currency]))
    assert problem.code == "bad_currency"
    assert problem.message == "currency must be 3 capital letters like INR"


def test_valid_prices_are_floats() -> None:
    v = price(["999", "100.50"], ["999", "99.5"], ["INR", "USD"])
    assert v.problems == []
    assert v.frame["mrp"].dtype == np.float64
    assert v.frame["esp"].tolist() == [999.0, 99.5]


def test_mapping_problems_are_carried_and_not_reported_twice() -> None:
    earlier = Problem(3, "Closing Qty", "1,2,3", "bad_integer", "not a whole number")
    m = mapped(
        {"location_id": ["L1", "L1"], "sku": ["A", ""], "quantity": ["1", "1,2,3"]},
        STOCK_SOURCES,
        problems=[earlier],
    )
    v = validate(FEEDS["stock"], m)
    assert v.problems[0] is earlier
    assert [(p.column, p.code) for p in v.problems[1:]] == [("Item Code", "missing")]
    assert v.frame["sku"].tolist() == ["A"]


def test_duplicates_error_rejects_every_row_of_the_key() -> None:
    v = stock(["L1", "L1", "L2", "L1"], ["A", "B", "A", "A"], ["1", "2", "3", "4"])
    assert [(p.row, p.column, p.code) for p in v.problems] == [
        (2, "Item Code", "duplicate"),
        (5, "Item Code", "duplicate"),
    ]
    assert v.problems[0].message == (
        "same location and SKU as row 5 (quantity 1 here, 4 in row 5): keep the right row and"
        " delete the other"
    )
    assert v.problems[1].message.startswith("same location and SKU as row 2 (quantity 4 here")
    assert v.row_numbers.tolist() == [3, 4]


def test_a_key_on_thousands_of_rows_names_a_few_of_them() -> None:
    """A placeholder SKU on every row: each message names five other rows, not thousands
    (and the check stays linear: before, 3,000 such rows took minutes)."""
    n = 3000
    v = stock(["L1"] * n, ["NA"] * n, [str(i) for i in range(n)])
    first, last = v.problems[0].message, v.problems[-1].message
    assert first == (
        "same location and SKU as rows 3, 4, 5, 6, 7 and 2994 more (quantity 0 here, 1 in row"
        " 3, 2 in row 4, 3 in row 5, 4 in row 6, 5 in row 7 and 2994 more): keep the right row"
        " and delete the others"
    )
    assert last.startswith("same location and SKU as rows 2, 3, 4, 5, 6 and 2994 more")
    assert max(len(p.message) for p in v.problems) < 300


def test_an_empty_location_under_merged_cells_says_so() -> None:
    """A store name merged over its rows: only the first row holds it."""
    v = stock(["DEL-WH-01", "", "", "MUM-ST-02", ""], list("ABCDE"), ["1"] * 5)
    merged = (
        "location is empty, and row {0} above has one: merged cells? write the location on"
        " every row, as in row {0}"
    )
    assert [(p.row, p.message) for p in v.problems] == [
        (3, merged.format(2)),
        (4, merged.format(2)),
        (6, merged.format(5)),
    ]
    first = stock(["", "L1"], ["A", "B"], ["1", "1"])  # nothing above: only empty
    assert only(first).message == "location is empty"
    cells = {"location_id": ["L1", ""], "sku": ["A", "B"], "quantity": ["1", "1"]}
    apart = mapped(cells, STOCK_SOURCES)
    apart.row_numbers = np.array([2, 4], dtype=np.int64)  # a blank row 3 between: no merge
    assert only(validate(FEEDS["stock"], apart)).message == "location is empty"


def test_the_only_empty_cell_of_a_column_on_the_last_row_asks_whether_it_shifted() -> None:
    """A cell deleted with "Shift cells up" (price review: every price one row off, and only
    "row 2001: esp is empty" to tell)."""
    n = 25
    skus = [f"S{i}" for i in range(n)]
    shifted = stock(["L1"] * n, skus, [*map(str, range(1, n)), ""])
    assert only(shifted).row == n + 1
    assert only(shifted).message == (
        "quantity is empty - the column's only empty cell, on the file's last row: if the"
        ' quantity cells were shifted up by one (a cell deleted with Excel\'s "Shift cells up",'
        " or the column sorted alone), each row above holds the quantity of the row below it:"
        " correct the column and send the whole file again; if not, write the quantity"
    )
    short = stock(["L1"] * 6, list("ABCDEF"), ["1", "2", "3", "4", "5", ""])  # typed by hand
    assert only(short).message == "stock quantity is empty"
    two = stock(["L1"] * n, skus, ["1", "", *map(str, range(3, n)), ""])  # not the only one
    assert {p.message for p in two.problems} == {"stock quantity is empty"}
    stray = stock(["L1"] * n, [*skus[:-1], ""], [*map(str, range(1, n)), ""])  # a partial row
    assert {p.message for p in stray.problems} == {"stock quantity is empty", "SKU is empty"}


def test_duplicates_error_names_all_other_rows() -> None:
    v = stock(["L1"] * 3, ["A"] * 3, ["1", "2", "3"])
    assert v.problems[0].message == (
        "same location and SKU as rows 3 and 4 (quantity 1 here, 2 in row 3, 3 in row 4): keep"
        " the right row and delete the others"
    )
    same = stock(["L1"] * 2, ["A"] * 2, ["7", "7"])
    assert same.problems[0].message == (
        "same location and SKU as row 3, with the same quantity (7): delete the extra row"
    )


@pytest.mark.parametrize(("policy", "kept"), [("first", 1), ("last", 3)])
def test_duplicates_first_and_last_merge_the_others(policy: str, kept: int) -> None:
    v = stock(["L1"] * 3, ["A", "A", "A"], ["1", "2", "3"], duplicates=policy)
    assert v.problems == []
    assert v.frame["quantity"].tolist() == [kept]
    assert sorted(v.merged) == sorted({0, 1, 2} - {kept - 1})
    assert set(v.merged.values()) == {0}
    some = next(iter(v.merged))
    assert v.merge_message(some) == (
        f"same location and SKU as row {kept + 1}, sent once with that row (the mapping sends"
        f" the {policy} of such rows: duplicates: {policy})"
    )


def test_duplicates_first_when_the_kept_row_is_bad() -> None:
    v = stock(["L1", "L1"], ["A", "A"], ["-1", "2"], duplicates="first")
    assert [p.code for p in v.problems] == ["negative", "duplicate"]
    assert "row 2" in v.problems[1].message
    assert len(v.frame) == 0
    assert v.merged == {}


def test_duplicates_sum_adds_up_into_the_first_row() -> None:
    v = stock(
        ["L1", "L1", "L1", "L2"], ["A", "B", "A", "A"], ["1", "2", "3", "4"], duplicates="sum"
    )
    assert v.problems == []
    assert v.frame.to_dict("records") == [
        {"location_id": "L1", "sku": "A", "quantity": 4},
        {"location_id": "L1", "sku": "B", "quantity": 2},
        {"location_id": "L2", "sku": "A", "quantity": 4},
    ]
    assert v.merged == {2: 0}
    assert v.merge_message(2) == "added to row 2"


def test_duplicates_sum_sends_no_total_when_a_row_is_bad() -> None:
    v = stock(["L1", "L1"], ["A", "A"], ["5", "x"], duplicates="sum")
    assert [(p.row, p.code) for p in v.problems] == [
        (2, "duplicate"),
        (3, "not_a_number"),
        (3, "duplicate"),
    ]
    assert v.problems[0].message.startswith("not added up")
    assert "keep this row" in v.problems[0].message  # not deleted as a mere duplicate
    assert v.problems[2].message == (  # and the bad row is not deleted either: a partial total
        "fix this row rather than delete it: without it, row 2 alone would go out as the whole"
        " stock of this location and SKU"
    )
    assert len(v.frame) == 0


def test_sum_is_for_stock_only_and_policies_are_checked() -> None:
    with pytest.raises(ConfigError, match="stock"):
        validate(FEEDS["price"], mapped({"location_id": ["L"]}), duplicates="sum")
    with pytest.raises(ConfigError):
        stock(["L1"], ["A"], ["1"], negative_stock="ignore")


def test_messages_never_show_pandera_jargon() -> None:
    v = stock(["", "L", "L", "L"], ["A", "", "B", "C"], ["-1", "x", "1.5", "1e30"])
    v2 = price(["0", "5", "x"], ["9", "6", ""], ["inr", "INR", ""])
    texts = [p.text() for p in v.problems + v2.problems]
    assert len(texts) >= 9
    for jargon in ("Check", "nullable", "greater", "dtype", "lambda", "failure", "Series"):
        assert not any(jargon in t for t in texts), texts


def orders(feed: str, columns: dict[str, list[str]]) -> Validated:
    return validate(FEEDS[feed], mapped(columns))


def test_invoice_order_fields_must_agree() -> None:
    v = orders(
        "invoice",
        {
            "orderId": ["O1", "O1", "O2"],
            "invoiceNumber": ["I1", "I9", "I2"],
            "invoiceType": ["sale", "sale", "return"],
            "orderItemId": ["a", "b", "c"],
            "quantity": ["1", "1", "1"],
        },
    )
    assert [(p.row, p.code) for p in v.problems] == [(2, "order_conflict"), (3, "order_conflict")]
    assert "row 2 'I1', row 3 'I9'" in v.problems[0].message
    assert v.frame["orderId"].tolist() == ["O2"]


def test_one_awb_number_on_two_orders_is_sent_with_a_note_on_each() -> None:
    """A fill-down slip in a courier manifest, or two orders a courier carries as one
    consignment (Konnect does not say an AWB is one order's): sent, each row saying so."""
    v = orders(
        "awb",
        {
            "orderId": ["O1", "O2", "O3"],
            "awbNumber": ["69012345681", "69012345681", "69012345682"],
            "courierName": ["Blue Dart"] * 3,
        },
    )
    assert v.problems == [] and v.frame["orderId"].tolist() == ["O1", "O2", "O3"]
    said = (
        "note: AWB 69012345681 is on 2 orders: row 2 (order O1), row 3 (order O2): check that"
        " these orders really travel as one consignment"
    )
    assert v.notes == {0: said, 1: said}


def test_numbers_on_two_orders_are_found_in_one_pass() -> None:
    """40,000 invoice rows, every number on one order but two: no look per number at the
    whole column (that took 30 s)."""
    n = 40_000
    numbers = [f"INV-{i}" for i in range(n)]
    numbers[-1] = numbers[0]
    v = orders(
        "invoice",
        {
            "orderId": [f"O{i}" for i in range(n)],
            "invoiceNumber": numbers,
            "invoiceType": ["sale"] * n,
        },
    )
    assert [(p.row, p.code) for p in v.problems] == [
        (2, "invoice_shared"),
        (n + 1, "invoice_shared"),
    ]


def test_an_order_with_a_bad_row_is_not_sent_at_all() -> None:
    v = orders(
        "cancel",
        {
            "orderId": ["O1", "O1", "O2"],
            "orderItemId": ["a", "b", "c"],
            "quantity": ["1", "1", "2"],
            "reasonCode": ["8", "5", "NA"],
        },
    )
    assert [(p.row, p.code, p.column) for p in v.problems] == [
        (2, "order_incomplete", ""),  # its order ID is right: no cell to fix on this row
        (3, "bad_reason_code", "reasonCode"),
        (3, "order_incomplete", ""),
    ]
    assert v.problems[0].message.startswith("not sent: row 3 of the same order has a problem")
    assert v.problems[2].message.startswith("fix this row rather than delete it: without it,")
    assert v.frame["orderId"].tolist() == ["O2"]


def test_order_feed_values() -> None:
    v = orders(
        "awb",
        {
            "orderId": ["O1", "O2", "O3", "O4"],
            "awbNumber": ["A1", "A2", "A3", "A4"],
            "courierName": ["C"] * 4,
            "autoDispatch": ["Yes", "n", "", "maybe"],
        },
    )
    assert v.frame["autoDispatch"].tolist()[:2] == [True, False]
    assert only(v).message == "auto dispatch must be Yes or No"
    status = orders("status", {"orderId": ["O1", "O2"], "orderStatus": ["bag_picked", "lost"]})
    assert only(status).code == "bad_order_status"
    allowed = "order status must be bag_picked, delivery_done, return_bag_in_transit, "
    allowed += "return_bag_delivered or rto_bag_delivered"
    assert only(status).message == allowed
    # Konnect's status names, as `orders pull` writes them, say which state they stand for
    named = {"orderId": ["O1", "O2"], "orderStatus": ["Delivered", "RETURN_DELIVERED"]}
    assert [p.message for p in orders("status", named).problems] == [
        f"{allowed}: 'Delivered' is Konnect's name for delivery_done; write delivery_done",
        f"{allowed}: 'RETURN_DELIVERED' is Konnect's name for return_bag_delivered or"
        " rto_bag_delivered; write the one meant",
    ]
    item = orders("confirm", {"orderId": ["O1"], "orderItemId": ["a"], "quantity": ["0"]})
    assert only(item).message == "quantity must be more than 0"


def test_duplicates_in_order_feeds() -> None:
    awb = orders(
        "awb", {"orderId": ["O1", "O1"], "awbNumber": ["A", "B"], "courierName": ["C", "C"]}
    )
    assert awb.problems[0].message == (
        "same order ID as row 3 (AWB number A here, B in row 3): keep the right row and delete"
        " the other"
    )
    history = {"orderId": ["O1", "O1"], "orderStatus": ["bag_picked", "delivery_done"]}
    assert orders("status", history).problems[0].message == (
        "same order ID as row 3 (order status bag_picked here, delivery_done in row 3): one"
        " status per order in a file; send the next status in a later file"
    )
    items = orders(
        "confirm",
        {"orderId": ["O1", "O1", "O1"], "orderItemId": ["a", "b", "a"], "quantity": ["1"] * 3},
    )
    assert [(p.row, p.code) for p in items.problems] == [
        (2, "duplicate"),
        (3, "order_incomplete"),
        (4, "duplicate"),
    ]
    assert items.problems[0].message == (
        "same order and order item as row 4, with the same quantity (1): an item is one row -"
        " if these are its pieces, write one row with quantity 2; if the row is written twice,"
        " delete the extra one"
    )


def test_an_ack_date_up_to_a_day_ahead_of_the_clock_is_taken() -> None:
    """A register made just after midnight, or a clock a little ahead: a day of slack."""
    from datetime import datetime

    from etl.flatten import IST
    from etl.invoice_checks import invoice_findings

    now = datetime(2026, 1, 7, 10, 0, tzinfo=IST)
    work = pd.DataFrame({"ackDate": ["2026-01-08 09:59:00", "2026-01-08 10:01:00", ""]})
    found = invoice_findings(work, now)
    assert [(f.index, f.code) for f in found] == [(1, "ack_date_future")]


def test_an_ack_date_is_judged_by_the_runs_clock(tmp_path: Path) -> None:
    """`Job.now` is the clock a run goes by: the pipeline hands it to the ack-date check."""
    from datetime import datetime

    from etl.flatten import IST
    from etl.job import Job
    from etl.mapping import generic_mapping
    from etl.pipeline import prepare

    path = tmp_path / "invoice.csv"
    path.write_text(
        "orderId,invoiceNumber,invoiceType,ackDate\n"
        "12000000000000000003,INV-1,sale,09-01-2026 10:00\n",
        encoding="utf-8",
    )
    job = Job([generic_mapping("invoice")], now=lambda: datetime(2026, 1, 7, 10, 0, tzinfo=IST))
    problems = prepare(path, job).validated.problems
    assert [p.code for p in problems] == ["ack_date_future"]
