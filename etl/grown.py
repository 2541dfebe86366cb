"""A leftover its export wrote on into while it waited in processing/ continues its attempt.

An export that keeps its file open while we move it into processing/ writes on into it
there; a file waiting for Konnect (down, partly answering, credentials refused) then has new
content by the next run. The journal keeps the bytes each attempt's hash covers
(`attempts.size`), so the attempt is recognised by its content being the file's start.
"""

from __future__ import annotations

import logging
from pathlib import Path

from etl.filehash import Shorter, prefix_digest
from etl.journal import Journal
from etl.wording import local_time

log = logging.getLogger(__name__)


def continue_grown(journal: Journal, path: Path, sha256: str, size: int | None) -> None:
    """A leftover in processing/ that grew after part of it was sent: the latest unfinished
    attempt at a file of this name goes on with it, rather than a new one starting over,
    when that attempt's content is exactly the start of this file - what it sent stays
    known (answers reused by request content, an order file cut differently looked up
    first), so no partial cancel is sent twice. An attempt whose bytes are not this file's
    start (edited, or another file) is left alone. For leftovers only: a file taken from the
    inbox is never handed the attempt of another (one deleted from processing/, say)."""
    latest = journal.latest_unfinished(path.name)
    if latest is None or size is None:
        return
    record, sent_size = latest
    if record.sha256 == sha256 or sent_size >= size:
        return
    try:
        if prefix_digest(path, sent_size) != record.sha256:
            return
    except Shorter:
        return
    journal.continue_attempt(record.id, sha256, size)
    log.warning(
        "%s: it grew after part of it was sent (its export wrote on); the attempt begun at %s "
        "goes on with the rows added", path.name, local_time(record.started_at),
    )  # fmt: skip
