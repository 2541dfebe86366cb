"""The pull-side commands: `orders pull` and `documents` (registered by `etl.cli`).

`orders pull` logs to OUTBOX/.konnect-etl/logs/konnect-etl.log, as `run` logs to its
inbox's: the sheet written (or that nothing was new), and a failure with its context (status,
location, page, what was written). Lines also printed on stdout/stderr go to the file only,
so a terminal does not show them twice.
"""

from __future__ import annotations

import logging
import sqlite3
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from etl.cliopts import (
    BaseUrl,
    FileConfigOpt,
    JsonLogs,
    Quiet,
    SandboxOpt,
    Verbose,
    fail,
    host_fault,
    internal_error,
    refused,
    settings_for,
    start_logging,
)
from etl.config import Settings, state_dir
from etl.errors import EtlError
from etl.inboxowner import InboxTaken, one_machine
from etl.logsetup import FILE_ONLY

if TYPE_CHECKING:
    from etl.exportmap import ExportMapping
    from etl.pullrequest import PullRequest

log = logging.getLogger(__name__)

orders_app = typer.Typer(
    no_args_is_help=True,
    rich_markup_mode="rich",
    help="Pull orders and returns from Konnect into spreadsheets an ERP can import.\n\n"
    "Example: [bold]konnect-etl orders pull --status CREATED --out /srv/erp/import[/]",
)

OutboxConfigOpt = Annotated[
    Path | None,
    typer.Option("--config", help="Config file (default: OUTBOX/konnect-etl.yaml, if there)."),
]


def _day(text: str | None, option: str) -> date | None:
    """YYYY-MM-DD or DD-MM-YYYY (an IST calendar day)."""
    if text is None:
        return None
    for fmt in ("%Y-%m-%d", "%d-%m-%Y"):
        try:
            return datetime.strptime(text.strip(), fmt).date()
        except ValueError:
            continue
    raise typer.BadParameter(f"'{text}' is not a date; write it as YYYY-MM-DD", param_hint=option)


@orders_app.command("pull")
def pull(
    status: Annotated[
        str, typer.Option("--status", help="CREATED, RETURN_PROCESSING, RETURN_DELIVERED, ...")
    ],
    out: Annotated[Path, typer.Option("--out", help="Outbox folder the sheet is written to.")],
    channel: Annotated[
        str | None, typer.Option("--channel", help="Only this ordering channel.")
    ] = None,
    location: Annotated[
        str | None, typer.Option("--location", help="Only this location code.")
    ] = None,
    date_from: Annotated[
        str | None,
        typer.Option(
            "--from",
            help="Orders dated from this day (YYYY-MM-DD, IST); without it, from"
            " pull_lookback_days ago (90 by default).",
        ),
    ] = None,
    date_to: Annotated[
        str | None, typer.Option("--to", help="Orders dated up to this day (YYYY-MM-DD, IST).")
    ] = None,
    fmt: Annotated[str | None, typer.Option("--format", help="xlsx (default) or csv.")] = None,
    mapping: Annotated[
        str | None, typer.Option("--mapping", help="Export mapping for the ERP's layout.")
    ] = None,
    again: Annotated[
        bool,
        typer.Option(
            "--again", help="Also write orders pulled before (needs --from): for a re-import."
        ),
    ] = False,
    base_url: BaseUrl = None,
    config: OutboxConfigOpt = None,
    sandbox: SandboxOpt = False,
    json_logs: JsonLogs = False,
    verbose: Verbose = 0,
    quiet: Quiet = False,
) -> None:
    """Write the orders in a status to one new sheet in OUTBOX: one row per order item.

    Orders an earlier pull already wrote are left out, so pulls can run every few minutes;
    --again writes them once more (an ERP import that failed, a sheet deleted).

    Example: [bold]konnect-etl orders pull --status CREATED --out /srv/erp/import[/]
    """
    from etl.errors import PullBusy
    from etl.outbox import check_outbox
    from etl.pullrequest import PullRequest
    from etl.session import check_sandbox_folder

    start, end = _checked_options(fmt, date_from, date_to, again)
    logging_here = False  # the outbox's log file, once it is known not to be an inbox
    request: PullRequest | None = None
    try:
        check_outbox(out)  # before anything is made there: an inbox must not get sheets
        out.mkdir(parents=True, exist_ok=True)
        start_logging(verbose, quiet, json_logs, state_dir(out) / "logs")
        logging_here = True
        settings = settings_for(out, config, base_url=base_url)
        request = PullRequest(status, out, channel, location, start, end,
                              "csv" if fmt == "csv" else "xlsx" if fmt else None,
                              _export_mapping(mapping, settings), again, sandbox)  # fmt: skip
        if sandbox:
            check_sandbox_folder(out, outbox=True)
        with one_machine(None, out):
            _run_pull(settings, request, quiet)
    except InboxTaken as exc:  # the outbox's journal is the other machine's: only the log line
        raise refused(str(exc), logging_here) from None
    except PullBusy as exc:  # nothing wrong to fix: exit 1, not 2 ("could not run")
        _log_failure(logging_here, None, exc, logging.WARNING)
        raise fail(str(exc), 1) from None
    except EtlError as exc:
        raise fail(_log_failure(logging_here, request, exc)) from None
    except (OSError, sqlite3.Error) as exc:  # on stderr host_fault names the folder, the hint
        _log_failure(logging_here, request, exc)
        raise host_fault(exc, outbox=out) from None  # names the outbox, says what became of it
    except Exception as exc:  # ours: the traceback in the outbox's log, one line and exit 2
        raise fail(internal_error(exc, "orders pull", out, logging_here)) from None


def _checked_options(
    fmt: str | None, date_from: str | None, date_to: str | None, again: bool
) -> tuple[date | None, date | None]:
    """The --from/--to days; `fail` for options that do not go together."""
    if fmt not in (None, "xlsx", "csv"):
        raise fail("--format must be xlsx or csv")
    start, end = _day(date_from, "--from"), _day(date_to, "--to")
    if start and end and start > end:
        raise fail(f"--from {start} is after --to {end}")
    if again and start is None:
        raise fail("--again writes orders pulled before once more: say which days with --from")
    return start, end


def _log_failure(
    logging_here: bool, request: PullRequest | None, exc: Exception, level: int = logging.ERROR
) -> str:
    """A failed pull in one line (status, location, page...), also in the outbox's log once
    that is set up (never doubled on the terminal)."""
    from etl.pullschedule import pull_failure

    said = pull_failure(request, exc) if request is not None else str(exc)
    if logging_here:
        log.log(level, "%s", said, extra=FILE_ONLY)
    return said


def _export_mapping(name: str | None, settings: Settings) -> ExportMapping | None:
    if name is None:
        return None
    from etl.exportmap import export_folders, find_export_mapping

    return find_export_mapping(name, export_folders(settings.mappings_dir))


def _run_pull(settings: Settings, request: PullRequest, quiet: bool) -> None:
    from etl.pull import pull_once
    from etl.session import connection, no_credentials

    missing = no_credentials("OUTBOX/konnect-etl.yaml (or --config FILE)", dry_run=False)
    with connection(settings, sandbox=request.sandbox, dry_run=False, missing=missing) as client:
        assert client is not None
        result = pull_once(settings, client, request)
    where = ", ".join(loc or "all locations" for loc in result.locations)
    old = f"{result.fetched - result.new_orders} already pulled"
    new = "new "
    if request.again:  # every order of the days, pulled before or not
        old, new = "--again: pulled before or not", ""
    if result.file is None:
        said = f"no {new}{result.status} orders ({where}; {old})"
        log.info("%s: nothing written to %s", said, request.outbox, extra=FILE_ONLY)
    else:
        said = (
            f"wrote {result.file}: {result.new_orders} {new}{result.status} orders, "
            f"{result.rows} rows ({where}; {old})"
        )
        log.info("%s", said, extra=FILE_ONLY)
    if not quiet:
        typer.echo(said)


def documents(
    file: Annotated[Path, typer.Argument(help="A CSV/Excel file with an orderId column.")],
    kind: Annotated[str, typer.Option("--kind", help="labels or invoice.")] = "labels",
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Folder for the PDFs and the result file (default: FILE's)."),
    ] = None,
    base_url: BaseUrl = None,
    config: FileConfigOpt = None,
    sandbox: SandboxOpt = False,
    json_logs: JsonLogs = False,
    verbose: Verbose = 0,
    quiet: Quiet = False,
) -> None:
    """Save shipping labels or invoice PDFs for the orderIds in FILE, next to FILE (or in --out).

    Also writes FILE's stem + .KIND.result.csv/.xlsx: per row, ok and the PDF, or why not.
    The PDFs an earlier run for a file of this name left are replaced.

    Example: [bold]konnect-etl documents packed_today.xlsx --kind labels[/]
    """
    from etl.documents import fetch_documents, summary_line
    from etl.session import connection, no_credentials

    start_logging(verbose, quiet, json_logs)
    if not file.is_file():
        raise fail(f"file not found: {file}")
    missing = no_credentials("the config file given with --config FILE", dry_run=False)
    try:
        settings = settings_for(None, config, base_url=base_url)
        with connection(settings, sandbox=sandbox, dry_run=False, missing=missing) as client:
            assert client is not None
            result = fetch_documents(file, kind, client, out)
    except EtlError as exc:
        raise fail(str(exc)) from None
    if not quiet:
        typer.echo(summary_line(result))
    raise typer.Exit(0 if result.all_ok else 1)
