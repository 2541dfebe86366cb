"""Destructive-update guards: empty files fail, zero-heavy or short stock files are held."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from runs import run
from typer.testing import CliRunner

from etl.cli import app
from etl.config import load_settings
from etl.errors import ConfigError
from etl.guard_settings import Guards

TODAY = date.today().isoformat()
LOCATIONS = ("DEL-WH-01", "MUM-ST-02", "BLR-ST-03")
SKUS = ("TS-BLK-S", "TS-BLK-M", "TS-BLK-L", "TS-WHT-M", "JN-SLIM-32", "JN-SLIM-34")


def stock_file(path: Path, quantities: list[int]) -> Path:
    """A canonical stock CSV: one known (location, SKU) per quantity."""
    pairs = [(loc, sku) for loc in LOCATIONS for sku in SKUS][: len(quantities)]
    lines = ["location_id,sku,quantity"]
    lines += [f"{loc},{sku},{qty}" for (loc, sku), qty in zip(pairs, quantities, strict=True)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def summary(folder: Path, stem: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((folder / f"{stem}.summary.json").read_text())
    return loaded


def stock_keys(sandbox: Any) -> set[str]:
    return {e["key"] for e in sandbox.ledger() if e["path"].endswith("/inventory")}


def test_header_only_file_fails_as_a_whole(tmp_path: Path, sandbox: Any) -> None:
    stock_file(tmp_path / "stock.csv", [])
    result = run(tmp_path, sandbox)
    assert result.exit_code == 1
    found = summary(tmp_path / "failed" / TODAY, "stock")
    assert found["outcome"] == "failed" and found["rows"]["total"] == 0
    assert "no data rows" in found["file_errors"][0]
    assert sandbox.ledger() == []


def test_empty_file_fails_as_a_whole(tmp_path: Path, sandbox: Any) -> None:
    (tmp_path / "stock.csv").write_bytes(b"")
    result = run(tmp_path, sandbox)
    assert result.exit_code == 1
    found = summary(tmp_path / "failed" / TODAY, "stock")
    assert found["outcome"] == "failed" and "empty" in found["file_errors"][0]
    assert sandbox.ledger() == []


def test_mostly_zero_stock_file_is_held_until_released(tmp_path: Path, sandbox: Any) -> None:
    stock_file(tmp_path / "stock.csv", [0] * 7 + [5] * 5)
    first = run(tmp_path, sandbox)
    assert first.exit_code == 1
    # the table says "held" (not "failed" with 0 rows), and under it why and how to release
    assert "│ held " in first.stdout and "│ failed" not in first.stdout
    (held_line,) = [line for line in first.stdout.splitlines() if line.startswith("Held ")]
    assert held_line.startswith("Held stock.csv, nothing sent: this stock file would set 7 of")
    assert "konnect-etl release" in held_line  # one line, however long: a log reader greps it
    held = tmp_path / "held" / TODAY
    found = summary(held, "stock")
    assert found["outcome"] == "failed" and found["feed"] == "stock"
    assert "7 of its 12 items to 0 (58%)" in found["held"]
    assert "konnect-etl release" in found["file_errors"][1]
    assert (held / "stock.errors.csv").is_file() and (held / "stock.csv").is_file()
    assert stock_keys(sandbox) == set()
    log = (tmp_path / ".konnect-etl" / "logs" / "konnect-etl.log").read_text()
    assert f"stock.csv: held as {held / 'stock.csv'}: this stock file would set 7" in log
    assert f'konnect-etl release "{(held / "stock.csv").absolute()}"' in log  # which one

    stock_file(tmp_path / "stock.csv", [0] * 7 + [5] * 5)  # the same export again
    assert run(tmp_path, sandbox).exit_code == 1
    log = (tmp_path / ".konnect-etl" / "logs" / "konnect-etl.log").read_text()
    assert f"stock.csv: held as {held / 'stock-2.csv'}: " in log  # filed as -2: named so

    released = CliRunner().invoke(app, ["release", str(held / "stock.csv")])
    assert released.exit_code == 0, released.output
    assert (tmp_path / "stock.csv").is_file() and not (held / "stock.csv").exists()
    assert run(tmp_path, sandbox).exit_code == 0
    assert summary(tmp_path / "done" / TODAY, "stock")["outcome"] == "uploaded"
    assert sandbox.state()["stock"]["DEL-WH-01|TS-BLK-S"] == 0


@pytest.mark.parametrize(
    "quantities",
    [[0] * 6 + [5] * 6, [0, 0, 0]],  # exactly half is allowed; under min_rows: a sold-out delta
    ids=["half", "small"],
)
def test_few_zeros_or_a_small_file_are_not_held(
    tmp_path: Path, sandbox: Any, quantities: list[int]
) -> None:
    stock_file(tmp_path / "stock.csv", quantities)
    assert run(tmp_path, sandbox).exit_code == 0
    assert not (tmp_path / "held").exists()


def test_an_errors_file_whose_negative_stock_is_fixed_to_0_is_not_held(
    tmp_path: Path, sandbox: Any
) -> None:
    """Twelve negative rows come back in the errors file, each fixed to 0 by the person:
    all zeros, but typed, not an export that failed half-way."""
    stock_file(tmp_path / "stock.csv", [-1] * 12 + [5] * 6)
    assert run(tmp_path, sandbox).exit_code == 1
    lines = (tmp_path / "done" / TODAY / "stock.errors.csv").read_text("utf-8-sig").splitlines()
    assert len(lines) == 13 and lines[0] == "location_id,sku,quantity,error,row"
    fixed = [lines[0]] + [line.replace(",-1,", ",0,", 1) for line in lines[1:]]
    (tmp_path / "stock.errors.csv").write_text("\n".join(fixed) + "\n", encoding="utf-8")
    result = run(tmp_path, sandbox)
    assert result.exit_code == 0, result.output
    assert not (tmp_path / "held").exists()
    stock = sandbox.state()["stock"]
    assert stock["MUM-ST-02|JN-SLIM-34"] == 0 and stock["BLR-ST-03|TS-BLK-S"] == 5


def test_far_fewer_rows_than_the_previous_file_is_held(tmp_path: Path, sandbox: Any) -> None:
    stock_file(tmp_path / "stock.csv", [5] * 18)
    assert run(tmp_path, sandbox).exit_code == 0
    stock_file(tmp_path / "stock.csv", [6] * 8)  # 8 < 50% of 18: a half-written export?
    assert run(tmp_path, sandbox).exit_code == 1
    found = summary(tmp_path / "held" / TODAY, "stock")
    assert (
        "8 rows, far fewer than the 18 rows of the last file for these locations and 1"
        " other of mapping" in found["held"]
    )  # the first store's 8 of its 12: cut short?
    assert "if this file is meant for fewer locations, release it" in found["held"]
    assert "generic/stock" in found["held"]
    assert sandbox.state()["stock"]["DEL-WH-01|TS-BLK-S"] == 5  # the short file sent nothing


def test_guards_turned_off_in_the_config(tmp_path: Path, sandbox: Any) -> None:
    (tmp_path / "konnect-etl.yaml").write_text("guards: false\n", encoding="utf-8")
    stock_file(tmp_path / "stock.csv", [0] * 12)
    assert run(tmp_path, sandbox).exit_code == 0
    assert sandbox.state()["stock"]["MUM-ST-02|TS-BLK-S"] == 0


def test_release_refuses_a_file_that_is_not_held(tmp_path: Path) -> None:
    stray = stock_file(tmp_path / "stock.csv", [1])
    result = CliRunner().invoke(app, ["release", str(stray)])
    assert result.exit_code == 2
    assert "not a held file" in result.output


def test_guard_settings_from_the_config_file(tmp_path: Path) -> None:
    config = tmp_path / "konnect-etl.yaml"
    config.write_text("guards: {zero_share: 0.8, fewer_rows: false, min_rows: 3}\n")
    guards = load_settings(config_file=config, environ={}).guards
    assert guards == Guards(zero_share=0.8, fewer_rows=None, min_rows=3)
    config.write_text("guards: {zero_share: 2}\n")
    with pytest.raises(ConfigError, match="guards"):
        load_settings(config_file=config, environ={})
    config.write_text("guards:\n  zero_share:\n")  # the value deleted: not 'guard off'
    with pytest.raises(ConfigError, match=r"guards\.zero_share has no value"):
        load_settings(config_file=config, environ={})


def test_in_trigger_mode_a_file_given_back_or_released_gets_a_trigger_again(
    tmp_path: Path, sandbox: Any
) -> None:
    """The trigger file goes when the file is taken: a file given back (credentials refused)
    or released from held/ without a new one would never be taken again."""
    (tmp_path / "konnect-etl.yaml").write_text("trigger_suffix: .done\n", encoding="utf-8")
    stock_file(tmp_path / "stock.csv", [5] * 12)
    (tmp_path / "stock.csv.done").touch()
    assert run(tmp_path, sandbox, token="wrong").exit_code == 2
    assert (tmp_path / "stock.csv.done").is_file()  # given back, with its trigger
    assert run(tmp_path, sandbox).exit_code == 0
    stock_file(tmp_path / "stock.csv", [0] * 12)  # all zero: held
    (tmp_path / "stock.csv.done").touch()
    assert run(tmp_path, sandbox).exit_code == 1
    held = tmp_path / "held" / TODAY / "stock.csv"
    assert CliRunner().invoke(app, ["release", str(held)]).exit_code == 0
    assert (tmp_path / "stock.csv.done").is_file()
    assert run(tmp_path, sandbox).exit_code == 0
    assert sandbox.state()["stock"]["DEL-WH-01|TS-BLK-S"] == 0


def test_a_store_exporting_its_own_file_is_compared_with_its_own_last_one(
    tmp_path: Path, sandbox: Any
) -> None:
    """Per-store exports of one mapping: a small store's file after a big store's is not
    'far fewer rows'; the small store's own file cut short still is."""
    sandbox.faults(catalogue="open")

    def store(location: str, rows: int) -> None:
        lines = [f"{location},SKU-{location}-{i},3" for i in range(rows)]
        body = "\n".join(["location_id,sku,quantity", *lines]) + "\n"
        (tmp_path / f"stock_{location}.csv").write_text(body, encoding="utf-8")

    store("MUM-ST-02", 100)
    assert run(tmp_path, sandbox).exit_code == 0
    store("BLR-ST-03", 30)
    assert run(tmp_path, sandbox).exit_code == 0  # was held: 30 < 50% of 100
    assert not (tmp_path / "held").exists()
    store("BLR-ST-03", 12)
    assert run(tmp_path, sandbox).exit_code == 1
    found = summary(tmp_path / "held" / TODAY, "stock_BLR-ST-03")
    assert (
        "12 rows, far fewer than the 30 rows of the last file for these locations"
        in (found["held"])
    )


def test_the_fewer_rows_comparison_reads_each_exports_recorded_locations(tmp_path: Path) -> None:
    """It unpacked up to 50 exports' million keys for every stock file (18 s a file after two
    weeks of daily exports); the locations and key count are recorded beside the keys now,
    and kept when the keys go (a newer export of the same keys). An export an older version
    recorded (no such columns) is still read from its keys."""
    import re
    import sqlite3
    import zlib

    from etl.keystate import STATE_FILE, KeyState

    keys = [f"S{i % 2}|K{i}" for i in range(100)]
    with KeyState(tmp_path) as state:
        state.record("stock", "m", keys, 1000.0, "a.csv")
    db = sqlite3.connect(tmp_path / STATE_FILE, isolation_level=None)
    db.execute("UPDATE exports SET keys = x''")  # as when a newer export set the same keys
    never = re.compile("never")
    with KeyState(tmp_path) as state:
        assert state.previous_keys("m", {"S0", "S1"}, never) == (100, 2)
    blob = zlib.compress("\n".join(keys).encode())
    db.execute("UPDATE exports SET keys = ?, locations = NULL, key_count = NULL", (blob,))
    with KeyState(tmp_path) as state:
        assert state.previous_keys("m", {"S0", "S1"}, never) == (100, 2)
        assert state.previous_keys("m", {"S0"}, never) == (100, 2)  # shares a location
    db.close()


def test_a_changes_only_stock_mapping_is_not_held_for_short_or_zero_files(
    tmp_path: Path, sandbox: Any
) -> None:
    """A POS sending a store's changes since the last file: after the full list, a file of
    12 rows, 10 of them sold out, was held twice over (far fewer rows; mostly zeros)."""
    maps = tmp_path / "maps"
    maps.mkdir()
    (maps / "pos_changes.yaml").write_text(
        "feed: stock\nmatch: {filename: ['changes_*.csv']}\npolicies: {changes_only: true}\n"
        "fields:\n  location_id: {column: location_id}\n  sku: {column: sku}\n"
        "  quantity: {column: quantity, transforms: [integer]}\n",
        encoding="utf-8",
    )
    (tmp_path / "konnect-etl.yaml").write_text("mappings: ./maps\n", encoding="utf-8")
    stock_file(tmp_path / "changes_0900.csv", [5] * 18)
    assert run(tmp_path, sandbox).exit_code == 0
    stock_file(tmp_path / "changes_1000.csv", [0] * 10 + [3] * 2)
    result = run(tmp_path, sandbox)
    assert result.exit_code == 0, result.output
    assert not (tmp_path / "held").exists()
    assert sandbox.state()["stock"]["DEL-WH-01|TS-BLK-S"] == 0
