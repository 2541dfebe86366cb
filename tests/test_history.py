"""`konnect-etl history`: which stock and price files set a location and SKU - the
engineer's first question when a store shows the wrong stock or price."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from runs import run
from typer.testing import CliRunner

from etl.cli import app

STOCK = "location_id,sku,quantity\nBLR-ST-03,TS-BLK-M,{}\nBLR-ST-03,CAP-RED,2\n"
PRICE = "location_id,sku,mrp,esp\nBLR-ST-03,TS-BLK-M,999,{}\n"


def drop(inbox: Path, name: str, text: str, hours_ago: float) -> None:
    path = inbox / name
    path.write_text(text, encoding="utf-8")
    when = time.time() - hours_ago * 3600
    os.utime(path, (when, when))


def history(inbox: Path, *args: str) -> Any:
    return CliRunner().invoke(app, ["history", str(inbox), *args])


def test_the_files_that_set_a_key_are_listed_newest_first_with_the_last_price(
    tmp_path: Path, sandbox: Any
) -> None:
    drop(tmp_path, "stock_0600.csv", STOCK.format(5), 3)
    drop(tmp_path, "prices.csv", PRICE.format(799), 2.5)
    assert run(tmp_path, sandbox).exit_code == 0
    drop(tmp_path, "stock_0800.csv", STOCK.format(7), 1)  # the same keys: 06:00's are dropped
    assert run(tmp_path, sandbox).exit_code == 0

    shown = history(tmp_path, "BLR-ST-03", "TS-BLK-M")
    assert shown.exit_code == 0, shown.output
    lines = shown.output.splitlines()
    assert lines[0] == "BLR-ST-03 / TS-BLK-M: set by (newest first)"
    assert [line.split()[2] for line in lines[1:4]] == [
        "stock_0800.csv",
        "prices.csv",
        "stock_0600.csv",  # its keys went for 08:00's (the same ones): still told
    ]
    assert "(stock, mapping generic/stock)" in lines[1] and "stock_0800.result.csv" in lines[1]
    assert (
        lines[4] == "last price Konnect accepted: MRP 999, selling price 799 INR (from prices.csv)"
    )

    as_json = json.loads(history(tmp_path, "BLR-ST-03", "CAP-RED", "--json").output)
    assert [f["file"] for f in as_json["files"]] == ["stock_0800.csv", "stock_0600.csv"]
    assert as_json["last_price"] is None


def test_a_key_no_file_set_exits_1_saying_how_to_write_it(tmp_path: Path, sandbox: Any) -> None:
    drop(tmp_path, "stock.csv", STOCK.format(5), 1)
    assert run(tmp_path, sandbox).exit_code == 0
    shown = history(tmp_path, "Bangalore Store", "TS-BLK-M")
    assert shown.exit_code == 1
    assert "no stock or price file of the last 30 days set location 'Bangalore Store'" in (
        shown.output
    )
    assert "as sent to Konnect" in shown.output
    assert history(tmp_path / "nowhere", "X", "Y").exit_code == 2  # no protection database


def test_runs_made_with_sandbox_are_asked_with_sandbox(tmp_path: Path) -> None:
    """`demo` and `run --sandbox` keep their records apart: `history` says where they are."""
    drop(tmp_path, "stock.csv", STOCK.format(5), 1)
    ran = CliRunner().invoke(app, ["run", str(tmp_path), "--sandbox", "--settle", "0"])
    assert ran.exit_code == 0, ran.output
    live = history(tmp_path, "BLR-ST-03", "TS-BLK-M")
    assert live.exit_code == 2 and "with --sandbox, it has" in live.output
    assert "stock.csv" in history(tmp_path, "BLR-ST-03", "TS-BLK-M", "--sandbox").output
