"""Two processes on one inbox take turns with the files whose guards share state.

The out-of-order guard (`etl.outoforder`) and the repeated-cancel guard (`etl.repeats`) look at
what earlier files applied before a file is sent, and record what it applied after. Two
processes on one inbox (a cron `run` while `watch` works, overlapping runs) doing that at
once could both look before either recorded: an older export's last chunks landing after a
newer one's, a cancel sent twice. So such a file holds a lock, next to the key state, from
the look to the record (and its reports: the journal has it finished), and a second one
waits: one lock per mapping for stock and price.
Order files take one turn between them all: a pack file taken by a second run while the
first still confirms those orders (Konnect slow, or down) must not overtake it, as it
cannot within one process. Nor may it overtake an order file the first run gave up on
meanwhile (Konnect down): that one waits in processing/ to be continued first, and the run
stops (`WaitsBehind`), as one process alone stops at it. Other files go on at once.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from etl.errors import WaitsBehind
from etl.feeds import ABSOLUTE_FEEDS
from etl.filehash import content_hash
from etl.locks import waiting_lock

if TYPE_CHECKING:
    from etl.job import Job, Prepared
    from etl.journal import Journal
    from etl.journaltables import FileRecord


# The order files' lock keeps the name it had when it was the cancel files' alone: a process
# of the previous version still running during an upgrade must exclude the new one, or both
# send a repeated cancel at once.
ORDERS = "cancels"


@contextmanager
def taking_turns(prepared: Prepared, job: Job, sha256: str = "") -> Iterator[None]:
    """Hold this file's turn from the guards' look to their record (no turn: at once).
    `sha256`: the file's content, by which its own unfinished attempt is known."""
    turn = _turn(prepared, job)
    if turn is None or job.journal is None:
        yield
        return
    what = "an order file" if turn == ORDERS else f"a file of mapping {prepared.mapping.name}"
    waits = f"{prepared.table.sheet.path.name} waits: another konnect-etl process is sending {what}"
    with waiting_lock(job.journal.path.parent, turn, waits):
        if turn == ORDERS:
            _none_waiting_before(prepared.table.sheet.path, sha256, job.journal)
        yield


def waiting_order_files(folder: Path, journal: Journal) -> dict[str, FileRecord]:
    """The order files in `folder` (processing/) that an unfinished attempt began on, by
    name: only where the file is that attempt's content. An attempt a file never finished
    (an internal error, set aside after deaths, deleted by hand) says nothing of a new file
    of the same name; nor does one that grew since (it is continued when resumed)."""
    found = {}
    for name, attempt in journal.unfinished_by_name().items():
        path = folder / name
        if attempt.feed in ABSOLUTE_FEEDS or not path.is_file():
            continue
        try:
            if content_hash(path) == attempt.sha256:
                found[name] = attempt
        except OSError:  # gone meanwhile (finished by another process)
            continue
    return found


def _none_waiting_before(path: Path, sha256: str, journal: Journal) -> None:
    """WaitsBehind when an order file begun before `path` stopped part-way and waits in
    processing/ (its process gave up, Konnect down, while this one waited for its turn)."""
    own = journal.unfinished(sha256, path.name) if sha256 else None
    for name, attempt in waiting_order_files(path.parent, journal).items():
        if name != path.name and (own is None or attempt.id < own.id):
            raise WaitsBehind(
                f"{path.name}: not sent; it waits in processing/ behind {name}, an order file "
                "begun earlier that stopped part-way and is to be continued first (order "
                "actions build on each other: an invoice sent before its confirm is refused). "
                f"The run stops here; a run that takes {name} continues it, then sends "
                f"{path.name}"
            )


def _turn(prepared: Prepared, job: Job) -> str | None:
    """The lock a file waits for: one per mapping for stock/price, one for order files."""
    feed = prepared.feed.name
    if feed not in ABSOLUTE_FEEDS:
        return ORDERS
    if job.guards.out_of_order:
        return "exports-" + re.sub(r"\W", "_", prepared.mapping.name)
    return None
