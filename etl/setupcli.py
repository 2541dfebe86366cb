"""The commands that help set konnect-etl up and upload nothing: `sandbox` (the built-in
Konnect emulator), `template` (an empty file with a feed's headers) and `mappings` (which
mapping fits a file, and why). Registered by `etl.cli`, in the order `--help` lists them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from etl.cliopts import (
    FileConfigOpt,
    JsonLogs,
    MappingOpt,
    Quiet,
    Verbose,
    fail,
    quiet_stdout,
    settings_for,
    start_logging,
)
from etl.errors import EtlError


def sandbox_command(
    host: Annotated[str, typer.Option(help="Address to bind (loopback by default).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8765,
    token: Annotated[str, typer.Option(help="The token clients must send.")] = "sandbox-token",
    seed: Annotated[Path | None, typer.Option(help="JSON seed file (docs/sandbox.md).")] = None,
    latency_ms: Annotated[float, typer.Option(help="Delay added to every request.")] = 0,
    error_rate: Annotated[
        float, typer.Option(help="Share of requests answered 5xx, not applied.")
    ] = 0.0,
    drop_rate: Annotated[
        float, typer.Option(help="Share applied, then closed without an answer.")
    ] = 0.0,
    rate_limit: Annotated[
        float | None, typer.Option(help="Requests per second before 429.")
    ] = None,
    max_concurrency: Annotated[int | None, typer.Option(help="Requests in flight at most.")] = None,
    catalogue: Annotated[
        str, typer.Option(help="strict: unknown SKUs refused; open: accepted.")
    ] = "strict",
    token_scope: Annotated[
        str, typer.Option(help="location, or company (order fetches then need locationCode).")
    ] = "location",
    faults_on: Annotated[
        str, typer.Option(help="all, or writes: --error-rate/--drop-rate spare GET look-ups.")
    ] = "all",
) -> None:
    """Start the built-in Konnect emulator in the foreground (Ctrl+C stops it).

    Example: [bold]konnect-etl sandbox --port 8765 --latency-ms 50 --error-rate 0.1[/]
    """
    from etl.sandbox import SandboxSettings, serve_forever

    try:
        settings = SandboxSettings(
            host=host, port=port, token=token, seed=seed, latency_ms=latency_ms,
            error_rate=error_rate, drop_rate=drop_rate, rate_limit=rate_limit,
            max_concurrency=max_concurrency, catalogue=catalogue,  # type: ignore[arg-type]
            token_scope=token_scope, faults_on=faults_on,  # type: ignore[arg-type]
        )  # fmt: skip
    except ValueError as exc:  # the flags follow the rules of POST /_sandbox/faults
        raise fail(f"--{str(exc).replace('_', '-')}") from None
    try:
        serve_forever(settings)
    except OSError as exc:  # the port is taken, or the address is not this machine's
        said = exc.strerror or exc
        raise fail(f"cannot listen on {host}:{port} ({said}): another program uses it; pick "
                   "another --port, or --port 0 for a free one") from None  # fmt: skip


def template(
    feed: Annotated[str, typer.Argument(help="stock, price, invoice, awb, status, cancel, ...")],
    out: Annotated[
        Path | None, typer.Option("--out", help="File to write (.xlsx or .csv).")
    ] = None,
    mapping: MappingOpt = None,
    config: FileConfigOpt = None,
    json_logs: JsonLogs = False,
    verbose: Verbose = 0,
    quiet: Quiet = False,
) -> None:
    """Write an empty spreadsheet with the headers a FEED file needs.

    Example: [bold]konnect-etl template stock --out stock.xlsx[/]
    """
    from etl.commands import template_command

    start_logging(verbose, quiet, json_logs)
    try:
        path = template_command(feed, out, mapping, settings_for(None, config))
    except EtlError as exc:
        raise fail(str(exc)) from None
    if not quiet:
        typer.echo(f"wrote {path}")


def mappings(
    explain: Annotated[
        Path | None, typer.Option("--explain", help="Say which mapping matches this file and why.")
    ] = None,
    config: FileConfigOpt = None,
    json_logs: JsonLogs = False,
    verbose: Verbose = 0,
    quiet: Quiet = False,
) -> None:
    """List the mappings, or explain which one matches a file and why (-q: exit code only).

    Example: [bold]konnect-etl mappings --explain "Stock Summary.xlsx"[/]
    """
    from etl.commands import mappings_command

    start_logging(verbose, quiet, json_logs)
    try:
        with quiet_stdout(quiet):
            code = mappings_command(explain, settings_for(None, config))
    except EtlError as exc:
        raise fail(str(exc)) from None
    raise typer.Exit(code)
