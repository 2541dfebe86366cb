"""`<stem>.summary.json`: what became of a file, in the keys of SPEC section 4 (which
scheduled jobs and tests read) and ours (`already_applied`, `chunks.settled_by_lookup`,
`sheet`, `header_row`, `warnings`, `skipped_rows`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from etl import outcomes
from etl.appliedrows import already_applied
from etl.chunkresult import ChunkResult
from etl.order_rules import SHARED_AWB
from etl.wording import count

if TYPE_CHECKING:
    from etl.job import Job, Prepared
    from etl.report import RowOutcomes


def build_summary(
    path: Path,
    prepared: Prepared | None,
    out: RowOutcomes | None,
    results: list[ChunkResult] | None,
    started: datetime,
    job: Job,
    stem: str,
    file_errors: Sequence[str] = (),
) -> dict[str, Any]:
    """The keys of SPEC section 4, which scheduled jobs and tests read. `input` is the name
    the file has next to this summary (`stem`: `stock-2.csv` for a second `stock.csv` of the
    day), `received_as` the name it came with."""
    rows = outcomes.count_rows(out) if out is not None else _no_rows()
    results = results or []
    if prepared is None:  # a file not read; `partial` when an earlier attempt's part is in
        outcome = "partial" if any(r.state == "acknowledged" for r in results) else "failed"
    else:
        outcome = outcomes.decide_outcome(rows, uploaded=job.client is not None)
    return {
        "input": stem + path.suffix,
        "received_as": path.name,
        "feed": prepared.feed.name if prepared else _asked_feed(job),
        "mapping": prepared.mapping.name if prepared else job.mapping_name,
        "outcome": outcome,
        "rows": rows,
        # of rows["ok"]: those Konnect had applied already (found by a look-up, or a cancel
        # an earlier file applied); the rest were applied by this file
        "already_applied": _already_applied(prepared, out, results),
        "chunks": {
            "total": len(prepared.chunks) if prepared else len(results),  # recorded ones
            # answered by Konnect; a request whose answer was lost and whose orders were
            # looked up instead is `settled_by_lookup` (docs/decisions.md)
            "acknowledged": sum(r.state == "acknowledged" and not r.looked_up for r in results),
            "settled_by_lookup": sum(r.state == "acknowledged" and r.looked_up for r in results),
        },
        "ack_ids": [r.ack_id for r in results if r.ack_id],
        "started_at": started.isoformat(timespec="seconds"),
        "finished_at": job.now().isoformat(timespec="seconds"),
        "file_errors": list(file_errors),
        "sheet": prepared.table.sheet.sheet_name if prepared else None,
        "header_row": prepared.table.header_row if prepared else None,
        "warnings": _warnings(prepared, out),
        "skipped_rows": prepared.mapped.skipped_rows if prepared else 0,
    }


def _already_applied(
    prepared: Prepared | None, out: RowOutcomes | None, results: list[ChunkResult]
) -> int:
    if prepared is None or out is None:
        return 0
    return already_applied(out, prepared.validated, prepared.chunks, results)


def _warnings(prepared: Prepared | None, out: RowOutcomes | None) -> list[str]:
    """What the user should hear of although nothing failed: the table's notes (an earlier
    file's AWB on another order, cancels not sent...), an AWB on two orders of this file,
    the rows skipped."""
    if prepared is None:
        return []
    return [*prepared.table.notes, *_shared_awbs(prepared, out), *prepared.table.skipped]


def _shared_awbs(prepared: Prepared, out: RowOutcomes | None) -> list[str]:
    """The rows Konnect took with an AWB number another order of the same file has (each row
    says which, `etl.order_rules.shared_awb_notes`), counted as the cross-file ones are
    (`etl.awbbook`)."""
    if prepared.feed.name != "awb" or out is None:
        return []
    notes = prepared.validated.notes.items()
    noted = [p for p, note in notes if note.startswith(SHARED_AWB) and out.status[p] == "ok"]
    if not noted:
        return []
    return [
        f"{count(len(noted), 'row')} set an AWB number another order of this file has too:"
        " check that those orders really travel as one consignment (the rows say which)"
    ]


def _no_rows() -> dict[str, int]:
    return {"total": 0, "ok": 0, "rejected": 0, "failed": 0, "unknown": 0}


def _asked_feed(job: Job) -> str | None:
    """The feed of a file that failed before a mapping was chosen: the one --feed or
    --mapping asked for, if any (the run table then shows what the user chose, not '-')."""
    named = [m.feed for m in job.mappings if m.name == job.mapping_name]
    return job.feed or (named[0] if named else None)
