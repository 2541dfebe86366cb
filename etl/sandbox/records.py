"""Running one request's records through an action: errors, ledger entries, envelope."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import orjson
from starlette.requests import Request

from etl.konnect import Endpoint, error_entry, ims_envelope, oms_envelope, record_key
from etl.sandbox.model import Refused
from etl.sandbox.runtime import Sandbox
from etl.sandbox.state import Outcome

# An action checks one record and, when it passes, applies it; Refused when it does not.
Action = Callable[[Sandbox, Any], Any]


class BadRequest(Exception):
    """The request as a whole is refused with HTTP 400; nothing is applied or logged."""

    def __init__(self, code: str, message: str) -> None:
        self.code, self.message = code, message
        super().__init__(message)


async def read_records(request: Request, endpoint: Endpoint) -> list[Any]:
    """The body's JSON array, at most `endpoint.limit` long."""
    try:
        body = orjson.loads(await request.body())
    except orjson.JSONDecodeError as exc:
        raise BadRequest("X400", f"the body is not valid JSON: {exc}") from exc
    if not isinstance(body, list):
        raise BadRequest("X400", "the body must be a JSON array of records")
    if len(body) > endpoint.limit:
        raise BadRequest(
            "X413",
            f"{len(body)} records in one request; {endpoint.path} takes at most {endpoint.limit}",
        )
    return body


def run_records(
    sandbox: Sandbox, endpoint: Endpoint, records: list[Any], action: Action
) -> tuple[list[dict[str, Any]], dict[int, Any]]:
    """Apply each record in order; (error entries, action results of the applied ones)."""
    errors: list[dict[str, Any]] = []
    results: dict[int, Any] = {}
    for index, record in enumerate(records):
        fields = record if isinstance(record, dict) else {}
        code: str | None = None
        try:
            results[index] = action(sandbox, record)
        except Refused as refused:
            code = refused.code
            errors.append(error_entry(endpoint, index, fields, refused.code, refused.message))
        key = record_key(endpoint, fields)
        outcome: Outcome = "rejected" if code else "applied"
        sandbox.state.log(endpoint.method, endpoint.path, key, outcome, code, record)
    return errors, results


def envelope(endpoint: Endpoint, count: int, errors: list[dict[str, Any]]) -> dict[str, Any]:
    """The endpoint's answer family, with a fresh ack_id for IMS answers."""
    if endpoint.envelope == "oms":
        return oms_envelope(count, errors)
    now = datetime.now(UTC).isoformat(timespec="seconds")
    return ims_envelope(count, errors, uuid.uuid4().hex, now)
