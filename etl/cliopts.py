"""Command-line options shared by the `konnect-etl` commands (one definition, one help text)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

InboxArg = Annotated[Path, typer.Argument(help="The inbox folder files are dropped into.")]
BaseUrl = Annotated[
    str | None,
    typer.Option("--base-url", help="Konnect URL or named environment (env KONNECT_BASE_URL)."),
]
ConfigOpt = Annotated[
    Path | None, typer.Option("--config", help="Config file (default: INBOX/konnect-etl.yaml).")
]
SandboxOpt = Annotated[
    bool,
    typer.Option(
        "--sandbox", help="Upload to a built-in Konnect emulator on a free loopback port."
    ),
]
DryRun = Annotated[
    bool, typer.Option("--dry-run", help="Read, map and validate only; upload nothing.")
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
Verbose = Annotated[int, typer.Option("-v", "--verbose", count=True, help="More log detail.")]
Quiet = Annotated[bool, typer.Option("-q", "--quiet", help="Only warnings and errors.")]
Settle = Annotated[
    float | None,
    typer.Option(
        "--settle", help="Seconds a file must be unchanged before it is taken (default 5)."
    ),
]
