"""An older stock or price export processed after a newer one never overwrites newer values."""

from __future__ import annotations

import csv
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
import zlib
from contextlib import closing
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from runs import run, run_process, start_and_wait_for_claim
from typer.testing import CliRunner

from etl.cli import app
from etl.keystate import STATE_FILE, KeyState
from etl.mapping import load_mapping
from etl.outoforder import export_time

TODAY = date.today().isoformat()


def write(path: Path, rows: list[str], header: str = "location_id,sku,quantity") -> Path:
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


def aged(path: Path, seconds_ago: float) -> Path:
    when = time.time() - seconds_ago
    os.utime(path, (when, when))
    return path


def results(path: Path) -> dict[str, dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return {row["row"]: row for row in csv.DictReader(handle)}


def sent(sandbox: Any, key: str) -> list[int]:
    return [e["record"]["quantity"] for e in sandbox.ledger() if e["key"] == key]


def test_older_stock_file_after_a_newer_one_keeps_the_newer_values(
    tmp_path: Path, sandbox: Any
) -> None:
    aged(write(tmp_path / "stock-new.csv", ["DEL-WH-01,TS-BLK-S,9", "DEL-WH-01,TS-BLK-M,9"]), 60)
    assert run(tmp_path, sandbox).exit_code == 0
    old = ["DEL-WH-01,TS-BLK-S,3", "DEL-WH-01,TS-BLK-L,3", "DEL-WH-01,TS-BLK-M,3"]
    aged(write(tmp_path / "stock-old.csv", old), 3600)  # exported an hour earlier
    older = run(tmp_path, sandbox)
    assert older.exit_code == 1
    assert "stock-old.csv: 2 rows not sent, a newer export set them" in older.output

    stock = sandbox.state()["stock"]
    assert stock["DEL-WH-01|TS-BLK-S"] == 9 and stock["DEL-WH-01|TS-BLK-M"] == 9
    assert stock["DEL-WH-01|TS-BLK-L"] == 3  # only the older file had it: applied
    assert sent(sandbox, "DEL-WH-01|TS-BLK-S") == [9]  # the old value never reached Konnect
    rows = results(tmp_path / "done" / TODAY / "stock-old.result.csv")
    assert rows["2"]["status"] == "rejected"
    assert "a newer export (stock-new.csv" in rows["2"]["message"]
    assert rows["3"]["status"] == "ok" and rows["4"]["status"] == "rejected"


def test_the_mornings_full_list_dropped_again_does_not_undo_the_days_changes(
    tmp_path: Path, sandbox: Any
) -> None:
    """06:00 full list, 07:00 a change file; at noon someone copies the 06:00 file from done/
    into the inbox again (a new mtime: by it, the newest export). Its content is the 06:00
    file's, so it is as old as that: the 07:00 change stays, the rest is sent as before."""
    full = ["DEL-WH-01,TS-BLK-S,5", "DEL-WH-01,TS-BLK-M,5"]
    aged(write(tmp_path / "stock_full.csv", full), 7200)
    assert run(tmp_path, sandbox).exit_code == 0
    aged(write(tmp_path / "stock_change.csv", ["DEL-WH-01,TS-BLK-S,9"]), 3600)
    assert run(tmp_path, sandbox).exit_code == 0
    done = tmp_path / "done" / TODAY
    (tmp_path / "stock_full.csv").write_bytes((done / "stock_full.csv").read_bytes())  # now
    again = run(tmp_path, sandbox)
    assert again.exit_code == 1, again.output
    stock = sandbox.state()["stock"]
    assert stock["DEL-WH-01|TS-BLK-S"] == 9 and stock["DEL-WH-01|TS-BLK-M"] == 5
    assert sent(sandbox, "DEL-WH-01|TS-BLK-S") == [5, 9]  # the 06:00 value not sent again
    rows = results(done / "stock_full-2.result.csv")
    assert rows["2"]["status"] == "rejected" and "(stock_change.csv" in rows["2"]["message"]
    assert rows["2"]["message"].startswith(
        "not sent: this file has the same content as stock_full.csv, processed before, so it"
        " is taken as exported when that was ("
    )
    assert "to send this row's value now, put it in a new file" in rows["2"]["message"]
    assert rows["3"]["status"] == "ok"
    [note] = json.loads((done / "stock_full-2.summary.json").read_text())["warnings"]
    assert note.startswith("same content as stock_full.csv, processed before: taken as")
    # and recorded so: a file exported between the two is still newer than the copy
    aged(write(tmp_path / "stock_mid.csv", ["DEL-WH-01,TS-BLK-M,7"]), 5400)
    assert run(tmp_path, sandbox).exit_code == 0
    assert sandbox.state()["stock"]["DEL-WH-01|TS-BLK-M"] == 7


def _edited(text: str, edit: str) -> str:
    """An errors file as people leave it: `error` read and deleted, moved to the front, both
    of our columns deleted, a column of their own added after ours."""
    rows = list(csv.reader(text.splitlines()))
    if edit == "no error column":
        rows = [r[:3] + r[4:] for r in rows]
    elif edit == "error first":
        rows = [[r[3], *r[:3], r[4]] for r in rows]
    elif edit == "no own columns":
        rows = [r[:3] for r in rows]
    elif edit == "a column added":
        rows = [[*r, "checked by" if n == 0 else "Asha"] for n, r in enumerate(rows)]
    return "".join(",".join(r) + "\n" for r in rows)


@pytest.mark.parametrize(
    ("name", "edit"),
    [
        ("stock_0600.errors.csv", ""),
        ("stock_0600.errors.csv", "no error column"),
        ("stock_0600.errors.csv", "error first"),
        ("stock_0600.errors.csv", "no own columns"),
        ("stock_0600.errors.csv", "a column added"),
        ("Copy of stock_0600.errors.csv", ""),
        ("stock_0600.errors copy.csv", ""),
    ],
)
def test_a_fixed_errors_file_is_as_old_as_its_export(
    tmp_path: Path, sandbox: Any, name: str, edit: str
) -> None:
    """06:00 export: M is 'x' (rejected). 07:00 export: M is 9. The 06:00 errors file, fixed
    at 08:00 (M = 1) is still the 06:00 stock: the 07:00 value stays, S (no newer export set
    it) goes through. Also with its columns changed or under a copy's name: such a file was
    taken as exported now, and its 06:00 value overwrote 07:00's without a word."""
    aged(write(tmp_path / "stock_0600.csv", ["DEL-WH-01,TS-BLK-M,x", "DEL-WH-01,TS-BLK-S,y"]),
         7200)  # fmt: skip
    assert run(tmp_path, sandbox).exit_code == 1
    aged(write(tmp_path / "stock_0700.csv", ["DEL-WH-01,TS-BLK-M,9"]), 3600)
    assert run(tmp_path, sandbox).exit_code == 0
    errors = (tmp_path / "done" / TODAY / "stock_0600.errors.csv").read_text(encoding="utf-8-sig")
    fixed = errors.replace("TS-BLK-M,x", "TS-BLK-M,1").replace("TS-BLK-S,y", "TS-BLK-S,2")
    (tmp_path / name).write_text(_edited(fixed, edit), encoding="utf-8")  # mtime: now
    done = run(tmp_path, sandbox)
    assert done.exit_code == 1, done.output
    stock = sandbox.state()["stock"]
    assert (stock["DEL-WH-01|TS-BLK-M"], stock["DEL-WH-01|TS-BLK-S"]) == (9, 2)
    assert sent(sandbox, "DEL-WH-01|TS-BLK-M") == [9]
    (fixed_result,) = (tmp_path / "done" / TODAY).glob(f"{Path(name).stem}*.result.csv")
    assert "a newer export (stock_0700.csv" in results(fixed_result)["2"]["message"]


def test_the_errors_file_of_an_export_named_copy_of_is_that_exports(
    tmp_path: Path, sandbox: Any
) -> None:
    """An export really named `Copy of stock.csv` (a Drive copy dropped in): its errors file
    `Copy of stock.errors.csv` is its own, not a copy of the older `stock.csv`'s, whose
    rows would then have turned the fix away as set by its own export."""
    aged(write(tmp_path / "stock.csv", ["DEL-WH-01,TS-BLK-M,5", "DEL-WH-01,TS-BLK-S,5"]), 7200)
    assert run(tmp_path, sandbox).exit_code == 0
    copy = aged(write(tmp_path / "Copy of stock.csv", ["DEL-WH-01,TS-BLK-M,x"]), 600)
    assert run(tmp_path, sandbox).exit_code == 1
    errors = (tmp_path / "done" / TODAY / f"{copy.stem}.errors.csv").read_text(encoding="utf-8-sig")
    fixed = tmp_path / f"{copy.stem}.errors.csv"
    fixed.write_text(errors.replace("TS-BLK-M,x", "TS-BLK-M,7"), encoding="utf-8")
    assert run(tmp_path, sandbox).exit_code == 0
    assert sandbox.state()["stock"]["DEL-WH-01|TS-BLK-M"] == 7


def test_a_fix_typed_onto_a_sku_its_own_export_set_is_not_sent(
    tmp_path: Path, sandbox: Any
) -> None:
    """The export set BAG-TOTE to 0; a row without SKU was rejected. Fixing that row, the user
    types BAG-TOTE (the row above): one export cannot set a SKU twice, so it is not sent; the
    other fixed row goes through."""
    rows = ["BLR-ST-03,BAG-TOTE,0", "BLR-ST-03,,4", "BLR-ST-03,CAP-RED,x"]
    aged(write(tmp_path / "stock.csv", rows), 600)
    assert run(tmp_path, sandbox).exit_code == 1
    errors = (tmp_path / "done" / TODAY / "stock.errors.csv").read_text(encoding="utf-8-sig")
    fixed = errors.replace("BLR-ST-03,,4", "BLR-ST-03,BAG-TOTE,4").replace("CAP-RED,x", "CAP-RED,5")
    (tmp_path / "stock.errors.csv").write_text(fixed, encoding="utf-8")
    fixed_run = run(tmp_path, sandbox)
    assert fixed_run.exit_code == 1
    said = "1 row not sent, stock (the export this errors file comes from) set them on other rows"
    assert said in fixed_run.output and "a newer export set them" not in fixed_run.output
    stock = sandbox.state()["stock"]
    assert (stock["BLR-ST-03|BAG-TOTE"], stock["BLR-ST-03|CAP-RED"]) == (0, 5)
    again = results(tmp_path / "done" / TODAY / "stock.errors-2.result.csv")
    assert again["2"]["status"] == "rejected" and again["3"]["status"] == "ok"
    assert re.match(  # which export: an ERP naming every export alike has one a day
        r"not sent: stock exported \d{4}-\d\d-\d\d \d\d:\d\d, the export this errors file comes",
        again["2"]["message"],
    )
    assert (
        "(or, if this errors file is of a later stock, put its rows in a new file)"
        in (again["2"]["message"])
    )


def test_an_errors_file_of_yesterday_is_as_old_as_yesterdays_export(
    tmp_path: Path, sandbox: Any
) -> None:
    """The ERP names every export stock.csv. Yesterday's had M 'x' (row 2, rejected); today's
    set M to 7 and had L 'y' (row 3, rejected). Yesterday's errors file, fixed today, is
    yesterday's stock (found by its row numbers): M stays 7. Today's fixed errors file goes
    through."""
    yesterday = (date.today() - timedelta(days=1)).isoformat()
    aged(write(tmp_path / "stock.csv", ["DEL-WH-01,TS-BLK-M,x", "DEL-WH-01,TS-BLK-S,4"]), 86400)
    assert run(tmp_path, sandbox).exit_code == 1
    (tmp_path / "done" / TODAY).rename(tmp_path / "done" / yesterday)
    today = ["DEL-WH-01,TS-BLK-M,7", "DEL-WH-01,TS-BLK-L,y", "DEL-WH-01,TS-BLK-S,8"]
    aged(write(tmp_path / "stock.csv", today), 3600)
    assert run(tmp_path, sandbox).exit_code == 1
    assert (tmp_path / "done" / TODAY / "stock.errors.csv").is_file()  # the same name
    for day, bad, good in (
        (yesterday, "TS-BLK-M,x", "TS-BLK-M,1"),
        (TODAY, "TS-BLK-L,y", "TS-BLK-L,5"),
    ):
        errors = (tmp_path / "done" / day / "stock.errors.csv").read_text(encoding="utf-8-sig")
        assert bad in errors
        (tmp_path / "stock.errors.csv").write_text(errors.replace(bad, good), encoding="utf-8")
        run(tmp_path, sandbox)
    stock = sandbox.state()["stock"]
    assert (stock["DEL-WH-01|TS-BLK-M"], stock["DEL-WH-01|TS-BLK-L"]) == (7, 5)
    assert sent(sandbox, "DEL-WH-01|TS-BLK-M") == [7]
    rows = results(tmp_path / "done" / TODAY / "stock.errors-2.result.csv")  # yesterday's
    assert "a newer export (stock.csv" in rows["2"]["message"]


def test_an_errors_file_fixed_twice_is_as_old_as_the_first_export(
    tmp_path: Path, sandbox: Any
) -> None:
    """The full export is stock.csv every day. Yesterday's had M and S wrong (rows 5, 6); a
    delta file set S 8 this morning; today's stock.csv had rows 2 and 3 wrong and set M 7.
    Yesterday's errors file fixed today (M only) comes back with S still wrong, in
    `stock.errors-2.errors.csv`, whose `row` says 3: a row of the fixed file, not of an
    export. Fixed again, it is still yesterday's stock: S stays 8 (by the export's rows it
    passed for today's stock.csv, whose rows 2 and 3 were wrong too, and overwrote it)."""
    sandbox.faults(catalogue="open")
    yesterday = (date.today() - timedelta(days=1)).isoformat()
    good = ["DEL-WH-01,TS-BLK-A,1", "DEL-WH-01,TS-BLK-B,1", "DEL-WH-01,TS-BLK-C,1"]
    aged(write(tmp_path / "stock.csv", [*good, "DEL-WH-01,TS-BLK-M,x", "DEL-WH-01,TS-BLK-S,y"]),
         86400)  # fmt: skip
    assert run(tmp_path, sandbox).exit_code == 1
    (tmp_path / "done" / TODAY).rename(tmp_path / "done" / yesterday)
    aged(write(tmp_path / "delta.csv", ["DEL-WH-01,TS-BLK-S,8"]), 7200)
    assert run(tmp_path, sandbox).exit_code == 0
    today = ["DEL-WH-01,TS-BLK-L,z", "DEL-WH-01,TS-BLK-XL,w", "DEL-WH-01,TS-BLK-M,7"]
    aged(write(tmp_path / "stock.csv", today), 3600)
    assert run(tmp_path, sandbox).exit_code == 1
    first = (tmp_path / "done" / yesterday / "stock.errors.csv").read_text(encoding="utf-8-sig")
    (tmp_path / "stock.errors.csv").write_text(first.replace("M,x", "M,1"), encoding="utf-8")
    assert run(tmp_path, sandbox).exit_code == 1
    second = (tmp_path / "done" / TODAY / "stock.errors-2.errors.csv").read_text("utf-8-sig")
    assert "TS-BLK-S,y," in second and second.rstrip().endswith(",3")
    fixed = tmp_path / "stock.errors-2.errors.csv"
    fixed.write_text(second.replace("S,y", "S,1"), encoding="utf-8")
    assert run(tmp_path, sandbox).exit_code == 1
    stock = sandbox.state()["stock"]
    assert (stock["DEL-WH-01|TS-BLK-M"], stock["DEL-WH-01|TS-BLK-S"]) == (7, 8)


def test_rows_kept_from_an_older_file_keep_their_notes(tmp_path: Path, sandbox: Any) -> None:
    """Out-of-order rows are dropped; a kept row's 'sent as 0' note must not go with them."""
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "neg.yaml").write_text(
        'feed: stock\nmatch: {filename: "neg_*.csv"}\npolicies: {negative_stock: zero}\n'
    )
    (tmp_path / "konnect-etl.yaml").write_text("mappings: ./m\n")
    aged(write(tmp_path / "neg_new.csv", ["DEL-WH-01,TS-BLK-S,9"]), 60)
    assert run(tmp_path, sandbox).exit_code == 0
    aged(write(tmp_path / "neg_old.csv", ["DEL-WH-01,TS-BLK-S,3", "DEL-WH-01,TS-BLK-M,-2"]), 3600)
    assert run(tmp_path, sandbox).exit_code == 1
    rows = results(tmp_path / "done" / TODAY / "neg_old.result.csv")
    assert "a newer export (neg_new.csv" in rows["2"]["message"]
    assert rows["3"]["status"] == "ok" and rows["3"]["message"].startswith("sent as 0")
    assert sandbox.state()["stock"]["DEL-WH-01|TS-BLK-M"] == 0


def test_a_newer_file_still_overwrites_an_older_one(tmp_path: Path, sandbox: Any) -> None:
    aged(write(tmp_path / "stock-a.csv", ["MUM-ST-02,TS-BLK-S,4"]), 3600)
    assert run(tmp_path, sandbox).exit_code == 0
    aged(write(tmp_path / "stock-b.csv", ["MUM-ST-02,TS-BLK-S,7"]), 60)
    assert run(tmp_path, sandbox).exit_code == 0
    assert sandbox.state()["stock"]["MUM-ST-02|TS-BLK-S"] == 7


PRICE_MAPPING = """\
feed: price
match:
  filename: ["prices_*.csv"]
  headers: [location_id, sku, mrp, esp]
export_time: {filename: '_(\\d{8}-\\d{4})', format: '%Y%m%d-%H%M'}
fields:
  location_id: {column: location_id}
  sku: {column: sku}
  mrp: {column: mrp, transforms: [decimal]}
  esp: {column: esp, transforms: [decimal]}
  currency: {constant: INR}
"""


def inbox_with_price_mapping(tmp_path: Path) -> Path:
    """An inbox whose config reads mappings/ with PRICE_MAPPING (export time in the name)."""
    mappings = tmp_path / "mappings"
    mappings.mkdir()
    (mappings / "price.yaml").write_text(PRICE_MAPPING, encoding="utf-8")
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "konnect-etl.yaml").write_text(f"mappings: {mappings}\n", encoding="utf-8")
    return inbox


def test_export_time_in_the_file_name_wins_over_mtime(tmp_path: Path, sandbox: Any) -> None:
    inbox = inbox_with_price_mapping(tmp_path)
    header = "location_id,sku,mrp,esp"
    write(inbox / "prices_20261126-1800.csv", ["BLR-ST-03,CAP-RED,500,450"], header)
    aged(inbox / "prices_20261126-1800.csv", 3600)
    assert run(inbox, sandbox).exit_code == 0
    # Copied later (newer mtime), but its name says it was exported at 09:00: older.
    write(inbox / "prices_20261126-0900.csv", ["BLR-ST-03,CAP-RED,500,300"], header)
    assert run(inbox, sandbox).exit_code == 1
    assert sandbox.state()["prices"]["BLR-ST-03|CAP-RED"]["esp"] == 450
    mapping = load_mapping(tmp_path / "mappings" / "price.yaml")
    stamp = export_time(mapping, inbox / "done" / TODAY / "prices_20261126-0900.csv")
    assert time.strftime("%Y-%m-%d %H:%M", time.localtime(stamp)) == "2026-11-26 09:00"


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("prices_26112026-0900.csv", "export_time.format '%Y%m%d-%H%M' does not read"
         " '26112026-0900' in the file name (mapping price)"),
        ("prices_today.csv", "export_time.filename '_(\\d{8}-\\d{4})' does not match the file"
         " name 'prices_today.csv' (mapping price)"),
    ],
)  # fmt: skip
def test_a_name_export_time_cannot_read_is_a_warning_once(
    tmp_path: Path, sandbox: Any, name: str, problem: str
) -> None:
    """The guard then goes by the modification time, which a copy resets: said in the
    summary once (not only in the log), naming the mapping and its key; --explain says it."""
    inbox = inbox_with_price_mapping(tmp_path)
    write(inbox / name, ["BLR-ST-03,CAP-RED,500,450"], "location_id,sku,mrp,esp")
    assert run(inbox, sandbox).exit_code == 0
    done = inbox / "done" / TODAY
    summary = json.loads((done / name).with_suffix(".summary.json").read_text())
    said = f"{problem}: the file's modification time is used as its export time instead (for"
    assert summary["warnings"] == [
        f"{said} a copy of a file processed before, that file's export time)"
    ]
    config = ["--config", str(inbox / "konnect-etl.yaml")]
    explained = CliRunner().invoke(app, ["mappings", *config, "--explain", str(done / name)])
    assert said in explained.output


def test_explain_says_the_export_time_the_name_gives(tmp_path: Path) -> None:
    inbox = inbox_with_price_mapping(tmp_path)
    path = write(
        inbox / "prices_20261126-0900.csv", ["BLR-ST-03,CAP-RED,500,450"], "location_id,sku,mrp,esp"
    )
    config = ["--config", str(inbox / "konnect-etl.yaml")]
    explained = CliRunner().invoke(app, ["mappings", *config, "--explain", str(path)])
    assert "export time 2026-11-26 09:00, from the file name (export_time)" in explained.output


def test_the_same_list_exported_again_with_a_new_time_in_its_name_is_new(
    tmp_path: Path, sandbox: Any
) -> None:
    """06:00 the regular prices, 10:00 a promotion; 18:00 the ERP writes the regular list
    again, the same bytes as at 06:00 but its name says 18:00: the promotion ends."""
    inbox = inbox_with_price_mapping(tmp_path)
    header = "location_id,sku,mrp,esp"
    regular = ["BLR-ST-03,CAP-RED,500,450"]
    write(inbox / "prices_20261126-0600.csv", regular, header)
    assert run(inbox, sandbox).exit_code == 0
    write(inbox / "prices_20261126-1000.csv", ["BLR-ST-03,CAP-RED,500,300"], header)
    assert run(inbox, sandbox).exit_code == 0
    write(inbox / "prices_20261126-1800.csv", regular, header)
    assert run(inbox, sandbox).exit_code == 0
    assert sandbox.state()["prices"]["BLR-ST-03|CAP-RED"]["esp"] == 450


@pytest.mark.parametrize(("hours", "esp"), [(22, 450), (2, 300)])
def test_the_same_list_a_day_later_is_the_days_export_but_hours_later_a_copy(
    tmp_path: Path, sandbox: Any, hours: int, esp: int
) -> None:
    """Yesterday 06:00 the regular prices, 10:00 a promotion; today 08:00 the ERP exports the
    regular list again, byte for byte yesterday's (no time in its name, its mtime says when):
    the day's export, so the promotion ends. Dated 2 hours after the promotion (12:00, the
    06:00 list copied back in from done/), it is a copy of the 06:00 file and does not."""
    header = "location_id,sku,mrp,esp"
    regular = ["BLR-ST-03,CAP-RED,500,450"]
    aged(write(tmp_path / "price_list.csv", regular, header), 26 * 3600)
    assert run(tmp_path, sandbox).exit_code == 0
    aged(write(tmp_path / "price_promo.csv", ["BLR-ST-03,CAP-RED,500,300"], header), 22 * 3600)
    assert run(tmp_path, sandbox).exit_code == 0
    aged(write(tmp_path / "price_list.csv", regular, header), 22 * 3600 - hours * 3600)
    run(tmp_path, sandbox)
    assert sandbox.state()["prices"]["BLR-ST-03|CAP-RED"]["esp"] == esp


@pytest.mark.parametrize("ahead", [60, 3])  # an ERP naming in IST on a UTC box; a clock fast
def test_the_same_list_dropped_again_is_a_copy_though_its_name_is_ahead_of_the_clock(
    tmp_path: Path, sandbox: Any, ahead: int
) -> None:
    """A name's time ahead of the clock is recorded as now; the copy is told by the names'
    own times, so the list dropped again does not undo the promotion sent after it."""
    inbox = inbox_with_price_mapping(tmp_path)
    header = "location_id,sku,mrp,esp"

    def named(minutes: int) -> str:
        stamp = time.localtime(time.time() + minutes * 60)
        return f"prices_{time.strftime('%Y%m%d-%H%M', stamp)}.csv"

    first = named(ahead)
    write(inbox / first, ["BLR-ST-03,CAP-RED,500,450"], header)
    assert run(inbox, sandbox).exit_code == 0
    write(inbox / named(ahead + 1), ["BLR-ST-03,CAP-RED,500,300"], header)
    assert run(inbox, sandbox).exit_code == 0
    write(inbox / first, ["BLR-ST-03,CAP-RED,500,450"], header)  # the same list again
    run(inbox, sandbox)
    assert sandbox.state()["prices"]["BLR-ST-03|CAP-RED"]["esp"] == 300


def test_a_file_resumed_after_a_newer_export_sends_every_row_it_should(
    tmp_path: Path, sandbox: Any
) -> None:
    """An old export stops half-way (killed: twice SIGTERM); meanwhile a newer export of some
    of its first rows is applied (another process, here by hand). Resumed, the old file
    loses those rows to the newer one, so its chunks are cut differently: rows shifted into
    chunks Konnect had acknowledged must still be sent, not called done."""
    sandbox.faults(catalogue="open", latency_ms=300)
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    old = [f"DEL-WH-01,OLD-{i:05d},3" for i in range(3000)]
    aged(write(inbox / "stock_old.csv", old), 7200)
    env = {**os.environ, "KONNECT_BASE_URL": sandbox.url, "KONNECT_TOKEN": sandbox.token}
    command = [sys.executable, "-m", "etl", "run", str(inbox), "--settle", "0"]
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    journal = inbox / ".konnect-etl" / "journal.sqlite3"

    def acknowledged() -> int:
        try:
            with closing(sqlite3.connect(journal, timeout=10)) as db:
                found = db.execute("SELECT count(*) FROM chunks WHERE state = 'acknowledged'")
                return int(found.fetchone()[0])
        except sqlite3.Error:  # not created yet
            return 0

    deadline = time.monotonic() + 60
    while acknowledged() < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGTERM)
    time.sleep(0.1)
    process.send_signal(signal.SIGTERM)
    assert process.wait(60) == 1
    stopped = inbox / "processing" / "stock_old.csv"
    aside = tmp_path / "stock_old.csv"
    stopped.rename(aside)
    # Konnect forgets the first attempt (requests still in flight at the kill may have filled
    # the shifted rows in, hiding the gap): what the resumed run sends is then all it holds.
    # The chunks were cut differently, so none of the first attempt's results may be reused.
    sandbox.reset()
    sandbox.faults(catalogue="open")
    newer = [f"DEL-WH-01,OLD-{i:05d},9" for i in range(0, 40)]  # some of chunk 0's rows
    aged(write(inbox / "stock_new.csv", newer), 3600)
    assert run(inbox, sandbox).exit_code == 0
    aside.rename(stopped)
    assert run(inbox, sandbox).exit_code == 1  # 40 rows: a newer export set them
    stock = sandbox.state()["stock"]
    assert all(stock[f"DEL-WH-01|OLD-{i:05d}"] == 9 for i in range(40))
    assert all(stock.get(f"DEL-WH-01|OLD-{i:05d}") == 3 for i in range(40, 3000))
    rows = results(inbox / "done" / TODAY / "stock_old.result.csv")
    assert sum(r["status"] == "ok" for r in rows.values()) == 2960


def test_an_older_export_read_by_another_mapping_does_not_overwrite_newer_prices(
    tmp_path: Path, sandbox: Any
) -> None:
    """07:00 the POS price list (mapping pos/price) sets a price; the merchandiser's 06:00
    file in Konnect's own columns (generic/price) is dropped after it: one location and SKU
    has one price in Konnect, whichever mapping read the file that set it."""
    pos = tmp_path / "pos_price_0700.csv"
    pos.write_bytes(b"Store;Item Code;MRP;Selling Price\r\nCP Delhi Warehouse;TS-BLK-S;999;777\r\n")
    aged(pos, 3600)
    assert run(tmp_path, sandbox).exit_code == 0
    header = "location_id,sku,mrp,esp"
    old = ["DEL-WH-01,TS-BLK-S,999,600", "DEL-WH-01,TS-BLK-M,999,600"]
    aged(write(tmp_path / "markdown.csv", old, header), 7200)
    older = run(tmp_path, sandbox)
    assert older.exit_code == 1
    assert sandbox.state()["prices"]["DEL-WH-01|TS-BLK-S"]["esp"] == 777
    assert sandbox.state()["prices"]["DEL-WH-01|TS-BLK-M"]["esp"] == 600
    rows = results(tmp_path / "done" / TODAY / "markdown.result.csv")
    assert rows["2"]["status"] == "rejected"
    assert "a newer export (pos_price_0700.csv" in rows["2"]["message"]


def test_exports_recorded_before_the_feed_was_count_for_their_own_mapping(
    tmp_path: Path,
) -> None:
    with KeyState(tmp_path) as state:
        state.record("stock", "m", ["L|S"], 100.0, "stock.csv")
        state._db.execute("UPDATE exports SET feed = NULL")  # as an older version wrote it
        state.record("stock", "n", ["L|T"], 200.0, "other.csv")
        assert state.newer_than("stock", "m", 50.0).keys() == {"L|S", "L|T"}
        assert state.newer_than("stock", "n", 50.0).keys() == {"L|T"}
        assert state.newer_than("price", "n", 50.0) == {}
        # "too old to compare key by key" is judged by the newest export of the feed too: a
        # mapping unused for months must not send a file older than the other's memory
        assert state.newest("unused", "stock") == state.newest("n") != state.newest("m")
        assert state.newest("unused") is None and state.newest("m", "stock").file == "other.csv"


def test_a_protection_database_from_before_errors_rows_were_kept_still_opens(
    tmp_path: Path,
) -> None:
    with closing(sqlite3.connect(tmp_path / STATE_FILE)) as db:
        db.execute(
            "CREATE TABLE exports (id INTEGER PRIMARY KEY, mapping TEXT NOT NULL, "
            "exported_at REAL NOT NULL, file TEXT NOT NULL, keys BLOB NOT NULL)"
        )
        db.execute("INSERT INTO exports VALUES (1, 'm', 100.0, 'stock.csv', x'')")
        db.commit()
    with KeyState(tmp_path) as state:
        state.record("stock", "m", ["L|S"], 200.0, "stock.csv", [2])
        assert state.exported_at_of("m", "stock", ["7"]) == 200.0  # nothing tells: the latest
        assert state.exported_at_of("m", "stock", ["2"]) == 200.0
        state.record("stock", "m", ["L|S"], 300.0, "stock.csv", [2])
        assert state.exported_at_of("m", "stock", ["2"]) == 200.0  # as many: the oldest


def test_two_processes_never_let_an_older_export_overwrite_a_newer_one(
    tmp_path: Path, sandbox: Any
) -> None:
    """A cron `run` takes the 07:00 export while another process still uploads the 06:00 one
    (slow Konnect, two requests at a time): the 07:00 values are what Konnect keeps. Without
    turns, the 06:00 file's last chunks, sent after, overwrote them."""
    sandbox.faults(catalogue="open", latency_ms=500)
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "konnect-etl.yaml").write_text("concurrency: 2\nguards: {fewer_rows: false}\n")
    old = [f"DEL-WH-01,T-{i:05d},6" for i in range(10_000)]  # 20 chunks: ~5 s
    aged(write(inbox / "stock_0600.csv", old), 3600)
    first = start_and_wait_for_claim(inbox, sandbox, "stock_0600.csv")
    new = [f"DEL-WH-01,T-{i:05d},7" for i in range(8_000, 10_000)]  # the 06:00 file's last rows
    write(inbox / "stock_0700.csv", new)
    command, env = run_process(inbox, sandbox)
    second = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert first.wait(120) == 0 and second.returncode == 0, second.stderr
    stock = sandbox.state()["stock"]
    assert {stock[f"DEL-WH-01|T-{i:05d}"] for i in range(8_000, 10_000)} == {7}
    assert {stock[f"DEL-WH-01|T-{i:05d}"] for i in range(8_000)} == {6}


def test_a_file_stamped_in_the_future_does_not_lock_out_the_real_exports(
    tmp_path: Path, sandbox: Any
) -> None:
    """A file whose modification time is 2031 (the clock of the machine that wrote it set
    wrong) is taken as exported now, with a warning: kept as 2031, every real export after it
    would be "older" and refused until then."""
    aged(write(tmp_path / "stock-2031.csv", ["DEL-WH-01,TS-BLK-S,7"]), -5 * 365 * 86400)
    first = run(tmp_path, sandbox)
    assert first.exit_code == 0, first.output
    assert "is ahead of this machine's clock; taken as now" in first.output
    write(tmp_path / "stock.csv", ["DEL-WH-01,TS-BLK-S,8"])
    assert run(tmp_path, sandbox).exit_code == 0
    assert sandbox.state()["stock"]["DEL-WH-01|TS-BLK-S"] == 8


def test_a_future_export_an_older_version_recorded_is_forgotten(
    tmp_path: Path, sandbox: Any
) -> None:
    """Protection state written before that check may hold a 2031 export: when it was
    applied is not known, so it is forgotten at the next stock file (with a warning)."""
    state_dir = tmp_path / ".konnect-etl"
    with KeyState(state_dir) as state:  # as an older version recorded it
        state.record(
            "stock", "generic/stock", ["DEL-WH-01|TS-BLK-S"], time.time() + 5 * 365 * 86400, "x"
        )
    write(tmp_path / "stock.csv", ["DEL-WH-01,TS-BLK-S,8"])
    result = run(tmp_path, sandbox)
    assert result.exit_code == 0, result.output
    assert "forgot 1 export dated ahead of this machine's clock" in result.output
    assert sandbox.state()["stock"]["DEL-WH-01|TS-BLK-S"] == 8


def test_exports_of_the_same_keys_keep_only_the_newest_ones_keys(tmp_path: Path) -> None:
    """An ERP sending its full stock every hour: each export's keys would be kept 30 days
    (~9 MB per million keys each). An older export that set exactly the keys of a newer one
    tells nothing the newer one does not, so only the newest keeps them: the database stops
    growing, and what it answers is what it answered with all of them kept."""
    keys = [f"L{i % 7}|SKU-{i}" for i in range(50_000)]
    other = [*keys[:10], "L0|NEW"]
    with KeyState(tmp_path) as state:
        for hour in range(1, 25):
            order = keys[hour:] + keys[:hour]  # the same keys, in another order
            state.record("stock", "m", order, hour * 3600.0, f"stock-{hour}.csv", [hour + 1])
        state.record("stock", "m", other, 12.5 * 3600, "delta.csv", [])
        state.record("stock", "m", keys[:-1], 25 * 3600.0, "stock-25.csv", [])  # one SKU fewer
        newer = state.newer_than("stock", "m", 0.0)
        assert newer[keys[0]].file == newer[keys[-2]].file == "stock-25.csv"
        assert newer[keys[-1]].file == "stock-24.csv" and newer["L0|NEW"].file == "delta.csv"
        assert state.newer_than("stock", "m", 24.5 * 3600).keys() == set(keys[:-1])
        assert state.keys_of("m", "delta", 12.5 * 3600) == set(other)
        assert state.exported_at_of("m", "stock-3", ["4"]) == 3 * 3600.0  # its errors rows stay
        assert state.previous_keys("m", {f"L{i}" for i in range(7)}, re.compile("x")) == (
            len(keys) - 1,
            7,
        )
        one = len(zlib.compress("\n".join(keys).encode(), 1))
    with closing(sqlite3.connect(tmp_path / STATE_FILE)) as db:
        kept = db.execute("SELECT file FROM exports WHERE length(keys) > 0").fetchall()
        assert sorted(f for (f,) in kept) == ["delta.csv", "stock-24.csv", "stock-25.csv"]
        assert db.execute("SELECT count(*) FROM exports").fetchone() == (26,)
    assert (tmp_path / STATE_FILE).stat().st_size < 4 * one  # 26 exports kept: 26 * one


def test_an_export_forgotten_as_future_gives_back_the_keys_it_took(tmp_path: Path) -> None:
    """The older export of the same keys gave them up to the newer one; a newer one stamped
    ahead of the clock (another machine's) is forgotten: its keys go back, never lost."""
    keys = ["L1|A", "L1|B", "L2|C"]
    now = time.time()
    with KeyState(tmp_path) as state:
        state.record("stock", "m", keys, now - 3600, "stock-0600.csv", [])
        state.record("stock", "m", keys[::-1], now + 3600, "stock-ahead.csv", [])
        assert state.no_future_exports(now) == 1
        older = state.newer_than("stock", "m", now - 7200)
        assert set(older) == set(keys) and {a.file for a in older.values()} == {"stock-0600.csv"}
