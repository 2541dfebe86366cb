"""What a person at a terminal sees: progress bars per file and the end-of-run table."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from etl.pipeline import FileResult, ProgressFactory

console = Console(stderr=False)
_STYLE = {"uploaded": "green", "validated": "green", "partial": "yellow", "rejected": "red"}


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
            task = bars.add_task(f"uploading {name}", total=total)
            return lambda done: bars.update(task, completed=done)

        yield factory


def summary_table(results: Sequence[FileResult]) -> Table:
    """One line per file: where it went, the outcome and the row counts."""
    table = Table(title="konnect-etl run", show_lines=False)
    for name in ("file", "feed", "mapping", "outcome", "rows", "ok", "rejected", "failed",
                 "unknown", "now in"):  # fmt: skip
        table.add_column(name, justify="left" if name in _TEXT_COLUMNS else "right")
    for result in results:
        s, rows = result.summary, result.rows
        style = _STYLE.get(result.outcome, "red")
        where = str(result.final_path.parent) if result.final_path else "-"
        table.add_row(
            s["input"], s["feed"] or "-", s["mapping"] or "-", f"[{style}]{result.outcome}[/]",
            *(str(rows[k]) for k in _COUNTS), where,
        )  # fmt: skip
    return table


_COUNTS = ("total", "ok", "rejected", "failed", "unknown")
_TEXT_COLUMNS = ("file", "feed", "mapping", "outcome", "now in")


def print_summary(results: Sequence[FileResult]) -> None:
    if not results:
        console.print("No files were ready in the inbox.")
        return
    console.print(summary_table(results))
