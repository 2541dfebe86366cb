"""Which `ok` rows of an order file it applied, and which Konnect had already: the result
file's words for the rows a look-up settled (`note_applied`), and the summary's count of
the others (`already_applied`). The look-ups themselves are `etl.reconcile`'s.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from etl.chunkresult import ChunkResult
from etl.orderwords import ALREADY
from etl.refusals import note_refused

if TYPE_CHECKING:
    from etl.bodies import Chunk, Validated
    from etl.report import RowOutcomes


def note_applied(
    out: RowOutcomes, validated: Validated, chunks: Sequence[Chunk], results: Sequence[ChunkResult]
) -> None:
    """Rows of orders a look-up found applied say so in the result file (they stay ok); rows
    Konnect refused get the cell at fault marked (`note_refused`), whatever the feed."""
    for pos, note in _noted_rows(validated, chunks, results):
        if out.status[pos] == "ok":
            out.message[pos] = note
    note_refused(out, validated, chunks, results)


def already_applied(
    out: RowOutcomes, validated: Validated, chunks: Sequence[Chunk], results: Sequence[ChunkResult]
) -> int:
    """How many `ok` rows this file did not apply, as Konnect had them already: refused as a
    replay and found applied by a look-up (and the rows folded into theirs), or records an
    earlier file applied, not sent again (`etl.repeats`, `etl.orderrepeats`). The summary's
    `already_applied`; the rest of the `ok` rows were applied by this file - a row whose own
    request's answer was lost and that the look-up found applied among them
    (`orderwords.LOST_NOW`), unless an earlier file of the inbox applied the same record
    (`etl.orderbook`: then its note is an `ALREADY` one)."""
    noted = _noted_rows(validated, chunks, results)
    found = {pos for pos, note in noted if note.startswith(ALREADY) and out.status[pos] == "ok"}
    folded = {p for p, into in validated.merged.items() if int(validated.positions[into]) in found}
    repeated = {p.row for p in validated.problems if p.code in REPEATED and p.status == "ok"}
    return len(found | folded) + len(repeated)


def _noted_rows(
    validated: Validated, chunks: Sequence[Chunk], results: Sequence[ChunkResult]
) -> Iterator[tuple[int, str]]:
    """(row position, note) of each row whose record a look-up found applied."""
    notes = {r.index: r.notes for r in results if r.notes}
    for chunk in chunks:
        if chunk.index not in notes:
            continue
        positions = validated.positions[chunk.rows].tolist()
        for pos, record in zip(positions, chunk.record_of_row.tolist(), strict=True):
            if note := notes[chunk.index].get(record):
                yield pos, note


# the codes of rows an earlier file applied, not sent again (etl.repeats, etl.orderrepeats)
REPEATED = ("repeated_cancel", "repeated_order")
