"""What `orders pull` is asked (`PullRequest`: the options of the command, or of a
scheduled pull) and what one pull did (`PullResult`). Kept apart from `etl.pull`, which
does the pulling, so that the CLI and the watcher's schedule name a pull without it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from etl.exportmap import ExportMapping
from etl.outbox import SheetFormat
from etl.pullstate import Window


@dataclass(frozen=True)
class PullRequest:
    """What to pull and where to put it (the options of `orders pull`)."""

    status: str
    outbox: Path
    channel: str | None = None
    location: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    format: SheetFormat | None = None  # None: the mapping's format, else xlsx
    mapping: ExportMapping | None = None
    again: bool = False  # also orders pulled before (needs date_from): for a re-import
    sandbox: bool = False  # from the emulator: its record kept apart (`session.journal_path`)


@dataclass
class PullResult:
    """What one pull did: orders fetched, how many were new, the sheet it wrote (if any)."""

    status: str
    locations: list[str | None]
    fetched: int = 0
    new_orders: int = 0
    rows: int = 0
    file: Path | None = None
    windows: dict[str, Window] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
