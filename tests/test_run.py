"""`konnect-etl run` end to end against the real emulator on loopback."""

from __future__ import annotations

import csv
import json
import shutil
import socket
import subprocess
from datetime import date
from pathlib import Path
from typing import Any

import openpyxl
import pytest
import xlwt
from runs import run, run_process
from typer.testing import CliRunner

from etl import pipeline
from etl.cli import app

ROOT = Path(__file__).resolve().parent.parent
TODAY = date.today().isoformat()


def done(inbox: Path, name: str) -> Path:
    return inbox / "done" / TODAY / name


def summary(inbox: Path, stem: str, where: str = "done") -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(
        (inbox / where / TODAY / f"{stem}.summary.json").read_text()
    )
    return loaded


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def write_csv(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows)
    return path


def test_example_inbox_end_to_end(tmp_path: Path, sandbox: Any) -> None:
    """The README demo: every example file ends in done/ with its reports."""
    inbox = tmp_path / "inbox"
    shutil.copytree(ROOT / "inbox_example", inbox)
    names = sorted(p.name for p in inbox.iterdir())
    result = run(inbox, sandbox)
    assert result.exit_code == 1, result.output  # the examples carry deliberate mistakes
    for name in names:
        stem = Path(name).stem
        assert done(inbox, name).is_file()
        assert summary(inbox, stem)["outcome"] in {"uploaded", "partial"}
    rows = {r["row"]: r for r in read_csv(done(inbox, "stock.result.csv"))}
    assert rows["4"]["status"] == "rejected" and "cannot be negative" in rows["4"]["message"]
    assert rows["7"]["status"] == "failed" and rows["7"]["message"].startswith("X404SKU")
    assert rows["2"]["status"] == "ok"
    state = sandbox.state()
    assert state["stock"]["MUM-ST-02|JN-SLIM-32"] == 8
    assert state["stock"]["MUM-ST-02|SNK-RUN-42"] == 5  # Tally lines of one item were summed
    assert "DEL-WH-01|TS-BLK-L" not in {e["key"] for e in sandbox.ledger()}  # negative: not sent


@pytest.mark.parametrize(
    ("rows", "outcome"),
    [
        ([["DEL-WH-01", "TS-BLK-M", "4"], ["DEL-WH-01", "NO-SUCH-SKU", "1"]], "partial"),
        ([["DEL-WH-01", "NO-SUCH-SKU", "1"], ["DEL-WH-01", "NOR-THIS", "2"]], "failed"),
        ([["DEL-WH-01", "NO-SUCH-SKU", "1"], ["DEL-WH-01", "TS-BLK-M", "-2"]], "failed"),
        ([["DEL-WH-01", "TS-BLK-M", "-2"], ["DEL-WH-01", "TS-BLK-S", "x"]], "rejected"),
    ],
)
def test_the_outcome_says_whether_anything_was_applied(
    tmp_path: Path, sandbox: Any, rows: list[list[str]], outcome: str
) -> None:
    """`partial` only when some rows went through: a job reading summary.json must not take
    a file Konnect refused entirely for a half-done one."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    write_csv(inbox / "stock.csv", [["location_id", "sku", "quantity"], *rows])
    assert run(inbox, sandbox).exit_code == 1
    assert summary(inbox, "stock")["outcome"] == outcome


def test_a_second_file_of_the_same_name_has_a_summary_naming_it(
    tmp_path: Path, sandbox: Any
) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for quantity in ("4", "5"):
        write_csv(
            inbox / "stock.csv",
            [["location_id", "sku", "quantity"], ["DEL-WH-01", "TS-BLK-M", quantity]],
        )
        result = run(inbox, sandbox)
        assert result.exit_code == 0
    # the log names it as the table does, so a grep for the name in done/ finds it
    assert "stock.csv (filed as stock-2.csv): uploaded" in result.output
    second = summary(inbox, "stock-2")
    assert (second["input"], second["received_as"]) == ("stock-2.csv", "stock.csv")
    assert done(inbox, "stock-2.csv").read_text().endswith(",5\n")
    assert summary(inbox, "stock")["input"] == "stock.csv"


def test_title_rows_report_the_row_numbers_excel_shows(tmp_path: Path, sandbox: Any) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    shutil.copy(ROOT / "inbox_example" / "Stock Summary - Tally.xlsx", inbox)
    run(inbox, sandbox)
    from openpyxl import load_workbook

    sheet = load_workbook(done(inbox, "Stock Summary - Tally.errors.xlsx")).active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    header = list(rows[0])
    by_row = {str(r[header.index("row")]): r for r in rows[1:]}
    assert set(by_row) == {"12", "13"}  # Andheri Store (no lookup) and GIFT-WRAP (unknown SKU)
    assert "tally_godowns.csv" in str(by_row["12"][header.index("error")])
    assert summary(inbox, "Stock Summary - Tally")["header_row"] == 5


def test_a_fixed_errors_file_dropped_back_is_accepted(tmp_path: Path, sandbox: Any) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    write_csv(inbox / "stock.csv", [["location_id", "sku", "quantity"],
              ["DEL-WH-01", "TS-BLK-S", "5"], ["DEL-WH-01", "TS-BLK-M", "-2"],
              ["MUM-ST-02", "CAP-RED", "x"]])  # fmt: skip
    run(inbox, sandbox)
    errors = read_csv(done(inbox, "stock.errors.csv"))
    assert [e["row"] for e in errors] == ["3", "4"]
    errors[0]["quantity"], errors[1]["quantity"] = "2", "7"  # the user fixes the cells
    with (inbox / "stock.errors.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(errors[0]))
        writer.writeheader()
        writer.writerows(errors)
    result = run(inbox, sandbox)
    assert result.exit_code == 0, result.output
    # done/ already holds this name (the first run's report), so the input got a unique one
    assert summary(inbox, "stock.errors-2")["rows"] == {
        "total": 2, "ok": 2, "rejected": 0, "failed": 0, "unknown": 0}  # fmt: skip
    assert sandbox.state()["stock"]["MUM-ST-02|CAP-RED"] == 7


def test_every_example_errors_file_dropped_back_as_it_is_is_read_by_its_mapping(
    tmp_path: Path, sandbox: Any
) -> None:
    """Whatever the ERP's encoding, delimiter or sheet, our errors file is a file its own
    mapping reads: a POS's cp1252 `;` export comes back as UTF-8 with a BOM, and is read so."""
    inbox = tmp_path / "inbox"
    shutil.copytree(ROOT / "inbox_example", inbox)
    run(inbox, sandbox)
    again = tmp_path / "again"
    again.mkdir()
    mappings = {}
    for errors in done(inbox, "").glob("*.errors.*"):
        original = errors.name.replace(".errors", "").rsplit(".", 1)[0]
        mappings[errors.name] = summary(inbox, original)["mapping"]
        shutil.copy(errors, again / errors.name)
    assert len(mappings) >= 10 and "pos_price_list.errors.csv" in mappings
    run(again, sandbox)
    for name, mapping in mappings.items():
        assert summary(again, Path(name).stem)["mapping"] == mapping, name


def test_a_semicolon_pos_files_errors_file_opens_in_columns_and_comes_back_saved_by_excel(
    tmp_path: Path, sandbox: Any
) -> None:
    """The POS writes `;`; the shop's Excel (English, India) splits a CSV at `,`: the errors
    file is written with `,` (the mapping's `reports: {delimiter: ","}`), and once fixed and
    saved by that Excel (cp1252, `,`) it is read by the `;` mapping all the same."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    shutil.copy(ROOT / "inbox_example" / "pos_price_list.csv", inbox)
    run(inbox, sandbox)
    errors = done(inbox, "pos_price_list.errors.csv").read_text(encoding="utf-8-sig")
    assert errors.startswith("Store,Item Code,Description,MRP,Selling Price,error,row\n")
    fixed = [
        {**row, "Store": "Bandra West"} if row["Store"] == "Juhu Kiosk" else row
        for row in csv.DictReader(errors.splitlines())
    ]
    assert len(fixed) == 3
    with (inbox / "pos_price_list.errors.csv").open("w", encoding="cp1252", newline="") as out:
        writer = csv.writer(out)  # as Excel saves "CSV (Comma delimited)": no BOM, no `;`
        writer.writerows([list(fixed[0]), *(list(row.values()) for row in fixed)])
    run(inbox, sandbox)
    again = summary(inbox, "pos_price_list.errors-2")  # filed beside the first errors file
    assert again["mapping"] == "pos/price" and again["rows"]["ok"] == 1
    assert sandbox.state()["prices"]["MUM-ST-02|CAP-RED"]["esp"] == 299


def test_the_table_says_why_a_file_was_not_used_at_all(tmp_path: Path, sandbox: Any) -> None:
    """With cron or -q nobody reads the log: a file failed as a whole, or set aside as seen
    before, gets its reason under the table, not only `failed` and dashes."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    shutil.copy(ROOT / "inbox_example" / "pack_list.csv", inbox)
    write_csv(inbox / "shiprocket_export.csv", [["Channel", "Weight"], ["web", "0.5"]])
    first = " ".join(run(inbox, sandbox).output.split())
    assert "Failed shiprocket_export.csv: no mapping fits shiprocket_export.csv" in first
    shutil.copy(ROOT / "inbox_example" / "pack_list.csv", inbox)  # the same file again
    again = " ".join(run(inbox, sandbox).output.split())
    assert (
        "Duplicate pack_list.csv: This file has exactly the same content as 'pack_list.csv'"
        in again
    )
    assert "drop its errors file from next to that report" in again


def test_cells_kept_from_formulas_in_a_csv_errors_file_come_back_as_they_were(
    tmp_path: Path, sandbox: Any
) -> None:
    sandbox.faults(catalogue="open")
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    write_csv(inbox / "stock.csv", [["location_id", "sku", "quantity"],
              ["@DEL-WH-01", "-TS-BLK-S", "x"], ["DEL-WH-01", "'quoted", "y"]])  # fmt: skip
    run(inbox, sandbox)
    errors = read_csv(done(inbox, "stock.errors.csv"))
    assert [(e["location_id"], e["sku"]) for e in errors] == [
        ("'@DEL-WH-01", "'-TS-BLK-S"), ("DEL-WH-01", "'quoted")]  # fmt: skip
    errors[0]["quantity"], errors[1]["quantity"] = "4", "6"  # fixed in Excel, saved as CSV
    with (inbox / "stock.errors.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(errors[0]))
        writer.writeheader()
        writer.writerows(errors)
    assert run(inbox, sandbox).exit_code == 0
    stock = sandbox.state()["stock"]
    assert stock["@DEL-WH-01|-TS-BLK-S"] == 4  # the quote our report added is gone again
    assert stock["DEL-WH-01|'quoted"] == 6  # a quote that was in the data stays


def test_a_file_that_trips_an_internal_error_goes_to_failed_and_the_others_go_on(
    tmp_path: Path, sandbox: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from etl import pipeline

    real_judge = pipeline.judge

    def judge(prepared: Any, results: Any) -> Any:  # a bug that only this file triggers
        if prepared.table.sheet.path.name == "a-poison.csv":
            raise KeyError("surprise")
        return real_judge(prepared, results)

    monkeypatch.setattr(pipeline, "judge", judge)
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for name in ("a-poison.csv", "b-fine.csv"):
        write_csv(
            inbox / name, [["location_id", "sku", "quantity"], ["DEL-WH-01", "TS-BLK-S", "3"]]
        )
    result = run(inbox, sandbox)
    assert result.exit_code == 1, result.output
    assert summary(inbox, "b-fine")["outcome"] == "uploaded"  # not blocked by the other
    failed = inbox / "failed" / TODAY
    assert (failed / "a-poison.csv").is_file()
    assert not list((inbox / "processing").glob("*.csv"))
    [error] = read_csv(failed / "a-poison.errors.csv")
    assert "internal error (KeyError: 'surprise')" in error["error"]
    assert "dropping the file in again under the same name continues" in error["error"]
    # the next run does not trip over it again: nothing is left in processing/
    assert run(inbox, sandbox).exit_code == 0


def test_an_internal_error_while_writing_reports_leaves_no_half_report_in_done(
    tmp_path: Path, sandbox: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from etl import report

    real_summary_json = report.summary_json

    def summary_json(summary: dict[str, Any]) -> bytes:  # after the result file was written
        if summary["outcome"] == "uploaded":
            raise MemoryError
        return real_summary_json(summary)

    monkeypatch.setattr(report, "summary_json", summary_json)
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    write_csv(
        inbox / "stock.csv", [["location_id", "sku", "quantity"], ["DEL-WH-01", "TS-BLK-S", "3"]]
    )
    assert run(inbox, sandbox).exit_code == 1
    assert not list((inbox / "done").rglob("stock.*"))
    failed = inbox / "failed" / TODAY
    assert (failed / "stock.csv").is_file()
    assert "ran out of memory" in summary(inbox, "stock", "failed")["file_errors"][0]


def test_injected_500s_are_retried_to_success(tmp_path: Path, sandbox: Any) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    skus = ["TS-BLK-S", "TS-BLK-M", "TS-BLK-L", "TS-WHT-M", "CAP-RED", "BAG-TOTE"]
    rows = [["location_id", "sku", "quantity"]]
    rows += [
        [loc, sku, str(i)]
        for i, (loc, sku) in enumerate(
            (loc, sku) for loc in ("DEL-WH-01", "MUM-ST-02", "BLR-ST-03") for sku in skus
        )
    ]
    write_csv(inbox / "stock.csv", rows)
    sandbox.faults(error_rate=0.5, fault_seed=1)  # with this seed: 500, 5xx, then success
    result = run(inbox, sandbox)
    assert result.exit_code == 0, result.output
    assert summary(inbox, "stock")["rows"]["ok"] == 18
    assert len(sandbox.ledger()) == 18  # refused attempts applied nothing
    # the log: the first retry at INFO, the next at DEBUG, and how many at the end (a long
    # outage in `watch` would otherwise fill the log's rotation with retries)
    log = (inbox / ".konnect-etl" / "logs" / "konnect-etl.log").read_text()
    retries = [line for line in log.splitlines() if "trying again in" in line]
    assert len(retries) == 1 and "INFO etl.upload: stock.csv: chunk 0: " in retries[0]
    said = "INFO etl.upload: stock.csv: 2 requests tried again after a failure (each logged at"
    assert said in log


def test_429_is_honoured_until_everything_is_applied(tmp_path: Path, sandbox: Any) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    sandbox.faults(catalogue="open", rate_limit=2)
    rows = [["location_id", "sku", "quantity"]] + [["BLR-ST-03", f"S{i}", "2"] for i in range(1500)]
    write_csv(inbox / "stock.csv", rows)
    result = run(inbox, sandbox)
    assert result.exit_code == 0, result.output
    assert summary(inbox, "stock")["chunks"] == {
        "total": 3,
        "acknowledged": 3,
        "settled_by_lookup": 0,
    }
    assert len(sandbox.ledger()) == 1500


def test_big_file_is_sent_in_chunks_of_at_most_500(tmp_path: Path, sandbox: Any) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    sandbox.faults(catalogue="open")
    rows = [["location_id", "sku", "quantity"]] + [["DEL-WH-01", f"S{i}", "1"] for i in range(1201)]
    write_csv(inbox / "big.csv", rows)
    result = run(inbox, sandbox)
    assert result.exit_code == 0, result.output  # more than 500 records would be a 400
    assert summary(inbox, "big")["chunks"] == {
        "total": 3,
        "acknowledged": 3,
        "settled_by_lookup": 0,
    }
    assert len(sandbox.ledger()) == 1201


def test_an_old_xls_file_is_read_and_uploaded(tmp_path: Path, sandbox: Any) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    book = xlwt.Workbook()
    sheet = book.add_sheet("stock")
    for r, row in enumerate([["location_id", "sku", "quantity"], ["BLR-ST-03", "CAP-RED", 9]]):
        for c, value in enumerate(row):
            sheet.write(r, c, value)
    book.save(str(inbox / "legacy.xls"))
    assert run(inbox, sandbox).exit_code == 0
    assert done(inbox, "legacy.result.xlsx").is_file()
    assert sandbox.state()["stock"]["BLR-ST-03|CAP-RED"] == 9


def test_a_file_no_mapping_matches_goes_to_failed_with_the_reason(
    tmp_path: Path, sandbox: Any
) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    write_csv(inbox / "mystery.csv", [["Colour", "Size"], ["red", "M"]])
    assert run(inbox, sandbox).exit_code == 1
    failed = inbox / "failed" / TODAY
    assert (failed / "mystery.csv").is_file()
    report = summary(inbox, "mystery", "failed")
    assert report["outcome"] == "failed" and "mapping" in report["file_errors"][0]
    assert "mapping" in (failed / "mystery.errors.csv").read_text(encoding="utf-8-sig")


def test_an_empty_export_fails_as_a_whole_never_zero_rows_success(
    tmp_path: Path, sandbox: Any
) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    write_csv(inbox / "stock.csv", [["location_id", "sku", "quantity"]])
    assert run(inbox, sandbox).exit_code == 1
    assert summary(inbox, "stock", "failed")["outcome"] == "failed"
    assert sandbox.ledger() == []


def test_formula_cells_are_neutralised_in_reports(tmp_path: Path, sandbox: Any) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    evil = '=HYPERLINK("http://evil")'
    rows = [["location_id", "sku", "quantity"], ["DEL-WH-01", evil, "1"], ["X", "@SUM(A1)", "-4"]]
    write_csv(inbox / "stock.csv", rows)
    run(inbox, sandbox)
    text = done(inbox, "stock.result.csv").read_text(encoding="utf-8-sig")
    assert "'=HYPERLINK" in text and "'@SUM" in text
    assert "\n=" not in text and ",=" not in text and ",@" not in text


def test_konnect_unreachable_stops_the_run_and_the_file_waits_for_the_next(
    tmp_path: Path, sandbox: Any
) -> None:
    """An outage (or a wrong address) is not the rows' fault: they are not marked failed and
    the file is not filed in done/ for someone to drop again - the next run sends it."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "konnect-etl.yaml").write_text("retries: 1\n")
    write_csv(
        inbox / "stock.csv", [["location_id", "sku", "quantity"], ["DEL-WH-01", "TS-BLK-M", "6"]]
    )
    with socket.socket() as closed:  # a port nothing listens on
        closed.bind(("127.0.0.1", 0))
        env = {
            "KONNECT_TOKEN": sandbox.token,
            "KONNECT_BASE_URL": f"http://127.0.0.1:{closed.getsockname()[1]}",
        }
        down = CliRunner().invoke(app, ["run", str(inbox), "--settle", "0"], env=env)
    assert down.exit_code == 2
    assert "could not reach Konnect" in down.output and "waits in processing/" in down.output
    assert (inbox / "processing" / "stock.csv").is_file() and not (inbox / "done").exists()
    # stderr is lost under cron and Task Scheduler: the log says why the run stopped too
    logged = (inbox / ".konnect-etl" / "logs" / "konnect-etl.log").read_text(encoding="utf-8")
    (stop,) = [line for line in logged.splitlines() if "stopped (exit 2)" in line]
    assert "ERROR" in stop and "could not reach Konnect" in stop and "waits in processing/" in stop
    assert run(inbox, sandbox).exit_code == 0
    assert summary(inbox, "stock")["rows"]["ok"] == 1
    assert sandbox.state()["stock"]["DEL-WH-01|TS-BLK-M"] == 6


def test_wrong_token_stops_the_run_and_leaves_the_file_untouched(
    tmp_path: Path, sandbox: Any
) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    original = write_csv(inbox / "stock.csv", [["location_id", "sku", "quantity"],
                         ["DEL-WH-01", "TS-BLK-S", "3"]]).read_bytes()  # fmt: skip
    result = run(inbox, sandbox, token="not-the-token")
    assert result.exit_code == 2
    assert (inbox / "stock.csv").read_bytes() == original
    assert not (inbox / "done").exists() and not (inbox / "failed").exists()
    assert "not-the-token" not in result.output


def test_no_credentials_exits_2_saying_what_to_set(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["run", str(tmp_path)], env={"KONNECT_TOKEN": ""})
    assert result.exit_code == 2
    assert "KONNECT_TOKEN" in result.output and "--sandbox" in result.output


def test_the_token_never_appears_in_output_logs_or_reports(tmp_path: Path, sandbox: Any) -> None:
    inbox = tmp_path / "inbox"
    shutil.copytree(ROOT / "inbox_example", inbox)
    result = run(inbox, sandbox, "-v")
    assert sandbox.token not in result.output
    for path in inbox.rglob("*"):
        if path.is_file() and path.suffix != ".sqlite3":
            assert sandbox.token.encode() not in path.read_bytes(), path


def test_dry_run_uploads_nothing_and_moves_nothing(tmp_path: Path, sandbox: Any) -> None:
    inbox = tmp_path / "inbox"
    shutil.copytree(ROOT / "inbox_example", inbox)
    before = sorted(p.name for p in inbox.iterdir())
    result = CliRunner().invoke(app, ["run", str(inbox), "--dry-run", "--settle", "0"])
    assert result.exit_code == 1  # the examples have invalid rows
    assert sorted(p.name for p in inbox.iterdir() if p.name != ".konnect-etl") == before
    assert sandbox.ledger() == []
    assert (inbox / ".konnect-etl" / "dry-run" / "stock.result.csv").is_file()
    assert f"Reports: {inbox / '.konnect-etl' / 'dry-run'}" in " ".join(result.stdout.split())


@pytest.mark.parametrize("command", ["run", "validate", "sandbox", "template", "mappings", "demo"])
def test_every_command_has_help_with_an_example(command: str) -> None:
    result = CliRunner().invoke(app, [command, "--help"])
    assert result.exit_code == 0 and "Example" in result.output


def test_a_damaged_workbook_fails_with_the_readers_reason_not_no_mapping(
    tmp_path: Path, sandbox: Any
) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "stock.xlsx").write_bytes(b"PK\x03\x04\x14\x00" + bytes(200))  # cut short
    assert run(inbox, sandbox).exit_code == 1
    errors = summary(inbox, "stock", "failed")["file_errors"]
    assert "not a readable Excel workbook" in errors[0] and "no mapping" not in errors[0]


def test_leading_zeros_kept_for_excel_with_equals_quotes_reach_konnect_as_shown(
    tmp_path: Path, sandbox: Any
) -> None:
    sandbox.faults(catalogue="open")
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "stock.csv").write_text('location_id,sku,quantity\nDEL-WH-01,="00123",="5"\n')
    assert run(inbox, sandbox).exit_code == 0
    [sent] = [entry["record"] for entry in sandbox.ledger()]
    assert sent == {"location_id": "DEL-WH-01", "sku": "00123", "quantity": 5}
    # and the result file, for programs, has the value as read (what Konnect got)
    assert read_csv(done(inbox, "stock.result.csv"))[0]["sku"] == "00123"


def test_rows_an_export_writes_after_the_file_was_taken_are_not_lost(
    tmp_path: Path, sandbox: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The export paused longer than the settle time, the file was taken and read, then it
    wrote on (through its open handle): the file goes back to the inbox, taken again whole."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    writer = (inbox / "stock.csv").open("w", encoding="utf-8")
    writer.write("location_id,sku,quantity\nDEL-WH-01,TS-BLK-S,1\n")
    writer.flush()
    upload = pipeline.upload

    def write_on_while_uploading(*args: Any, **kwargs: Any) -> Any:
        if not writer.closed:  # the rows were read; the export writes on
            writer.write("DEL-WH-01,TS-BLK-M,2\nDEL-WH-01,TS-BLK-L,3\n")
            writer.close()
        return upload(*args, **kwargs)

    monkeypatch.setattr(pipeline, "upload", write_on_while_uploading)
    run(inbox, sandbox)
    assert (inbox / "stock.csv").is_file()  # back in the inbox, not in done/ as "uploaded"
    assert not list(inbox.glob("done/*/stock*"))  # no report of a file that is not there
    assert run(inbox, sandbox).exit_code == 0
    stock = sandbox.state()["stock"]
    assert [stock["DEL-WH-01|TS-BLK-" + size] for size in "SML"] == [1, 2, 3]


def test_order_rows_an_export_adds_while_the_file_is_read_are_sent_when_it_is_taken_again(
    tmp_path: Path, sandbox: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rows appended just after the file was read: the journal must not record the whole
    file as done, or the file, taken again whole, is set aside as a duplicate and its late
    orders never reach Konnect."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    orders = [f"11{n:018d}" for n in (1, 3, 5, 7)]
    lines = [f"{o},{o}-1,1\n" for o in orders]
    (inbox / "confirm.csv").write_text("orderId,orderItemId,quantity\n" + "".join(lines[:2]))
    prepare = pipeline.prepare

    def export_writes_on(path: Path, job: Any) -> Any:
        prepared = prepare(path, job)
        if len(prepared.table.data) == 2:  # read; the export writes its last rows
            with path.open("a", encoding="utf-8") as handle:
                handle.write("".join(lines[2:]))
        return prepared

    monkeypatch.setattr(pipeline, "prepare", export_writes_on)
    run(inbox, sandbox)
    assert (inbox / "confirm.csv").is_file()  # given back, to be taken again whole
    assert run(inbox, sandbox).exit_code == 0
    assert not (inbox / "duplicates").exists()
    found = sandbox.state()["orders"]
    assert [found[o]["state"] for o in orders] == ["bag_confirmed"] * 4


def test_a_konnect_answering_only_5xx_keeps_the_file_for_the_next_run(
    tmp_path: Path, sandbox: Any
) -> None:
    """Maintenance: every request answered 5xx. The file is not used up with every row
    failed/unknown: it waits in processing/ (exit 2), and the next run sends it."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "konnect-etl.yaml").write_text("retries: 1\n")
    (inbox / "stock.csv").write_text("location_id,sku,quantity\nDEL-WH-01,TS-BLK-S,4\n")
    sandbox.faults(error_rate=1.0)
    down = run(inbox, sandbox)
    assert down.exit_code == 2 and (inbox / "processing" / "stock.csv").is_file()
    assert "Nothing of stock.csv is lost" in down.output
    sandbox.faults(error_rate=0.0)
    assert run(inbox, sandbox).exit_code == 0
    assert sandbox.state()["stock"]["DEL-WH-01|TS-BLK-S"] == 4


def test_a_name_the_console_cannot_print_does_not_break_a_finished_run(
    tmp_path: Path, sandbox: Any
) -> None:
    """Task Scheduler redirects stdout in the Windows code page (cp1252): a `₹` in a file
    name printed in the table is shown as `?`, and the run's exit code stays the files'."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    write_csv(inbox / "stock ₹ list.csv", [["location_id", "sku", "quantity"],
              ["DEL-WH-01", "TS-BLK-M", "6"]])  # fmt: skip
    command, env = run_process(inbox, sandbox)
    done_run = subprocess.run(
        command, env={**env, "PYTHONIOENCODING": "cp1252"}, capture_output=True, timeout=120
    )
    assert done_run.returncode == 0, done_run.stderr.decode("cp1252", "replace")
    assert b"stock ? list.csv" in done_run.stdout and b"Traceback" not in done_run.stderr
    assert summary(inbox, "stock ₹ list")["outcome"] == "uploaded"


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_a_result_report_dropped_back_fails_saying_to_drop_the_errors_file(
    tmp_path: Path, sandbox: Any, kind: str
) -> None:
    """Someone fixes the result report (every row) instead of the errors file and drops it
    back, renamed by a download or not: it is not left waiting unseen, nor are its ok rows
    sent again - it fails, saying which file to drop instead."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    rows = [["location_id", "sku", "quantity"], ["DEL-WH-01", "TS-BLK-S", "zz"],
            ["DEL-WH-01", "TS-BLK-M", "4"]]  # fmt: skip
    if kind == "csv":
        write_csv(inbox / "stock.csv", rows)
    else:
        book = openpyxl.Workbook()
        for row in rows:
            book.active.append(row)  # type: ignore[union-attr]
        book.save(inbox / "stock.xlsx")
    assert run(inbox, sandbox).exit_code == 1
    sent = len(sandbox.ledger())
    report = done(inbox, f"stock.result.{kind}")
    shutil.copy(report, inbox / report.name)
    shutil.copy(report, inbox / f"stock.result (1).{kind}")
    again = run(inbox, sandbox)
    assert again.exit_code == 1 and len(sandbox.ledger()) == sent
    for stem in ("stock.result", "stock.result (1)"):
        found = summary(inbox, stem, "failed")
        assert found["outcome"] == "failed"
        assert found["file_errors"][0].startswith("this is a result report of konnect-etl")
        assert "errors file next to it in done/" in found["file_errors"][0]
    assert sorted(p.name for p in inbox.iterdir() if p.is_file()) == []
