"""A file stopped part-way is resumed after its mapping was fixed: the rows that pass the
checks changed, so its requests are cut differently. A journal result counts only for a
request with the same body: nothing is skipped as "sent" that never was, and an order
action is looked up rather than sent twice."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest
from runs import oid, results, run

import etl.client
from etl.errors import Unreachable

STOCK = """feed: stock
match: {filename: ["shopstock*"], headers: [Item, Godown, Qty]}
fields:
  location_id:
    column: Godown
    transforms: [strip, {lookup: lookups/godowns.csv, from: Godown, to: Location}]
  sku: {column: Item}
  quantity: {column: Qty, transforms: [integer]}
"""
CONFIRM = """feed: confirm
match: {filename: ["erpconfirm*"], headers: [Order, Item, Qty]}
fields:
  orderId: {column: Order}
  orderItemId: {column: Item}
  quantity: {column: Qty, transforms: [QTY]}
"""


def _setup(tmp_path: Path, name: str, mapping: str, rows: list[list[Any]]) -> tuple[Path, Path]:
    maps = tmp_path / "maps"
    (maps / "shop").mkdir(parents=True)
    (maps / "lookups").mkdir()
    (maps / "shop" / f"{name}.yaml").write_text(mapping, encoding="utf-8")
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    config = f"mappings: {maps}\nconcurrency: 1\nretries: 1\n"  # a look-up, then a resend
    (inbox / "konnect-etl.yaml").write_text(config, encoding="utf-8")
    with (inbox / f"{name}.csv").open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows)
    return inbox, maps


def _stop_after_first_request(monkeypatch: pytest.MonkeyPatch) -> None:
    """Konnect answers the first request, then cannot be reached: the file waits in
    processing/ with chunk 0 acknowledged in the journal."""
    real_send = etl.client.KonnectClient.send
    calls = []

    async def send(self: Any, endpoint: Any, body: bytes) -> Any:
        calls.append(endpoint)
        if len(calls) > 1:
            raise Unreachable("could not reach Konnect (ConnectError)")
        return await real_send(self, endpoint, body)

    monkeypatch.setattr(etl.client.KonnectClient, "send", send)


def test_stock_rows_a_fixed_lookup_lets_through_are_sent_on_resume(
    tmp_path: Path, sandbox: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    sandbox.faults(catalogue="open")
    rows = [["Item", "Godown", "Qty"]] + [[f"NEW-{i}", "New Store", 7] for i in range(10)]
    rows += [[f"OLD-{i}", "Main", 5] for i in range(990)]
    inbox, maps = _setup(tmp_path, "shopstock", STOCK, rows)
    lookup = maps / "lookups" / "godowns.csv"
    lookup.write_text("Godown,Location\nMain,LOC-MAIN\n", encoding="utf-8")
    with monkeypatch.context() as patch:
        _stop_after_first_request(patch)
        assert run(inbox, sandbox).exit_code == 2
    assert (inbox / "processing" / "shopstock.csv").is_file()

    lookup.write_text("Godown,Location\nMain,LOC-MAIN\nNew Store,LOC-NEW\n", encoding="utf-8")
    assert run(inbox, sandbox).exit_code == 0
    stock = sandbox.state()["stock"]
    assert sorted(k for k in stock if k.startswith("LOC-NEW|")) == sorted(
        f"LOC-NEW|NEW-{i}" for i in range(10)
    )
    assert sum(k.startswith("LOC-MAIN|") for k in stock) == 990
    assert {r["status"] for r in results(inbox, "shopstock").values()} == {"ok"}
    [summary] = inbox.glob("done/*/shopstock.summary.json")
    [resumed] = [w for w in json.loads(summary.read_text())["warnings"] if "resumed" in w]
    again = "stopped part-way; 1 request Konnect had acknowledged then was sent again (because"
    why = "the rows went into requests differently since: its mapping or checks changed)"
    assert again in resumed and why in resumed and "absolute" in resumed


def test_an_order_file_cut_differently_on_resume_is_looked_up_not_skipped_or_resent(
    tmp_path: Path, sandbox: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    orders = [oid(30, n) for n in range(1, 61, 2)]  # 30 orders of one item each
    rows = [["Order", "Item", "Qty"]]
    rows += [[o, f"{o}-1", "one" if i < 5 else "1"] for i, o in enumerate(orders)]
    inbox, maps = _setup(tmp_path, "erpconfirm", CONFIRM.replace("QTY", "integer"), rows)
    with monkeypatch.context() as patch:  # the first 5 rows refused: 25 orders, 20 + 5
        _stop_after_first_request(patch)
        assert run(inbox, sandbox).exit_code == 2
    confirmed_first = [e["key"] for e in sandbox.ledger() if e["outcome"] == "applied"]
    assert confirmed_first == orders[5:25]

    fixed = CONFIRM.replace("QTY", "{map: {one: '1'}, unmatched: keep}, integer")
    (maps / "shop" / "erpconfirm.yaml").write_text(fixed, encoding="utf-8")
    assert run(inbox, sandbox).exit_code == 0  # now 30 orders: 20 + 10, cut differently
    applied = [e["key"] for e in sandbox.ledger() if e["outcome"] == "applied"]
    assert sorted(applied) == sorted(orders)  # each order confirmed, and only once
    found = sandbox.state()["orders"]
    assert {found[o]["state"] for o in orders} == {"bag_confirmed"}
    report = results(inbox, "erpconfirm")
    assert {r["status"] for r in report.values()} == {"ok"}
    earlier = "applied by an earlier attempt at this file, or before it (Konnect does not say"
    assert sum(r["message"].startswith(earlier) for r in report.values()) == 20
