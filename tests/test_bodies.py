"""Request bodies: chunk sizes, JSON content and types, keys, orders kept whole."""

from __future__ import annotations

from typing import Any

import numpy as np
import orjson
import pandas as pd
import pytest

from etl import bodies
from etl.bodies import Chunk, build_chunks
from etl.feeds import FEEDS
from etl.model import Mapped
from etl.records import ROW_RECORDS, columns
from etl.validation import Validated, validate


def validated(feed: str, cols: dict[str, list[Any]]) -> Validated:
    frame = pd.DataFrame({k: pd.Series(v, dtype="str") for k, v in cols.items()})
    n = len(frame)
    rows = np.arange(n, dtype=np.int64)
    result = validate(FEEDS[feed], Mapped(frame, rows, rows + 2, {}))
    assert result.problems == []
    return result


def stock_rows(n: int) -> Validated:
    skus = [f"SKU{i}" for i in range(n)]
    return validated("stock", {"location_id": ["L1"] * n, "sku": skus, "quantity": ["12"] * n})


def records(chunk: Chunk) -> list[dict[str, Any]]:
    decoded = orjson.loads(chunk.body)
    assert isinstance(decoded, list)
    return decoded


def test_1001_stock_rows_make_500_500_1() -> None:
    v = stock_rows(1001)
    chunks = build_chunks(FEEDS["stock"], v)
    assert [len(records(c)) for c in chunks] == [500, 500, 1]
    assert [c.index for c in chunks] == [0, 1, 2]
    assert chunks[1].rows.tolist() == list(range(500, 1000))
    assert chunks[2].rows.tolist() == [1000]
    assert chunks[1].record_of_row.tolist() == list(range(500))


def test_bodies_written_a_slice_at_a_time_match_the_rows_in_any_order(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(bodies._TextBodies, "SLICE_ROWS", 1000)  # 2 chunks per slice
    skus = [f"SKU{i}" for i in range(3250)]
    quantities = [str(i % 7) for i in range(3250)]
    v = validated("stock", {"location_id": ["L1"] * 3250, "sku": skus, "quantity": quantities})
    chunks = build_chunks(FEEDS["stock"], v)
    assert [c.record_count for c in chunks] == [500] * 6 + [250]
    # the last slice first, then a chunk whose slice was dropped meanwhile, then the rest
    for chunk in [chunks[6], chunks[0], chunks[3], chunks[0], *chunks]:
        first = chunk.rows[0]
        assert records(chunk) == [
            {"location_id": "L1", "sku": skus[i], "quantity": int(quantities[i])}
            for i in range(first, first + chunk.record_count)
        ]


def test_stock_body_has_konnect_types() -> None:
    chunk = build_chunks(FEEDS["stock"], stock_rows(2))[0]
    assert records(chunk) == [
        {"location_id": "L1", "sku": "SKU0", "quantity": 12},
        {"location_id": "L1", "sku": "SKU1", "quantity": 12},
    ]
    assert b'"quantity":12' in chunk.body


def test_keys_in_body_order() -> None:
    v = stock_rows(3)
    chunk = build_chunks(FEEDS["stock"], v)[0]
    assert chunk.keys(v, FEEDS["stock"]) == ["L1|SKU0", "L1|SKU1", "L1|SKU2"]
    assert chunk.keys(v) == ["L1|SKU0", "L1|SKU1", "L1|SKU2"]


def test_text_that_json_must_escape_matches_orjson() -> None:
    skus = ['say "hi"', "back\\slash", "tab\there", "ñandú-₹", "line\nbreak", "plain"]
    v = validated(
        "price",
        {
            "location_id": ["Pune ₹ Ω store"] * 6,
            "sku": skus,
            "mrp": ["999", "12.5", "1.1", "100000000", "1", "3"],
            "esp": ["999", "10", "1.05", "1", "1", "2.25"],
            "currency": ["INR"] * 6,
        },
    )
    chunk = build_chunks(FEEDS["price"], v)[0]
    cols = columns(v.frame)
    expected = [ROW_RECORDS["price"](cols, r) for r in range(len(v.frame))]
    assert records(chunk) == expected
    assert records(chunk)[0] == {
        "location_id": "Pune ₹ Ω store",
        "sku": 'say "hi"',
        "esp": 999,
        "mrp": 999,
        "currency": "INR",
    }


def test_chunks_are_deterministic_and_skip_rejected_rows() -> None:
    frame = pd.DataFrame(
        {"location_id": ["L1"] * 3, "sku": ["A", "B", "C"], "quantity": ["1", "-1", "3"]}
    )
    rows = np.arange(3, dtype=np.int64)
    v = validate(FEEDS["stock"], Mapped(frame.astype("str"), rows, rows + 2, {}))
    first, again = build_chunks(FEEDS["stock"], v), build_chunks(FEEDS["stock"], v)
    assert [c.body for c in first] == [c.body for c in again]
    assert [r["sku"] for r in records(first[0])] == ["A", "C"]
    assert v.row_numbers[first[0].rows].tolist() == [2, 4]


def test_empty_validated_makes_no_chunks() -> None:
    assert build_chunks(FEEDS["stock"], stock_rows(0)) == []


def confirm_orders(orders: int) -> Validated:
    """Orders O0..O{n-1}; even ones have two item rows, interleaved with the next order."""
    ids, items = [], []
    for o in range(orders):
        ids.append(f"O{o}")
        items.append(f"O{o}-1")
    for o in range(0, orders, 2):
        ids.append(f"O{o}")
        items.append(f"O{o}-2")
    n = len(ids)
    return validated("confirm", {"orderId": ids, "orderItemId": items, "quantity": ["1"] * n})


def test_21_orders_make_two_chunks_and_no_order_spans_two() -> None:
    v = confirm_orders(21)
    chunks = build_chunks(FEEDS["confirm"], v)
    assert [len(records(c)) for c in chunks] == [20, 1]
    seen: dict[str, int] = {}
    for chunk in chunks:
        for row in chunk.rows.tolist():
            order = str(v.frame["orderId"].iat[row])
            assert seen.setdefault(order, chunk.index) == chunk.index
    assert sum(len(c.rows) for c in chunks) == len(v.frame)


def test_order_records_and_record_of_row() -> None:
    v = confirm_orders(3)
    chunk = build_chunks(FEEDS["confirm"], v)[0]
    assert records(chunk)[0] == {
        "orderId": "O0",
        "orderItems": [
            {"orderItemId": "O0-1", "quantity": 1},
            {"orderItemId": "O0-2", "quantity": 1},
        ],
    }
    assert chunk.keys(v) == ["O0", "O1", "O2"]
    for row, record in zip(chunk.rows.tolist(), chunk.record_of_row.tolist(), strict=True):
        assert records(chunk)[record]["orderId"] == v.frame["orderId"].iat[row]


def test_invoice_record_groups_items_and_packages() -> None:
    v = validated(
        "invoice",
        {
            "orderId": ["O1", "O1"],
            "invoiceNumber": ["INV-1", "INV-1"],
            "invoiceType": ["sale", "sale"],
            "irnNumber": ["", ""],
            "orderItemId": ["a", "b"],
            "quantity": ["1", "2"],
            "imeiSerialNumber": ["111, 222", ""],
            "packageId": ["P1", "P1"],
            "packageWeightGms": ["500", "500"],
        },
    )
    (record,) = records(build_chunks(FEEDS["invoice"], v)[0])
    assert record == {
        "orderId": "O1",
        "invoiceNumber": "INV-1",
        "invoiceType": "sale",
        "orderItems": [
            {"orderItemId": "a", "quantity": 1, "imeiSerialNumber": ["111", "222"]},
            {"orderItemId": "b", "quantity": 2},
        ],
        "packages": [{"packageId": "P1", "packageWeightGms": 500}],
    }


def test_row_records_of_order_feeds() -> None:
    awb = validated(
        "awb",
        {
            "orderId": ["O1", "O2"],
            "awbNumber": ["A1", "A2"],
            "courierName": ["DTDC"] * 2,
            "autoDispatch": ["Y", ""],
        },
    )
    assert records(build_chunks(FEEDS["awb"], awb)[0]) == [
        {"awbNumber": "A1", "courierName": "DTDC", "orderId": "O1", "autoDispatch": True},
        {"awbNumber": "A2", "courierName": "DTDC", "orderId": "O2", "autoDispatch": False},
    ]
    status = validated(
        "status",
        {
            "orderId": ["O1", "O2"],
            "orderStatus": ["bag_picked", "delivery_done"],
            "remark": ["on the way", ""],
        },
    )
    assert records(build_chunks(FEEDS["status"], status)[0]) == [
        {"orderId": "O1", "orderStatus": "bag_picked", "meta": {"remark": "on the way"}},
        {"orderId": "O2", "orderStatus": "delivery_done"},
    ]
    pack = validated("pack", {"orderId": ["O1", "O2"]})
    assert records(build_chunks(FEEDS["pack"], pack)[0]) == [{"orderId": "O1"}, {"orderId": "O2"}]
