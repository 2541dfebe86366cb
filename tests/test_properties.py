"""Property tests (hypothesis) for what the example tests cannot enumerate.

Already covered elsewhere: any text cell survives a CSV and an XLSX round trip
(test_readers.py), Indian and western grouping give the same value (test_transforms.py).
Here: request chunking never exceeds a feed's limit, never splits an order and never loses
or repeats a row; any report cell is either written as it is or neutralised, never run.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import numpy as np
import orjson
import pandas as pd
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from etl.bodies import build_chunks
from etl.feeds import get_feed
from etl.keystate import KeyState
from etl.reportsheet import FORMULA_STARTS, ReportSheet, write_csv
from etl.validation import Validated

ORDER_FEEDS = ["confirm", "dispatch", "cancel"]


def validated(frame: pd.DataFrame) -> Validated:
    count = len(frame)
    positions = np.arange(count, dtype=np.int64)
    return Validated(frame.reset_index(drop=True), positions, positions + 2, [])


def order_frame(order_of_row: list[int]) -> pd.DataFrame:
    """One row per item; rows of one order may be scattered through the file."""
    orders = [f"{9000000000 + n:020d}" for n in order_of_row]
    return pd.DataFrame({
        "orderId": pd.Series(orders, dtype="str"),
        "orderItemId": pd.Series([f"{o}-{i}" for i, o in enumerate(orders)], dtype="str"),
        "quantity": pd.Series([1 + i % 3 for i in range(len(orders))], dtype="int64"),
        "reasonCode": pd.Series(["7"] * len(orders), dtype="str"),
    })  # fmt: skip


@settings(max_examples=30, deadline=None)
@given(
    feed_name=st.sampled_from(ORDER_FEEDS),
    order_of_row=st.lists(st.integers(min_value=0, max_value=45), min_size=1, max_size=150),
)
def test_chunks_never_split_an_order_nor_exceed_the_limit(
    feed_name: str, order_of_row: list[int]
) -> None:
    feed = get_feed(feed_name)
    frame = order_frame(order_of_row)
    chunks = build_chunks(feed, validated(frame))
    seen_orders: list[str] = []
    for chunk in chunks:
        records = orjson.loads(chunk.body)
        assert 1 <= len(records) <= feed.limit
        ids = [r["orderId"] for r in records]
        seen_orders += ids
        # every row of the chunk belongs to the record it is mapped to
        for row, record in zip(chunk.rows.tolist(), chunk.record_of_row.tolist(), strict=True):
            assert frame["orderId"].iloc[row] == ids[record]
    assert sorted(seen_orders) == sorted(set(frame["orderId"]))  # each order in one record
    rows = np.concatenate([c.rows for c in chunks])
    assert sorted(rows.tolist()) == list(range(len(frame)))  # no row lost or sent twice
    assert [c.index for c in chunks] == list(range(len(chunks)))


@settings(max_examples=20, deadline=None)
@given(
    feed_name=st.sampled_from(["stock", "price"]),
    count=st.integers(min_value=0, max_value=1600),
    sku=st.text(min_size=1, max_size=12),
)
def test_row_feeds_are_cut_in_order_at_the_limit(feed_name: str, count: int, sku: str) -> None:
    feed = get_feed(feed_name)
    frame = pd.DataFrame({
        "location_id": pd.Series(["DEL-WH-01"] * count, dtype="str"),
        "sku": pd.Series([f"{sku}{i}" for i in range(count)], dtype="str"),
        "quantity": pd.Series(range(count), dtype="int64"),
        "mrp": pd.Series([100.5] * count, dtype="float64"),
        "esp": pd.Series([99.0] * count, dtype="float64"),
        "currency": pd.Series(["INR"] * count, dtype="str"),
    })  # fmt: skip
    chunks = build_chunks(feed, validated(frame))
    assert len(chunks) == -(-count // feed.limit)
    records = [r for c in chunks for r in orjson.loads(c.body)]
    assert all(len(orjson.loads(c.body)) <= feed.limit for c in chunks)
    assert [r["sku"] for r in records] == frame["sku"].tolist()  # JSON escaping is exact


TEXT = st.text(
    alphabet=st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), max_size=30
)


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=TEXT)
@example(text="00")
@example(text="MAR-01")
@example(text="=1")
def test_a_report_cell_is_written_as_it_is_or_neutralised(tmp_path: Path, text: str) -> None:
    sheet = ReportSheet(["sku", "status"], [pd.Series([text], dtype="str"),
                        pd.Series(["ok"], dtype="str")], ["ok"], 1)  # fmt: skip
    write_csv(tmp_path / "r.csv", sheet, ",")
    with (tmp_path / "r.csv").open(encoding="utf-8-sig", newline="") as handle:
        [_, [cell, _]] = list(csv.reader(handle))
    if cell == f'="{text}"':  # a code Excel would change (00123, MAR-01...): kept as text
        assert not text.startswith(FORMULA_STARTS) and re.fullmatch(r"[0-9A-Za-z .:/+-]+", text)
    elif cell != text:
        assert cell == "'" + text and text.startswith(FORMULA_STARTS)
    else:
        assert not text.startswith(FORMULA_STARTS) or _plain_number(text)


def _plain_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return text.strip() == text


@pytest.mark.parametrize("text", ["=1+1", "+49 30 1234", "-x", "@SUM(A1)", "\tA", "\rA"])
def test_the_known_formula_starts_are_neutralised(tmp_path: Path, text: str) -> None:
    sheet = ReportSheet(["sku"], [pd.Series([text], dtype="str")], ["ok"], 0)
    write_csv(tmp_path / "r.csv", sheet, ",")
    with (tmp_path / "r.csv").open(encoding="utf-8-sig", newline="") as handle:
        assert list(csv.reader(handle))[1] == ["'" + text]


# --- the out-of-order guard's memory: dropping an older export's keys changes no answer ---

KEY_SETS = [frozenset({"L1|A", "L1|B"}), frozenset({"L1|A"}), frozenset({"L1|B", "L2|C"})]


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    exports=st.lists(
        st.tuples(st.integers(min_value=1, max_value=30), st.integers(0, len(KEY_SETS) - 1)),
        min_size=1,
        max_size=12,
    )
)
def test_the_key_memory_answers_as_if_every_export_kept_its_keys(
    tmp_path: Path, exports: list[tuple[int, int]]
) -> None:
    """Exports of the same keys recorded in any order (out of order too, some at the same
    time), and those ahead of the clock forgotten: every question the guards ask is answered
    as by a memory that kept every export's keys (the newest export of a key wins)."""
    state_dir = tmp_path / f"s{len(list(tmp_path.iterdir()))}"
    kept: list[tuple[float, str, frozenset[str]]] = []
    with KeyState(state_dir) as state:
        for n, (hour, which) in enumerate(exports):
            at, name = hour * 3600.0, f"stock-{n}.csv"
            state.record(
                "stock", "m", sorted(KEY_SETS[which], reverse=n % 2 == 1), at, name, [n + 2]
            )
            kept.append((at, name, KEY_SETS[which]))
            for since in [0.0, *(t for t, _, _ in kept)]:
                expected: dict[str, tuple[float, str]] = {}
                for t, file, keys in sorted(kept, key=lambda e: e[0]):  # stable: as recorded
                    if t > since:
                        expected.update(dict.fromkeys(keys, (t, file)))
                got = state.newer_than("stock", "m", since)
                assert {k: (a.exported_at, a.file) for k, a in got.items()} == expected
            for t, file, keys in kept:  # an errors file of each: its export, what it set
                assert state.exported_at_of("m", Path(file).stem, [str(len(kept) + 1)]) == t
                newer = set(state.newer_than("stock", "m", t))
                assert keys <= state.keys_of("m", Path(file).stem, t) | newer
        # exports stamped ahead of the clock (another machine's) forgotten: as if never kept
        now = exports[0][0] * 3600.0
        state.no_future_exports(now)
        left = [(t, file, keys) for t, file, keys in kept if t <= now]
        expected = {}
        for t, file, keys in sorted(left, key=lambda e: e[0]):
            expected.update(dict.fromkeys(keys, (t, file)))
        got = state.newer_than("stock", "m", 0.0)
        assert {k: (a.exported_at, a.file) for k, a in got.items()} == expected
