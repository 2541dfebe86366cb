"""Turn validation problems and upload results into one verdict per source row."""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from etl.konnect import explain
from etl.model import Mapped, Problem, RowStatus, Table
from etl.report import RowOutcomes, source_columns
from etl.wording import applied_split, row_list

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from etl.bodies import Chunk, Validated
    from etl.upload import ChunkResult

OUTCOME_STATUSES = ("ok", "rejected", "failed", "unknown")


def new_outcomes(table: Table, mapped: Mapped) -> RowOutcomes:
    """Every kept data row starts `ok`; skipped (blank, total) rows are left out."""
    n = len(table.data)
    include = np.zeros(n, dtype=bool)
    include[mapped.positions] = True
    status = np.empty(n, dtype=object)
    status.fill("ok")  # one shared str; np.full would cast via "<U2" and make n of them
    columns = source_columns(table.header, mapped.sources)  # where a refusal's cell is
    return RowOutcomes(status=status, message=[""] * n, include=include, field_columns=columns)


def apply_problems(out: RowOutcomes, table: Table, problems: Sequence[Problem]) -> None:
    """Mark each problem's row with its status and message, and its cell for highlighting."""
    positions = np.searchsorted(table.row_numbers, [p.row for p in problems])
    columns = _column_index(table.header)
    for problem, pos in zip(problems, positions.tolist(), strict=True):
        out.status[pos] = problem.status
        out.message[pos] = _join(out.message[pos], _cell_message(problem))
        col = columns.get(_norm(problem.column))
        if col is not None:
            out.cell_problems[(pos, col)] = _join(
                out.cell_problems.get((pos, col), ""), problem.message
            )


def apply_results(
    out: RowOutcomes,
    validated: Validated,
    chunks: Sequence[Chunk],
    results: Sequence[ChunkResult],
    row_numbers: Sequence[int] = (),
) -> None:
    """Mark uploaded rows from the API's per-chunk answers (ok / failed / unknown);
    `row_numbers`: the table's, to name an order's row Konnect refused (`point_at_items`)."""
    by_index = {r.index: r for r in results}
    for chunk in chunks:
        result = by_index.get(chunk.index)
        if result is not None and _all_ok(result):
            continue  # the common case: nothing to mark, rows stay ok
        positions = validated.positions[chunk.rows]
        records = chunk.record_of_row
        for pos, record in zip(positions.tolist(), records.tolist(), strict=True):
            status, message = _row_verdict(result, record)
            if status != "ok" or message:
                out.status[pos] = status
                out.message[pos] = message
        if result is not None and result.record_errors and "orderItemId" in validated.frame:
            items = validated.frame["orderItemId"].iloc[chunk.rows].astype("str").tolist()
            point_at_items(out, positions.tolist(), records.tolist(), items, row_numbers)


def point_at_items(
    out: RowOutcomes, positions: list[int], records: list[int], items: list[str],
    row_numbers: Sequence[int],
) -> None:  # fmt: skip
    """Konnect refuses a whole order for one item ("item 1100...-2: quantity must be 1..2"):
    its message is on every row of the order; the rows of the items it does not name say
    which row it refused instead, so the person fixes that row, not the sound ones."""
    for record in set(records):
        mine = [k for k, r in enumerate(records) if r == record]
        said = out.message[positions[mine[0]]]
        if out.status[positions[mine[0]]] != "failed" or len(mine) < 2:
            continue
        named = [k for k in mine if items[k] and _names(said, items[k])]
        if not named or len(named) == len(mine) or not row_numbers:
            continue
        which = row_list([int(row_numbers[positions[k]]) for k in named])
        for k in set(mine) - set(named):
            out.message[positions[k]] = (
                f"not applied: Konnect refused this order for {which}: {said}"
            )


def _names(message: str, item: str) -> bool:
    """`message` names the order item `item` (not one whose id merely starts with it)."""
    return re.search(rf"(?<![\w-]){re.escape(item)}(?![\w-])", message) is not None


def _all_ok(result: ChunkResult) -> bool:
    return (
        result.state == "acknowledged" and not result.record_errors and not result.unknown_records
    )


def _row_verdict(result: ChunkResult | None, record: int) -> tuple[RowStatus, str]:
    if result is None:
        return "unknown", "not sent: the run stopped before this part was uploaded"
    if result.state == "failed":
        return "failed", result.message
    if result.state == "unknown" or record in result.unknown_records:
        return "unknown", result.message or "Konnect's answer could not be matched to this row"
    if record in result.record_errors:
        code, message = result.record_errors[record]
        return "failed", explain(code, message)
    return "ok", ""


def mark_merged(out: RowOutcomes, validated: Validated) -> None:
    """Rows folded into another by a duplicates policy share that row's verdict; rows a row
    policy changed ("sent as 0: the file says -2") say so, whatever their verdict."""
    for position, into_row in validated.merged.items():
        into_pos = int(validated.positions[into_row])
        out.status[position] = out.status[into_pos]
        out.message[position] = _join(validated.merge_message(position), out.message[into_pos])
    for position, note in validated.notes.items():
        out.message[position] = _join(note, out.message[position])


def count_rows(out: RowOutcomes) -> dict[str, int]:
    """`{"total", "ok", "rejected", "failed", "unknown"}` over the data rows."""
    statuses = np.asarray(out.status)
    if out.include is not None:
        statuses = statuses[out.include]
    counts = {s: int((statuses == s).sum()) for s in OUTCOME_STATUSES}
    return {"total": len(statuses), **counts}


def decide_outcome(rows: dict[str, int], uploaded: bool) -> str:
    """The file's outcome for summary.json (README "Reports"): `uploaded` every row ok,
    `partial` some rows ok, `rejected` no row passed our checks, `failed` no row is known to
    be applied and Konnect refused (or never answered for) some; `validated` nothing sent."""
    if not uploaded:
        return "validated"
    if rows["ok"] == rows["total"]:
        return "uploaded"
    if rows["ok"] > 0:
        return "partial"
    return "rejected" if rows["rejected"] == rows["total"] else "failed"


def _column_index(header: Sequence[str]) -> dict[str, int]:
    index: dict[str, int] = {}
    for i, name in enumerate(header):
        index.setdefault(_norm(name), i)
    return index


def _norm(name: str) -> str:
    return " ".join(name.split()).casefold()


def _cell_message(problem: Problem) -> str:
    """ "'column': 'value' - message", the value left out where the message already says it
    (quoted, or first); a word that merely occurs in it is not saying it ('good' in "empty
    for an item in good condition")."""
    where = f"'{problem.column}': " if problem.column else ""
    value, message = problem.value, problem.message
    said = value == "" or f"'{value}'" in message or message.startswith(value)
    said = said or (value in message and not value.replace(" ", "").isalpha())
    shown = "" if said else f"'{value}' - "
    return f"{where}{shown}{message}"


def _join(first: str, second: str) -> str:
    return f"{first}; {second}" if first and second else first or second


def log_outcome(
    path: Path, summary: dict[str, Any], errors_file: Path, sent: bool, look: list[str]
) -> None:
    """INFO when every row is ok and nothing in `look` (warnings worth a look: not the
    routine skipped rows), or nothing was sent (validate); else a WARNING naming the errors
    file, so even `run -q` under cron (which mails what a job prints) tells someone that
    rows need a look."""
    rows = summary["rows"]
    name = path.name  # and the name it is filed under, as the run's table shows it
    if summary.get("input", name) != name:
        name = f"{name} (filed as {summary['input']})"
    said = str(rows)
    if split := applied_split(rows["ok"], summary.get("already_applied", 0)):
        said = f"{said}, {split}"  # a re-sent file must not read as a fresh success
    if not sent or (rows["ok"] == rows["total"] and not look):
        log.info("%s: %s %s", name, summary["outcome"], said)
    elif rows["ok"] == rows["total"]:  # e.g. cancels not sent again: all ok, worth a look
        log.warning("%s: %s %s; %s", name, summary["outcome"], said, "; ".join(look))
    else:
        log.warning("%s: %s %s; the rows to look at: %s", name, summary["outcome"], said,
                    errors_file)  # fmt: skip
