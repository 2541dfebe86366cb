"""What became of one request body (a chunk) of a file: kept in the journal, reported in the
result file, reused when a stopped file is resumed (only for a body with the same digest)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any, Literal

import orjson

ChunkState = Literal["acknowledged", "failed", "unknown"]
SETTLED: tuple[ChunkState, ...] = ("acknowledged", "failed")


@dataclass
class ChunkResult:
    """What became of one chunk (one request body).

    `acknowledged`: Konnect answered with an envelope; records not in `record_errors` or
    `unknown_records` were applied. `failed`: nothing was applied; every record is in
    `record_errors` with the reason. `unknown`: no usable answer; every record is in
    `unknown_records` and `message` says why. `digest`: the `chunk_digest` of the body sent,
    so that a resumed file reuses the result only for a chunk cut the same way. `notes`: why
    records a look-up found already applied are ok (`etl.reconcile`; kept across a resume).
    `looked_up`: no answer came to the request, and its records were settled by looking
    their orders up (`etl.reconcile`): `acknowledged` then, though Konnect never said so.
    """

    index: int
    state: ChunkState
    ack_id: str | None = None
    record_errors: dict[int, tuple[str, str]] = field(default_factory=dict)
    unknown_records: list[int] = field(default_factory=list)
    message: str = ""
    digest: str = ""
    notes: dict[int, str] = field(default_factory=dict)
    looked_up: bool = False

    def to_json(self) -> bytes:
        # orjson writes a dataclass as the dict `asdict` would give, without copying it first
        return orjson.dumps(self, option=orjson.OPT_NON_STR_KEYS)

    @classmethod
    def from_json(cls, text: str | bytes) -> ChunkResult:
        doc: dict[str, Any] = orjson.loads(text)
        errors = {int(i): (str(c), str(m)) for i, (c, m) in doc["record_errors"].items()}
        return cls(
            index=doc["index"],
            state=doc["state"],
            ack_id=doc["ack_id"],
            record_errors=errors,
            unknown_records=list(doc["unknown_records"]),
            message=doc["message"],
            digest=str(doc.get("digest") or ""),  # none in journals before 2026-11-27
            notes={int(i): str(n) for i, n in (doc.get("notes") or {}).items()},
            looked_up=bool(doc.get("looked_up")),  # none in journals before 2026-11-28
        )


def chunk_digest(body: bytes) -> str:
    """What identifies a request body across attempts at a file (SHA-256, 128 bits)."""
    return hashlib.sha256(body).hexdigest()[:32]
