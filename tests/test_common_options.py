"""The common options of SPEC section 5 on every command they mean something for, and an
example in every `--help`; `watch --dry-run` as a real process against the real emulator."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner
from watchproc import logs, start_watch, stop, wait_for, watching

from etl.cli import app

TREE = typer.main.get_command(app)
LOGS = {"--json-logs", "--verbose", "--quiet"}
CONNECTS = {"--base-url", "--sandbox"}
# command -> the common options it must offer (SPEC 5; README "Usage" says why not the rest)
EXPECTED = {
    "run": {"--config", "--dry-run", "--feed", "--mapping", "--settle", *LOGS, *CONNECTS},
    "watch": {"--config", "--dry-run", "--feed", "--mapping", "--settle", *LOGS, *CONNECTS},
    "validate": {"--config", "--feed", "--mapping", *LOGS},
    "template": {"--config", "--mapping", *LOGS},
    "mappings": {"--config", *LOGS},
    "documents": {"--config", *LOGS, *CONNECTS},
    "orders pull": {"--config", "--mapping", *LOGS, *CONNECTS},
}
BAD_STOCK = "location_id,sku,quantity\nDEL-WH-01,CAP-RED,-1\nDEL-WH-01,BAG-TOTE,2\n"


def every_command(group: Any = TREE, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every command and group path, the top level `()` included (new ones too)."""
    found = [prefix]
    for name, command in group.commands.items():
        if hasattr(command, "commands"):  # a group (typer may vendor click: no isinstance)
            found += every_command(command, (*prefix, name))
        else:
            found.append((*prefix, name))
    return found


def option(path: str, name: str) -> Any:
    command: Any = TREE
    for part in path.split():
        command = command.commands[part]
    found = [p for p in command.params if p.param_type_name == "option" and name in p.opts]
    assert found, f"{path} has no {name}"
    return found[0]


def invoke(*argv: str, env: dict[str, str] | None = None) -> Any:
    return CliRunner().invoke(app, list(argv), env=env, catch_exceptions=False)


@pytest.mark.parametrize("path", every_command(), ids=lambda p: " ".join(p) or "konnect-etl")
def test_every_help_has_an_example(path: tuple[str, ...]) -> None:
    result = invoke(*path, "--help")
    assert result.exit_code == 0, result.output
    assert "Example: konnect-etl" in result.stdout
    assert "<bool>" not in result.stdout  # a flag takes no value (typer 0.29 printed a type)


@pytest.mark.parametrize(("path", "wanted"), EXPECTED.items())
def test_the_common_options_are_where_they_mean_something(path: str, wanted: set[str]) -> None:
    for name in wanted:
        option(path, name)
    assert "-v" in option(path, "--verbose").opts and "-q" in option(path, "--quiet").opts


@pytest.mark.parametrize("path", ["validate", "template", "mappings", "documents"])
def test_commands_without_an_inbox_do_not_promise_an_inbox_config(path: str) -> None:
    text = str(option(path, "--config").help)
    assert "default:" not in text and "none is read" in text


def test_validate_reads_no_config_next_to_the_file_unless_given(tmp_path: Path) -> None:
    target = tmp_path / "stock.csv"
    target.write_text(BAD_STOCK)
    config = tmp_path / "konnect-etl.yaml"
    config.write_text(f"mappings: {tmp_path / 'missing'}\n")
    assert invoke("validate", str(target)).exit_code == 1  # the file next to it is not read
    given = invoke("validate", str(target), "--config", str(config))
    assert given.exit_code == 2 and "missing does not exist" in given.stderr


def test_validate_quiet_prints_nothing_but_errors(tmp_path: Path) -> None:
    target = tmp_path / "stock.csv"
    target.write_text(BAD_STOCK)
    loud = invoke("validate", str(target))
    assert "konnect-etl validate" in loud.stdout and "validated" in loud.stderr
    quiet = invoke("validate", "-q", str(target))
    assert quiet.exit_code == 1 and quiet.stdout == "" and quiet.stderr == ""
    assert json.loads((tmp_path / "stock.summary.json").read_text())["rows"]["rejected"] == 1
    missing = invoke("validate", "-q", str(tmp_path / "nope.csv"))
    assert missing.exit_code == 2 and "not found" in missing.stderr and missing.stdout == ""
    assert "konnect-etl validate" in invoke("validate", str(target)).stdout  # -q did not stick


def test_run_quiet_still_says_when_rows_need_a_look(tmp_path: Path, sandbox: Any) -> None:
    """cron mails what a job prints: with -q, a file with a rejected row must still print."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "stock.csv").write_text(BAD_STOCK)
    env = {"KONNECT_BASE_URL": sandbox.url, "KONNECT_TOKEN": sandbox.token}
    quiet = CliRunner().invoke(app, ["run", str(inbox), "--settle", "0", "-q"], env=env)
    assert quiet.exit_code == 1 and quiet.stdout == ""
    assert "the rows to look at:" in quiet.stderr and "stock.errors.csv" in quiet.stderr


def test_run_quiet_says_nothing_of_an_all_ok_file_with_a_totals_row(
    tmp_path: Path, sandbox: Any
) -> None:
    """Rows skipped as not data (a Tally Grand Total, a footer) are named in the summary's
    warnings, but they are routine: cron must not mail every day for them."""
    sandbox.faults(catalogue="open")
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "stock.csv").write_text(
        "location_id,sku,quantity\nDEL-WH-01,TS-BLK-S,3\nGrand Total,,3\n"
    )
    env = {"KONNECT_BASE_URL": sandbox.url, "KONNECT_TOKEN": sandbox.token}
    quiet = CliRunner().invoke(app, ["run", str(inbox), "--settle", "0", "-q"], env=env)
    assert quiet.exit_code == 0 and quiet.stdout == "" and quiet.stderr == ""
    summary = json.loads(next(inbox.glob("done/*/stock.summary.json")).read_text())
    assert summary["warnings"] == ["skipped as totals or report footers, not data: row 3"]


def test_validate_json_logs(tmp_path: Path) -> None:
    target = tmp_path / "stock.csv"
    target.write_text(BAD_STOCK)
    result = invoke("validate", "--json-logs", str(target))
    entries = [json.loads(line) for line in result.stderr.splitlines()]
    assert any(e["logger"] == "etl.outcomes" and "validated" in e["message"] for e in entries)


def test_template_and_mappings_quiet_and_verbose(tmp_path: Path) -> None:
    out = tmp_path / "stock.csv"
    quiet = invoke("template", "stock", "--out", str(out), "-q")
    assert quiet.exit_code == 0 and quiet.stdout == "" and out.is_file()
    assert invoke("template", "price", "--out", str(tmp_path / "p.csv"), "-v").stdout.startswith(
        "wrote "
    )
    explained = invoke("mappings", "-q", "--explain", str(out))
    assert explained.exit_code == 0 and explained.output == ""  # like grep -q: the exit code
    assert "generic/stock" in invoke("mappings", "-v", "--json-logs").stdout


def test_run_dry_run_quiet_prints_nothing(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "stock.csv").write_text(BAD_STOCK)
    result = invoke("run", str(inbox), "--dry-run", "-q", "--settle", "0")
    assert result.exit_code == 1 and result.stdout == ""
    assert (inbox / ".konnect-etl" / "dry-run" / "stock.errors.csv").is_file()


def test_documents_quiet_and_json_logs(tmp_path: Path, sandbox: Any) -> None:
    path = tmp_path / "ok.csv"
    path.write_text("orderId\n15000000000000000001\n")
    env = {"KONNECT_TOKEN": sandbox.token, "KONNECT_BASE_URL": sandbox.url}
    result = invoke("documents", str(path), "--kind", "invoice", "-q", "--json-logs", env=env)
    assert result.exit_code == 0 and result.output == ""
    assert (tmp_path / "ok.invoice.result.csv").is_file()
    assert "orders: 1 ok" in invoke("documents", str(path), "--kind", "invoice", env=env).stdout


def dry_reports(inbox: Path) -> Path:
    return inbox / ".konnect-etl" / "dry-run"


def validated_rows(inbox: Path) -> int:
    summary = dry_reports(inbox) / "stock.summary.json"
    if not summary.is_file():
        return 0
    total: int = json.loads(summary.read_text())["rows"]["total"]
    return total


def last_scan(inbox: Path) -> float:
    status = json.loads((inbox / ".konnect-etl" / "status.json").read_text())
    return float(status["last_scan_epoch"])


def test_watch_dry_run_checks_each_file_once_and_leaves_it(tmp_path: Path, sandbox: Any) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    stock = inbox / "stock.csv"
    stock.write_text(BAD_STOCK)
    with watching(inbox, sandbox, "--dry-run"):
        wait_for(lambda: validated_rows(inbox) == 2, 60, "the dry-run report")
        first = (dry_reports(inbox) / "stock.summary.json").stat().st_mtime_ns
        since = last_scan(inbox)
        wait_for(lambda: last_scan(inbox) > since + 2.5, 30, "five more scans at least")
        assert (dry_reports(inbox) / "stock.summary.json").stat().st_mtime_ns == first
        with stock.open("a") as handle:  # changed: checked again
            handle.write("DEL-WH-01,CAP-BLUE,3\n")
        wait_for(lambda: validated_rows(inbox) == 3, 30, "the changed file checked again")
    assert logs(inbox).count("konnect-etl watch --dry-run") == 2
    assert stock.is_file() and not (inbox / "done").exists()
    assert not any((inbox / "processing").iterdir())
    assert (dry_reports(inbox) / "stock.errors.csv").is_file()
    assert sandbox.ledger() == []
    status = json.loads((inbox / ".konnect-etl" / "status.json").read_text())
    assert status["mode"].endswith("dry run") and status["files_processed"] == 2


def test_watch_dry_run_needs_no_credentials(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "stock.csv").write_text(BAD_STOCK)
    env = {k: v for k, v in os.environ.items() if not k.startswith("KONNECT_")}
    args = [sys.executable, "-m", "etl", "watch", str(inbox), "--dry-run", "--poll", "0.5"]
    process = subprocess.Popen([*args, "--settle", "0.5"], env=env, stderr=subprocess.PIPE)
    try:
        wait_for(lambda: validated_rows(inbox) == 2, 60, "the dry-run report")
    finally:
        code = stop(process)
    assert code == 0, process.stderr.read() if process.stderr else ""


def test_watch_dry_run_refuses_pulling(tmp_path: Path, sandbox: Any) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    process = start_watch(inbox, sandbox, "--dry-run", "--pull-out", str(tmp_path / "out"))
    assert process.wait(60) == 2
    assert "--pull-out writes orders" in logs(inbox)
