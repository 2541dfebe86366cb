"""The benchmark's synthetic files are files the tool accepts, and the fast paths it measures
give the same answers as the plain ones."""

from __future__ import annotations

import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import orjson
import pandas as pd
import pyarrow as pa
import pytest
from openpyxl import load_workbook

from etl.bodies import record_keys
from etl.reportsheet import ReportSheet
from etl.xlsxreport import write_xlsx

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
import synth
from measure import Clock, process

from etl.config import Settings
from etl.job import Job
from etl.session import all_mappings


@pytest.mark.parametrize(("feed", "kind"), [("stock", "csv"), ("price", "xlsx")])
def test_synthetic_files_are_valid_and_reach_every_report(
    tmp_path: Path, feed: str, kind: str
) -> None:
    path = synth.make(tmp_path, feed, 120, kind)
    clock = Clock()
    result = process(path, Job(all_mappings(Settings())), clock)
    assert result["rows"]["ok"] == 120 and result["rows"]["total"] == 120
    assert [p["phase"] for p in clock.phases] == [
        "read", "map", "validate", "request bodies", "reports",
    ]  # fmt: skip
    assert (tmp_path / f"{path.stem}.result.{kind}").exists()


def test_record_keys_read_a_run_of_rows_and_scattered_rows_alike() -> None:
    frame = pd.DataFrame(
        {"location_id": pd.Series(["A", "B", "C", "D"], dtype="str"), "sku": ["1", "2", "3", "4"]}
    )
    fields = ("location_id", "sku")
    assert record_keys(frame, fields, np.array([1, 2, 3])) == ["B|2", "C|3", "D|4"]
    assert record_keys(frame, fields, np.array([3, 0, 1])) == ["D|4", "A|1", "B|2"]
    assert record_keys(frame, fields, np.array([], dtype=np.int64)) == []


def test_xlsx_report_keeps_ids_as_text_and_rows_as_numbers(tmp_path: Path) -> None:
    columns = [pd.Series(["0012", "", "=1"], dtype="str"), pd.Series([2, 3, 4], dtype="int64")]
    sheet = ReportSheet(["sku", "row"], columns, ["ok", "ok", "ok"], 1)
    write_xlsx(tmp_path / "r.xlsx", sheet)
    ws = load_workbook(tmp_path / "r.xlsx").active
    assert [[c.value for c in row] for row in ws.iter_rows()] == [
        ["sku", "row"], ["0012", 2], [None, 3], ["=1", 4],
    ]  # fmt: skip
    assert ws["A4"].data_type == "s" and ws["A4"].quotePrefix


def test_many_more_chunks_than_workers_all_arrive_once_and_in_order(
    sandbox: Any, tmp_path: Path
) -> None:
    from etl.clientsettings import ClientSettings
    from etl.journal import Journal
    from etl.konnect import ENDPOINTS
    from etl.upload import run_upload

    skus = ["TS-BLK-S", "TS-BLK-M", "TS-BLK-L", "CAP-RED"]
    bodies = [
        orjson.dumps([{"location_id": "DEL-WH-01", "sku": s, "quantity": i} for s in skus])
        for i in range(40)
    ]
    chunks = [
        SimpleNamespace(index=i, body=b, record_count=len(skus)) for i, b in enumerate(bodies)
    ]
    settings = ClientSettings(sandbox.url, token=sandbox.token, concurrency=3)
    with Journal(tmp_path / "journal.sqlite3") as journal:
        file_id = journal.begin_file("abc", "stock.csv", "stock", "generic/stock")
        results = run_upload(
            settings,
            ENDPOINTS["inventory"],
            chunks,
            keys_of=lambda c: [f"DEL-WH-01|{s}" for s in skus],
            journal=journal,
            file_id=file_id,
        )
        settled = journal.chunk_results(file_id)
        assert journal.inflight(file_id) == {}  # stock is resent after a crash: no marks
    assert [r.index for r in results] == list(range(40))
    assert all(r.state == "acknowledged" and not r.record_errors for r in results)
    assert sorted(settled) == list(range(40))
    ledger = sandbox.ledger()
    assert len(ledger) == 160 and {e["outcome"] for e in ledger} == {"applied"}


def test_duplicate_keys_are_found_across_arrow_chunks() -> None:
    from etl.duplicates import duplicate_groups, key_codes

    def column(*parts: list[str | None]) -> pd.Series:
        chunked = pa.chunked_array([pa.array(p, type=pa.large_string()) for p in parts])
        return pd.Series(pd.arrays.ArrowStringArray(chunked))

    locations = column(["A", "A"], ["B", "A", "A"])
    work = pd.DataFrame({"location_id": locations, "sku": column(["1", "2"], ["1", None, "2"])})
    codes = key_codes(work, ("location_id", "sku"))
    assert codes[3] == -1
    assert [g.tolist() for g in duplicate_groups(codes)] == [[1, 4]]
