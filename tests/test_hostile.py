"""Hostile and broken files: every one ends in failed/ (or with its bad rows rejected) with a
clear report, within bounded time and memory, and the watcher keeps running.

The corpus is tests/data/hostile/ (rebuilt by make_hostile.py); a 50 MB single line and a
symlink that points outside the inbox are made here at test time. The whole corpus is dropped
into the inbox of one real `konnect-etl watch` process whose address space is capped, so a zip
bomb or a dense-grid workbook would kill it instead of passing quietly; once every file is
filed away the watcher must still be alive and take a good file as usual.
"""

from __future__ import annotations

import csv
import json
import os
import resource
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from watchproc import stop, wait_for

from etl.config import Settings
from etl.inbox import Inbox
from etl.job import Job
from etl.limits import Limits, use_limits
from etl.pipeline import process
from etl.readers import read_sheet
from etl.session import all_mappings

CORPUS = Path(__file__).resolve().parent / "data" / "hostile"
TODAY = date.today().isoformat()
MEMORY_CAP = 8 * 1024**3  # address space: a safety net that kills a runaway watcher
PEAK_MEMORY_MB = 1500  # what the watcher may really use (peak resident set) on the corpus
FIFTY_MB = 50 * 1024 * 1024

# file -> words its report must say (it ends in failed/)
FAILS = {
    "empty.csv": "the file is empty",
    "bom-only.csv": "the file is empty",
    "header-only.csv": "header but no data rows",
    "header-only-workbook.xlsx": "header but no data rows",
    "blank-lines-only.csv": "is empty",
    "binary-junk.csv": "not a text (CSV) file",
    "binary-junk-named-xlsx.xlsx": "not a readable Excel workbook",
    "html-named.xls": "header lacks 'location_id', 'quantity'",  # read as the web page it is
    "html-huge-colspan.xls": "a row has 9,999 columns (the limit is 500)",
    "xml-2003-entity-expansion.xls": "amplification factor",
    "xml-2003-external-entity.xls": "undefined entity &xxe;",
    "xml-2003-sparse-rows.xls": "a row number reaches 5,000,000",
    "xml-2003-unclosed.xls": "this XML spreadsheet is damaged or incomplete",
    "nul-bytes-in-text.csv": "binary data (NUL bytes)",
    "mixed-encodings.csv": "mixes text encodings: line 3",
    "duplicate-headers.csv": "column 'sku' appears twice",
    "blank-headers.csv": "lacks 'sku'",
    "unclosed-quote.csv": "cannot be read as CSV",
    "too-many-columns.csv": "first line has 600 columns (the limit is 500)",
    "cell-too-long.csv": "holds 40,000 characters",
    "truncated.xlsx": "not a readable Excel workbook",
    "zip-without-workbook.xlsx": "this is a zip archive holding readme.txt, not a spreadsheet",
    "password-protected.xlsx": "password-protected workbooks cannot be read",
    "zip-bomb.xlsx": "a 'zip bomb'",
    "zip-bomb-lying-sizes.xlsx": "Bad CRC-32",
    "entity-expansion.xlsx": "unrecognized entity",
    "external-entity.xlsx": "unrecognized entity",
    "sparse-huge-grid.xlsx": "200,000 rows x 312 columns (the limit is 30,000,000 cells)",
    "sparse-single-quotes.xlsx": "200,000 rows x 312 columns",  # r='...': XML allows it
    "sparse-sheet-elsewhere.xlsx": "200,000 rows x 312 columns",  # not in xl/worksheets/
    "xls-cell-past-the-sheet.xls": "a cell sits in column 20,001, past the 256 columns",
    "ods-repeated-cells.ods": "a sheet spans 200,002 rows x 495 columns",  # 1 KB of repeats
    "one-50mb-line.csv": "holds 52,428,8",
}
# file -> row counts its summary must show (it ends in done/, bad rows rejected or failed)
ROWS = {
    "utf16-without-bom.csv": {"total": 1, "ok": 1},
    "ragged-rows.csv": {"total": 3, "ok": 1, "rejected": 2},  # 1,extra: a shifted row
    # U+202E and an ANSI escape (\x1b[31m) in a SKU: both refused before sending
    "control-characters.csv": {"total": 2, "ok": 0, "rejected": 2, "failed": 0},
    "text-named.xlsx": {"total": 1, "ok": 1},  # a CSV named .xlsx: read as the text it is
    "exponent-and-words.csv": {"total": 2, "ok": 0, "rejected": 2},  # 1e5: no quantity
    "formula-cells.csv": {"total": 5, "ok": 0},
    "formulas.xlsx": {"total": 2, "rejected": 2},
    "merged-cells.xlsx": {"total": 2, "ok": 1, "rejected": 1},
    "hidden-sheet.xlsx": {"total": 1, "ok": 1},
    "entity-expansion-in-workbook.xlsx": {"total": 1, "ok": 1},
    "web-page-export.xls": {"total": 2, "ok": 1, "rejected": 1},  # cp1252, &nbsp; = empty
}
DANGEROUS_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass
class CorpusRun:
    inbox: Path
    outside: Path
    watcher: subprocess.Popen[bytes]
    log: Path
    ledger: list[dict[str, Any]]

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def _cap_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))


def start_watcher(inbox: Path, sandbox: Any, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "KONNECT_TOKEN": sandbox.token, "KONNECT_BASE_URL": sandbox.url}
    args = [sys.executable, "-m", "etl", "watch", str(inbox), "--poll", "0.5", "--settle", "0.5"]
    with log.open("wb") as out:
        return subprocess.Popen(
            args, env=env, stdout=out, stderr=subprocess.STDOUT, preexec_fn=_cap_memory
        )


def drop_corpus(inbox: Path, outside: Path) -> None:
    """Each file is written beside the inbox and renamed in, as a careful export job does."""
    staging = inbox.parent / "staging"
    staging.mkdir()
    for name in [*FAILS, *ROWS]:
        if (CORPUS / name).exists():
            shutil.copy(CORPUS / name, staging / name)
    with (staging / "one-50mb-line.csv").open("wb") as handle:
        handle.write(b"location_id,sku,quantity")
        handle.write(b"A" * FIFTY_MB)
    for path in staging.iterdir():
        path.rename(inbox / path.name)
    (outside / "secret-stock.csv").write_text("location_id,sku,quantity\nDEL-WH-01,TS-WHT-M,77\n")
    (inbox / "linked-stock.csv").symlink_to(outside / "secret-stock.csv")


def all_filed(inbox: Path) -> bool:
    names = {p.name for p in inbox.glob("*/*/*.summary.json")}
    return all(f"{Path(n).stem}.summary.json" in names for n in [*FAILS, *ROWS])


@pytest.fixture(scope="module")
def corpus_run(
    tmp_path_factory: pytest.TempPathFactory, sandbox_server: Any
) -> Iterator[CorpusRun]:
    sandbox_server.reset()
    root = tmp_path_factory.mktemp("hostile")
    inbox, outside = root / "inbox", root / "outside"
    inbox.mkdir()
    outside.mkdir()
    watcher = start_watcher(inbox, sandbox_server, root / "watch.log")
    try:
        drop_corpus(inbox, outside)
        wait_for(lambda: all_filed(inbox) or watcher.poll() is not None, 240, "the corpus")
        yield CorpusRun(inbox, outside, watcher, root / "watch.log", sandbox_server.ledger())
    finally:
        stop(watcher)


def summary_of(run: CorpusRun, name: str, where: str) -> dict[str, Any]:
    path = run.inbox / where / TODAY / f"{Path(name).stem}.summary.json"
    assert path.is_file(), f"{name}: no summary in {where}/ ({run.output()[-2000:]})"
    loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return loaded


def test_the_corpus_has_at_least_30_defects() -> None:
    committed = {p.name for p in CORPUS.iterdir() if p.name != "make_hostile.py"}
    assert committed <= set(FAILS) | set(ROWS)
    assert len(FAILS) + len(ROWS) + 2 >= 36  # + the symlink and the vanishing file


def peak_memory_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    kilobytes = next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM"))
    return int(kilobytes) / 1024


def test_the_watcher_files_every_file_and_keeps_running(corpus_run: CorpusRun) -> None:
    assert corpus_run.watcher.poll() is None, corpus_run.output()[-3000:]
    assert peak_memory_mb(corpus_run.watcher.pid) < PEAK_MEMORY_MB
    assert "Traceback" not in corpus_run.output()
    left = sorted(p.name for p in corpus_run.inbox.iterdir() if p.is_file())
    assert left == ["linked-stock.csv"]  # everything else was taken and filed away
    assert list((corpus_run.inbox / "processing").iterdir()) == []


@pytest.mark.parametrize("name", sorted(FAILS))
def test_broken_file_ends_in_failed_with_a_clear_report(corpus_run: CorpusRun, name: str) -> None:
    summary = summary_of(corpus_run, name, "failed")
    assert summary["outcome"] == "failed"
    assert FAILS[name] in summary["file_errors"][0]
    folder = corpus_run.inbox / "failed" / TODAY
    assert (folder / name).is_file()  # the input itself, next to its report
    assert list(folder.glob(f"{Path(name).stem}.errors.*")), "no errors file for the user"


@pytest.mark.parametrize("name", sorted(ROWS))
def test_damaged_rows_are_rejected_and_the_rest_uploaded(corpus_run: CorpusRun, name: str) -> None:
    summary = summary_of(corpus_run, name, "done")
    rows = summary["rows"]
    assert {k: rows[k] for k in ROWS[name]} == ROWS[name]
    assert rows["ok"] + rows["rejected"] + rows["failed"] + rows["unknown"] == rows["total"]


def test_formula_cells_are_neutralised_in_the_reports(corpus_run: CorpusRun) -> None:
    folder = corpus_run.inbox / "done" / TODAY
    for report in ("formula-cells.errors.csv", "formula-cells.result.csv"):
        with (folder / report).open(encoding="utf-8-sig", newline="") as handle:
            cells = [cell for row in csv.reader(handle) for cell in row]
        assert '\'=HYPERLINK("http://x")' in cells
        assert not [c for c in cells if c.startswith(DANGEROUS_START)]


def test_hidden_sheet_is_not_read(corpus_run: CorpusRun) -> None:
    from openpyxl import load_workbook

    sheet = load_workbook(corpus_run.inbox / "done" / TODAY / "hidden-sheet.result.xlsx").active
    assert sheet is not None
    assert [r[2] for r in sheet.iter_rows(values_only=True)] == ["quantity", "7"]


def test_external_entities_are_never_resolved(corpus_run: CorpusRun) -> None:
    folder = corpus_run.inbox / "failed" / TODAY
    for report in folder.glob("external-entity.*"):
        if report.suffix != ".xlsx" or report.name.endswith(".errors.xlsx"):
            assert b"root:" not in report.read_bytes()


def test_a_symlink_in_the_inbox_is_never_followed_or_touched(corpus_run: CorpusRun) -> None:
    link = corpus_run.inbox / "linked-stock.csv"
    assert link.is_symlink()
    target = corpus_run.outside / "secret-stock.csv"
    assert target.read_text() == "location_id,sku,quantity\nDEL-WH-01,TS-WHT-M,77\n"
    assert sorted(p.name for p in corpus_run.outside.iterdir()) == ["secret-stock.csv"]
    assert "DEL-WH-01|TS-WHT-M" not in {e["key"] for e in corpus_run.ledger}


def test_the_watcher_then_takes_a_good_file_as_usual(corpus_run: CorpusRun) -> None:
    (corpus_run.inbox / "after.csv").write_text("location_id,sku,quantity\nBLR-ST-03,CAP-RED,4\n")
    summary = corpus_run.inbox / "done" / TODAY / "after.summary.json"
    wait_for(summary.is_file, 60, "after.csv")
    assert json.loads(summary.read_text())["outcome"] == "uploaded"
    assert corpus_run.watcher.poll() is None
    assert stop(corpus_run.watcher) == 0  # a clean stop on SIGTERM


def test_a_file_that_vanishes_while_being_read_gets_a_report(tmp_path: Path) -> None:
    inbox = Inbox(tmp_path)
    inbox.prepare()
    gone = inbox.processing / "gone.csv"  # claimed, then deleted by someone else
    job = Job(all_mappings(Settings()), None, None)
    result = process(gone, job, lambda kind: (inbox.outcome_dir(kind, date.today()), "gone"))
    assert result.outcome == "failed"
    assert "cannot be opened" in result.summary["file_errors"][0]


def test_a_run_survives_a_file_that_vanishes_after_it_was_claimed(tmp_path: Path) -> None:
    from etl.claimed import process_claimed

    inbox = Inbox(tmp_path)
    inbox.prepare()
    job = Job(all_mappings(Settings()), None, None)
    result = process_claimed(inbox, inbox.processing / "gone.csv", job)
    assert result.outcome == "failed"


def test_limits_can_be_lowered_and_say_which_was_exceeded(tmp_path: Path) -> None:
    from etl.errors import InputError

    path = tmp_path / "stock.csv"
    path.write_text("location_id,sku,quantity\n" + "DEL-WH-01,S,1\n" * 20)
    cases = [
        (Limits(max_rows=10), "it has 21 rows (the limit is 10 rows)"),
        (Limits(max_columns=2), "first line has 3 columns (the limit is 2)"),
        (Limits(max_cell_chars=5), "holds 11 characters"),
        (Limits(max_file_mb=0.0001), "MB (the limit is 0.0001 MB)"),
    ]
    for limits, words in cases:
        with use_limits(limits), pytest.raises(InputError, match=r"too large") as raised:
            read_sheet(path)
        assert words in str(raised.value) and raised.value.code == "too_big"
    assert read_sheet(path).cells.shape == (21, 3)  # the defaults let it through


def test_a_csv_of_far_more_lines_than_rows_allowed_is_refused_before_it_is_parsed(
    tmp_path: Path,
) -> None:
    """A file of blank lines or of `,,` took gigabytes to parse before its rows were
    counted: its lines are counted first. Quoted line breaks leave room (4 lines a row)."""
    from etl.errors import InputError

    blank = tmp_path / "blank.csv"
    blank.write_bytes(b"location_id,sku,quantity\n" + b",,\n" * 41)
    with use_limits(Limits(max_rows=10)), pytest.raises(InputError, match="too large") as raised:
        read_sheet(blank)
    assert "it has 42 lines (the limit is 10 rows)" in str(raised.value)
    notes = tmp_path / "notes.csv"  # 9 rows of 4 lines each: a quoted cell of 3 line breaks
    notes.write_bytes(b"location_id,sku,quantity\n" + b'L,S,"1\n\n\n"\n' * 9)
    with use_limits(Limits(max_rows=10)):
        assert read_sheet(notes).cells.shape == (10, 3)


def test_a_csv_line_far_wider_than_the_rest_is_named_by_its_line(tmp_path: Path) -> None:
    """One line of 600 fields in a 4-line file was "too large ... split it into smaller
    files"; one of 5,000,002 fields gave pandas' tokenizer text."""
    from etl.errors import InputError

    head = b"location_id,sku,quantity\nDEL-WH-01,A,1\n"
    for fields, limit in ((600, "more than the 500 columns a file may have, "), (5_000_002, "")):
        path = tmp_path / f"wide-{fields}.csv"
        path.write_bytes(head + b",".join([b"x"] * fields) + b"\nDEL-WH-01,B,2\n")
        with pytest.raises(InputError) as raised:
            read_sheet(path)
        assert str(raised.value).startswith(
            f"line 3 has {fields:,} fields, {limit}where the first line has 3: a text with"
            " separators not in quotes, or lines run together? Fix that line in the export"
        )


def test_limits_come_from_the_config_file_and_send_the_file_to_failed(
    tmp_path: Path, sandbox: Any
) -> None:
    from typer.testing import CliRunner

    from etl.cli import app
    from etl.config import load_settings
    from etl.errors import ConfigError
    from etl.limits import DEFAULT_LIMITS, configure

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "konnect-etl.yaml").write_text("limits:\n  max_rows: 3\n  max_file_mb: 5\n")
    assert load_settings(inbox=inbox, environ={}).limits == Limits(max_rows=3, max_file_mb=5)
    (inbox / "stock.csv").write_text("location_id,sku,quantity\n" + "DEL-WH-01,CAP-RED,1\n" * 3)
    env = {"KONNECT_TOKEN": sandbox.token, "KONNECT_BASE_URL": sandbox.url}
    try:
        result = CliRunner().invoke(app, ["run", str(inbox), "--settle", "0"], env=env)
    finally:
        configure(DEFAULT_LIMITS)
    assert result.exit_code == 1, result.output
    summary = json.loads((inbox / "failed" / TODAY / "stock.summary.json").read_text())
    assert "it has 4 rows (the limit is 3 rows)" in summary["file_errors"][0]
    (inbox / "konnect-etl.yaml").write_text("limits:\n  max_rowz: 3\n")
    with pytest.raises(ConfigError, match="limits"):
        load_settings(inbox=inbox, environ={})
