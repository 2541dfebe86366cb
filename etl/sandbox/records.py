"""Running one request's records through an action: errors, ledger entries, envelope."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, NamedTuple

import orjson
from starlette.requests import Request

from etl.konnect import Endpoint, error_entry, ims_envelope, oms_envelope
from etl.sandbox.model import Refused
from etl.sandbox.runtime import Sandbox

# An action checks one record and, when it passes, applies it; Refused when it does not.
Action = Callable[[Sandbox, Any], Any]


class BadRequest(Exception):
    """The request as a whole is refused with HTTP 400; nothing is applied or logged."""

    def __init__(self, code: str, message: str) -> None:
        self.code, self.message = code, message
        super().__init__(message)


class Batch(NamedTuple):
    """One request's records, and the body they were parsed from (which the ledger keeps)."""

    body: bytes
    records: list[Any]


async def read_records(request: Request, endpoint: Endpoint) -> Batch:
    """The body's JSON array, at most `endpoint.limit` long."""
    body = await request.body()
    try:
        records = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise BadRequest("X400", f"the body is not valid JSON: {exc}") from exc
    if not isinstance(records, list):
        raise BadRequest("X400", "the body must be a JSON array of records")
    if (count := len(records)) > endpoint.limit:
        raise BadRequest(
            "X413",
            f"{count} records in one request; {endpoint.path} takes at most {endpoint.limit}",
        )
    return Batch(body, records)


def run_records(
    sandbox: Sandbox, endpoint: Endpoint, batch: Batch, action: Action
) -> tuple[list[dict[str, Any]], dict[int, Any]]:
    """Apply each record in order; (error entries, index -> result of the applied ones).

    Actions that answer nothing (inventory, price, order moves) leave `results` empty. The
    whole request goes into the ledger at once, as one `LedgerBlock`.
    """
    errors: list[dict[str, Any]] = []
    results: dict[int, Any] = {}
    refused: dict[int, str] = {}
    for index, record in enumerate(batch.records):
        try:
            if (result := action(sandbox, record)) is not None:
                results[index] = result
        except Refused as refusal:
            refused[index] = refusal.code
            fields = record if isinstance(record, dict) else {}
            errors.append(error_entry(endpoint, index, fields, refusal.code, refusal.message))
    sandbox.state.log(endpoint, batch.body, refused)
    return errors, results


def envelope(endpoint: Endpoint, count: int, errors: list[dict[str, Any]]) -> dict[str, Any]:
    """The endpoint's answer family, with a fresh ack_id for IMS answers."""
    if endpoint.envelope == "oms":
        return oms_envelope(count, errors)
    now = datetime.now(UTC).isoformat(timespec="seconds")
    return ims_envelope(count, errors, uuid.uuid4().hex, now)
