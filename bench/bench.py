"""Benchmark: a synthetic stock CSV through read -> map -> validate -> request bodies, then
end to end against the built-in sandbox (`--catalogue open`).

    python bench/bench.py --rows 1000000            # prints a table; exits 1 if a target is missed

Numbers, not assertions in unit tests: see the README's "Performance" section.
"""

from __future__ import annotations

import argparse
import csv
import json
import resource
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")
TARGET_NO_NETWORK_ROWS_PER_S = 250_000


def make_stock_csv(path: Path, rows: int) -> None:
    """`rows` distinct (location, sku) pairs over 40 stores, canonical headers."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["location_id", "sku", "quantity"])
        per_store = rows // 40 + 1
        for i in range(rows):
            writer.writerow([f"ST-{i // per_store:03d}", f"SKU-{i % per_store:07d}", i % 97])


def timed(label: str, timings: list[tuple[str, float, float]], fn: Callable[[], T]) -> T:
    wall, cpu = time.perf_counter(), time.process_time()
    value = fn()
    timings.append((label, time.perf_counter() - wall, time.process_time() - cpu))
    return value


def no_network(path: Path, rows: int) -> tuple[list[tuple[str, float, float]], float]:
    from etl.bodies import build_chunks
    from etl.feeds import get_feed
    from etl.mapping import apply_mapping, generic_mapping
    from etl.readers import read_sheet, to_table
    from etl.validation import validate

    feed, mapping = get_feed("stock"), generic_mapping("stock")
    timings: list[tuple[str, float, float]] = []
    sheet = timed("read", timings, lambda: read_sheet(path))
    table = timed("header", timings, lambda: to_table(sheet, 0))
    mapped = timed("map", timings, lambda: apply_mapping(mapping, table))
    valid = timed("validate", timings, lambda: validate(feed, mapped))
    chunks = timed("request bodies", timings, lambda: build_chunks(feed, valid))
    assert len(valid.frame) == rows and sum(len(c.record_of_row) for c in chunks) == rows
    total = sum(t[1] for t in timings)
    return timings, total


def end_to_end(path: Path, latency_ms: float) -> tuple[float, dict[str, int]]:
    from etl.commands import run_command
    from etl.config import Settings
    from etl.sandbox import SandboxSettings, serve_in_thread

    inbox = Path(tempfile.mkdtemp(prefix="bench-inbox-"))
    shutil.copy(path, inbox / "stock.csv")
    settings = SandboxSettings(port=0, catalogue="open", latency_ms=latency_ms)
    with serve_in_thread(settings) as sandbox:
        run_settings = Settings(base_url=sandbox.url, token=sandbox.token, settle_seconds=0,
                                concurrency=8)  # fmt: skip
        started = time.perf_counter()
        run_command(inbox, run_settings, show=False)
        elapsed = time.perf_counter() - started
    summary = next((inbox / "done").rglob("*.summary.json")).read_text()
    shutil.rmtree(inbox)
    return elapsed, json.loads(summary)["rows"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--skip-upload", action="store_true")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-"))
    path = work / "stock.csv"
    make_stock_csv(path, args.rows)
    timings, total = no_network(path, args.rows)
    print(f"rows: {args.rows:,}   file: {path.stat().st_size / 1e6:.1f} MB")
    print(f"{'phase':<16}{'wall s':>9}{'cpu s':>9}{'rows/s':>14}")
    for label, wall, cpu in timings:
        print(f"{label:<16}{wall:>9.3f}{cpu:>9.3f}{args.rows / wall if wall else 0:>14,.0f}")
    rate = args.rows / total
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{'no-network':<16}{total:>9.3f}{'':>9}{rate:>14,.0f}   target >= "
          f"{TARGET_NO_NETWORK_ROWS_PER_S:,} rows/s   peak memory {peak_mb:.0f} MB")  # fmt: skip
    ok = rate >= TARGET_NO_NETWORK_ROWS_PER_S
    if not args.skip_upload:
        elapsed, rows = end_to_end(path, args.latency_ms)
        print(f"{'end to end':<16}{elapsed:>9.3f}{'':>9}{args.rows / elapsed:>14,.0f}   "
              f"(sandbox --catalogue open, latency {args.latency_ms} ms) rows: {rows}")  # fmt: skip
        ok = ok and rows["ok"] == args.rows
    shutil.rmtree(work)
    print("all targets met" if ok else "TARGET MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
