"""`konnect-etl status` and the files that wait on someone: a stock file the guards held
(waiting for `konnect-etl release`), and a file a killed run left half-sent in processing/.
Both stayed `OK` (exit 0) for as long as they waited; a review saw it with `status || mail`."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

from runs import drop, run
from typer.testing import CliRunner

from etl.cli import app

TODAY = date.today().isoformat()
HEADER = ["location_id", "sku", "quantity"]
SKUS = ("TS-BLK-S", "TS-BLK-M", "TS-BLK-L", "TS-WHT-M", "JN-SLIM-32", "JN-SLIM-34")


def status(inbox: Path, *extra: str) -> tuple[int, str]:
    """`status INBOX` with its words on one line."""
    result = CliRunner().invoke(app, ["status", str(inbox), *extra])
    return result.exit_code, " ".join(result.output.split())


def status_json(inbox: Path) -> dict[str, Any]:
    result = CliRunner().invoke(app, ["status", str(inbox), "--json"])
    loaded: dict[str, Any] = json.loads(result.output)
    return loaded


def mostly_zero_stock(inbox: Path) -> None:
    """7 of 12 items to 0: held (`etl.guards`)."""
    quantities = [0] * 7 + [5] * 5
    pairs = [(loc, sku) for loc in ("DEL-WH-01", "MUM-ST-02") for sku in SKUS]
    rows = [[loc, sku, qty] for (loc, sku), qty in zip(pairs, quantities, strict=True)]
    drop(inbox, "stock.csv", [HEADER, *rows])


def test_a_held_file_is_a_problem_until_it_is_released(tmp_path: Path, sandbox: Any) -> None:
    mostly_zero_stock(tmp_path)
    assert run(tmp_path, sandbox).exit_code == 1  # held: the run says it once
    code, said = status(tmp_path)
    assert code == 1 and said.startswith("PROBLEM"), said
    assert "but 1 file held in held/, waiting for konnect-etl release (nothing of it is" in said
    assert f"{TODAY}/stock.csv (held 0 s ago, at " in said
    assert "this stock file would set 7 of its 12 items to 0" in said
    held = tmp_path / "held" / TODAY / "stock.csv"
    assert f'if it is right: konnect-etl release "{held.absolute()}"' in said
    loaded = status_json(tmp_path)
    entry = loaded["files_held"][f"{TODAY}/stock.csv"]
    assert loaded["alive"] is False and "would set 7 of its 12" in entry["reason"]
    assert entry["release"] == f'konnect-etl release "{held.absolute()}"' and entry["since"]

    assert CliRunner().invoke(app, ["release", str(held)]).exit_code == 0
    code, said = status(tmp_path)
    assert code == 0 and "held" not in said, said  # released: gone from held/
    assert status_json(tmp_path)["files_held"] == {}
    assert run(tmp_path, sandbox).exit_code == 0
    assert status(tmp_path)[0] == 0


def test_a_held_file_deleted_as_wrong_stops_showing_its_report_stays(
    tmp_path: Path, sandbox: Any
) -> None:
    mostly_zero_stock(tmp_path)
    assert run(tmp_path, sandbox).exit_code == 1
    assert status(tmp_path)[0] == 1
    (tmp_path / "held" / TODAY / "stock.csv").unlink()
    assert (tmp_path / "held" / TODAY / "stock.summary.json").is_file()
    assert status(tmp_path)[0] == 0
