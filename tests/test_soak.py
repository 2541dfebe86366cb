"""Fault soak: stock, price and order files uploaded together through a hostile Konnect.

The emulator fails 20 % of requests with a 5xx, applies then drops the answer of 10 % more,
answers 429 above a few requests a second and adds latency. One `konnect-etl run` (a child
process) takes every file. Afterwards the emulator's ledger must show that nothing was lost
and nothing was applied twice: every valid stock and price key holds exactly its file's
value, every order action was applied exactly once, every valid row is `ok` in its result
file, every invalid row `rejected`, and the process exited normally.

Size: `pytest --soak-size 1` runs the issue's full size (50,000 stock rows, 5,000 price rows,
500 order actions); the default (0.2) keeps the suite fast.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from etl.konnect import ENDPOINTS
from etl.sandbox import SandboxSettings, serve_in_thread

pytestmark = pytest.mark.soak

TODAY = date.today().isoformat()
FULL = {"stock": 50_000, "price": 5_000, "actions": 500}
FAULTS = {"error_rate": 0.2, "drop_rate": 0.1, "rate_limit": 8.0, "latency_ms": 20}
LOCATIONS = ("DEL-WH-01", "MUM-ST-02")
FIRST_ORDER = 50000000000000000001
ORDER_FILES = ("confirm", "invoice", "pack")  # applied in this order: each needs the last


@dataclass
class Expected:
    """What the files ask for: final values per key, and the rows that must be rejected."""

    stock: dict[str, int] = field(default_factory=dict)
    prices: dict[str, tuple[float, float]] = field(default_factory=dict)
    orders: list[str] = field(default_factory=list)
    invalid: dict[str, set[str]] = field(default_factory=dict)  # file -> row numbers
    rows: dict[str, int] = field(default_factory=dict)  # file -> data rows


@pytest.fixture(scope="module")
def sizes(request: pytest.FixtureRequest) -> dict[str, int]:
    scale = float(request.config.getoption("--soak-size"))
    return {k: max(3, round(v * scale)) for k, v in FULL.items()}


@pytest.fixture(scope="module")
def hostile_konnect(
    tmp_path_factory: pytest.TempPathFactory, sizes: dict[str, int]
) -> Iterator[Any]:
    orders = -(-sizes["actions"] // len(ORDER_FILES))
    seed = tmp_path_factory.mktemp("soak-seed") / "seed.json"
    seed.write_text(json.dumps({
        "locations": list(LOCATIONS), "skus": ["TS-BLK-S"], "stock": {}, "prices": {},
        "order_blocks": [{"first_id": str(FIRST_ORDER), "count": orders, "state": "placed",
                          "location": LOCATIONS[0], "is_self_ship": False,
                          "start": "2026-02-01T09:00:00+05:30"}],
    }))  # fmt: skip
    settings = SandboxSettings(port=0, seed=seed, catalogue="open", fault_seed=2026, **FAULTS)
    with serve_in_thread(settings) as running:
        yield running


def write(path: Path, header: list[str], rows: list[list[str]], mtime: float) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([header, *rows])
    os.utime(path, (mtime, mtime))  # `run` takes files oldest first


def stock_files(inbox: Path, count: int, expected: Expected, mtime: float) -> None:
    """Four files; every 97th row is negative (must be rejected, never sent)."""
    per_file = -(-count // 4)
    for f in range(4):
        rows, name = [], f"stock-{f + 1}.csv"
        for i in range(f * per_file, min(count, (f + 1) * per_file)):
            key = (LOCATIONS[i % 2], f"SOAK-{i:06d}")
            if i % 97 == 13:
                rows.append([*key, "-1"])
                expected.invalid.setdefault(name, set()).add(str(len(rows) + 1))
            else:
                rows.append([*key, str(i * 7 % 1000)])
                expected.stock["|".join(key)] = i * 7 % 1000
        write(inbox / name, ["location_id", "sku", "quantity"], rows, mtime + f)
        expected.rows[name] = len(rows)


def price_files(inbox: Path, count: int, expected: Expected, mtime: float) -> None:
    """Two files; every 89th row sells above its MRP (rejected)."""
    half = -(-count // 2)
    for f in range(2):
        rows, name = [], f"price-{f + 1}.csv"
        for i in range(f * half, min(count, (f + 1) * half)):
            key = (LOCATIONS[i % 2], f"SOAK-{i:06d}")
            mrp = 100 + i % 900
            esp = mrp + 1 if i % 89 == 5 else mrp - i % 50
            rows.append([*key, str(mrp), str(esp), "INR"])
            if esp > mrp:
                expected.invalid.setdefault(name, set()).add(str(len(rows) + 1))
            else:
                expected.prices["|".join(key)] = (mrp, esp)
        write(inbox / name, ["location_id", "sku", "mrp", "esp", "currency"], rows, mtime + f)
        expected.rows[name] = len(rows)


def order_items(n: int, order: str) -> list[tuple[str, int]]:
    """The seed's rule: even-numbered orders have one item (x1), odd ones two (x1, x2)."""
    return [(f"{order}-1", 1)] if n % 2 == 0 else [(f"{order}-1", 1), (f"{order}-2", 2)]


def order_files(inbox: Path, count: int, expected: Expected, mtime: float) -> None:
    orders = [str(FIRST_ORDER + n) for n in range(count)]
    expected.orders = orders
    items = [(n, o, item, q) for n, o in enumerate(orders) for item, q in order_items(n, o)]
    files = {
        "confirm": (["orderId", "orderItemId", "quantity"],
                    [[o, item, str(q)] for _, o, item, q in items]),
        "invoice": (["orderId", "invoiceNumber", "invoiceType", "orderItemId", "quantity"],
                    [[o, f"SK/{n:05d}", "sale", item, str(q)] for n, o, item, q in items]),
        "pack": (["orderId"], [[o] for o in orders]),
    }  # fmt: skip
    for step, feed in enumerate(ORDER_FILES):
        header, rows = files[feed]
        write(inbox / f"{feed}.csv", header, rows, mtime + 10 * step)
        expected.rows[f"{feed}.csv"] = len(rows)


@dataclass
class Soak:
    inbox: Path
    expected: Expected
    result: subprocess.CompletedProcess[str]
    ledger: list[dict[str, Any]]
    state: dict[str, Any]


@pytest.fixture(scope="module")
def soak(
    tmp_path_factory: pytest.TempPathFactory, hostile_konnect: Any, sizes: dict[str, int]
) -> Soak:
    inbox = tmp_path_factory.mktemp("soak") / "inbox"
    inbox.mkdir()
    (inbox / "konnect-etl.yaml").write_text("retries: 12\nconcurrency: 4\ntimeout_seconds: 20\n")
    expected, start = Expected(), 1_700_000_000.0
    order_files(inbox, -(-sizes["actions"] // len(ORDER_FILES)), expected, start)
    stock_files(inbox, sizes["stock"], expected, start + 1)
    price_files(inbox, sizes["price"], expected, start + 11)
    env = {**os.environ, "KONNECT_TOKEN": hostile_konnect.token,
           "KONNECT_BASE_URL": hostile_konnect.url}  # fmt: skip
    result = subprocess.run(
        [sys.executable, "-m", "etl", "run", str(inbox), "--settle", "0", "-q"],
        env=env, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    return Soak(inbox, expected, result, hostile_konnect.ledger(), hostile_konnect.state())


def result_rows(soak: Soak, name: str) -> list[dict[str, str]]:
    path = soak.inbox / "done" / TODAY / f"{Path(name).stem}.result.csv"
    assert path.is_file(), soak.result.stderr[-3000:]
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def applied(soak: Soak, feed: str) -> list[dict[str, Any]]:
    path = ENDPOINTS[feed].path
    return [e for e in soak.ledger if e["path"] == path and e["outcome"] == "applied"]


def test_the_run_never_crashed(soak: Soak) -> None:
    assert soak.result.returncode == 1, soak.result.stderr[-3000:]  # 1: the invalid rows
    assert "Traceback" not in soak.result.stderr
    assert list((soak.inbox / "processing").iterdir()) == []
    assert sorted(p.name for p in soak.inbox.iterdir() if p.is_file()) == ["konnect-etl.yaml"]


def test_the_faults_really_happened(soak: Soak) -> None:
    stock = Counter(e["key"] for e in applied(soak, "inventory"))
    assert sum(stock.values()) > len(stock)  # dropped answers: chunks applied, then resent
    log = (soak.inbox / ".konnect-etl" / "logs" / "konnect-etl.log").read_text()
    assert "Konnect closed the connection without answering" in log
    assert "Konnect answered HTTP 50" in log


def test_every_valid_row_is_ok_and_every_invalid_row_rejected(soak: Soak) -> None:
    for name, count in soak.expected.rows.items():
        rows = result_rows(soak, name)
        assert len(rows) == count, name
        invalid = soak.expected.invalid.get(name, set())
        statuses = Counter((r["row"] in invalid, r["status"]) for r in rows)
        wanted = {(False, "ok"): count - len(invalid), (True, "rejected"): len(invalid)}
        assert statuses == Counter({k: v for k, v in wanted.items() if v}), name


def test_every_stock_key_holds_its_files_final_value(soak: Soak) -> None:
    last: dict[str, int] = {}
    for entry in applied(soak, "inventory"):
        last[entry["key"]] = entry["record"]["quantity"]
    assert last == soak.expected.stock  # nothing lost, nothing invalid sent
    assert {k: soak.state["stock"][k] for k in soak.expected.stock} == soak.expected.stock


def test_every_price_key_holds_its_files_final_value(soak: Soak) -> None:
    last: dict[str, tuple[float, float]] = {}
    for entry in applied(soak, "price"):
        record = entry["record"]
        last[entry["key"]] = (float(record["mrp"]), float(record["esp"]))
    assert last == soak.expected.prices
    state = soak.state["prices"]
    assert {k: (state[k]["mrp"], state[k]["esp"]) for k in last} == soak.expected.prices


def test_every_order_action_was_applied_exactly_once(soak: Soak) -> None:
    for feed in ORDER_FILES:
        counts = Counter(e["key"] for e in applied(soak, feed))
        assert sorted(counts) == soak.expected.orders, feed
        assert set(counts.values()) == {1}, f"{feed} applied twice: {counts.most_common(3)}"
    states = {soak.state["orders"][o]["state"] for o in soak.expected.orders}
    assert states == {"bag_packed"}
