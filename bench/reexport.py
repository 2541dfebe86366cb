"""A "month so far" QC re-export against the emulator with latency: the first file, then
the same rows and 10 new, with `guards: {repeated_orders: ...}` on (the new rows only are
sent, `etl.orderrepeats`) and off (every row sent, each replay refused and looked up).

    python bench/reexport.py [--rows 3000] [--latency-ms 50]
"""

from __future__ import annotations

import argparse
import csv
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sandboxproc import TOKEN, control, sandbox

HEADER = ["orderId", "orderItemId", "quantity", "reasonCode"]


def returned(url: str, prefix: str, count: int) -> list[str]:
    """`count` orders, return_bag_delivered, one item of 1 piece each."""
    orders = [f"{prefix}{n:014d}" for n in range(1, count + 1)]
    spec = [
        {"orderId": o, "state": "return_bag_delivered", "location": "DEL-WH-01",
         "items": [{"sku": "TS-BLK-S", "quantity": 1}], "is_self_ship": False}
        for o in orders
    ]  # fmt: skip
    control(url, "POST", "orders", {"orders": spec})
    return orders


def drop(inbox: Path, name: str, orders: list[str]) -> None:
    with (inbox / name).open("w", newline="") as handle:
        csv.writer(handle).writerows([HEADER, *[[o, f"{o}-1", "1", ""] for o in orders]])


def timed_run(inbox: Path, url: str) -> float:
    env = {**os.environ, "KONNECT_BASE_URL": url, "KONNECT_TOKEN": TOKEN}
    command = [sys.executable, "-m", "etl", "run", str(inbox), "--settle", "0", "-q"]
    started = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        print(done.stderr[-2000:])
    return time.perf_counter() - started


def one(url: str, prefix: str, rows: int, guard: bool) -> tuple[float, float, int]:
    """(first file's seconds, re-export's seconds, records the re-export sent)."""
    orders = returned(url, prefix, rows + 10)
    with tempfile.TemporaryDirectory() as folder:
        inbox = Path(folder)
        setting = f"guards: {{repeated_orders: {str(guard).lower()}}}\n"
        (inbox / "konnect-etl.yaml").write_text(setting)
        drop(inbox, "return_qc_1.csv", orders[:rows])
        first = timed_run(inbox, url)
        before = len(control(url, "GET", "ledger"))
        drop(inbox, "return_qc_2.csv", orders)
        again = timed_run(inbox, url)
        return first, again, len(control(url, "GET", "ledger")) - before


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=3000)
    parser.add_argument("--latency-ms", type=float, default=50)
    args = parser.parse_args()
    with sandbox(latency_ms=args.latency_ms) as emulator:
        for guard, prefix in ((False, "340000"), (True, "350000")):
            first, again, sent = one(emulator.url, prefix, args.rows, guard)
            print(
                f"repeated_orders: {str(guard).lower():5}  first file {args.rows} rows"
                f" {first:6.1f} s  re-export +10 rows {again:6.1f} s, {sent} records sent"
            )


if __name__ == "__main__":
    main()
