"""What `konnect-etl status` sees in the inbox's folders, beside the heartbeat.

- Files left in the inbox: a watcher takes a file seconds after it stops changing, a
  scheduled run at its next start; a file still there an hour later is kept there by
  something - its trigger file never written, say - and nothing else would tell.
- Files in a folder dropped into the inbox: only the top level is read.
- Nothing getting through: the last `NOTHING_THROUGH` files finished (done/, failed/, by
  their summaries) had no row ok - the ERP changed its export, Konnect refuses every SKU, a
  store's code was renamed. The tool runs on; only the reports, which may go unread, say so.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import orjson

from etl.inbox import is_trigger
from etl.sidefiles import files_not_read, is_ignored
from etl.wording import count, duration

# a file in the inbox this long without being taken is a problem (or --max-age, if longer)
WAITING_MAX = 3600.0
NOTHING_THROUGH = 3  # this many files in a row without a row ok are a problem
DAY_FOLDER = re.compile(r"\d{4}-\d{2}-\d{2}")


def waiting_files(inbox: Path, now: float, limit: float = WAITING_MAX) -> dict[str, float]:
    """Files at the inbox's top level that could be data and have not changed nor arrived
    for longer than `limit` seconds (name -> seconds): a watcher takes a file seconds after
    it stops changing, a scheduled run at its next start, so such a file is kept there by
    something: its trigger file never written, a lock another program holds on it (arrived:
    the inode's change time, as a copy may keep an old modification time)."""
    found: dict[str, float] = {}
    try:
        entries = list(os.scandir(inbox))
    except OSError:
        return found
    for entry in entries:
        try:
            if entry.is_symlink() or not entry.is_file() or is_ignored(entry.name):
                continue
            if is_trigger(entry.name, None):
                continue
            info = entry.stat()
        except OSError:
            continue
        waited = now - max(info.st_mtime, info.st_ctime)
        if waited > limit:
            found[entry.name] = waited
    return dict(sorted(found.items(), key=lambda item: -item[1]))


UNREAD_FOR = 24 * 3600  # files in a folder of the inbox are a problem for a day after they came


def unread_files(inbox: Path, now: float, limit: float = WAITING_MAX) -> dict[str, float]:
    """Files in folders dropped into the inbox, there for longer than `limit` seconds and
    less than `UNREAD_FOR` ('folder/name' -> seconds): only the top level is read, so nothing
    else says so - for a day: a folder the shop keeps there on purpose (an archive) must not
    hold `status` at PROBLEM for good."""
    found: dict[str, float] = {}
    try:
        folders = [Path(e.path) for e in os.scandir(inbox) if e.is_dir(follow_symlinks=False)]
    except OSError:
        return found
    for path in (p for folder in folders for p in files_not_read(folder)):
        try:
            info = path.stat()
        except OSError:
            continue
        age = now - max(info.st_mtime, info.st_ctime)
        if limit < age < max(UNREAD_FOR, 2 * limit):
            found[f"{path.parent.name}/{path.name}"] = age
    return dict(sorted(found.items(), key=lambda item: -item[1]))


def unread_problem(unread: dict[str, float]) -> str:
    shown = ", ".join(f"{name} ({duration(seconds)})" for name, seconds in unread.items())
    return (
        f"{count(len(unread), 'file')} in folders of the inbox will never be read: {shown};"
        " files in sub-folders are not read: move them into the inbox itself"
    )


def waiting_problem(waiting: dict[str, float], limit: float) -> str:
    """What `status` says of the files `waiting_files` found."""
    shown = ", ".join(f"{name} ({duration(seconds)})" for name, seconds in waiting.items())
    return (
        f"{count(len(waiting), 'file')} waited in the inbox over {duration(limit)} without being"
        f" taken: {shown}. A file is taken once it stops changing and is not open in Excel (a"
        " ~$ file beside it); with trigger_suffix, once its trigger file is there too: see the"
        " log"
    )


def nothing_through(inbox: Path, files: int = NOTHING_THROUGH) -> list[str]:
    """'name (outcome, N rows)' for each of the last `files` files finished (newest first)
    when none of them had a row ok; [] when one had, or fewer have finished."""
    latest = _latest_summaries(inbox, files)
    if len(latest) < files:
        return []
    found = []
    for summary in latest:
        rows = summary.get("rows") or {}
        if summary.get("outcome") not in ("rejected", "failed") or int(rows.get("ok") or 0):
            return []
        total = count(int(rows.get("total") or 0), "row")
        found.append(f"{summary.get('input')} ({summary.get('outcome')}, {total})")
    return found


def nothing_through_problem(files: list[str]) -> str:
    return (
        f"none of the last {len(files)} files got a row through: {', '.join(files)}; see their"
        " errors files and summaries in done/ and failed/"
    )


def _latest_summaries(inbox: Path, files: int) -> list[dict[str, Any]]:
    """The summaries of the last `files` files finished, newest first (day folders of done/
    and failed/, newest first, until each gave enough)."""
    found: list[tuple[float, Path]] = []
    for kind in ("done", "failed"):
        try:
            days = sorted((d for d in os.scandir(inbox / kind) if DAY_FOLDER.fullmatch(d.name)),
                          key=lambda d: d.name, reverse=True)  # fmt: skip
        except OSError:
            continue
        seen = 0
        for day in days:
            if seen >= files:
                break
            for path in Path(day.path).glob("*.summary.json"):
                try:
                    found.append((path.stat().st_mtime, path))
                except OSError:
                    continue
                seen += 1
    summaries = []
    for _, path in sorted(found, key=lambda item: -item[0]):
        try:
            summaries.append(orjson.loads(path.read_bytes()))
        except (OSError, orjson.JSONDecodeError):
            continue
        if len(summaries) == files:
            break
    return summaries
