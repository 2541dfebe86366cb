"""Konnect's answer envelopes read back into plain shapes.

Two families (konnect-api.md): IMS (`{"data": {payload_count, success_count, failed_count,
errors}, "meta": {ack_id | trace_id}}`) and OMS (`{payloadCount, successCount, failedCount,
errors}`). Success is decided from the counts; an `errors` entry that does not name its
record (a plain string, missing key fields) is kept as text for the caller to mark the
chunk's rows `unknown`. `read_json` reads an answer's body, ids sent as long numbers exactly.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

import orjson

from etl.errors import OutcomeUnknown
from etl.konnect import Endpoint, record_key


@dataclass
class RecordError:
    """One `errors` entry that names a record: `key` as `etl.konnect.record_key` builds it."""

    index: int | None
    key: str | None
    code: str
    message: str


@dataclass
class Answer:
    """One parsed response envelope (IMS or OMS family)."""

    payload_count: int
    success_count: int
    failed_count: int
    errors: list[RecordError] = field(default_factory=list)
    ack_id: str | None = None
    # entries that were plain strings or lacked the key fields, as text
    raw_unattributable: list[str] = field(default_factory=list)


def parse_answer(endpoint: Endpoint, doc: Any) -> Answer:
    """Read an IMS (`data` + `meta`) or OMS (camelCase counts) envelope, whichever it is."""
    ims = isinstance(doc, dict) and isinstance(doc.get("data"), dict)
    body = doc["data"] if ims else doc
    names = ("payload_count", "success_count", "failed_count")
    if not ims:
        names = ("payloadCount", "successCount", "failedCount")
    counts: list[Any] = [body.get(n) for n in names] if isinstance(body, dict) else []
    if len(counts) != 3 or not all(type(c) is int for c in counts):
        raise OutcomeUnknown(f"Konnect's answer to {endpoint.path} has no record counts")
    answer = Answer(counts[0], counts[1], counts[2], ack_id=_ack_id(doc) if ims else None)
    entries = body.get("errors") or []
    for entry in entries if isinstance(entries, list) else [entries]:
        _read_entry(endpoint, entry, answer)
    return answer


def _ack_id(doc: dict[str, Any]) -> str | None:
    meta = doc.get("meta")
    if not isinstance(meta, dict):
        return None
    ack = meta.get("ack_id") or meta.get("trace_id")
    return str(ack) if ack else None


def _read_entry(endpoint: Endpoint, entry: Any, answer: Answer) -> None:
    named = isinstance(entry, dict) and all(entry.get(f) is not None for f in endpoint.key_fields)
    if not named:
        text = entry if isinstance(entry, str) else orjson.dumps(entry).decode()
        answer.raw_unattributable.append(text)
        return
    index = entry.get("index")
    answer.errors.append(
        RecordError(
            index=index if type(index) is int else None,
            key=record_key(endpoint, entry),
            code=str(entry.get("code") or ""),
            message=str(entry.get("message") or ""),
        )
    )


# A number of 17+ digits outside a string: an id sent as a number. orjson reads integers
# past 64 bits as floats (41000000000000000011 -> 4.1e19, another order's id), so such a body
# is read by the standard library, which keeps every digit.
_LONG_NUMBER = re.compile(rb"[:\[,]\s*-?\d{17}")


def read_json(content: bytes, status: int) -> Any:
    """An answer's JSON body; OutcomeUnknown when it is not JSON (a 2xx that cannot be read:
    what was applied cannot be told)."""
    try:
        if _LONG_NUMBER.search(content):
            return json.loads(content)
        return orjson.loads(content)
    except (orjson.JSONDecodeError, json.JSONDecodeError):
        raise OutcomeUnknown(
            f"Konnect answered HTTP {status} with a body that is not JSON"
        ) from None
