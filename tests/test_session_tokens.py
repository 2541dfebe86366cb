"""The emulator's tokens (`etl/sandbox/auth.py`): what a login issues and how long it works."""

from __future__ import annotations

import asyncio
import logging
import time

import httpx
import orjson
import pytest

from etl.client import KonnectClient
from etl.clientsettings import ClientSettings
from etl.konnect import ENDPOINTS, TOKEN_HEADER, TOKEN_PATH
from etl.sandbox import SandboxSettings, serve_in_thread
from etl.sandbox.auth import Tokens

STOCK = [{"location_id": "DEL-WH-01", "sku": "TS-BLK-S", "quantity": 4}]


def test_by_default_a_login_hands_out_the_startup_token_which_never_expires() -> None:
    now = [0.0]
    tokens = Tokens(SandboxSettings(token="t-start"), clock=lambda: now[0])
    assert tokens.issue() == ("t-start", 3600)
    now[0] = 1e9
    assert tokens.refusal("t-start") is None
    assert tokens.refusal("t-other") == f"missing or wrong {TOKEN_HEADER} header"
    assert tokens.logins == 1


def test_with_a_ttl_each_login_issues_a_token_refused_once_it_is_that_old() -> None:
    now = [100.0]
    tokens = Tokens(SandboxSettings(token="t-start", token_ttl_seconds=10), clock=lambda: now[0])
    first, lifetime = tokens.issue()
    now[0] = 105.0
    second, _ = tokens.issue()
    assert lifetime == 10 and first != second and "t-start" not in (first, second)
    now[0] = 109.9
    assert tokens.refusal(first) is None
    now[0] = 110.0
    assert tokens.refusal(first) == "the access token has expired"
    assert tokens.refusal(second) is None and tokens.refusal("t-start") is None
    assert tokens.logins == 2


@pytest.mark.parametrize("ttl", [0, -1.5])
def test_a_ttl_must_be_above_zero(ttl: float) -> None:
    with pytest.raises(ValueError, match="token_ttl_seconds"):
        SandboxSettings(token_ttl_seconds=ttl)


def test_an_expired_token_gets_401_over_http_and_nothing_is_applied() -> None:
    settings = SandboxSettings(port=0, token_ttl_seconds=0.3)
    with (
        serve_in_thread(settings) as konnect,
        httpx.Client(base_url=konnect.url, trust_env=False) as http,
    ):
        login = http.get(TOKEN_PATH, params={"username": "sandbox", "password": "sandbox"})
        assert login.json()["expires_in"] == 0.3
        headers = {TOKEN_HEADER: login.json()["access_token"]}
        assert http.put("/ims/v3/inventory", json=STOCK, headers=headers).status_code == 200
        time.sleep(0.35)
        late = http.put("/ims/v3/inventory", json=STOCK, headers=headers)
        assert late.status_code == 401 and late.json()["code"] == "AUTH401"
        assert "expired" in late.json()["message"]
        assert len(konnect.ledger()) == 1 and konnect.logins() == 1
        konnect.reset()
        assert konnect.logins() == 0
        assert http.put("/ims/v3/inventory", json=STOCK, headers=headers).status_code == 401


def test_the_client_renews_a_token_before_the_lifetime_konnect_gave_it(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Konnect says `expires_in: 0.3`; our TTL is 55 minutes. The token is renewed before
    Konnect would refuse it, so no request is answered 401 (and none needs a second try)."""
    caplog.set_level(logging.DEBUG, logger="etl")
    body = orjson.dumps(STOCK)

    async def two_requests(url: str) -> None:
        settings = ClientSettings(base_url=url, username="sandbox", password="sandbox")
        async with KonnectClient(settings) as client:
            await client.send(ENDPOINTS["inventory"], body)
            await asyncio.sleep(0.35)
            await client.send(ENDPOINTS["inventory"], body)

    with serve_in_thread(SandboxSettings(port=0, token_ttl_seconds=0.3)) as konnect:
        asyncio.run(two_requests(konnect.url))
        assert konnect.logins() == 2 and len(konnect.ledger()) == 2
    assert "-> 401" not in caplog.text
