"""Files whose exact content was processed before.

Stock and price files carry absolute values, so sending the same file again is harmless and
is done by default (`reprocess_duplicates: false` turns that off). Order feeds (invoice, pack,
confirm...) are actions: a second copy goes to `duplicates/YYYY-MM-DD/` with a summary that
says when and where the original was processed, and nothing is sent. A file with the same
name but different content is simply a new file.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson

from etl.atomic import atomic_write_bytes, reserved_name
from etl.feeds import ABSOLUTE_FEEDS
from etl.filehash import content_hash
from etl.inbox import Inbox
from etl.job import FileResult
from etl.journal import Journal
from etl.journaltables import FileRecord
from etl.pipeline import report_kind
from etl.report import remove_reports
from etl.wording import local_time


def earlier_copy(
    journal: Journal,
    sha256: str,
    name: str,
    reprocess_absolute: bool,
    feed_of_this: Callable[[], str | None],
) -> FileRecord | None:
    """The finished earlier file this one repeats, if it must not be processed again.

    Only a copy for the same feed repeats it: the same pick list confirmed in the morning and
    dispatched in the afternoon is two actions. `feed_of_this` (which reads the file's header)
    is asked only when the content was seen before; None (no mapping fits) is no repeat."""
    if journal.unfinished(sha256, name) is not None:
        return None  # our own attempt that a crash interrupted: resume it
    feed: list[str | None] = []
    for record in reversed(journal.find_finished(sha256)):
        if record.state != "done":
            continue
        if _report_waits_for(record, name) is not None:
            return record  # this very file, stopped before its move: `finish_move` it
        if record.feed in ABSOLUTE_FEEDS and reprocess_absolute:
            return None  # sent again anyway: no need to read the file for its feed
        if not feed:
            feed.append(feed_of_this())
        if record.feed != feed[0]:
            continue
        return record
    return None


def applied_nothing(original: FileRecord) -> bool:
    """True when the earlier copy's report says no row was applied or in doubt (every row
    rejected or refused): sending it again repeats nothing. Without its report: False."""
    try:
        rows = orjson.loads(Path(original.summary_path or "").read_bytes())["rows"]
        return int(rows["ok"]) == 0 and int(rows["unknown"]) == 0
    except (OSError, ValueError, KeyError, TypeError):
        return False


def finish_move(claimed: Path, original: FileRecord) -> FileResult | None:
    """When `original` is this very file, stopped after its reports were written but before
    it was moved next to them (a crash or a kill in between), move it there now; None when
    it is a second copy (the original input is in place, or its report is gone)."""
    target = _report_waits_for(original, claimed.name)
    if target is None:
        return None
    report = Path(original.summary_path or "")
    summary: dict[str, Any] = orjson.loads(report.read_bytes())
    claimed.rename(target)
    return FileResult(summary, [report], target)


def _report_waits_for(original: FileRecord, name: str) -> Path | None:
    """Where the input named `name` belongs when `original` is that very file with its
    reports written and the input not yet moved next to them; None otherwise."""
    if original.name != name or not original.summary_path:
        return None
    report = Path(original.summary_path)
    target = report.with_name(report.name.removesuffix(".summary.json") + Path(name).suffix)
    if target.exists() or not report.is_file():
        return None
    return target


def set_aside(inbox: Inbox, claimed: Path, original: FileRecord, now: datetime) -> FileResult:
    """Move `claimed` to duplicates/<day>/ with a summary naming the original."""
    folder = inbox.outcome_dir("duplicates", now.date())
    with reserved_name(folder, claimed.name, inbox.lock) as name:
        summary = duplicate_summary(name, original, now) | {"received_as": claimed.name}
        summary_path = folder / f"{Path(name).stem}.summary.json"
        atomic_write_bytes(summary_path, orjson.dumps(summary, option=orjson.OPT_INDENT_2))
        claimed.rename(folder / name)
    return FileResult(summary, [summary_path], folder / name)


def duplicate_summary(name: str, original: FileRecord, now: datetime) -> dict[str, Any]:
    when = original.finished_at or original.started_at
    where = original.summary_path or "(report not recorded)"
    message = (
        f"This file has exactly the same content as '{original.name}', which was processed "
        f"at {local_time(when)} (its report: {where}). It is a file of {original.feed} actions,"
        " which are never sent twice, so nothing was sent. To send its rows that were refused"
        " then (an invoice missing, say), drop its errors file from next to that report; to"
        " send it anyway, change the file (remove the rows already done) and drop it again."
    )
    stamp = now.isoformat(timespec="seconds")
    return {
        "input": name,
        "feed": original.feed,
        "mapping": original.mapping,
        "outcome": "duplicate",
        "rows": {"total": 0, "ok": 0, "rejected": 0, "failed": 0, "unknown": 0},
        "chunks": {"total": 0, "acknowledged": 0},
        "ack_ids": [],
        "started_at": stamp,
        "finished_at": stamp,
        "file_errors": [message],
        "duplicate_of": {"input": original.name, "processed_at": when, "summary": where},
    }


def drop_unfinished_reports(journal: Journal | None, claimed: Path) -> None:
    """Reports an attempt wrote before it was stopped, never moving the file next to them
    (`Journal.note_reports`): the resumed attempt writes a whole set again, under the name
    it picks then - not a second set beside an orphan one. Only that attempt's own: a
    summary naming another input is a file that took the stem after the stop (written by
    an older version, which let it), and so are that file's result and errors files."""
    earlier = journal.unfinished(content_hash(claimed), claimed.name) if journal else None
    if earlier is None or not earlier.summary_path:
        return
    summary = Path(earlier.summary_path)
    folder, stem = summary.parent, summary.name.removesuffix(".summary.json")
    if (folder / f"{stem}{claimed.suffix}").exists():
        return  # a file is filed under that name: the reports are its own
    written = _summary_at(summary)
    if written is not None and _names(written, f"{stem}{claimed.suffix}", claimed.name):
        remove_reports(folder, stem)  # ours, summary and all: stopped before the move
        return
    kind = report_kind(claimed)  # the kind of our result and errors files
    if written is not None and _kind_of(folder / str(written.get("input"))) in (kind, None):
        return  # another file's reports of our kind replaced ours (or may have)
    for part in ("result", "errors"):
        (folder / f"{stem}.{part}.{kind}").unlink(missing_ok=True)


def _summary_at(path: Path) -> dict[str, Any] | None:
    """The summary at `path`; None when there is none, {} when it cannot be read."""
    try:
        loaded = orjson.loads(path.read_bytes())
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return {}
    return loaded if isinstance(loaded, dict) else {}


def _names(summary: dict[str, Any], filed_as: str, received_as: str) -> bool:
    """`summary` is that of the file received as `received_as`, to be filed as `filed_as`."""
    return summary.get("input") == filed_as and summary.get("received_as") == received_as


def _kind_of(filed: Path) -> str | None:
    """The kind of the reports of the file filed at `filed`; None when it is not there."""
    return report_kind(filed) if filed.is_file() else None
