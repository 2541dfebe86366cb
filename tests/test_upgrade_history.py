"""`history` on exports an older version recorded (before 2026-11-28 07:26 it kept no feed with
an export): the line names the mapping alone, not an empty feed."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from runs import run
from typer.testing import CliRunner

from etl.cli import app


def test_history_of_an_export_recorded_without_its_feed_names_the_mapping_alone(
    tmp_path: Path, sandbox: Any
) -> None:
    (tmp_path / "stock.csv").write_text("location_id,sku,quantity\nBLR-ST-03,TS-BLK-M,5\n")
    assert run(tmp_path, sandbox).exit_code == 0
    with sqlite3.connect(tmp_path / ".konnect-etl" / "protection.sqlite3") as db:
        db.execute("UPDATE exports SET feed = NULL")  # as a version before 28 Nov left it
    db.close()
    shown = CliRunner().invoke(app, ["history", str(tmp_path), "BLR-ST-03", "TS-BLK-M"])
    assert shown.exit_code == 0
    [line] = [line for line in shown.output.splitlines() if "stock.csv" in line]
    assert "  stock.csv  (mapping generic/stock)  " in line, line
