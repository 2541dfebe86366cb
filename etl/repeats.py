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

A row whose answer was lost and that the order look-up could not settle (`unknown`: an item
with 1 of 2 pieces cancelled may show this row or an earlier one) is remembered too, as
"answer lost", as is every cancel request just before it goes (`expect`: a process killed
while it is out, or a journal lost meanwhile, leaves only this mark). The errors file invites
dropping such a row back, and sent again it would cancel a second piece when the first try
was applied. So a later row repeating it first has its order looked up (`settle_lost`): the
item wholly cancelled (or the order), it counts as applied; none of its pieces cancelled, the
mark is forgotten and the row is sent; anything else (1 of 2 pieces cancelled), or no
answer, and it is not sent: it stays `unknown` and says to check the item in Konnect. A file
that does apply the same cancel (the guard off) settles it: from then on it is an applied one.

Another reason code is another cancel: the same item cancelled for 'out of stock' in the
morning and 'damaged' in the evening is sent both times.

Two processes on one inbox take cancel files one at a time (`etl.turns`):
otherwise both could look before either had recorded, and send the same cancel twice.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
import pandas as pd

from etl.bodies import build_chunks
from etl.cancelbook import AppliedRow
from etl.keystate import KeyState
from etl.model import Problem, RowStatus
from etl.order_states import REACHED, Order, Record
from etl.validation import drop_rows
from etl.wording import count

if TYPE_CHECKING:
    from etl.job import Prepared
    from etl.report import RowOutcomes

log = logging.getLogger(__name__)

FEED = "cancel"

# Konnect's orders by ID, as a look-up finds them (None: not listed; left out: no answer)
LookUp = Callable[[set[str]], dict[str, Order | None]]


def actions(frame: pd.DataFrame) -> list[str]:
    """`orderId|orderItemId|quantity|reasonCode` of every validated cancel row."""
    columns = (frame["orderId"], frame["orderItemId"], frame["quantity"], frame["reasonCode"])
    return [f"{o}|{i}|{int(q)}|{r}" for o, i, q, r in zip(*columns, strict=True)]


def skip_repeats(
    prepared: Prepared, state: KeyState, attempt: str | None, look: LookUp | None = None
) -> int:
    """Drop cancel rows another file applied (they become `ok` rows saying so) or sent and
    lost the answer to (`unknown` rows), unless `look` finds the latter not applied
    (`settle_lost`). `attempt`: the journal's id of the unfinished attempt a resumed file
    continues; what it recorded itself (`etl.guards.partly_applied`) does not count, so its
    rows are cut as before - but what other files applied meanwhile does (a copy fixed and
    dropped while it waited). The number of rows dropped."""
    if prepared.feed.name != FEED or prepared.validated.frame.empty:
        return 0
    keys = actions(prepared.validated.frame)
    recorded = state.cancels.applied(sorted(set(keys)), attempt)
    if look is not None:
        recorded = settle_lost(recorded, state, look, prepared.table.notes)
    earlier = {i: recorded[key] for i, key in enumerate(keys) if key in recorded}
    if not earlier:
        return 0
    messages = {i: _message(row) for i, row in earlier.items()}
    lost = {messages[i] for i, row in earlier.items() if not row.settled}

    def repeated(row: int, message: str) -> Problem:
        """`ok` when the earlier cancel was applied, `unknown` when its answer was lost (by
        message: rows a duplicates policy folded in share their row's)."""
        status: RowStatus = "unknown" if message in lost else "ok"
        return Problem(row, "", "", "repeated_cancel", message, status=status)

    prepared.validated = drop_rows(
        prepared.validated, messages, prepared.table.row_numbers, repeated
    )
    prepared.chunks = build_chunks(prepared.feed, prepared.validated)
    for note in _notes(list(earlier.values())):
        prepared.table.notes.append(note)
        log.warning("%s: %s", prepared.table.sheet.path.name, note)
    return len(earlier)


def settle_lost(
    recorded: dict[str, AppliedRow], state: KeyState, look: LookUp, notes: list[str]
) -> dict[str, AppliedRow]:
    """`recorded` with its cancels whose answer was lost settled by Konnect's orders where
    they can be: an item (or order) wholly cancelled is applied; an item with none of the
    pieces asked for cancelled was not, and its mark is forgotten (the row is sent, and
    left out of what is returned); an item partly cancelled, or an order not answered,
    stays as it was. A look-up answers the marks a journal cannot (lost or made anew), and
    those of a file killed while its request was out."""
    lost = {action: row for action, row in recorded.items() if not row.settled}
    if not lost:
        return recorded
    found = look({action.split("|", 1)[0] for action in lost})
    applied, not_applied = [], []
    for action, row in lost.items():
        order = found.get(action.split("|", 1)[0])
        reached = REACHED[FEED](_record(action), order) if order is not None else None
        if reached is True:
            applied.append(action)
            recorded[action] = dataclasses.replace(row, settled=True)
        elif reached is False:
            not_applied.append(action)
            del recorded[action]
    state.cancels.settle(applied, not_applied)
    if not_applied:
        files = _files([lost[action].file for action in not_applied])
        notes.append(
            f"{count(len(not_applied), 'cancel row')} sent although the answer to the same cancel"
            f" from an earlier file was lost ({files}): Konnect shows none of those pieces"
            " cancelled"
        )
        log.info("cancel: %s", notes[-1])
    return recorded


def _record(action: str) -> Record:
    """The cancel request record of one `action` (`orderId|orderItemId|quantity|reason`)."""
    order, item, quantity, reason = action.split("|")
    wanted = {"orderItemId": item, "quantity": int(quantity), "reasonCode": reason}
    return {"orderId": order, "orderItems": [wanted]}


def record_applied(
    prepared: Prepared, out: RowOutcomes, state: KeyState, name: str, attempt: str | None
) -> None:
    """Remember the cancel rows this file (`name`, as in done/; the journal's `attempt`)
    applied, and those left `unknown` (sent, the answer lost: maybe applied)."""
    validated = prepared.validated
    if prepared.feed.name != FEED or validated.frame.empty:
        return
    status = np.asarray(out.status)[validated.positions]
    at = datetime.now(UTC).isoformat(timespec="milliseconds")
    lost = _rows(prepared, status == "unknown")
    state.cancels.record(_rows(prepared, status == "ok"), name, at, lost=lost, attempt=attempt)
    if attempt is not None:  # what `expect` wrote ahead and Konnect did not apply
        refused = ~np.isin(status, ["ok", "unknown"])
        state.cancels.forget([action for action, _ in _rows(prepared, refused)], attempt)


def expect(
    prepared: Prepared, rows: npt.NDArray[np.int64], state: KeyState, name: str, attempt: str
) -> None:
    """Write ahead: the cancel rows `rows` (positions in the validated frame) of a request
    about to be sent, as maybe applied by `attempt`. A process killed while the request is
    out records nothing after it, and a copy of the file edited or taken meanwhile must not
    send them again (its rows are `unknown` until this attempt settles them)."""
    validated = prepared.validated
    keys = actions(validated.frame.iloc[rows])
    numbers = validated.row_numbers[rows].tolist()
    at = datetime.now(UTC).isoformat(timespec="milliseconds")
    state.cancels.record([], name, at, lost=list(zip(keys, numbers, strict=True)), attempt=attempt)


def _rows(prepared: Prepared, chosen: npt.NDArray[np.bool_]) -> list[tuple[str, int]]:
    """(action, row number) of the validated rows `chosen` (a mask)."""
    validated = prepared.validated
    keys = actions(validated.frame[chosen])
    return list(zip(keys, validated.row_numbers[chosen].tolist(), strict=True))


def _notes(earlier: list[AppliedRow]) -> list[str]:
    """The summary's warnings: how many rows were not sent, of each kind, and from which
    earlier files."""
    applied = [row.file for row in earlier if row.settled]
    lost = [row.file for row in earlier if not row.settled]
    notes = []
    if applied:
        notes.append(
            f"{count(len(applied), 'cancel row')} not sent: an earlier file applied the same cancel"
            f" ({_files(applied)})"
        )
    if lost:
        notes.append(
            f"{count(len(lost), 'cancel row')} not sent and left unknown: the answer to the same"
            f" cancel from an earlier file was lost ({_files(lost)}); check those items in"
            " Konnect"
        )
    return notes


def _files(names: list[str]) -> str:
    files = sorted(set(names))
    return f"{', '.join(files[:3])}{' ...' if len(files) > 3 else ''}"


def _message(earlier: AppliedRow) -> str:
    when = datetime.fromisoformat(earlier.applied_at).astimezone().strftime("%Y-%m-%d %H:%M")
    if not earlier.settled:
        return (
            f"not sent: the answer to the same cancel from {earlier.file} (row {earlier.row},"
            f" {when}) was lost, so it may have been applied; check this item in Konnect: if"
            " the piece is still not cancelled, cancel it there (sending this row again could"
            " cancel one more piece)"
        )
    return (
        f"already applied from {earlier.file} (row {earlier.row}, {when}): not sent again, so"
        " no more pieces are cancelled than asked; to cancel one more piece of this item,"
        " do it in Konnect"
    )
