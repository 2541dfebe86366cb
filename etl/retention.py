"""`keep_days`: remove day folders of done/, failed/ and duplicates/ older than that.

Off unless configured: by default every input and report is kept forever, and on a box that
takes a million-row file a day done/ grows by ~55 MB a day. With `keep_days: 90` a day folder
(`done/2026-08-28/`) is removed once it is more than 90 days old, judged by its name, not by
file times (a share can report any mtime). held/ is never touched: those files wait for a
person. The journal forgets the per-request results of files finished before the same
cutoff; it keeps one line per file, so an old copy dropped again is still recognised.

Pruning never stops the work: a folder that cannot be removed is logged and tried again by
the next run (`watch`: the next day).
"""

from __future__ import annotations

import logging
import re
import shutil
import sqlite3
import stat
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path

from etl.inbox import Inbox
from etl.journal import Journal

log = logging.getLogger(__name__)

PRUNED_KINDS = ("done", "failed", "duplicates")
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


@dataclass
class Pruned:
    folders: list[Path] = field(default_factory=list)
    journal_chunks: int = 0


def prune(inbox: Inbox, journal: Journal | None, keep_days: int | None, today: date) -> Pruned:
    """Remove what is older than `keep_days` days before `today` (nothing when None)."""
    pruned = Pruned()
    if keep_days is None:
        return pruned
    cutoff = today - timedelta(days=keep_days)
    try:
        old = _old_day_folders(inbox, cutoff)
    except OSError as exc:  # done/ unreadable...: the files themselves must still flow
        log.warning("could not look for day folders older than keep_days: %d: %s", keep_days, exc)
        old = []
    for folder in old:
        problem = _remove(folder)
        if problem is not None:
            log.warning("could not remove %s (older than keep_days: %d): %s; trying again "
                        "next time", folder, keep_days, problem)  # fmt: skip
            continue
        pruned.folders.append(folder)
    _old_dry_run_reports(inbox, datetime.combine(cutoff, time()).timestamp())
    if journal is not None:
        try:
            pruned.journal_chunks = journal.forget_chunks(datetime.combine(cutoff, time()))
        except sqlite3.Error as exc:  # busy or broken: the next pass tries again
            log.warning("could not trim the journal (keep_days: %d): %s", keep_days, exc)
    if pruned.folders:
        names = ", ".join(f"{f.parent.name}/{f.name}" for f in pruned.folders)
        log.info("removed %d day folder(s) older than %d days (keep_days): %s",
                 len(pruned.folders), keep_days, names)  # fmt: skip
    return pruned


def _old_dry_run_reports(inbox: Inbox, before: float) -> None:
    """`run --dry-run`'s reports (INBOX/.konnect-etl/dry-run/) last written before `before`:
    one set per file name ever tried, otherwise kept for good."""
    try:
        reports = [p for p in (inbox.state / "dry-run").iterdir() if p.is_file()]
    except OSError:
        return
    for report in reports:
        with suppress(OSError):
            if report.stat().st_mtime < before:
                report.unlink()


def _remove(folder: Path) -> OSError | None:
    """Remove `folder` and all in it; the error if that failed. Another konnect-etl process on
    the same inbox may be removing it at the same moment: what it removed first is no error
    (and should anything be left, the next pass removes it). What is read-only (Windows'
    read-only attribute on an ERP's export, a folder copied from a share without write
    permission) is made writable for its owner first; what is still refused (another owner,
    an immutable file) is the error."""
    try:
        try:
            shutil.rmtree(folder)
        except PermissionError:
            _owner_may_write(folder)
            shutil.rmtree(folder)
    except FileNotFoundError:
        return None
    except OSError as exc:
        return exc
    return None


def _owner_may_write(path: Path) -> None:
    """Give the owner write permission on `path` and all in it (and read and search on the
    folders); links are never followed, what cannot be changed is left as it is."""
    try:
        mode = path.lstat().st_mode
        if stat.S_ISLNK(mode):
            return
        is_dir = stat.S_ISDIR(mode)
        path.chmod(stat.S_IMODE(mode) | (stat.S_IRWXU if is_dir else stat.S_IWUSR))
        for entry in path.iterdir() if is_dir else ():
            _owner_may_write(entry)
    except OSError:
        pass


def _old_day_folders(inbox: Inbox, cutoff: date) -> list[Path]:
    """`<kind>/YYYY-MM-DD/` folders (not links) dated before `cutoff`, oldest first."""
    found = []
    for kind in PRUNED_KINDS:
        parent = inbox.root / kind
        if not parent.is_dir() or parent.is_symlink():
            continue
        for entry in parent.iterdir():
            if not _DAY.fullmatch(entry.name) or entry.is_symlink() or not entry.is_dir():
                continue
            try:
                day = date.fromisoformat(entry.name)
            except ValueError:  # 2026-13-45: not one of ours
                continue
            if day < cutoff:
                found.append(entry)
    return sorted(found, key=lambda f: (f.name, f.parent.name))
