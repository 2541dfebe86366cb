"""The library functions behind each CLI command (the CLI only parses and maps errors)."""

from __future__ import annotations

import sys
from functools import partial
from pathlib import Path

from rich.markup import escape

import etl
from etl.atomic import fit_name
from etl.config import CONFIG_NAMES, STATE_DIR, Settings, state_dir
from etl.console import console, print_summary, progress_bars
from etl.errors import ConfigError, InputError
from etl.exportmap import all_export_mappings, export_folders
from etl.feeds import get_feed
from etl.inbox import Inbox
from etl.inboxowner import TAKEN_OVER, one_machine
from etl.job import Destination, FileResult, Job
from etl.journal import Journal
from etl.mapper import locate_columns
from etl.mapping import Mapping, generic_mapping
from etl.matching import choose_mapping, explain
from etl.outoforder import describe_export_time
from etl.pipeline import process
from etl.runner import run_inbox
from etl.service import run_options
from etl.session import all_mappings, check_sandbox_folder, connection, journal_path
from etl.stopping import StopNow, StopRequest, stop_on_signals
from etl.templates import (
    Layout,
    advice,
    canonical_layout,
    default_name,
    layout_for,
    who_takes,
    write_template,
)


def run_command(
    inbox: Path,
    settings: Settings,
    *,
    sandbox: bool = False,
    dry_run: bool = False,
    feed: str | None = None,
    mapping: str | None = None,
    show: bool = True,
) -> tuple[int, int, list[str]]:
    """`run INBOX`: every ready file once; the exit code of SPEC section 5, how many files
    were finished, and the names of those that could not be taken from the inbox."""
    mappings = all_mappings(settings)
    stop = StopRequest()  # SIGTERM/Ctrl+C: finish the file in progress, then stop
    options = run_options(settings, stop)
    if dry_run:
        return dry_run_files(inbox, settings, mappings, feed, mapping), 0, []
    if sandbox:
        check_sandbox_folder(inbox)
    with (
        one_machine(inbox, on_lost=partial(stop.finish_then_stop, TAKEN_OVER)),
        connection(settings, sandbox=sandbox, dry_run=False) as client,
        progress_bars(show) as bars,
        stop_on_signals(stop),
    ):
        journal = Journal(journal_path(inbox, sandbox))
        try:
            job = Job(mappings, client, journal, feed=feed, mapping_name=mapping, progress=bars,
                      guards=settings.guards)  # fmt: skip
            result = run_inbox(inbox, job, options)
        except StopNow:  # asked twice: a file not finished waits for the next run (exit 1)
            return (1 if Inbox(inbox).in_processing() else 0), 0, []
        finally:
            journal.close()
    if show:
        print_summary(result.files, not_taken=result.not_taken, left=result.left, busy=result.busy)
    return (0 if result.all_ok else 1), len(result.files), result.not_taken


def dry_run_files(inbox: Path, settings: Settings, mappings: list[etl.mapping.Mapping],
             feed: str | None, mapping: str | None, paths: list[Path] | None = None,
             title: str = "konnect-etl run --dry-run") -> int:  # fmt: skip
    """Validate every waiting file (or `paths`, for `watch --dry-run`); reports go to
    .konnect-etl/dry-run/, inputs stay put."""
    out = state_dir(inbox) / "dry-run"
    out.mkdir(exist_ok=True)
    job = Job(mappings, None, None, feed=feed, mapping_name=mapping)
    if paths is None:
        paths = Inbox(inbox).candidates(settings.trigger_suffix)
    results = [process(path, job, fixed_destination(out, _stem(path))) for path in paths]
    print_summary(results, title)
    return _exit_code(results, "validated")


def validate_command(
    files: list[Path],
    settings: Settings,
    *,
    feed: str | None = None,
    mapping: str | None = None,
    preview: bool = False,
) -> int:
    """`validate FILE...`: reports next to each file, or for a file in an inbox in its
    .konnect-etl/dry-run/ (with `preview`, the rows as they would be sent too); nothing
    uploaded."""
    missing = [str(f) for f in files if not f.is_file()]
    if missing:
        raise ConfigError(f"file(s) not found: {', '.join(missing)}")
    job = Job(all_mappings(settings), None, None, feed=feed, mapping_name=mapping)
    job.preview = preview
    results = [process(f, job, fixed_destination(_reports_folder(f), _stem(f))) for f in files]
    print_summary(results, "konnect-etl validate")
    return _exit_code(results, "validated")


def _reports_folder(path: Path) -> Path:
    """Next to the file - unless it waits in an inbox (a folder with our state folder, or
    with a config file: a new inbox before its first run): there the next run would take the
    reports, failing the result report as "sent already" and uploading the errors file as a
    fix. Then `run --dry-run`'s folder."""
    folder = path.parent
    inbox = (folder / STATE_DIR).is_dir() or any((folder / n).is_file() for n in CONFIG_NAMES)
    return state_dir(folder) / "dry-run" if inbox else folder


def _stem(path: Path) -> str:
    """The reports' stem: the file's, cut short where `<stem>.summary.json` would be a name
    too long for the file system (`etl.atomic.fit_name`)."""
    return Path(fit_name(path.name)).stem


def fixed_destination(folder: Path, stem: str) -> Destination:
    """Reports always go to `folder/<stem>.*`, whatever the outcome."""
    return lambda _kind: (folder, stem)


def _exit_code(results: list[FileResult], good: str) -> int:
    return 0 if all(r.outcome == good and r.rows["ok"] == r.rows["total"] for r in results) else 1


def example_dir() -> Path:
    """`inbox_example/`: inside the wheel, or next to the package in a checkout."""
    package = Path(etl.__file__).parent
    for candidate in (package / "builtin_example", package.parent / "inbox_example"):
        if candidate.is_dir():
            return candidate
    raise ConfigError("inbox_example/ is missing: reinstall konnect-etl")


def template_command(feed: str, out: Path | None, mapping: str | None, settings: Settings) -> Path:
    """`template FEED`: an empty .xlsx (or .csv) that the inbox reads as a FEED file.

    With `mapping`, the file is one that mapping takes (etl.templates). A chosen `--out`
    name the inbox would not read with it is written anyway, with a warning that says why.
    """
    mappings = all_mappings(settings)
    target, layout = _template_target(feed, mapping, mappings)
    path = out or Path(default_name(target, layout))
    if path.exists():
        raise ConfigError(f"{path} already exists; choose another name with --out")
    write_template(path, layout)
    problem = who_takes(path, mappings, target, exact=mapping is not None)
    if problem is not None:
        option = f"--mapping {mapping}" if mapping else f"--feed {feed}"
        print(f"warning: {problem}; {advice(path, target, layout, option)}", file=sys.stderr)
    return path


def _template_target(
    feed: str, name: str | None, mappings: list[Mapping]
) -> tuple[Mapping, Layout]:
    """The mapping a template is for (generic/FEED without --mapping) and its layout."""
    spec = get_feed(feed)
    found = {m.name: m for m in mappings}
    if name is None:
        return found.get(f"generic/{feed}") or generic_mapping(feed), canonical_layout(spec)
    if name not in found:
        raise ConfigError(f"no mapping called '{name}' (see `konnect-etl mappings`)")
    chosen = found[name]
    if chosen.feed != feed:
        raise ConfigError(f"mapping '{name}' is for {chosen.feed} files, not {feed}")
    return chosen, layout_for(chosen)


def mappings_command(explain_file: Path | None, settings: Settings) -> int:
    """`mappings`: list them; `--explain FILE`: which matches FILE and why."""
    mappings = all_mappings(settings)
    if explain_file is None:
        for m in sorted(mappings, key=lambda m: m.name):
            console.print(f"[bold]{m.name}[/]  ({m.feed})  {m.description}  [dim]{m.path}[/]")
        for e in all_export_mappings(export_folders(settings.mappings_dir)):
            what = f"(orders pull --mapping {e.name})"
            console.print(f"[bold]{e.name}[/]  {what}  {e.description}  [dim]{e.path}[/]")
        return 0
    if not explain_file.is_file():
        raise ConfigError(f"file not found: {explain_file}")
    reports = explain(mappings, explain_file)
    for report in reports[:5]:
        mark = "[green]matches[/]" if report.fits else "[red]does not match[/]"
        console.print(f"{mark}  {escape(report.text())}")
    try:  # the verdict `run` would reach: a tie between two fitting mappings is no match,
        chosen, table = choose_mapping(mappings, explain_file)
        locate_columns(chosen, table)  # nor is a file without a column a skip rule reads
    except InputError as exc:
        console.print(f"[bold red]run would not take it:[/] {escape(str(exc))}")
        return 1
    console.print(f"[bold green]run would use {chosen.name}[/]")
    if (said := describe_export_time(chosen, explain_file)) is not None:
        console.print(escape(said), soft_wrap=True)
    for note in table.notes:  # what its summary's warnings would say
        console.print(f"[yellow]Note[/] {escape(note)}", soft_wrap=True)
    return 0


def release_command(file: Path) -> Path:
    """`release FILE`: a held file goes back to the inbox and skips the guards next run."""
    from etl.release import release_file

    return release_file(file)
