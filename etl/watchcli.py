"""The unattended commands: `watch` and `status` (registered by `etl.cli`)."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Annotated

import typer

from etl.cliopts import (
    BaseUrl,
    ConfigOpt,
    DryRun,
    FeedOpt,
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
    quiet_stdout,
    refused,
    settings_for,
    start_logging,
)
from etl.config import state_dir
from etl.errors import EtlError
from etl.inboxowner import InboxTaken

Poll = Annotated[
    float,
    typer.Option("--poll", help="Full rescan every SECONDS (events wake it sooner).", min=0.1),
]
Events = Annotated[
    bool,
    typer.Option(
        "--events/--no-events",
        help="Use file events besides polling (off by itself on network shares).",
    ),
]
PullOut = Annotated[
    Path | None,
    typer.Option("--pull-out", help="Also pull orders into this outbox (see `orders pull`)."),
]
PullEvery = Annotated[
    str | None,
    typer.Option("--pull-every", help="Pull interval, e.g. 10m (default 15m, pull_every_minutes)."),
]
PullStatus = Annotated[
    list[str] | None,
    typer.Option("--pull-status", help="Status to pull (repeatable; default CREATED)."),
]


def watch(
    inbox: InboxArg,
    base_url: BaseUrl = None,
    config: ConfigOpt = None,
    sandbox: SandboxOpt = False,
    dry_run: DryRun = False,
    poll: Poll = 10.0,
    events: Events = True,
    settle: Settle = None,
    feed: FeedOpt = None,
    mapping: MappingOpt = None,
    json_logs: JsonLogs = False,
    verbose: Verbose = 0,
    quiet: Quiet = False,
    pull_out: PullOut = None,
    pull_every: PullEvery = None,
    pull_status: PullStatus = None,
) -> None:
    """Run forever: take each file dropped into INBOX once it is complete (SIGTERM/Ctrl+C stop).

    With --dry-run each file is only checked (once, again when it changes); it stays put.

    Example: [bold]konnect-etl watch /srv/konnect/inbox --poll 30[/]
    """
    from etl.health import INTERNAL_ERROR, could_not_start
    from etl.outbox import check_inbox
    from etl.pullschedule import pull_plan
    from etl.service import watch_command

    if not inbox.is_dir():
        raise fail(f"inbox folder {inbox} does not exist")

    def reopen_logs() -> None:
        start_logging(verbose, quiet, json_logs, state_dir(inbox) / "logs")

    logs_open = False
    try:
        check_inbox(inbox)  # an outbox's pulled sheets are the ERP's
        reopen_logs()
        logs_open = True
        settings = settings_for(inbox, config, base_url=base_url, settle_seconds=settle)
        with quiet_stdout(quiet):  # the tables of --dry-run
            code = watch_command(
                inbox, settings, poll_seconds=poll, sandbox=sandbox,
                events=None if events else False, feed=feed, mapping=mapping,
                on_reachable_again=reopen_logs, dry_run=dry_run,
                pulls=pull_plan(pull_out, pull_every, pull_status, inbox),
            )  # fmt: skip
    except InboxTaken as exc:  # status.json is the other machine's watcher's: left alone
        raise refused(str(exc), logs_open) from None
    except (OSError, sqlite3.Error) as exc:  # at start; once watching it backs off instead
        raise host_fault(exc, inbox, logged=logs_open) from None
    except Exception as exc:  # a service that cannot start says why in the log and `status`
        ours = isinstance(exc, EtlError)  # any other: a bug, its traceback in the log
        said = str(exc) if ours else internal_error(exc, "watch", inbox, logs_open)
        if logs_open:
            state = "could not start" if ours else INTERNAL_ERROR
            could_not_start(inbox, poll, said, time.time(), state)
        raise fail(said, logged=logs_open and ours) from None
    raise typer.Exit(code)


def status(
    inbox: InboxArg,
    max_age: Annotated[
        float | None,
        typer.Option(
            "--max-age",
            help="Seconds without a heartbeat (or with a file that cannot be taken) that count "
            "as a problem; past an hour, also how long a file may wait in the inbox.",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the status as JSON.")] = False,
) -> None:
    """Print the health of the watcher on INBOX; exit 1 when it looks dead or needs a look
    (with --pull-out: pulls failing 3 rounds in a row or for an hour; a file waiting in the
    inbox for over an hour; a file held, waiting for `release`; a file a killed run left in
    processing/), 2 if it never ran.

    Example: [bold]konnect-etl status /srv/konnect/inbox || send-alert[/]
    """
    from etl.service import status_command

    raise typer.Exit(status_command(inbox, max_age, as_json))
