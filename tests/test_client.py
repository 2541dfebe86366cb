"""The Konnect client: envelopes, status codes, tokens, and secrets kept out of sight.

HTTP behaviour is tested against the sandbox; `httpx.MockTransport` stands in only for
answers the sandbox never gives (odd envelopes, a 401 cured by a new token...).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

import httpx
import orjson
import pytest

from etl.client import KonnectClient
from etl.clientsettings import ClientSettings
from etl.envelopes import parse_answer
from etl.errors import (
    CredentialsError,
    OutcomeUnknown,
    RateLimited,
    RequestRejected,
    TransientError,
)
from etl.konnect import ENDPOINTS, TOKEN_PATH, ims_envelope, oms_envelope

T = TypeVar("T")
INVENTORY = ENDPOINTS["inventory"]
CONFIRM = ENDPOINTS["confirm"]
BODY = orjson.dumps([{"location_id": "DEL-WH-01", "sku": "TS-BLK-M", "quantity": 5}])
SECRET_TOKEN = "tok-SECRET-1234567890"
SECRET_PASSWORD = "pw-SECRET-0987654321"


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


def mock(handler: Callable[[httpx.Request], httpx.Response]) -> httpx.MockTransport:
    return httpx.MockTransport(handler)


def settings(**overrides: Any) -> ClientSettings:
    values: dict[str, Any] = {"base_url": "https://konnect.test", "token": SECRET_TOKEN}
    values.update(overrides)
    return ClientSettings(**values)


async def send_with(handler: Callable[[httpx.Request], httpx.Response], **overrides: Any) -> Any:
    async with KonnectClient(settings(**overrides), transport=mock(handler)) as client:
        return await client.send(INVENTORY, BODY)


# --- envelopes -------------------------------------------------------------------------


def test_ims_envelope_is_read_with_its_ack_id() -> None:
    doc = ims_envelope(3, [], "ack-1", "2025-01-01T00:00:00")
    answer = parse_answer(INVENTORY, doc)
    assert (answer.payload_count, answer.success_count, answer.failed_count) == (3, 3, 0)
    assert answer.ack_id == "ack-1"


def test_ims_trace_id_stands_in_for_ack_id() -> None:
    doc = {"data": {"payload_count": 1, "success_count": 1, "failed_count": 0, "errors": []}}
    doc["meta"] = {"trace_id": "trace-9"}
    assert parse_answer(ENDPOINTS["awb"], doc).ack_id == "trace-9"


def test_oms_envelope_errors_carry_the_order_key() -> None:
    entry = {"index": 1, "orderId": "FY123", "code": "O400", "message": "cancelled"}
    answer = parse_answer(CONFIRM, oms_envelope(2, [entry]))
    assert answer.failed_count == 1
    assert answer.errors[0].key == "FY123"
    assert (answer.errors[0].index, answer.errors[0].code) == (1, "O400")


def test_plain_strings_and_keyless_entries_are_unattributable() -> None:
    doc = ims_envelope(2, [], "a", "t")
    doc["data"]["errors"] = ["sku is bad", {"code": "X", "message": "no keys"}]
    doc["data"]["failed_count"] = 2
    answer = parse_answer(INVENTORY, doc)
    assert answer.errors == []
    assert answer.raw_unattributable[0] == "sku is bad"
    assert "no keys" in answer.raw_unattributable[1]


def test_an_answer_without_counts_is_an_unknown_outcome() -> None:
    with pytest.raises(OutcomeUnknown):
        parse_answer(INVENTORY, {"status": "SUCCESS"})


def test_success_is_read_from_counts_not_status() -> None:
    doc = ims_envelope(2, [], "a", "t")
    doc["meta"]["status"] = "FAILED"
    assert parse_answer(INVENTORY, doc).failed_count == 0


# --- status codes ----------------------------------------------------------------------


def test_400_is_rejected_with_konnects_message() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(400, json={"code": "LIMIT", "message": "more than 500 records"})

    with pytest.raises(RequestRejected) as caught:
        run(send_with(handler))
    assert caught.value.status == 400 and caught.value.code == "LIMIT"
    assert "more than 500 records" in str(caught.value)


def test_5xx_is_transient_and_429_carries_retry_after() -> None:
    with pytest.raises(TransientError, match="503"):
        run(send_with(lambda r: httpx.Response(503)))
    with pytest.raises(RateLimited) as caught:
        run(send_with(lambda r: httpx.Response(429, headers={"retry-after": "2"})))
    assert caught.value.retry_after == 2.0


def test_a_dropped_connection_is_an_unknown_outcome_but_a_refused_one_is_not() -> None:
    def dropped(request: httpx.Request) -> httpx.Response:
        raise httpx.RemoteProtocolError("Server disconnected without sending a response")

    def refused(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused")

    with pytest.raises(OutcomeUnknown):
        run(send_with(dropped))
    with pytest.raises(TransientError) as caught:
        run(send_with(refused))
    assert not isinstance(caught.value, OutcomeUnknown)


def test_a_2xx_that_is_not_json_is_an_unknown_outcome() -> None:
    with pytest.raises(OutcomeUnknown):
        run(send_with(lambda r: httpx.Response(200, content=b"<html>")))


# --- tokens ----------------------------------------------------------------------------


class TokenServer:
    """Issues tokens `t1`, `t2`...; answers data calls only for `valid` tokens."""

    def __init__(self, valid: set[str] | None = None) -> None:
        self.issued = 0
        self.valid = valid
        self.seen: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == TOKEN_PATH:
            self.issued += 1
            return httpx.Response(200, json={"token": f"t{self.issued}", "expires_in": 3600})
        token = request.headers.get("x-access-token", "")
        self.seen.append(token)
        if self.valid is not None and token not in self.valid:
            return httpx.Response(401, json={"message": "bad token"})
        return httpx.Response(200, json=ims_envelope(1, [], "ack", "t"))


def test_token_is_fetched_with_username_and_password() -> None:
    server = TokenServer()
    run(send_with(server, token=None, username="u", password=SECRET_PASSWORD))
    assert server.issued == 1 and server.seen == ["t1"]


def test_a_401_fetches_a_new_token_once_then_succeeds() -> None:
    server = TokenServer(valid={"t1"})
    answer = run(send_with(server, token="stale", username="u", password="p"))
    assert answer.ack_id == "ack"
    assert server.seen == ["stale", "t1"]


def test_a_401_after_a_fresh_token_stops_the_run() -> None:
    server = TokenServer(valid=set())
    with pytest.raises(CredentialsError):
        run(send_with(server, token="stale", username="u", password="p"))
    assert server.issued == 1


def test_a_401_without_username_and_password_stops_the_run() -> None:
    with pytest.raises(CredentialsError, match="KONNECT_TOKEN"):
        run(send_with(TokenServer(valid=set())))


def test_no_credentials_at_all_is_refused_up_front() -> None:
    with pytest.raises(CredentialsError):
        KonnectClient(ClientSettings(base_url="https://konnect.test"))


def test_token_is_fetched_again_after_its_ttl() -> None:
    server, now = TokenServer(), [0.0]

    async def scenario() -> None:
        creds = settings(token=None, username="u", password="p", token_ttl=60)
        async with KonnectClient(creds, transport=mock(server), clock=lambda: now[0]) as client:
            await client.send(INVENTORY, BODY)
            now[0] = 59.0
            await client.send(INVENTORY, BODY)
            now[0] = 61.0
            await client.send(INVENTORY, BODY)

    run(scenario())
    assert server.seen == ["t1", "t1", "t2"]


def test_get_json_retries_a_5xx() -> None:
    answers = iter([httpx.Response(502), httpx.Response(200, json=[{"orderId": "FY1"}])])

    async def scenario() -> Any:
        transport = mock(lambda r: next(answers))
        async with KonnectClient(settings(backoff_base=0.001), transport=transport) as client:
            return await client.get_json("/oms/v3/shipment", {"orderStatus": "CREATED"})

    assert run(scenario()) == [{"orderId": "FY1"}]


# --- secrets ---------------------------------------------------------------------------


def test_secrets_never_reach_logs_exceptions_or_reprs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    for name in ("httpx", "httpcore", "etl"):
        caplog.set_level(logging.DEBUG, logger=name)  # even when someone turns httpx up
    texts: list[str] = []
    for server in (TokenServer(valid=set()), lambda r: httpx.Response(503)):
        try:
            run(send_with(server, token=SECRET_TOKEN, username="u", password=SECRET_PASSWORD))
        except Exception as exc:
            texts += [str(exc), repr(exc), str(exc.__cause__)]
    texts.append(repr(settings(username="u", password=SECRET_PASSWORD)))
    texts.append(caplog.text)
    for text in texts:
        assert SECRET_TOKEN not in text and SECRET_PASSWORD not in text
    assert "/aggregator/v1/token" in caplog.text  # the token request was logged, masked


def test_token_endpoint_failure_does_not_chain_the_url() -> None:
    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError(f"cannot connect to {request.url}")

    with pytest.raises(TransientError) as caught:
        run(send_with(down, token=None, username="u", password=SECRET_PASSWORD))
    assert caught.value.__cause__ is None
    assert SECRET_PASSWORD not in str(caught.value)
