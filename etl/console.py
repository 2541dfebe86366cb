"""What a person at a terminal sees: progress bars per file and the end-of-run table."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from etl.job import FileResult, ProgressFactory
from etl.wording import applied_split

# Not a terminal (cron, logs): a fixed width so the table never wraps into unreadable cells.
console = Console(width=None if sys.stdout.isatty() else 120)
_STYLE = {
    "uploaded": "green",
    "validated": "green",
    "partial": "yellow",
    "rejected": "red",
    "held": "yellow",
}


@contextmanager
def progress_bars(enabled: bool) -> Iterator[ProgressFactory | None]:
    """A factory of per-file progress callbacks when attached to a terminal, else None."""
    if not (enabled and sys.stderr.isatty()):
        yield None
        return
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeRemainingColumn())  # fmt: skip
    with Progress(*columns, console=Console(stderr=True), transient=False) as bars:

        def factory(name: str, total: int) -> Callable[[int], None]:
            return _FileBar(bars, bars.add_task(f"uploading {name}", total=total))

        yield factory


@dataclass
class _FileBar:
    """A file's upload bar; `phase` adds a bar below it for a later phase of the same file
    (orders in doubt looked up one by one: `etl.reconcile`), so the upload bar at 100 %
    does not sit there for a minute as if the file were done."""

    bars: Progress
    task: TaskID

    def __call__(self, done: int) -> None:
        self.bars.update(self.task, completed=done)

    def phase(self, description: str, total: int) -> Callable[[int], None]:
        return _FileBar(self.bars, self.bars.add_task(description, total=total))


def summary_table(results: Sequence[FileResult], title: str) -> Table:
    """One line per file: the outcome and the row counts (narrow enough for 80 columns)."""
    table = Table(title=title, show_lines=False)
    table.add_column("file", overflow="fold")
    table.add_column("mapping", overflow="fold")
    table.add_column("outcome")
    for name in _COUNTS:
        table.add_column(name, justify="right")
    for result in results:
        s, rows = result.summary, result.rows
        outcome = "held" if s.get("held") else result.outcome  # the summary's is "failed"
        style = _STYLE.get(outcome, "red")
        table.add_row(
            s["input"], s["mapping"] or "-", f"[{style}]{outcome}[/]",
            *("-" if outcome == "held" else str(rows[k]) for k in _COUNTS),
        )  # fmt: skip
    return table


_COUNTS = ("total", "ok", "rejected", "failed", "unknown")
NOTES_SHOWN = 3  # per file, under the table


def print_summary(
    results: Sequence[FileResult],
    title: str = "konnect-etl run",
    not_taken: Sequence[str] = (),
    left: Sequence[str] = (),
    busy: Sequence[str] = (),
) -> None:
    if not results and not not_taken and not left and not busy:
        console.print("No files were ready in the inbox.")
        return
    if results:
        console.print(summary_table(results, title))
    for folder in sorted({str(r.final_path.parent) for r in results if r.final_path}):
        console.print(f"Files and their reports: {escape(folder)}")
    # files not moved (validate, --dry-run): where their reports were written
    for folder in sorted(
        {str(r.reports[0].parent.absolute()) for r in results if r.reports and not r.final_path}
    ):
        console.print(f"Reports: {escape(folder)}")
    for result in results:  # ok rows this file did not apply: a re-sent file is no fresh success
        split = applied_split(result.rows["ok"], result.summary.get("already_applied", 0))
        if split:
            said = f"{escape(result.summary['input'])}: {split} (the result file says which)"
            console.print(f"[cyan]Already done[/] {said}", soft_wrap=True)
    for result in results:  # what the table cannot say: rows not sent though ok, hidden rows
        notes = result.summary.get("warnings") or []
        for note in notes[:NOTES_SHOWN]:
            said = f"[yellow]Note[/] {escape(result.summary['input'])}: {escape(note)}"
            console.print(said, soft_wrap=True)  # one line each, as a log line: greppable
        if len(notes) > NOTES_SHOWN:
            console.print(f"     and {len(notes) - NOTES_SHOWN} more in its summary's warnings")
    for result in results:  # a file not used at all: why, without opening its summary
        s = result.summary
        if result.outcome in ("failed", "duplicate") and s.get("file_errors") and not s.get("held"):
            said = f"{escape(s['input'])}: {escape(str(s['file_errors'][0]))}"
            console.print(f"[red]{result.outcome.capitalize()}[/] {said}", soft_wrap=True)
    for result in results:
        if result.summary.get("held"):  # why, what to look at, how to let it go
            s = result.summary
            said = f"{s['held']}; {s['file_errors'][-1]}"  # the reason; `release` to let it go
            sent = "part sent before" if s["chunks"]["acknowledged"] else "nothing sent"
            line = f"[yellow]Held[/] {escape(s['input'])}, {sent}: {escape(said)}"
            console.print(line, soft_wrap=True)
    if left:
        console.print(f"[yellow]Left[/] for a run without --feed/--mapping (named for another"
                      f" feed, see the log): {escape(', '.join(left))}")  # fmt: skip
    if busy:
        console.print(f"[yellow]Left to another konnect-etl process[/] (it is working on them):"
                      f" {escape(', '.join(busy))}")  # fmt: skip
    if not_taken:
        names = ", ".join(not_taken)
        console.print(f"[red]Not taken[/] (may not be moved into processing/, see the log): "
                      f"{escape(names)}")  # fmt: skip
