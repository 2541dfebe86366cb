"""The `konnect-etl` command: parse options, call the library, map errors to exit codes.

Exit codes: 0 every row of every file uploaded; 1 finished, but some rows or files were
rejected or failed (see the reports); 2 could not run (usage, config, credentials).
"""

from __future__ import annotations

import shutil
import sqlite3
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import orjson
import typer

from etl import __version__
from etl.cliopts import (
    BaseUrl,
    ConfigOpt,
    DryRun,
    FeedOpt,
    FileConfigOpt,
    InboxArg,
    JsonLogs,
    MappingOpt,
    Quiet,
    SandboxOpt,
    Settle,
    Verbose,
    fail,
    host_fault,
    internal_error,
    printable_streams,
    quiet_stdout,
    refused,
    settings_for,
    start_logging,
)
from etl.config import state_dir
from etl.errors import ConfigError, EtlError
from etl.hostfaults import what_to_check
from etl.inboxowner import InboxTaken, one_machine, worked_elsewhere
from etl.logsetup import setup_logging
from etl.pullcli import documents, orders_app
from etl.setupcli import mappings, sandbox_command, template
from etl.watchcli import status, watch

if TYPE_CHECKING:
    from etl.keyhistory import SetBy

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    rich_markup_mode="rich",
    help="Upload ERP/WMS/POS spreadsheets to Fynd Konnect: stock, prices, invoices, AWBs...\n\n"
    "Example: [bold]konnect-etl run /srv/konnect/inbox --dry-run[/]",
)


@app.command()
def run(
    inbox: InboxArg,
    base_url: BaseUrl = None,
    config: ConfigOpt = None,
    sandbox: SandboxOpt = False,
    dry_run: DryRun = False,
    feed: FeedOpt = None,
    mapping: MappingOpt = None,
    settle: Settle = None,
    json_logs: JsonLogs = False,
    verbose: Verbose = 0,
    quiet: Quiet = False,
) -> None:
    """Process every file waiting in INBOX once, then exit (for cron / Task Scheduler).

    Example: [bold]konnect-etl run /srv/konnect/inbox[/]   (--sandbox: try it in a test folder)
    """
    from etl import lastrun
    from etl.commands import run_command
    from etl.outbox import check_inbox

    if not inbox.is_dir():
        raise fail(f"inbox folder {inbox} does not exist")
    logging_here, started = False, time.time()
    try:
        check_inbox(inbox)  # an outbox's pulled sheets are the ERP's
        start_logging(verbose, quiet, json_logs, state_dir(inbox) / "logs")
        logging_here = True
        settings = settings_for(inbox, config, base_url=base_url, settle_seconds=settle)
        with quiet_stdout(quiet):  # the inbox's lease: taken in run_command
            code, files, not_taken = run_command(inbox, settings, sandbox=sandbox,
                                                 dry_run=dry_run, feed=feed, mapping=mapping,
                                                 show=not quiet)  # fmt: skip
    except InboxTaken as exc:  # last-run.json (`status`) is the other machine's: left alone
        raise refused(str(exc), logging_here) from None
    except (OSError, sqlite3.Error) as exc:
        stop = host_fault(exc, inbox, logged=logging_here)
        if logging_here and not dry_run:
            lastrun.record(inbox, started, 2, f"cannot work in {inbox}: {exc}")
        raise stop from None
    except Exception as exc:  # EtlError: said as it is; any other: a bug, traceback in the log
        ours = isinstance(exc, EtlError)
        said = str(exc) if ours else internal_error(exc, "run", inbox, logging_here)
        if logging_here and not dry_run:  # `status` reads how the last run ended
            lastrun.record(inbox, started, 2, said)
        raise fail(said, logged=logging_here and ours) from None
    if not dry_run and not worked_elsewhere(inbox):  # taken over: its `status` is theirs
        lastrun.record(inbox, started, code, files=files, not_taken=not_taken)
    raise typer.Exit(code)


@app.command()
def validate(
    files: Annotated[list[Path], typer.Argument(help="Files to check.")],
    config: FileConfigOpt = None,
    feed: FeedOpt = None,
    mapping: MappingOpt = None,
    preview: Annotated[
        bool,
        typer.Option(
            "--preview",
            help="Also write <name>.preview.result.csv: each row as Konnect would receive it "
            "(mapped and read), to check a new mapping.",
        ),
    ] = False,
    json_logs: JsonLogs = False,
    verbose: Verbose = 0,
    quiet: Quiet = False,
) -> None:
    """Read, map and validate FILES; write the reports next to each file (for a file in an
    inbox - a folder with .konnect-etl/ or a konnect-etl.yaml - in its .konnect-etl/dry-run/,
    where the next run does not take them); upload nothing.

    Example: [bold]konnect-etl validate stock_2026-11-26.xlsx[/]
    """
    from etl.commands import validate_command

    start_logging(verbose, quiet, json_logs)
    try:
        settings = settings_for(None, config)
        with quiet_stdout(quiet):
            code = validate_command(files, settings, feed=feed, mapping=mapping, preview=preview)
    except EtlError as exc:
        raise fail(str(exc)) from None
    raise typer.Exit(code)


# `sandbox`, `template`, `mappings` (etl.setupcli): listed by --help after `validate`
app.command("sandbox")(sandbox_command)
app.command()(template)
app.command()(mappings)


@app.command()
def release(
    file: Annotated[Path, typer.Argument(help="A held file, in INBOX/held/YYYY-MM-DD/.")],
) -> None:
    """Let a file the guards held go through (many zero stocks, far fewer rows than last time,
    prices 10 times or more, or a tenth or less, of the last ones).

    Moves it back to the inbox; the next run uploads it without those checks.
    Example: [bold]konnect-etl release inbox/held/2026-11-26/stock.csv[/]
    """
    from etl.commands import release_command
    from etl.release import held_inbox

    setup_logging(-1)  # the line below says what happened
    try:
        with one_machine(held_inbox(file)):
            target = release_command(file)
    except EtlError as exc:
        raise fail(str(exc)) from None
    except (OSError, sqlite3.Error) as exc:  # its inbox's protection database, not cwd
        inbox = file.absolute().parent.parent.parent
        raise fail(f"cannot release {file}: {exc}{what_to_check(inbox, exc)}; it stays where"
                   " it is") from None  # fmt: skip
    typer.echo(f"released: {target} is back in the inbox; the next run uploads it")


@app.command()
def history(
    inbox: Annotated[Path, typer.Argument(help="The inbox folder.")],
    location: Annotated[str, typer.Argument(help="The location code, as sent to Konnect.")],
    sku: Annotated[str, typer.Argument(help="The SKU, as sent to Konnect.")],
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object.")] = False,
    sandbox: Annotated[
        bool, typer.Option("--sandbox", help="Of the runs made with --sandbox (`demo` too).")
    ] = False,
) -> None:
    """Which stock and price files set a location and SKU, newest first (the last 30 days),
    with their result reports; and the last price Konnect accepted for it. Exit 1: none.

    Example: [bold]konnect-etl history inbox BLR-ST-03 TS-BLK-M[/]
    """
    from etl.keyhistory import key_history
    from etl.wording import local_stamp

    setup_logging(-1)
    try:
        found, price = key_history(inbox, location, sku, sandbox)
    except EtlError as exc:
        raise fail(str(exc)) from None
    if as_json:
        files = [{**vars(s), "report": str(s.report or ""), "exported": local_stamp(s.exported_at)}
                 for s in found]  # fmt: skip
        typer.echo(orjson.dumps({"files": files, "last_price": price}).decode())
    else:
        _print_history(location, sku, found, price)
    if not found and price is None:
        raise typer.Exit(1)


def _print_history(
    location: str, sku: str, found: list[SetBy], price: dict[str, str] | None
) -> None:
    from etl.wording import local_stamp

    if not found and price is None:
        typer.echo(f"no stock or price file of the last 30 days set location '{location}' and"
                   f" SKU '{sku}': write them as sent to Konnect (a mapping may turn a store"
                   " name into its location code)")  # fmt: skip
        return
    typer.echo(f"{location} / {sku}: set by (newest first)")
    for s in found:
        report = s.report or "(its report is no longer in done/)"
        feed = f"{s.feed}, " if s.feed else ""  # none: recorded before 28 Nov 07:26
        setter = f"{s.file}  ({feed}mapping {s.mapping})"
        typer.echo(f"  {local_stamp(s.exported_at)}  {setter}  {report}")
    if price is not None:
        typer.echo(f"last price Konnect accepted: MRP {price['mrp']}, selling price"
                   f" {price['esp']} {price['currency']} (from {price['file']})")  # fmt: skip


DEMO_MARK = ".konnect-etl-demo"  # in a folder `demo` made: the next demo may replace it


@app.command()
def demo(
    inbox: Annotated[Path, typer.Option("--inbox", help="Where to copy inbox_example/ to.")] = Path(
        "demo-inbox"
    ),
) -> None:
    """Copy inbox_example/ to a fresh folder and `run` it against the built-in sandbox. A
    folder a demo made before is made anew; any other folder that exists is left alone.

    Example: [bold]konnect-etl demo[/]  (then open demo-inbox/done/)
    """
    from etl.commands import example_dir

    try:
        source = example_dir()
    except ConfigError as exc:
        raise fail(str(exc)) from None
    if inbox.exists():
        ours = (inbox / DEMO_MARK).is_file() or inbox.resolve() == Path("demo-inbox").resolve()
        if not ours:  # a real inbox, the current folder: never wiped
            raise fail(f"{inbox} exists and is not a demo inbox: give --inbox a new folder")
        shutil.rmtree(inbox)
    shutil.copytree(source, inbox)
    (inbox / DEMO_MARK).write_text("made by konnect-etl demo; the next demo replaces it\n")
    typer.echo(f"copied {source} to {inbox}; running it against the built-in sandbox")
    run(inbox, sandbox=True, settle=0.0)


@app.command()
def version() -> None:
    """Print the version.

    Example: [bold]konnect-etl version[/]
    """
    typer.echo(__version__)


app.add_typer(orders_app, name="orders")
app.command("documents")(documents)


app.command("watch")(watch)
app.command("status")(status)


def main() -> None:
    printable_streams()
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
    except (OSError, sqlite3.Error) as exc:  # a folder we may not write, a full disk...
        raise SystemExit(host_fault(exc).exit_code) from None
    except Exception as exc:  # a bug of ours (run, watch and pull catch theirs): not exit 1
        raise SystemExit(fail(internal_error(exc, "konnect-etl", None, True)).exit_code) from None
