"""What is said when no mapping fits a file, or two fit equally well.

The reader of these messages is whoever dropped the file: each names what was missing and
what to do (rename the file, pass --feed or --mapping, load their own mappings). Kept apart
from `etl.matching`, which decides the fit; this only words the outcome.
"""

from __future__ import annotations

from pathlib import Path

from etl.config import CONFIG_NAMES, builtin_mappings_dir
from etl.mapspec import Mapping
from etl.sheetpick import MatchReport, headerless


def no_fit_message(
    reports: list[MatchReport], path: Path, loaded: list[Mapping], *, forced: bool
) -> str:
    """Why no mapping fits; `loaded`: every mapping loaded, `forced`: --mapping chose one."""
    closest = max(reports, key=lambda r: (r.name_level, r.score))  # a glob match says most
    if forced:  # the user's own choice: what it lacks, no "your own mappings" hint
        return f"{path.name} does not fit the mapping asked for, {closest.text()}"
    named = [r for r in reports if r.headers_ok and r.mapping.filename]
    if named:
        return name_message(named, path)
    said = f"no mapping fits {path.name}; closest: {closest.text()}"
    if headerless(closest.sheet):
        said += HEADERLESS
    return said + own_mappings_hint(loaded, path)


HEADERLESS = (
    ". Its first line reads as data, not column names: was the file written in pieces (the"
    " export opening it again to add rows after the first part was taken)? Then the rows are"
    " those of a file before it: have the export write the file in one go, under a temporary"
    " name renamed at the end, or set trigger_suffix in the config"
)


def own_mappings_hint(mappings: list[Mapping], path: Path | None = None) -> str:
    """Said when only the built-in mappings were looked at: `validate` and `mappings` read
    no config file unless given --config, so a user's new mapping is easily not loaded; the
    config file beside `path` (a file in an inbox) is named with the option to give."""
    builtin = builtin_mappings_dir().resolve()
    if any(not (m.is_generic or m.path.resolve().is_relative_to(builtin)) for m in mappings):
        return ""
    said = (
        ". Only the built-in mappings were looked at: your own are loaded from the folder "
        "a konnect-etl.yaml names in 'mappings:' (run and watch read the inbox's; validate "
        "and mappings one given with --config)"
    )
    beside = [path.parent / n for n in CONFIG_NAMES if path and (path.parent / n).is_file()]
    return said + (f'; this file\'s folder has one: --config "{beside[0]}"' if beside else "")


def name_message(named: list[MatchReport], path: Path) -> str:
    """The header fits but the file name does not: e.g. canonical order columns, no feed named.

    confirm and dispatch files have the same columns (return_qc and pack nearly so): the name
    or --feed must say which action is meant, so this never guesses.
    """
    named = sorted(named, key=lambda r: len(r.mapping.required_headers), reverse=True)
    names = ", ".join(r.mapping.name for r in named)
    globs = ", ".join(dict.fromkeys(f"'{g}'" for r in named for g in r.mapping.filename))
    feeds = list(dict.fromkeys(r.mapping.feed for r in named))
    said = f"no mapping fits {path.name}: its header fits {names}, but the file name "
    said += f"does not match {globs}"
    if len(feeds) == 1:
        return f"{said}; rename the file to match or pass --feed {feeds[0]}"
    choice = f"{', '.join(feeds[:-1])} or {feeds[-1]}"
    return (
        f"{said}. The columns alone do not say which feed it is: rename the file to match "
        f"the right one or pass --feed ({choice})"
    )


def tie_message(first: MatchReport, second: MatchReport) -> str:
    how = "--mapping"
    if first.mapping.feed != second.mapping.feed:
        how = f"--feed ({first.mapping.feed} or {second.mapping.feed}) or --mapping"
    return (
        f"both {first.mapping.name} and {second.mapping.name} fit equally well; "
        f"give one a more specific match (file name or headers) or choose with {how}"
    )
