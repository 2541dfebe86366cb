"""Credentials for a run: a given token, a login, both, and tokens that expire mid-run.

Everything runs `konnect-etl run` against the real emulator on loopback. Emulators started
with `token_ttl_seconds` issue a fresh token per login (named `issued-...`) and refuse it with
401 once it is that old, which is how a token expires in the middle of a run here.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from etl.cli import app
from etl.config import Settings
from etl.errors import CredentialsError
from etl.sandbox import SandboxSettings, serve_in_thread
from etl.session import client_settings

PASSWORD = "pw-7c1e9b-SECRET"
WRONG_TOKEN = "tok-expired-4d2a-SECRET"


@pytest.fixture(scope="module")
def expiring() -> Iterator[Any]:
    """Issued tokens live 0.8 s; 300 ms per answer, so a 5-chunk upload outlives one."""
    settings = SandboxSettings(
        port=0, username="shop", password=PASSWORD, token_ttl_seconds=0.8, catalogue="open"
    )
    with serve_in_thread(settings) as running:
        yield running


def run(inbox: Path, url: str, **credentials: str | None) -> Any:
    env: dict[str, str | None] = dict.fromkeys(("KONNECT_TOKEN", "KONNECT_USERNAME"))
    env |= {"KONNECT_PASSWORD": None, "KONNECT_BASE_URL": url}
    env.update({f"KONNECT_{name.upper()}": value for name, value in credentials.items()})
    args = ["run", str(inbox), "--settle", "0", "-v"]
    return CliRunner().invoke(app, args, env=env, catch_exceptions=False)


def stock_file(inbox: Path, skus: int = 0) -> bytes:
    """One demo row (DEL-WH-01 / TS-BLK-S = 3), or `skus` rows of new SKUs (open catalogue)."""
    rows = [["DEL-WH-01", f"SKU-{n:05}", str(n % 50)] for n in range(skus)]
    path = inbox / "stock.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(
            [["location_id", "sku", "quantity"], *(rows or [["DEL-WH-01", "TS-BLK-S", "3"]])]
        )
    return path.read_bytes()


def assert_untouched(inbox: Path, original: bytes) -> None:
    assert (inbox / "stock.csv").read_bytes() == original
    assert not (inbox / "done").exists() and not (inbox / "failed").exists()


def assert_no_secrets(result: Any, inbox: Path) -> None:
    texts = [result.output.encode()]
    texts += [p.read_bytes() for p in inbox.rglob("*") if p.is_file() and p.suffix != ".sqlite3"]
    for text in texts:
        for secret in (PASSWORD, WRONG_TOKEN, "issued-"):
            assert secret.encode() not in text


# --- settings handed to the client -------------------------------------------------------


def test_a_token_and_a_login_are_both_handed_to_the_client() -> None:
    settings = Settings(base_url="http://k", token=WRONG_TOKEN, username="u", password=PASSWORD)
    creds = client_settings(settings)
    assert creds.token == WRONG_TOKEN and creds.can_fetch_token
    assert PASSWORD not in repr(creds) and WRONG_TOKEN not in repr(creds)


def test_half_a_login_is_not_a_login() -> None:
    creds = client_settings(Settings(base_url="http://k", token="t", username="u"))
    assert not creds.can_fetch_token and creds.username is None


@pytest.mark.parametrize(
    ("given", "said"),
    [
        ({"base_url": "http://k", "username": "u"}, "A username is set but no password"),
        ({"base_url": "http://k", "password": "p"}, "A password is set but no username"),
        ({"token": "t"}, "Credentials are set but no Konnect address"),
        ({}, "No Konnect connection is configured"),
    ],
)
def test_what_is_missing_is_said(given: dict[str, str], said: str) -> None:
    with pytest.raises(CredentialsError) as caught:
        client_settings(Settings(**given))
    assert str(caught.value).startswith(said)
    assert "No Konnect connection is configured" in str(caught.value)


# --- a given token that Konnect refuses --------------------------------------------------


def test_a_wrong_token_with_a_login_logs_in_once_and_uploads(tmp_path: Path, sandbox: Any) -> None:
    stock_file(tmp_path)
    result = run(tmp_path, sandbox.url, token=WRONG_TOKEN, username="sandbox", password="sandbox")
    assert result.exit_code == 0, result.output
    assert sandbox.logins() == 1
    assert sandbox.state()["stock"]["DEL-WH-01|TS-BLK-S"] == 3
    assert WRONG_TOKEN not in result.output


def test_a_good_token_with_a_login_never_logs_in(tmp_path: Path, sandbox: Any) -> None:
    stock_file(tmp_path)
    result = run(tmp_path, sandbox.url, token=sandbox.token, username="sandbox", password="x")
    assert result.exit_code == 0, result.output
    assert sandbox.logins() == 0


def test_a_wrong_token_and_a_refused_login_stop_with_the_file_untouched(
    tmp_path: Path, sandbox: Any
) -> None:
    original = stock_file(tmp_path)
    result = run(tmp_path, sandbox.url, token=WRONG_TOKEN, username="sandbox", password=PASSWORD)
    assert result.exit_code == 2
    assert "KONNECT_PASSWORD" in result.output
    assert_untouched(tmp_path, original)
    assert sandbox.logins() == 0 and sandbox.ledger() == []
    assert_no_secrets(result, tmp_path)


def test_a_fresh_token_refused_too_stops_after_one_login(tmp_path: Path) -> None:
    """Konnect refuses even the token it has just issued: one login, then exit 2."""
    original = stock_file(tmp_path)
    dead_on_arrival = SandboxSettings(port=0, password=PASSWORD, token_ttl_seconds=1e-9)
    with serve_in_thread(dead_on_arrival) as konnect:
        login = {"username": "sandbox", "password": PASSWORD}
        result = run(tmp_path, konnect.url, token=WRONG_TOKEN, **login)
        assert result.exit_code == 2
        assert "refused the access token" in result.output
        assert konnect.logins() == 1 and konnect.ledger() == []
    assert_untouched(tmp_path, original)
    assert_no_secrets(result, tmp_path)


# --- tokens that age during a run --------------------------------------------------------


def test_a_token_that_expires_mid_run_is_replaced_and_every_row_lands_once(
    tmp_path: Path, expiring: Any
) -> None:
    expiring.reset()
    expiring.faults(latency_ms=300)
    (tmp_path / "konnect-etl.yaml").write_text("concurrency: 1\n")
    stock_file(tmp_path, skus=2500)  # 5 chunks of 500, one after the other: >= 1.5 s
    result = run(tmp_path, expiring.url, username="shop", password=PASSWORD)
    assert result.exit_code == 0, result.output
    assert expiring.logins() >= 2
    keys = [entry["key"] for entry in expiring.ledger()]
    assert len(keys) == len(set(keys)) == 2500
    assert_no_secrets(result, tmp_path)


def test_token_ttl_seconds_fetches_a_new_token_before_the_old_one_is_refused(
    tmp_path: Path, sandbox: Any
) -> None:
    """The default emulator's token never expires: only the configured TTL renews it."""
    sandbox.faults(latency_ms=300, catalogue="open")
    (tmp_path / "konnect-etl.yaml").write_text("concurrency: 1\ntoken_ttl_seconds: 0.4\n")
    stock_file(tmp_path, skus=2000)  # 4 chunks, >= 1.2 s
    result = run(tmp_path, sandbox.url, username="sandbox", password="sandbox")
    assert result.exit_code == 0, result.output
    assert sandbox.logins() >= 2
