"""One order chunk's verdicts while `etl.reconcile` revises them.

A chunk's first answer (`ChunkResult`) says which records Konnect refused and which are in
doubt; looking the orders up and resending what was not applied changes those verdicts
record by record. `Verdicts` holds them meanwhile and gives back the chunk's final
`ChunkResult`; the rounds that ask Konnect stay in `etl.reconcile`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import orjson

from etl.attribution import NO_ANSWER
from etl.chunkresult import ChunkResult
from etl.holdover import NOT_TAKEN, refused_for_now
from etl.order_states import Record

UNSETTLED = (
    f"{NO_ANSWER}, and looking the order up in Konnect afterwards did not settle it: "
    "check the order in Konnect before sending this row again"
)
# Every order action but a cancel is applied once however often it is sent: Konnect refuses
# a replay (or sets the same AWB again) and the refusal is looked up (`etl.reconcile`)
UNSETTLED_SAFE = (
    f"{NO_ANSWER}, and looking the order up in Konnect afterwards did not settle it: "
    "dropping this row back (the errors file, unchanged) is safe - Konnect does not apply"
    " it twice, and the order is looked up when Konnect refuses it"
)


def unsettled(feed: str) -> str:
    """What an order row in doubt says: a partial cancel sent again may cancel one more piece;
    any other action may be sent again as it is."""
    return UNSETTLED if feed == "cancel" else UNSETTLED_SAFE


@dataclass
class Verdicts:
    """The verdicts of one chunk's records, revised as their orders are looked up and sent again."""

    first: ChunkResult
    records: list[Record]
    keys: list[str]
    errors: dict[int, tuple[str, str]]
    unknown: set[int]
    ack_id: str | None
    feed: str = ""
    notes: dict[int, str] = field(default_factory=dict)
    final: set[int] = field(default_factory=set)  # looked up; not to be looked at again
    # in doubt, and the last look-up (or resend) failed for now: the next run tries again
    for_now: set[int] = field(default_factory=set)
    touched: bool = False

    @classmethod
    def of(cls, result: ChunkResult, body: bytes, keys: list[str], feed: str = "") -> Verdicts:
        unknown = set(range(len(keys))) if result.state == "unknown" else set()
        unknown |= set(result.unknown_records)
        records: list[Record] = orjson.loads(body)
        errors = dict(result.record_errors)
        # a resend refused for now by an earlier attempt (etl.holdover) applied nothing, but
        # the request before it may have: in doubt, looked up before it is sent again
        for i in [i for i, (code, _) in errors.items() if code in NOT_TAKEN]:
            del errors[i]
            unknown.add(i)
        return cls(result, records, keys, errors, unknown, result.ack_id, feed, dict(result.notes))

    def unsettled(self) -> int:
        """Records still in doubt or refused for now whose last try failed for now."""
        return len(self.for_now & (self.unknown | set(self.errors)))

    def doubts(self, replay: frozenset[str]) -> list[int]:
        refused = {i for i, (code, _) in self.errors.items() if code in replay}
        return sorted((self.unknown | refused) - self.final)

    def applied(self, i: int, message: str) -> None:
        """Record `i` is already where it leads: ok, `message` says what Konnect showed."""
        self.notes[i] = message
        self.errors.pop(i, None)
        self.unknown.discard(i)

    def in_doubt(self, i: int) -> None:
        """Record `i` is about to be sent again: maybe applied until it is answered."""
        self.touched = True
        self.errors.pop(i, None)
        self.unknown.add(i)

    def answered(self, i: int, result: ChunkResult, j: int) -> None:
        """Record `i` was resent as record `j` of a request that ended with `result`."""
        self.ack_id = self.ack_id or result.ack_id
        self.errors.pop(i, None)
        self.unknown.discard(i)
        if result.state == "unknown" or j in result.unknown_records:
            self.unknown.add(i)
        elif j in result.record_errors:
            self.errors[i] = result.record_errors[j]
            if result.state == "failed":  # refused as a whole: nothing applied
                self.final.add(i)
                if refused_for_now(result):  # the next run tries again (etl.holdover)
                    self.for_now.add(i)

    def result(self) -> ChunkResult:
        if not self.touched:
            return self.first
        first, unknown, said = self.first, sorted(self.unknown), unsettled(self.feed)
        if len(unknown) == len(self.keys) and first.state == "unknown":
            return ChunkResult(
                first.index, "unknown", None, {}, unknown, said, first.digest, self.notes
            )
        errors = dict(sorted(self.errors.items()))
        return ChunkResult(
            first.index,
            "acknowledged",
            self.ack_id,
            errors,
            unknown,
            said if unknown else "",
            first.digest,
            self.notes,
            looked_up=first.state == "unknown" or first.looked_up,
        )
