"""What the chunk tasks of one upload share: the client, the retry policy, the concurrency
limit, progress, and the journal, whose commits are batched off the event loop.

A result is reported (progress, return value) only after its commit, so a crash never
leaves a chunk counted done that the journal does not hold (`keep_saving`).
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from etl.chunkresult import ChunkResult
from etl.client import KonnectClient
from etl.errors import EtlError
from etl.journal import Journal
from etl.konnect import Endpoint
from etl.retry import AdaptiveLimit, RetryPolicy

if TYPE_CHECKING:
    from etl.upload import ChunkLike

# Results that finish within this many seconds of each other share one journal commit: at
# zero latency that is several per commit instead of one (each commit costs a thread hop).
SAVE_WINDOW = 0.02


@dataclass
class UploadRun:
    """Everything the chunk tasks of one upload share."""

    client: KonnectClient
    endpoint: Endpoint
    keys_of: Callable[[ChunkLike], list[str]]
    policy: RetryPolicy
    limit: AdaptiveLimit
    journal: Journal | None
    file_id: int | None
    on_progress: Callable[[int], None] | None
    # called (off the event loop) with a chunk's index before its first request: a cancel
    # file's write-ahead (`etl.repeats.expect`)
    before_send: Callable[[int], None] | None = None
    # awaited with a chunk's index before its first request, before it is marked in flight
    # and before it waits for a place: a cancel file's look at its orders (`etl.reconcile`)
    look: Callable[[int], Awaitable[None]] | None = None
    said: str = ""  # "stock.csv: ", at the head of the upload's log lines
    rng: random.Random = field(default_factory=random.Random)
    records_done: int = 0
    halt: EtlError | None = None  # credentials refused, or Konnect unreachable: stop the file
    answered: bool = False  # Konnect answered a request of this file with an envelope
    retries: int = 0  # requests tried again after a failure
    # Konnect stopped answering part-way (`etl.upload._gone_quiet`): the chunk and reason;
    # the chunks not sent yet are then left for the next run
    gone_quiet: str | None = None
    _unsaved: list[tuple[ChunkResult, int]] = field(default_factory=list)
    _wake: asyncio.Event = field(default_factory=asyncio.Event)
    _stopped: bool = False
    _announced: set[int] = field(default_factory=set)
    _looked: set[int] = field(default_factory=set)

    async def look_first(self, index: int) -> None:
        """`look` for chunk `index`, once."""
        if self.look is not None and index not in self._looked:
            self._looked.add(index)
            await self.look(index)

    async def announce(self, index: int) -> None:
        """`before_send` for chunk `index`, once."""
        if self.before_send is not None and index not in self._announced:
            self._announced.add(index)
            await asyncio.to_thread(self.before_send, index)

    @property
    def marks(self) -> bool:
        """Whether chunks are marked in flight before sending. Only runs that never resend
        what may have been applied read the marks (`etl.upload`); a run that resends
        treats an unmarked unsettled chunk the same way, so it saves that disk commit."""
        return not self.policy.resend_unknown

    def progress(self, records: int) -> None:
        self.records_done += records
        if self.on_progress is not None and records:
            self.on_progress(self.records_done)

    async def journal_write(self, write: Callable[[Journal, int], None]) -> None:
        """A journal commit waits for the disk: off the event loop, so other chunks go on."""
        if self.journal is not None and self.file_id is not None:
            await asyncio.to_thread(write, self.journal, self.file_id)

    @property
    def saves(self) -> bool:
        return self.journal is not None and self.file_id is not None

    def finish(self, result: ChunkResult, records: int) -> ChunkResult:
        """A chunk is done: with a journal it counts as done once `keep_saving` commits it."""
        if not self.saves:
            self.progress(records)
        else:
            self._unsaved.append((result, records))
            self._wake.set()
        return result

    async def keep_saving(self) -> None:
        """Commit finished chunks' results until `stop_saving`. The workers go on sending
        meanwhile, so results that finish within `SAVE_WINDOW` or during a commit share one
        transaction. A result is reported (progress, return value) only after its commit; a
        crash before it leaves the chunk unsettled, as a crash just before its answer would:
        stock and price send it again, order actions find its in-flight mark and look up."""
        while not self._stopped or self._unsaved:
            await self._wake.wait()
            if not self._stopped:
                await asyncio.sleep(SAVE_WINDOW)
            self._wake.clear()
            while self._unsaved:
                batch, self._unsaved = self._unsaved, []
                await self._commit([result for result, _ in batch])
                self.progress(sum(records for _, records in batch))

    async def _commit(self, results: list[ChunkResult]) -> None:
        await self.journal_write(lambda journal, id_: journal.record_chunks(id_, results))

    def stop_saving(self) -> None:
        self._stopped = True
        self._wake.set()
