"""What a stopped earlier attempt at a file settled, so that its resume does not send it again
(`earlier_results`, from the journal)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from etl.attribution import NO_ANSWER
from etl.chunkresult import SETTLED, ChunkResult, chunk_digest
from etl.holdover import not_taken, refused_for_now
from etl.uploadrun import UploadRun

if TYPE_CHECKING:
    from etl.upload import ChunkLike

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
    now = {c.index: c for c in chunks}
    digests: dict[int, str] = {}

    def digest_of(index: int) -> str:
        if index not in digests:
            digests[index] = chunk_digest(now[index].body)
        return digests[index]

    def same(index: int, digest: str) -> bool:
        return index in now and digest == digest_of(index)

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
