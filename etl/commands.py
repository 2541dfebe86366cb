"""The library functions behind each CLI command (the CLI only parses and maps errors)."""

from __future__ import annotations

from pathlib import Path

from openpyxl import Workbook
from rich.markup import escape

import etl
from etl.atomic import atomic_write, atomic_write_bytes
from etl.config import Settings, state_dir
from etl.console import console, print_summary, progress_bars
from etl.errors import ConfigError
from etl.feeds import get_feed
from etl.journal import Journal
from etl.matching import explain
from etl.pipeline import Destination, FileResult, Job, process
from etl.runner import run_inbox
from etl.service import run_options
from etl.session import all_mappings, connection, journal_path
from etl.stopping import StopNow, StopRequest, stop_on_signals


def run_command(
    inbox: Path,
    settings: Settings,
    *,
    sandbox: bool = False,
    dry_run: bool = False,
    feed: str | None = None,
    mapping: str | None = None,
    show: bool = True,
) -> int:
    """`run INBOX`: every ready file once; the exit code of SPEC section 5."""
    mappings = all_mappings(settings)
    stop = StopRequest()  # SIGTERM/Ctrl+C: finish the file in progress, then stop
    options = run_options(settings, stop)
    if dry_run:
        return _dry_run(inbox, settings, mappings, feed, mapping)
    with (
        connection(settings, sandbox=sandbox, dry_run=False) as client,
        progress_bars(show) as bars,
        stop_on_signals(stop),
    ):
        journal = Journal(journal_path(inbox))
        try:
            job = Job(mappings, client, journal, feed=feed, mapping_name=mapping, progress=bars,
                      guards=settings.guards)  # fmt: skip
            result = run_inbox(inbox, job, options)
        except StopNow:  # asked twice: not uploaded yet, the next run resumes the file
            return 1
        finally:
            journal.close()
    if show:
        print_summary(result.files, not_taken=result.not_taken)
    return 0 if result.all_ok else 1


def _dry_run(inbox: Path, settings: Settings, mappings: list[etl.mapping.Mapping],
             feed: str | None, mapping: str | None) -> int:  # fmt: skip
    """Validate every waiting file; reports go to .konnect-etl/dry-run/, inputs stay put."""
    from etl.inbox import Inbox

    out = state_dir(inbox) / "dry-run"
    out.mkdir(exist_ok=True)
    job = Job(mappings, None, None, feed=feed, mapping_name=mapping)
    results = [
        process(path, job, fixed_destination(out, path.stem))
        for path in Inbox(inbox).candidates(settings.trigger_suffix)
    ]
    print_summary(results, "konnect-etl run --dry-run")
    return _exit_code(results, "validated")


def validate_command(
    files: list[Path], settings: Settings, *, feed: str | None = None, mapping: str | None = None
) -> int:
    """`validate FILE...`: reports next to each file, nothing uploaded."""
    missing = [str(f) for f in files if not f.is_file()]
    if missing:
        raise ConfigError(f"file(s) not found: {', '.join(missing)}")
    job = Job(all_mappings(settings), None, None, feed=feed, mapping_name=mapping)
    results = [process(f, job, fixed_destination(f.parent, f.stem)) for f in files]
    print_summary(results, "konnect-etl validate")
    return _exit_code(results, "validated")


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


def template_columns(feed: str, mapping_name: str | None, settings: Settings) -> list[str]:
    """The headers a file needs: the feed's canonical columns, or a mapping's source columns."""
    if mapping_name is None:
        return list(get_feed(feed).columns)
    found = {m.name: m for m in all_mappings(settings)}
    if mapping_name not in found:
        raise ConfigError(f"no mapping called '{mapping_name}' (see `konnect-etl mappings`)")
    mapping = found[mapping_name]
    if mapping.feed != feed:
        raise ConfigError(f"mapping '{mapping_name}' is for {mapping.feed} files, not {feed}")
    return list(dict.fromkeys(c for f in mapping.fields for c in f.columns))


def template_command(feed: str, out: Path | None, mapping: str | None, settings: Settings) -> Path:
    """`template FEED`: an empty .xlsx (or .csv) with the headers a FEED file needs."""
    columns = template_columns(feed, mapping, settings)
    out = out or Path(f"{feed}.xlsx")
    if out.exists():
        raise ConfigError(f"{out} already exists; choose another name with --out")
    if out.suffix.lower() == ".csv":
        atomic_write_bytes(out, ("\ufeff" + ",".join(columns) + "\r\n").encode("utf-8"))
        return out
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = feed
    sheet.append(columns)
    atomic_write(out, lambda tmp: workbook.save(tmp))
    return out


def mappings_command(explain_file: Path | None, settings: Settings) -> int:
    """`mappings`: list them; `--explain FILE`: which matches FILE and why."""
    mappings = all_mappings(settings)
    if explain_file is None:
        for m in sorted(mappings, key=lambda m: m.name):
            console.print(f"[bold]{m.name}[/]  ({m.feed})  {m.description}  [dim]{m.path}[/]")
        return 0
    if not explain_file.is_file():
        raise ConfigError(f"file not found: {explain_file}")
    reports = explain(mappings, explain_file)
    for report in reports[:5]:
        mark = "[green]matches[/]" if report.fits else "[red]does not match[/]"
        console.print(f"{mark}  {escape(report.text())}")
    return 0 if reports and reports[0].fits else 1


def release_command(file: Path) -> Path:
    """`release FILE`: a held file goes back to the inbox and skips the guards next run."""
    from etl.release import release_file

    return release_file(file)
