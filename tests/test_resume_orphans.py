"""A run killed while it writes a finished file's reports, and the file resumed later.

The reports go result, errors, then the summary last; a kill in between leaves an orphan
result file and no summary, and the name those reports have in done/ is no longer reserved.
A second file of the same stem must not be filed beside them, and the resume must remove
its own orphans only: never the reports of another finished file.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook
from runs import drop, run

from etl.config import Settings
from etl.filehash import content_hash
from etl.inbox import Inbox
from etl.job import Job
from etl.journal import Journal
from etl.runner import RunOptions, RunResult, take_files
from etl.seen_before import drop_unfinished_reports
from etl.session import all_mappings, client_settings, journal_path

TODAY = date.today().isoformat()
HEADER = ["location_id", "sku", "quantity"]
LOCATIONS = ("DEL-WH-01", "MUM-ST-02", "BLR-ST-03")
SKUS = ("TS-BLK-S", "TS-BLK-M", "TS-BLK-L", "TS-WHT-M", "JN-SLIM-32", "JN-SLIM-34")

# `konnect-etl run INBOX`, SIGKILLed by itself just before it writes a summary in done/
KILLED_BEFORE_SUMMARY = """
import os, signal, sys
from etl import report
from etl.cli import app
write = report.atomic_write_bytes
def write_or_die(path, data):
    if path.name.endswith(".summary.json") and path.parent.parent.name == "done":
        os.kill(os.getpid(), signal.SIGKILL)
    write(path, data)
report.atomic_write_bytes = write_or_die
app(["run", sys.argv[1], "--settle", "0"])
"""


def killed_before_summary(inbox: Path, sandbox: Any) -> None:
    env = {**os.environ, "KONNECT_BASE_URL": sandbox.url, "KONNECT_TOKEN": sandbox.token}
    env["PYTHONPATH"] = str(Path(__file__).parent.parent)
    done = subprocess.run([sys.executable, "-c", KILLED_BEFORE_SUMMARY, str(inbox)], env=env,
                          capture_output=True, timeout=120)  # fmt: skip
    assert done.returncode == -9, done.stderr.decode()


def workbook(path: Path, rows: list[list[Any]]) -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for row in [HEADER, *rows]:
        sheet.append(row)
    book.save(path)


def summaries(folder: Path) -> dict[str, dict[str, Any]]:
    """The summaries in `folder` by the name their file was received as."""
    found = [json.loads(p.read_text(encoding="utf-8")) for p in folder.glob("*.summary.json")]
    return {s["received_as"]: s for s in found}


def take(inbox: Path, sandbox: Any, name: str) -> RunResult:
    """A second process taking `name` from the inbox, not resuming what waits in
    processing/ (it claimed its file while the killed run still lived)."""
    result = RunResult()
    with Journal(journal_path(inbox)) as journal:
        client = client_settings(Settings(), base_url=sandbox.url, token=sandbox.token)
        job = Job(all_mappings(Settings()), client, journal)
        take_files(Inbox(inbox), [inbox / name], job, RunOptions(settle_seconds=0), result)
    return result


def test_a_file_killed_writing_its_reports_never_costs_another_file_its_reports(
    tmp_path: Path, sandbox: Any
) -> None:
    """stock.csv went out whole, then its run was killed between its result file and its
    summary; stock.xlsx (another export, same stem) was finished meanwhile. It is filed
    under another name than stock.csv's orphan result file, and resuming stock.csv (held
    now: far fewer rows than stock.xlsx) removes that orphan only: stock.xlsx keeps its
    reports."""
    inbox = tmp_path / "inbox"
    drop(inbox, "stock.csv", [HEADER, *[[loc, "TS-BLK-S", 4] for loc in LOCATIONS]])
    killed_before_summary(inbox, sandbox)
    done = inbox / "done" / TODAY
    assert (inbox / "processing" / "stock.csv").is_file()
    assert {p.name for p in done.iterdir()} == {"stock.result.csv"}  # the orphan
    workbook(inbox / "stock.xlsx", [[loc, sku, 7] for loc in LOCATIONS for sku in SKUS])
    assert [f.outcome for f in take(inbox, sandbox, "stock.xlsx").files] == ["uploaded"]

    run(inbox, sandbox)  # resumes stock.csv

    other = summaries(done)["stock.xlsx"]
    stem = Path(other["input"]).stem
    assert stem != "stock" and other["rows"]["ok"] == 18
    whole = {other["input"], f"{stem}.result.xlsx", f"{stem}.summary.json"}
    assert {p.name for p in done.iterdir()} == whole  # and stock.csv's orphan is gone


def test_a_resumed_file_held_by_a_guard_says_what_went_before(tmp_path: Path, sandbox: Any) -> None:
    """The same stock.csv, resumed after stock.xlsx of 18 rows for its locations went out:
    the fewer-rows guard holds it now. Its first attempt went out whole, so its report says
    what Konnect acknowledged then, not "nothing was uploaded"."""
    inbox = tmp_path / "inbox"
    drop(inbox, "stock.csv", [HEADER, *[[loc, "TS-BLK-S", 4] for loc in LOCATIONS]])
    killed_before_summary(inbox, sandbox)
    workbook(inbox / "stock.xlsx", [[loc, sku, 7] for loc in LOCATIONS for sku in SKUS])
    take(inbox, sandbox, "stock.xlsx")

    said = run(inbox, sandbox)

    held = summaries(inbox / "held" / TODAY)["stock.csv"]
    assert held["held"].startswith("this file has 3 rows, far fewer than the 18 rows")
    assert held["chunks"]["acknowledged"] == 1 and held["ack_ids"]
    assert held["file_errors"][0].startswith(
        "held, nothing more was uploaded (Konnect had acknowledged 1 request of it in an attempt"
        " that stopped before it finished: what it accepted then is applied): this file has 3"
    )
    assert "Held stock.csv, part sent before:" in " ".join(said.output.split())


def reports_left(done: Path, *names: str) -> None:
    for name in names:
        (done / name).write_text("{}" if name.endswith(".json") else "x", encoding="utf-8")


def unfinished(inbox: Path, noted: Path) -> tuple[Journal, Path]:
    """processing/stock.csv, its attempt's reports noted as `noted` (killed before its move)."""
    drop(inbox / "processing", "stock.csv", [HEADER, ["DEL-WH-01", "TS-BLK-S", 4]])
    claimed = inbox / "processing" / "stock.csv"
    journal = Journal(journal_path(inbox))
    file_id = journal.begin_file(content_hash(claimed), "stock.csv", "stock", "generic/stock")
    journal.note_reports(file_id, noted)
    return journal, claimed


@pytest.mark.parametrize(
    ("other", "left", "kept"),
    [
        # As an older version left it: stock.xlsx took the stem of stock.csv's killed attempt
        # and was filed with its reports; stock.csv's orphan result file is there too. Only
        # the orphan goes: the summary names another input, whose reports are of another kind.
        ("stock.xlsx", ["stock.result.csv", "stock.result.xlsx", "stock.errors.xlsx"],
         ["stock.errors.xlsx", "stock.result.xlsx", "stock.summary.json", "stock.xlsx"]),
        # The file that took the stem was a CSV too: its result file replaced the orphan, so
        # nothing there is the killed attempt's to remove.
        ("stock.txt", ["stock.result.csv"],
         ["stock.result.csv", "stock.summary.json", "stock.txt"]),
    ],
)  # fmt: skip
def test_a_resume_leaves_the_reports_another_file_filed_under_its_stem(
    tmp_path: Path, other: str, left: list[str], kept: list[str]
) -> None:
    inbox, done = tmp_path, tmp_path / "done" / TODAY
    done.mkdir(parents=True)
    if other.endswith(".xlsx"):
        workbook(done / other, [["DEL-WH-01", "TS-BLK-S", 7]])
    else:
        drop(done, other, [HEADER, ["DEL-WH-01", "TS-BLK-S", 7]])
    reports_left(done, *left)
    summary = {"input": other, "received_as": other}
    (done / "stock.summary.json").write_text(json.dumps(summary), encoding="utf-8")
    journal, claimed = unfinished(inbox, done / "stock.summary.json")
    with journal:
        drop_unfinished_reports(journal, claimed)
    assert sorted(p.name for p in done.iterdir()) == kept


def test_a_resume_removes_its_own_reports_summary_and_all(tmp_path: Path) -> None:
    """Killed after its summary, before the move: the summary names this very file."""
    inbox, done = tmp_path, tmp_path / "done" / TODAY
    done.mkdir(parents=True)
    reports_left(done, "stock.result.csv", "stock.errors.csv")
    own = {"input": "stock.csv", "received_as": "stock.csv"}
    (done / "stock.summary.json").write_text(json.dumps(own), encoding="utf-8")
    journal, claimed = unfinished(inbox, done / "stock.summary.json")
    with journal:
        drop_unfinished_reports(journal, claimed)
    assert list(done.iterdir()) == []


def test_a_name_with_a_killed_attempts_orphan_reports_is_not_free(tmp_path: Path) -> None:
    from etl.atomic import is_free

    for orphan in ("stock.result.csv", "stock.errors.csv", "stock.result.xlsx"):
        folder = tmp_path / orphan
        folder.mkdir()
        (folder / orphan).write_text("x", encoding="utf-8")
        assert not is_free(folder, "stock.xlsx") and is_free(folder, "stock-2.xlsx")
