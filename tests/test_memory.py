"""Running out of memory on one file is that file's problem, not the machine's."""

from __future__ import annotations

import json
import resource
import subprocess
import sys
from pathlib import Path

MEMORY_CAP = 1500 * 1024 * 1024


def _cap_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))


def test_a_file_too_big_for_memory_fails_with_a_report(tmp_path: Path) -> None:
    # limits raised on purpose, so the file gets past the checks that would refuse it first
    config = tmp_path / "konnect-etl.yaml"
    config.write_text("limits:\n  max_cell_chars: 1000000000\n  max_file_mb: 2000\n")
    big = tmp_path / "stock.csv"
    with big.open("w") as handle:
        handle.write("location_id,sku,quantity\nDEL-WH-01,")
        handle.write("S" * 300_000_000)
        handle.write(",1\n")
    done = subprocess.run(
        [sys.executable, "-m", "etl", "validate", "--config", str(config), str(big)],
        capture_output=True, text=True, timeout=120, preexec_fn=_cap_memory,
    )  # fmt: skip
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    summary = json.loads((tmp_path / ".konnect-etl" / "dry-run" / "stock.summary.json").read_text())
    assert summary["outcome"] == "failed"
    assert "too big to read with the memory" in summary["file_errors"][0]
