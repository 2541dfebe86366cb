"""A cancel row that an earlier file applied is not sent again.

A partial cancel is the one order action Konnect applies a second time: cancel 1 piece of an
item that has 2, send the same row again, and the second piece is cancelled too (a whole item
sent again is refused, X422, and would read `failed` for work that was done). Two everyday
things repeat rows: a user fixes the bad rows of the original file and drops all of it again,
and an ERP exports "today's cancellations so far" every hour. So every cancel row applied is
remembered (order, item, quantity, reason; `KeyState.cancels`, 30 days), and a row of a later
file that repeats one exactly is not sent: it is `ok`, and its message names the file and row
that applied it, and what to do when one more piece really must go. `guards:
{repeated_cancels: false}` sends such rows again (an ERP whose every row is a new cancel).

Another reason code is another cancel: the same item cancelled for 'out of stock' in the
morning and 'damaged' in the evening is sent both times.

Two processes on one inbox take cancel files one at a time (`etl.turns`):
otherwise both could look before either had recorded, and send the same cancel twice.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from etl.bodies import build_chunks
from etl.keystate import AppliedRow, KeyState
from etl.model import Problem
from etl.validation import drop_rows

if TYPE_CHECKING:
    from etl.pipeline import Prepared
    from etl.report import RowOutcomes

log = logging.getLogger(__name__)

FEED = "cancel"


def actions(frame: pd.DataFrame) -> list[str]:
    """`orderId|orderItemId|quantity|reasonCode` of every validated cancel row."""
    columns = (frame["orderId"], frame["orderItemId"], frame["quantity"], frame["reasonCode"])
    return [f"{o}|{i}|{int(q)}|{r}" for o, i, q, r in zip(*columns, strict=True)]


def skip_repeats(prepared: Prepared, state: KeyState, since: str | None) -> int:
    """Drop cancel rows an earlier file applied; they become `ok` rows saying so. `since`:
    when a resumed file's first attempt began; only what was applied before then counts, so
    its rows are cut into the same chunks as the first time. The number of rows dropped."""
    if prepared.feed.name != FEED or prepared.validated.frame.empty:
        return 0
    keys = actions(prepared.validated.frame)
    applied = state.cancels_applied(sorted(set(keys)), since)
    messages = {i: _message(applied[key]) for i, key in enumerate(keys) if key in applied}
    if not messages:
        return 0
    prepared.validated = drop_rows(
        prepared.validated, messages, prepared.table.row_numbers, _already_applied
    )
    prepared.chunks = build_chunks(prepared.feed, prepared.validated)
    files = sorted({applied[keys[i]].file for i in messages})
    note = (
        f"{len(messages)} cancel row(s) not sent: an earlier file applied the same cancel "
        f"({', '.join(files[:3])}{' ...' if len(files) > 3 else ''})"
    )
    prepared.table.notes.append(note)
    log.warning("%s", note)
    return len(messages)


def record_applied(prepared: Prepared, out: RowOutcomes, state: KeyState, name: str) -> None:
    """Remember the cancel rows this file (`name`, as in done/) applied."""
    validated = prepared.validated
    if prepared.feed.name != FEED or validated.frame.empty:
        return
    ok = np.asarray(out.status)[validated.positions] == "ok"
    rows = validated.row_numbers[ok].tolist()
    keys = actions(validated.frame[ok])
    state.record_cancels(
        zip(keys, rows, strict=True), name, datetime.now(UTC).isoformat(timespec="milliseconds")
    )


def _message(earlier: AppliedRow) -> str:
    when = datetime.fromisoformat(earlier.applied_at).astimezone().strftime("%Y-%m-%d %H:%M")
    return (
        f"already applied from {earlier.file} (row {earlier.row}, {when}): not sent again, so"
        " no more pieces are cancelled than asked; to cancel one more piece of this item,"
        " do it in Konnect"
    )


def _already_applied(row: int, message: str) -> Problem:
    return Problem(row, "", "", "repeated_cancel", message, status="ok")
