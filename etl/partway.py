"""A file stopped part-way (Konnect down, credentials refused): what its chunks came to so far."""

from __future__ import annotations

from collections.abc import Sequence

from etl.attribution import NO_ANSWER
from etl.chunkresult import SETTLED, ChunkResult, chunk_digest
from etl.journal import Journal
from etl.upload import ChunkLike


def results_so_far(
    journal: Journal, file_id: int, chunks: Sequence[ChunkLike]
) -> list[ChunkResult]:
    """Each chunk's result as the journal has it; `unknown` for one in flight, `failed` (not
    remembered) for one not sent or cut differently (its rows cannot be told)."""
    recorded = journal.chunk_results(file_id, (*SETTLED, "unknown"))
    flying = journal.inflight(file_id)
    results = []
    for chunk in chunks:
        rows = range(chunk.record_count)
        digest = (
            chunk_digest(chunk.body) if chunk.index in recorded or chunk.index in flying else ""
        )
        if (done := recorded.get(chunk.index)) is not None and done.digest == digest:
            results.append(done)
        elif flying.get(chunk.index) == digest:
            results.append(ChunkResult(chunk.index, "unknown", None, {}, list(rows), NO_ANSWER))
        else:
            results.append(ChunkResult(chunk.index, "failed", None, dict.fromkeys(rows, ("", ""))))
    return results
