"""What the `konnect-etl` command modules share: options (one definition, one help text),
loading settings with secrets masked, and the error exit."""

from __future__ import annotations

import io
import logging
import sqlite3
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

import typer

from etl.config import STATE_DIR, Settings, load_settings
from etl.hostfaults import what_to_check
from etl.limits import configure as configure_limits
from etl.logsetup import FILE_ONLY, add_secrets, masked, setup_logging

log = logging.getLogger("etl.cli")


def _flags_without_a_type() -> None:
    """typer 0.29's rich help prints a type after every flag (`--dry-run  <bool>`, `--help
    <bool>`), as if it took a value; its plain help, and typer before, show flags bare. A flag
    gets no type column here (a no-op where typer's options have no such method)."""
    option = getattr(typer.core, "TyperOption", None)
    shown = getattr(option, "display_type_rich", None)
    if option is None or shown is None:
        return

    def display_type_rich(self: typer.core.TyperOption, ctx: object) -> str | None:
        return None if self.is_flag else shown(self, ctx)

    option.display_type_rich = display_type_rich


_flags_without_a_type()
InboxArg = Annotated[Path, typer.Argument(help="The inbox folder files are dropped into.")]
BaseUrl = Annotated[
    str | None,
    typer.Option("--base-url", help="Konnect URL or named environment (env KONNECT_BASE_URL)."),
]
ConfigOpt = Annotated[
    Path | None,
    typer.Option("--config", help="Config file (default: INBOX/konnect-etl.yaml, if there)."),
]
# for the commands without an inbox (validate, template, mappings, documents)
FileConfigOpt = Annotated[
    Path | None,
    typer.Option(
        "--config",
        help="Config file (a konnect-etl.yaml). Without it none is read: only the environment "
        "and the defaults apply.",
    ),
]
SandboxOpt = Annotated[
    bool,
    typer.Option(
        "--sandbox",
        help="Talk to a built-in Konnect emulator on a free loopback port, not to Konnect.",
    ),
]
DryRun = Annotated[
    bool,
    typer.Option(
        "--dry-run",
        help="Read, map and validate only: reports in INBOX/.konnect-etl/dry-run/, files stay "
        "where they are, nothing is uploaded, no credentials needed.",
    ),
]
FeedOpt = Annotated[
    str | None,
    typer.Option("--feed", help="Only consider mappings of this feed (stock, price, ...)."),
]
MappingOpt = Annotated[
    str | None,
    typer.Option("--mapping", help="Use this mapping (e.g. tally/stock) instead of matching."),
]
JsonLogs = Annotated[
    bool, typer.Option("--json-logs", help="Log JSON lines instead of plain text.")
]
Verbose = Annotated[
    int,
    typer.Option("-v", "--verbose", count=True, metavar="", help="More log detail (-vv: more)."),
]
Quiet = Annotated[
    bool,
    typer.Option(
        "-q",
        "--quiet",
        help="Only warnings and errors, nothing on stdout (the reports and exit code tell).",
    ),
]
Settle = Annotated[
    float | None,
    typer.Option(
        "--settle", help="Seconds a file must be unchanged before it is taken (default 5)."
    ),
]


def start_logging(
    verbose: int, quiet: bool, json_logs: bool = False, log_dir: Path | None = None
) -> None:
    """Logging for one command: -v more detail, -q only warnings and errors."""
    setup_logging(-1 if quiet else verbose, json_logs, log_dir)


@contextmanager
def quiet_stdout(quiet: bool) -> Iterator[None]:
    """With -q, what the library prints (tables, lists) is not shown, for this call only."""
    from etl.console import console  # not at import: keeps `--help` fast

    before = console.quiet
    console.quiet = quiet or before
    try:
        yield
    finally:
        console.quiet = before


SECRET_PATH = 16  # characters of a webhook's path that make it a credential (Slack: 40+)


def secrets_of(settings: Settings) -> list[str | None]:
    """What no log line may show: the credentials, a password written into a URL, and the
    webhook's URL and path (a Slack or Teams webhook's path is its credential)."""
    webhook = settings.notify_webhook
    urls = [urlsplit(url) for url in (settings.base_url, webhook) if url]
    hidden = [settings.token, settings.password, settings.smtp_password, webhook]
    path = urls[-1].path if webhook else ""  # not a short one: "/hooks" is in other lines too
    return hidden + [url.password for url in urls] + ([path] if len(path) >= SECRET_PATH else [])


def settings_for(inbox: Path | None, config: Path | None, **overrides: object) -> Settings:
    """Settings for one command; its secrets are masked in every log line from now on."""
    settings = load_settings(inbox=inbox, config_file=config, overrides=overrides)
    add_secrets(secrets_of(settings))
    configure_limits(settings.limits)
    return settings


def fail(message: str, code: int = 2, *, logged: bool = False) -> typer.Exit:
    """Print `message` in red on stderr; the caller raises the returned Exit. `logged`: also
    in the log file (at ERROR), where cron and Task Scheduler, which lose stderr, leave the
    only account of why a run stopped."""
    if logged:
        log.error("stopped (exit %d): %s", code, message, extra=FILE_ONLY)
    typer.secho(f"konnect-etl: {masked(message)}", err=True, fg=typer.colors.RED)
    return typer.Exit(code)


def refused(message: str, logged: bool) -> typer.Exit:
    """Another machine works the folder (`etl.inboxowner.InboxTaken`): exit 2, and a WARNING,
    not an ERROR, in the folder's log (`logged`) - a standby machine's scheduled job is
    refused like this every time while the primary works, as the README's failover says."""
    if logged:
        log.warning("refused (exit 2): %s", message, extra=FILE_ONLY)
    return fail(message)


def internal_error(exc: Exception, what: str, folder: Path | None, logged: bool) -> str:
    """The one line for a bug of ours (exit 2, never 1: 1 means "rows to fix"); its
    traceback goes to the log file (`logged`) of `folder` (the inbox or outbox)."""
    logs = folder / STATE_DIR / "logs" if folder else None
    if logged:
        log.error("%s stopped by an internal error", what, exc_info=exc, extra=FILE_ONLY)
    where = f"the log in {logs} has the details; please report it" if logs else "please report it"
    return f"{what} stopped by an internal error: {type(exc).__name__}: {exc} ({where})"


def printable_streams() -> None:
    """A character the terminal's code page cannot show (`₹` in a file name, under Windows
    Task Scheduler's cp1252) is printed as `?`: the table after a finished run, or a log
    line, never stops the command with a traceback."""
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(errors="replace")


def host_fault(
    exc: OSError | sqlite3.Error,
    inbox: Path | None = None,
    *,
    outbox: Path | None = None,
    logged: bool = False,
) -> typer.Exit:
    """Exit 2 with one line for a fault of the machine (permissions, full disk...), not a
    traceback. `inbox`: the folder `run`/`watch` work in (its waiting files are safe);
    `outbox`: the folder `orders pull` writes in, named when the fault names no file (its
    journal's); the exception's notes say what became of the sheet. Otherwise the folder of
    the file that could not be written is named. `logged`: also in the log file (`fail`)."""
    if inbox is not None:
        return fail(f"cannot work in {inbox}: {exc}{what_to_check(inbox, exc)}. Files not "
                    "finished wait in the inbox or processing/ for the next run",
                    logged=logged)  # fmt: skip
    name = getattr(exc, "filename", None)
    folder = Path(name).absolute().parent if isinstance(name, str) else outbox or Path.cwd()
    hint = what_to_check(folder, exc)
    if outbox is not None:  # nothing waits there: a pull writes all again next time
        hint = hint.replace("; waiting files are kept", "")
    notes = "".join(f". {note}" for note in getattr(exc, "__notes__", ()))
    return fail(f"cannot work in {folder}: {exc}{hint}{notes}", logged=logged)
