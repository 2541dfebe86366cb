"""The command line as a user meets it: the README's demo, explain, template, help."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from datetime import date, datetime
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook
from typer.testing import CliRunner

from etl.cli import app

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
COMMANDS = ["run", "validate", "sandbox", "template", "mappings", "demo", "history"]


def test_readme_demo_command_runs_the_example_inbox_twice_the_same(tmp_path: Path) -> None:
    """README command 1, through the real console entry point and an in-process sandbox."""
    outcomes = []
    for _ in range(2):
        done = subprocess.run(
            [sys.executable, "-m", "etl", "demo", "--inbox", str(tmp_path / "demo")],
            capture_output=True, text=True, timeout=180, cwd=tmp_path,
        )  # fmt: skip
        assert done.returncode == 1, done.stderr  # the examples carry deliberate mistakes
        assert "konnect-etl run" in done.stdout
        folder = tmp_path / "demo" / "done" / date.today().isoformat()
        outcomes.append(
            {p.name: json.loads(p.read_text())["rows"] for p in folder.glob("*.summary.json")}
        )
    assert outcomes[0] == outcomes[1] and len(outcomes[0]) >= 4


def test_demo_never_wipes_a_folder_it_did_not_make(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`demo --inbox .` or a real inbox: refused, every file kept (it used to be deleted)."""
    inbox = tmp_path / "inbox"
    (inbox / "held").mkdir(parents=True)
    (inbox / "held" / "stock.csv").write_text("location_id,sku,quantity\n")
    monkeypatch.chdir(inbox)  # "." is the inbox
    for target in (str(inbox), "."):
        result = CliRunner().invoke(app, ["demo", "--inbox", target])
        assert result.exit_code == 2 and "is not a demo inbox" in result.output
    assert (inbox / "held" / "stock.csv").is_file()


def test_explain_names_the_matching_mapping_and_why() -> None:
    result = CliRunner().invoke(
        app, ["mappings", "--explain", str(ROOT / "inbox_example" / "Stock Summary - Tally.xlsx")]
    )
    assert result.exit_code == 0, result.output
    first = result.output.splitlines()[0]
    assert first.startswith("matches") and "tally/stock" in first


def test_explain_a_file_no_mapping_fits_says_what_the_closest_lacked(tmp_path: Path) -> None:
    odd = tmp_path / "stock_odd.csv"
    odd.write_text("location_id,sku,qty\nDEL-WH-01,CAP-RED,1\n")
    result = CliRunner().invoke(app, ["mappings", "--explain", str(odd)])
    assert result.exit_code == 1
    assert "generic/stock" in result.output and "quantity" in result.output


def test_explain_gives_runs_verdict_a_tie_is_no_match(tmp_path: Path) -> None:
    """Two of the user's mappings fit equally: both 'match', but run would refuse the file."""
    (tmp_path / "m").mkdir()
    for name in ("a", "b"):
        (tmp_path / "m" / f"{name}.yaml").write_text(
            'feed: stock\nmatch: {filename: "shop_*.csv"}\n'
        )
    (tmp_path / "konnect-etl.yaml").write_text("mappings: ./m\n")
    shop = tmp_path / "shop_stock.csv"
    shop.write_text("location_id,sku,quantity\nDEL-WH-01,CAP-RED,1\n")
    config = ["--config", str(tmp_path / "konnect-etl.yaml")]
    result = CliRunner().invoke(app, ["mappings", "--explain", str(shop), *config])
    assert result.exit_code == 1, result.output
    assert "run would not take it" in result.output
    (tmp_path / "m" / "b.yaml").unlink()
    result = CliRunner().invoke(app, ["mappings", "--explain", str(shop), *config])
    assert result.exit_code == 0 and "run would use a" in result.output


def test_mappings_lists_the_shipped_profiles() -> None:
    result = CliRunner().invoke(app, ["mappings"])
    assert result.exit_code == 0
    for name in ("generic/stock", "generic/price", "tally/stock", "pos/price", "ginesys/stock"):
        assert name in result.output
    assert "export/erp_orders  (orders pull --mapping export/erp_orders)" in result.output


@pytest.mark.parametrize("feed", ["stock", "price"])
def test_template_xlsx_has_the_canonical_headers_and_is_accepted(tmp_path: Path, feed: str) -> None:
    out = tmp_path / f"{feed}.xlsx"
    assert CliRunner().invoke(app, ["template", feed, "--out", str(out)]).exit_code == 0
    sheet = load_workbook(out).active
    assert sheet is not None
    header = [c.value for c in next(sheet.iter_rows(max_row=1))]
    from etl.feeds import get_feed

    assert header == list(get_feed(feed).columns)
    letters = [c.column_letter for c in next(sheet.iter_rows(max_row=1))]
    assert {sheet.column_dimensions[x].number_format for x in letters} == {"@"}  # typed: text


def test_template_for_a_mapping_writes_the_source_headers(tmp_path: Path) -> None:
    out = tmp_path / "tally.csv"
    result = CliRunner().invoke(app, ["template", "stock", "--mapping", "tally/stock",
                                      "--out", str(out)])  # fmt: skip
    assert result.exit_code == 0, result.output
    with out.open(encoding="utf-8-sig") as handle:
        assert next(csv.reader(handle)) == ["Godown", "Particulars", "Closing Qty"]


def test_template_never_overwrites(tmp_path: Path) -> None:
    out = tmp_path / "stock.csv"
    out.write_text("mine")
    result = CliRunner().invoke(app, ["template", "stock", "--out", str(out)])
    assert result.exit_code == 2 and out.read_text() == "mine"


def test_validate_writes_reports_next_to_the_file_and_uploads_nothing(tmp_path: Path) -> None:
    target = tmp_path / "stock.csv"
    target.write_text("location_id,sku,quantity\nDEL-WH-01,CAP-RED,-1\nDEL-WH-01,BAG-TOTE,2\n")
    result = CliRunner().invoke(app, ["validate", str(target)])
    assert result.exit_code == 1
    summary = json.loads((tmp_path / "stock.summary.json").read_text())
    assert summary["outcome"] == "validated" and summary["rows"]["rejected"] == 1
    assert (tmp_path / "stock.errors.csv").is_file() and target.is_file()


def test_an_xlsx_errors_file_shows_numbers_and_dates_as_excel_showed_them(tmp_path: Path) -> None:
    """A formula's 942.8199999999999 (=799*1.18) is the 942.82 Excel showed, a date cell is
    not ISO text with a 'T'; the errors file is read back the same."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["location_id", "sku", "mrp", "esp", "updated"])
    sheet.append(["DEL-WH-01", "CAP-RED", 799 * 1.18, 999, datetime(2026, 1, 5, 12, 40)])
    target = tmp_path / "price.xlsx"
    book.save(target)
    result = CliRunner().invoke(app, ["validate", str(target)])
    assert result.exit_code == 1, result.output
    errors = load_workbook(tmp_path / "price.errors.xlsx").active
    assert errors is not None
    row = [cell.value for cell in errors[2]]
    assert row[:5] == ["DEL-WH-01", "CAP-RED", "942.82", "999", "2026-01-05 12:40:00"]
    assert "942.82" in str(row[5])  # the error column quotes it as shown, too


def test_validate_on_a_file_in_an_inbox_keeps_its_reports_out_of_the_next_run(
    tmp_path: Path,
) -> None:
    """Reports next to a file in the inbox were taken by the next run: the result report
    failed as 'its ok rows were sent already', the errors file was uploaded as a fix."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "konnect-etl.yaml").write_text("settle_seconds: 0\n")  # an inbox, not run yet
    target = inbox / "stock.csv"
    target.write_text("location_id,sku,quantity\nDEL-WH-01,CAP-RED,-1\n")
    result = CliRunner().invoke(app, ["validate", "--preview", str(target)])
    assert result.exit_code == 1, result.output
    assert sorted(p.name for p in inbox.iterdir()) == [
        ".konnect-etl",
        "konnect-etl.yaml",
        "stock.csv",
    ]
    reports = inbox / ".konnect-etl" / "dry-run"
    assert (reports / "stock.errors.csv").is_file() and (reports / "stock.summary.json").is_file()
    assert "Reports: " in result.output and "dry-run" in result.output


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_is_in_the_readme(command: str) -> None:
    assert f"konnect-etl {command}" in README


def test_the_deployment_commands_use_only_options_the_commands_have() -> None:
    """Scheduled tasks are written once from the README and then run unattended for months:
    an option the command lacks would stop every run with exit 2."""
    import re

    from typer.main import get_command

    group = get_command(app)
    section = README.split("\n## Deployment", 1)[1].split("\n## ", 1)[0]
    found = re.findall(r"konnect-etl(?:\.exe)? (run|watch|status)\b([^`\n\"]*)", section)
    assert len(found) > 5 and any("--config" in args for _, args in found)
    for name, args in found:
        known = {o for p in group.commands[name].params for o in p.opts}  # type: ignore[attr-defined]
        assert set(re.findall(r"(?<!\S)--?[a-z][\w-]*", args)) <= known, f"{name}{args}"


@pytest.mark.parametrize("command", ["run", "watch"])
def test_a_bug_of_ours_stops_run_or_watch_with_exit_2_and_the_traceback_in_the_log(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: str
) -> None:
    """Exit 1 means "rows to look at" (routine, to a scheduler): a crash must not pass for it,
    and `status` must say it."""
    import etl.commands
    import etl.service

    def broken(*args: object, **kwargs: object) -> int:
        raise RuntimeError("a bug of ours")

    monkeypatch.setattr(etl.commands, "run_command", broken)
    monkeypatch.setattr(etl.service, "watch_command", broken)
    result = CliRunner().invoke(app, [command, str(tmp_path), "--sandbox"])
    said = f"{command} stopped by an internal error: RuntimeError: a bug of ours (the log in"
    assert result.exit_code == 2 and said in result.output
    log = (tmp_path / ".konnect-etl" / "logs" / "konnect-etl.log").read_text(encoding="utf-8")
    assert "Traceback" in log and "a bug of ours" in log
    status = CliRunner().invoke(app, ["status", str(tmp_path)])
    said = " ".join(status.output.split())
    assert status.exit_code == 1 and "RuntimeError: a bug of ours" in said
    if command == "watch":  # not "could not start", whose advice is a config or mapping fix
        assert "the watcher stopped by an internal error at " in said, said
