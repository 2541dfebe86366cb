"""What a stopped earlier attempt at a file settled, so that its resume does not send it again
(`earlier_results`, from the journal), and what the file's summary says of it (`resume_note`)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

from etl.attribution import NO_ANSWER
from etl.chunkresult import SETTLED, ChunkResult, chunk_digest
from etl.feeds import ABSOLUTE_FEEDS
from etl.holdover import not_taken, refused_for_now
from etl.journal import Journal
from etl.journaltables import FileRecord
from etl.uploadrun import UploadRun
from etl.wording import count, local_time

if TYPE_CHECKING:
    from etl.upload import ChunkLike

log = logging.getLogger(__name__)

RECUT = (
    "the file stopped part-way and, taken again, its rows went into requests differently "
    f"(its mapping or checks changed); {NO_ANSWER}"
)


def earlier_results(run: UploadRun, chunks: Sequence[ChunkLike]) -> dict[int, ChunkResult]:
    """Results a stopped earlier attempt already settled; those chunks are not resent.

    A result counts only for a chunk with the same body (`chunk_digest`): when the rows that
    pass the checks changed meanwhile (a lookup or mapping fixed, an upgrade), the chunks are
    cut differently, and chunk 3 is no longer the chunk 3 Konnect answered. Stock and price
    then send such chunks again (absolute values). An order action never resends blindly: if
    anything was cut differently, every chunk not settled as it is now is in doubt and its
    orders are looked up first (`etl.reconcile`), as after a crash mid-request.
    """
    if run.journal is None or run.file_id is None:
        return {}
    bodies = _Bodies(chunks)
    now, same, digest_of = bodies.now, bodies.same, bodies.digest
    if run.policy.resend_unknown:  # what Konnect never took is sent again (etl.holdover)
        earlier = run.journal.chunk_results(run.file_id)
        return {i: r for i, r in earlier.items() if same(i, r.digest) and not not_taken(r)}
    earlier = {  # a request refused for now applied nothing: it is sent again
        i: r
        for i, r in run.journal.chunk_results(run.file_id, (*SETTLED, "unknown")).items()
        if not refused_for_now(r)
    }
    kept = {i: r for i, r in earlier.items() if same(i, r.digest)}
    inflight = run.journal.inflight(run.file_id)
    recut = len(kept) < len(earlier) or not all(same(i, d) for i, d in inflight.items())
    doubtful = [i for i in now if i not in kept] if recut else list(inflight)
    # results from before digests were kept (an upgrade) are all "different": no re-cut to tell of
    legacy = not any(r.digest for r in earlier.values()) and not any(inflight.values())
    why = RECUT if recut and not legacy else f"sent before the tool stopped; {NO_ANSWER}"
    for index in doubtful:  # with the digest of its body now: a resend of it may be saved
        records = list(range(now[index].record_count))
        kept[index] = ChunkResult(index, "unknown", None, {}, records, why, digest_of(index))
    # saved at once, as cut now: a stop before they are settled leaves them in doubt (the next
    # resume would see no re-cut any more, and could send a chunk that holds applied rows)
    if recut and doubtful:
        run.journal.record_chunks(run.file_id, [kept[i] for i in doubtful])
    return kept


class _Bodies:
    """The chunks as cut now, each one's digest worked out once, when first asked."""

    def __init__(self, chunks: Sequence[ChunkLike]) -> None:
        self.now = {c.index: c for c in chunks}
        self._digests: dict[int, str] = {}

    def digest(self, index: int) -> str:
        if index not in self._digests:
            self._digests[index] = chunk_digest(self.now[index].body)
        return self._digests[index]

    def same(self, index: int, digest: str) -> bool:
        return index in self.now and digest == self.digest(index)


OLDER = "recorded by an older version, which kept no record of what each held"
CUT_OTHERWISE = (
    "because the rows went into requests differently since: its mapping or checks changed"
)


def resume_note(
    journal: Journal, attempt: FileRecord, feed: str, chunks: Sequence[ChunkLike]
) -> str:
    """The summary's word on resuming `attempt`, a stopped attempt at this file of `feed`.
    Stock and price send again an acknowledged request not known to hold the same rows now
    (`earlier_results`): how many, and why, is said (and logged)."""
    began = f"resumed: an attempt begun at {local_time(attempt.started_at)} stopped part-way"
    why = _resent(journal, attempt.id, _Bodies(chunks)) if feed in ABSOLUTE_FEEDS else {}
    if not why:
        return f"{began}; what Konnect had acknowledged then was not sent again"
    resent = sum(why.values())
    reasons = "; ".join(r if len(why) == 1 else f"{n} {r}" for r, n in why.items())
    text = (
        f"{began}; {count(resent, 'request')} Konnect had acknowledged then"
        f" {'was' if resent == 1 else 'were'} sent again ({reasons}), with the file's own"
        " values: they are absolute, so what they set is set again to the same"
    )
    log.warning("%s: %s", attempt.name, text)
    return text


def _resent(journal: Journal, file_id: int, bodies: _Bodies) -> dict[str, int]:
    """How many requests the attempt had acknowledged are sent again, by the reason."""
    acknowledged = journal.chunk_results(file_id, ("acknowledged",)).values()
    older = sum(not r.digest for r in acknowledged)
    cut = sum(bool(r.digest) and not bodies.same(r.index, r.digest) for r in acknowledged)
    return {reason: n for reason, n in ((OLDER, older), (CUT_OTHERWISE, cut)) if n}
