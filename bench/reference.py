"""The plain way to do it, as a yardstick: what a first script would look like.

    python bench/reference.py FILE --url URL

pandas `read_csv`, the same pandera schema as konnect-etl, `to_dict("records")`, then one
httpx request per 500 records, one after the other. No reports, no journal, no mapping, no
error attribution. Prints one JSON line with per-phase wall and CPU seconds.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pandas as pd

from etl.schemas import schema_for

sys.path.insert(0, str(Path(__file__).resolve().parent))
from measure import peak_mb


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("file")
    parser.add_argument("--url", required=True)
    args = parser.parse_args()
    schema_for("stock").validate(pd.DataFrame({"location_id": ["L"], "sku": ["S"],
                                               "quantity": [1.0]}))  # fmt: skip
    phases: list[dict[str, Any]] = []
    clock = [time.perf_counter(), time.process_time()]

    def lap(name: str) -> None:
        wall, cpu = time.perf_counter(), time.process_time()
        phases.append({"phase": name, "wall": wall - clock[0], "cpu": cpu - clock[1]})
        clock[:] = [wall, cpu]

    frame = pd.read_csv(args.file, dtype=str, keep_default_na=False)
    lap("read")
    frame["quantity"] = pd.to_numeric(frame["quantity"], errors="coerce")
    frame = schema_for("stock").validate(frame, lazy=True)
    lap("validate")
    frame["quantity"] = frame["quantity"].astype("int64")
    records = frame.to_dict("records")
    lap("records")
    headers = {"x-access-token": "sandbox-token"}
    with httpx.Client(base_url=args.url, headers=headers, timeout=60) as client:
        for start in range(0, len(records), 500):
            response = client.put("/ims/v3/inventory", json=records[start : start + 500])
            response.raise_for_status()
    lap("upload")
    peak = peak_mb()
    print(json.dumps({"phases": phases, "rows": len(records), "peak_mb": peak}))


if __name__ == "__main__":
    sys.exit(main())
