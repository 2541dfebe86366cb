"""What processing one file takes and gives back: the `Job` (mappings, client, journal,
clock, guards), the `Prepared` file (read, mapped, validated, cut into bodies) and the
`FileResult`. Kept apart from `etl.pipeline` so that the modules the pipeline calls (guards,
turns, summary, ...) and those that call it (runner, watch, console) share these shapes
without importing the pipeline itself."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from etl.bodies import Chunk, Validated
from etl.clientsettings import ClientSettings
from etl.feeds import Feed
from etl.guard_settings import Guards
from etl.journal import Journal
from etl.mapping import Mapping
from etl.model import Mapped, Table

ProgressFactory = Callable[[str, int], Callable[[int], None]]


def local_now() -> datetime:
    return datetime.now(UTC).astimezone()


@dataclass
class Job:
    """What processing a file needs besides the file itself."""

    mappings: list[Mapping]
    client: ClientSettings | None = None  # None: validate only, upload nothing
    journal: Journal | None = None
    feed: str | None = None
    mapping_name: str | None = None
    progress: ProgressFactory | None = None
    now: Callable[[], datetime] = local_now
    guards: Guards = field(default_factory=Guards)  # etl.guards: held/, out-of-order files
    preview: bool = False  # also <stem>.preview.result.csv: the rows as sent (etl.preview)


@dataclass
class Prepared:
    """A file read, mapped, validated and cut into request bodies."""

    feed: Feed
    mapping: Mapping
    table: Table
    mapped: Mapped
    validated: Validated
    chunks: list[Chunk]
    # when the export was made (`etl.outoforder`), taken before the upload: the file may be
    # gone after it (deleted from processing/ meanwhile)
    exported_at: float | None = None


@dataclass
class FileResult:
    """What happened to one file; `summary` is what `<stem>.summary.json` holds."""

    summary: dict[str, Any]
    reports: list[Path] = field(default_factory=list)
    final_path: Path | None = None

    @property
    def outcome(self) -> str:
        return str(self.summary["outcome"])

    @property
    def rows(self) -> dict[str, int]:
        rows: dict[str, int] = self.summary["rows"]
        return rows


# where a file's reports go: `destination(kind)` answers (folder, report stem)
Destination = Callable[[str], tuple[Path, str]]
