"""`run` over an inbox: resume what a crash left, take every ready file, file it away."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from etl.errors import CredentialsError
from etl.inbox import Inbox, trigger_path, unique_name, wait_until_ready
from etl.pipeline import FileResult, Job, process

log = logging.getLogger(__name__)


@dataclass
class RunOptions:
    settle_seconds: float = 5.0
    trigger_suffix: str | None = None
    max_wait: float = 30.0


@dataclass
class RunResult:
    files: list[FileResult] = field(default_factory=list)

    @property
    def all_ok(self) -> bool:
        return all(f.outcome == "uploaded" for f in self.files)


def run_inbox(root: Path, job: Job, options: RunOptions) -> RunResult:
    """Process every pending file once. CredentialsError stops the run, files untouched."""
    inbox = Inbox(root)
    inbox.prepare()
    result = RunResult()
    for leftover in inbox.in_processing():
        log.info("resuming %s (left in processing/ by an earlier run)", leftover.name)
        result.files.append(process_claimed(inbox, leftover, job))
    ready = wait_until_ready(
        inbox, options.trigger_suffix, options.settle_seconds, options.max_wait
    )
    for path in ready:
        claimed = inbox.claim(path)
        if claimed is None:
            continue  # another konnect-etl process took it first
        if options.trigger_suffix:
            trigger_path(path, options.trigger_suffix).unlink(missing_ok=True)
        result.files.append(process_claimed(inbox, claimed, job))
    return result


def process_claimed(inbox: Inbox, claimed: Path, job: Job) -> FileResult:
    """Process a file in processing/ and move it, with its reports, to done/ or failed/."""
    day = job.now().date()
    chosen: dict[str, Path] = {}

    def destination(kind: str) -> tuple[Path, str]:
        folder = inbox.outcome_dir(kind, day)
        name = unique_name(folder, claimed.name)
        chosen["path"] = folder / name
        return folder, Path(name).stem

    try:
        result = process(claimed, job, destination)
    except CredentialsError:
        back = inbox.give_back(claimed)
        log.error("%s: stopped, Konnect refused the credentials; file left at %s", back.name, back)
        raise
    claimed.rename(chosen["path"])
    result.final_path = chosen["path"]
    return result
