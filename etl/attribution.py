"""What became of each record of a chunk: matched from Konnect's answer, or given up.

Error entries are matched to records by key, an entry's `index` trusted only when the record
at that index has that key (Konnect does not promise indices). Whatever the answer does not
account for (counts that do not add up, an entry naming no record or a stranger) makes the
chunk's other records `unknown`, never ok.
"""

from __future__ import annotations

from collections.abc import Callable, Container

from etl.chunkresult import ChunkResult
from etl.envelopes import Answer, RecordError
from etl.errors import RateLimited, RequestRejected
from etl.retry import Attempts

MAYBE_APPLIED = "the update may or may not have been applied"
NO_ANSWER = f"no answer from Konnect; {MAYBE_APPLIED}"
NOT_SENT = "not sent: Konnect stopped answering part-way through the file"


def acknowledged(
    index: int, answer: Answer, count: int, keys: Callable[[], list[str]]
) -> ChunkResult:
    """The result of a chunk Konnect answered: its refused records, and any in doubt.
    The keys are asked for only when the answer names records (the usual one names none)."""
    if answer.errors:
        errors, doubt = attribute(answer, keys())
    else:
        errors, doubt = {}, _doubt(answer, count, 0, 0)
    unknown = [i for i in range(count) if i not in errors] if doubt else []
    return ChunkResult(index, "acknowledged", answer.ack_id, errors, unknown, doubt)


def given_up(index: int, count: int, attempts: Attempts) -> ChunkResult:
    """The result of a chunk that got no envelope: `unknown` if any try may have been
    applied, else `failed` with every record refused for the last reason."""
    records = list(range(count))
    tries = f"{attempts.tries} {'try' if attempts.tries == 1 else 'tries'}"
    if attempts.unknown:  # a try whose answer was lost, though the last may have had one
        said = f"; the last: {attempts.last}" if attempts.last else ""
        why = f"Konnect's answer to a try was lost (of {tries}{said}): {MAYBE_APPLIED}"
        return ChunkResult(index, "unknown", None, {}, records, why)
    last = attempts.last
    if isinstance(last, RequestRejected):
        code, message = last.code or f"HTTP{last.status}", str(last)
    elif isinstance(last, RateLimited):
        code, message = "HTTP429", f"Konnect kept asking us to slow down ({tries}); not applied"
    else:
        code, message = "UNAVAILABLE", f"{last}, {tries} in a row; nothing was applied"
    return ChunkResult(index, "failed", None, dict.fromkeys(records, (code, message)), [], message)


def not_sent(index: int, count: int, reason: str) -> ChunkResult:
    """A chunk not sent because Konnect stopped answering part-way through its file
    (`reason`: which request and why): refused for now, sent by the next run."""
    message = f"{NOT_SENT} ({reason})"
    errors = dict.fromkeys(range(count), ("UNAVAILABLE", message))
    return ChunkResult(index, "failed", None, errors, [], message)


def attribute(answer: Answer, keys: list[str]) -> tuple[dict[int, tuple[str, str]], str]:
    """Match the answer's error entries to records (`keys` in body order).

    Returns `{record index: (code, message)}` and, when the answer does not account for
    every record, the reason in plain words ("" when it does: all other records are ok).
    """
    positions: dict[str, list[int]] = {}
    for i, key in enumerate(keys if answer.errors else ()):  # the usual answer names none
        positions.setdefault(key, []).append(i)
    errors: dict[int, tuple[str, str]] = {}
    strangers = 0
    for entry in answer.errors:
        at = _locate(entry, keys, positions, errors)
        if at is None:
            strangers += 1
        else:
            errors.setdefault(at, (entry.code, entry.message))
    return errors, _doubt(answer, len(keys), len(errors), strangers)


def _locate(
    entry: RecordError, keys: list[str], positions: dict[str, list[int]], taken: Container[int]
) -> int | None:
    """The record an error entry names: by key, with `index` as a tie-breaker only when the
    record at that index has that key (Konnect does not promise indices)."""
    if entry.index is not None and 0 <= entry.index < len(keys) and keys[entry.index] == entry.key:
        return entry.index
    candidates = positions.get(entry.key or "", [])
    free = [i for i in candidates if i not in taken]
    if free or candidates:
        return (free or candidates)[0]
    return None


def _doubt(answer: Answer, sent: int, named: int, strangers: int) -> str:
    if answer.raw_unattributable:
        return (
            f"Konnect reported a failure without naming the record: {answer.raw_unattributable[0]}"
        )
    if strangers:
        return "Konnect reported a failure for a record that was not in this request"
    counts_fit = (
        answer.payload_count == sent
        and answer.failed_count == named
        and answer.success_count + answer.failed_count == sent
    )
    if counts_fit:
        return ""
    return (
        f"Konnect's counts ({answer.success_count} ok, {answer.failed_count} failed of "
        f"{answer.payload_count}) do not match the {sent} records sent and {named} errors named"
    )
