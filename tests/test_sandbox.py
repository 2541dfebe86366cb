"""The Konnect emulator over real loopback HTTP: auth, limits, IMS records, ledger, faults."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from etl.cli import app
from etl.konnect import ENDPOINTS, TOKEN_HEADER
from etl.sandbox import SandboxSettings, create_app, serve_in_thread

INVENTORY = ENDPOINTS["inventory"].path
PRICE = ENDPOINTS["price"].path


@pytest.fixture(scope="module")
def api_client(sandbox_server: Any) -> Iterator[httpx.Client]:
    headers = {TOKEN_HEADER: sandbox_server.token}
    with httpx.Client(base_url=sandbox_server.url, headers=headers, trust_env=False) as client:
        yield client


@pytest.fixture(scope="module")
def raw(sandbox_server: Any) -> Iterator[httpx.Client]:
    """A client without a token (control endpoints, auth tests)."""
    with httpx.Client(base_url=sandbox_server.url, trust_env=False) as client:
        yield client


@pytest.fixture
def api(sandbox: Any, api_client: httpx.Client) -> httpx.Client:
    """A client with the right token, against the freshly reset emulator."""
    return api_client


def stock(location: str, sku: str, quantity: Any) -> dict[str, Any]:
    return {"location_id": location, "sku": sku, "quantity": quantity}


def price(mrp: Any = 999, esp: Any = 799, currency: Any = "INR", sku: str = "TS-BLK-S") -> Any:
    return {"location_id": "DEL-WH-01", "sku": sku, "mrp": mrp, "esp": esp, "currency": currency}


def test_token_endpoint_gives_the_token_for_the_right_credentials(
    sandbox: Any, raw: httpx.Client
) -> None:
    url = "/aggregator/v1/token"
    good = raw.get(url, params={"username": "sandbox", "password": "sandbox"})
    assert good.json() == {"access_token": sandbox.token, "expires_in": 3600, "status": "SUCCESS"}
    assert raw.get(url, params={"username": "sandbox", "password": "nope"}).status_code == 401


@pytest.mark.parametrize("headers", [{}, {TOKEN_HEADER: "wrong"}])
def test_missing_or_wrong_token_is_401_and_nothing_is_applied(
    sandbox: Any, raw: httpx.Client, headers: Any
) -> None:
    answer = raw.put(INVENTORY, json=[stock("DEL-WH-01", "TS-BLK-S", 1)], headers=headers)
    assert answer.status_code == 401
    assert answer.json()["code"] == "AUTH401"
    assert sandbox.ledger() == []
    assert sandbox.state()["stock"]["DEL-WH-01|TS-BLK-S"] != 1


@pytest.mark.parametrize(
    ("content", "code"),
    [
        (b"not json", "X400"),
        (b'{"location_id": "DEL-WH-01"}', "X400"),
        (b"[" + b",".join([b'{"sku": "x"}'] * 501) + b"]", "X413"),
    ],
    ids=["not-json", "not-an-array", "over-the-limit"],
)
def test_malformed_bodies_are_refused_whole(
    api: httpx.Client, sandbox: Any, content: bytes, code: str
) -> None:
    answer = api.put(INVENTORY, content=content)
    assert answer.status_code == 400
    assert answer.json()["code"] == code
    assert sandbox.ledger() == []


def test_exactly_the_limit_is_accepted(api: httpx.Client, sandbox: Any) -> None:
    body = [stock("DEL-WH-01", "TS-BLK-S", n) for n in range(500)]
    data = api.put(INVENTORY, json=body).json()["data"]
    assert (data["payload_count"], data["success_count"]) == (500, 500)
    assert sandbox.state()["stock"]["DEL-WH-01|TS-BLK-S"] == 499


def test_inventory_refuses_bad_records_one_by_one(api: httpx.Client, sandbox: Any) -> None:
    body = [
        stock("DEL-WH-01", "TS-BLK-S", 7),
        stock("DEL-WH-01", "NOPE-404", 1),
        stock("NOWHERE-99", "TS-BLK-S", 1),
        stock("MUM-ST-02", "CAP-RED", -3),
        stock("MUM-ST-02", "CAP-RED", 2.5),
        {"location_id": "MUM-ST-02", "sku": "CAP-RED"},
        "not a record",
    ]
    answer = api.put(INVENTORY, json=body)
    assert answer.status_code == 200
    data = answer.json()["data"]
    assert (data["payload_count"], data["success_count"], data["failed_count"]) == (7, 1, 6)
    codes = [(e["index"], e["code"]) for e in data["errors"]]
    assert codes == [
        (1, "X404SKU"),
        (2, "X404LOC"),
        (3, "X422"),
        (4, "X422"),
        (5, "X422"),
        (6, "X422"),
    ]
    assert data["errors"][0]["sku"] == "NOPE-404"
    assert data["errors"][0]["location_id"] == "DEL-WH-01"
    assert sandbox.state()["stock"]["DEL-WH-01|TS-BLK-S"] == 7
    assert sandbox.state()["stock"]["MUM-ST-02|CAP-RED"] >= 0


def test_ims_envelope_has_a_fresh_ack_id_each_time(api: httpx.Client) -> None:
    body = [stock("DEL-WH-01", "TS-BLK-S", 3)]
    first, second = (api.put(INVENTORY, json=body).json() for _ in range(2))
    assert first["meta"]["status"] == "SUCCESS"
    assert first["meta"]["ack_id"] and first["meta"]["ack_id"] != second["meta"]["ack_id"]
    assert first["data"] == second["data"]  # replaying an absolute level is harmless


def test_ledger_lists_every_record_in_arrival_order(api: httpx.Client, sandbox: Any) -> None:
    api.put(INVENTORY, json=[stock("DEL-WH-01", "TS-BLK-S", 4), stock("DEL-WH-01", "NOPE-404", 1)])
    api.put(PRICE, json=[price()])
    ledger = sandbox.ledger()
    assert [e["seq"] for e in ledger] == [1, 2, 3]
    assert [e["key"] for e in ledger] == [
        "DEL-WH-01|TS-BLK-S",
        "DEL-WH-01|NOPE-404",
        "DEL-WH-01|TS-BLK-S",
    ]
    assert [e["outcome"] for e in ledger] == ["applied", "rejected", "applied"]
    assert [e["code"] for e in ledger] == [None, "X404SKU", None]
    assert ledger[2]["method"] == "PUT" and ledger[2]["path"] == PRICE
    assert ledger[0]["record"] == stock("DEL-WH-01", "TS-BLK-S", 4)


def test_ledger_keeps_odd_records_exactly_as_sent(api: httpx.Client, sandbox: Any) -> None:
    """The ledger is built from the request bodies when read: same keys, codes and records."""
    odd: list[Any] = ["not a record", {"sku": "TS-BLK-S", "quantity": 1}, {"location_id": None}]
    api.put(INVENTORY, json=[stock("DEL-WH-01", "TS-BLK-S", 5), *odd])
    api.put(INVENTORY, json=[])
    api.put(PRICE, json=[price(currency="inr")])
    ledger = sandbox.ledger()
    assert [e["seq"] for e in ledger] == [1, 2, 3, 4, 5]
    assert [e["key"] for e in ledger] == [
        "DEL-WH-01|TS-BLK-S",
        "|",
        "|TS-BLK-S",
        "None|",
        "DEL-WH-01|TS-BLK-S",
    ]
    assert [e["code"] for e in ledger] == [None, "X422", "X422", "X422", "X422"]
    assert [e["record"] for e in ledger[1:4]] == odd
    assert ledger[4]["path"] == PRICE and ledger[4]["outcome"] == "rejected"


def test_a_currency_is_checked_each_time_not_only_the_first(api: httpx.Client) -> None:
    body = [price(currency="USD"), price(currency="usd"), price(currency="USD"), price(currency=1)]
    data = api.put(PRICE, json=body).json()["data"]
    assert [(e["index"], e["code"]) for e in data["errors"]] == [(1, "X422"), (3, "X422")]


@pytest.mark.parametrize(
    "record",
    [
        price(mrp=0),
        price(esp=-1),
        price(mrp=500, esp=600),
        price(currency="inr"),
        price(currency="RUPEES"),
        price(mrp="999"),
        price(sku="NOPE-404"),
    ],
    ids=["mrp-zero", "esp-negative", "esp-above-mrp", "lowercase", "long-currency", "text", "sku"],
)
def test_price_refuses_a_bad_record(api: httpx.Client, sandbox: Any, record: Any) -> None:
    data = api.put(PRICE, json=[record, price(mrp=1299, esp=999)]).json()["data"]
    assert (data["success_count"], data["failed_count"]) == (1, 1)
    assert data["errors"][0]["index"] == 0
    assert sandbox.state()["prices"]["DEL-WH-01|TS-BLK-S"]["mrp"] == 1299


def test_open_catalogue_creates_unknown_skus_and_locations(api: httpx.Client, sandbox: Any) -> None:
    sandbox.faults(catalogue="open")
    data = api.put(INVENTORY, json=[stock("NEW-LOC-1", "NEW-SKU", 9)]).json()["data"]
    assert data["failed_count"] == 0
    assert sandbox.state()["stock"]["NEW-LOC-1|NEW-SKU"] == 9


def test_reset_restores_seed_ledger_and_start_up_faults(api: httpx.Client, sandbox: Any) -> None:
    seeded = sandbox.state()["stock"]["DEL-WH-01|TS-BLK-S"]
    api.put(INVENTORY, json=[stock("DEL-WH-01", "TS-BLK-S", seeded + 1)])
    sandbox.faults(error_rate=1.0, catalogue="open")
    sandbox.reset()
    assert sandbox.state()["stock"]["DEL-WH-01|TS-BLK-S"] == seeded
    assert sandbox.ledger() == []
    assert (
        api.put(INVENTORY, json=[stock("X", "Y", 1)]).json()["data"]["errors"][0]["code"]
        == "X404LOC"
    )


def test_error_rate_answers_5xx_and_applies_nothing(api: httpx.Client, sandbox: Any) -> None:
    sandbox.faults(error_rate=1.0)
    before = sandbox.state()["stock"]["DEL-WH-01|TS-BLK-S"]
    statuses = {
        api.put(INVENTORY, json=[stock("DEL-WH-01", "TS-BLK-S", 1)]).status_code for _ in range(8)
    }
    assert statuses <= {500, 502, 503} and statuses
    assert sandbox.ledger() == []
    assert sandbox.state()["stock"]["DEL-WH-01|TS-BLK-S"] == before


def test_faults_on_writes_spare_look_ups(api: httpx.Client, sandbox: Any) -> None:
    """`faults_on: writes`: every PUT/POST gets the 5xx, an order look-up (GET) always answers
    and takes no draw of the fault sequence - a test's seeded scenario stays the same when the
    tool adds look-ups."""
    sandbox.faults(error_rate=1.0, faults_on="writes")
    assert api.get("/oms/v3/shipment", params={"orderStatus": "CREATED"}).status_code == 200
    put = api.put(INVENTORY, json=[stock("DEL-WH-01", "TS-BLK-S", 1)])
    assert put.status_code in (500, 502, 503) and sandbox.ledger() == []
    sandbox.faults(error_rate=1.0, faults_on="all")
    assert api.get("/oms/v3/shipment", params={"orderStatus": "CREATED"}).status_code >= 500
    with pytest.raises(httpx.HTTPStatusError) as refused:
        sandbox.faults(faults_on="reads")
    assert "faults_on must be 'all' or 'writes'" in refused.value.response.text


def test_drop_rate_applies_then_closes_without_a_response(api: httpx.Client, sandbox: Any) -> None:
    sandbox.faults(drop_rate=1.0)
    with pytest.raises(httpx.RemoteProtocolError):
        api.put(INVENTORY, json=[stock("DEL-WH-01", "TS-BLK-S", 42)])
    assert sandbox.state()["stock"]["DEL-WH-01|TS-BLK-S"] == 42
    assert [e["outcome"] for e in sandbox.ledger()] == ["applied"]


def test_rate_limit_answers_429_with_retry_after(api: httpx.Client, sandbox: Any) -> None:
    sandbox.faults(rate_limit=2)
    answers = [api.put(INVENTORY, json=[stock("DEL-WH-01", "TS-BLK-S", n)]) for n in range(4)]
    assert [a.status_code for a in answers[:2]] == [200, 200]
    limited = [a for a in answers if a.status_code == 429]
    assert limited and int(limited[0].headers["Retry-After"]) >= 1
    assert len(sandbox.ledger()) == 4 - len(limited)


def test_latency_slows_every_request(api: httpx.Client, sandbox: Any) -> None:
    sandbox.faults(latency_ms=150)
    started = time.perf_counter()
    api.put(INVENTORY, json=[])
    assert time.perf_counter() - started >= 0.15


def test_latency_includes_the_work_and_the_update_lands_before_its_answer(
    api: httpx.Client, sandbox: Any
) -> None:
    sandbox.faults(latency_ms=400)
    record = {"location_id": "DEL-WH-01", "sku": "TS-BLK-M", "quantity": 31}
    with ThreadPoolExecutor(1) as pool:
        started = time.perf_counter()
        answer = pool.submit(api.put, INVENTORY, json=[record])
        while not sandbox.ledger() and time.perf_counter() - started < 0.3:
            time.sleep(0.01)
        applied_after = time.perf_counter() - started
        assert not answer.done()  # still waiting for its latency...
        assert sandbox.state()["stock"]["DEL-WH-01|TS-BLK-M"] == 31  # ...already applied
        assert answer.result().status_code == 200
    assert applied_after < 0.3
    assert 0.4 <= time.perf_counter() - started < 0.7  # latency_ms, not latency + work


def test_max_concurrency_makes_extra_requests_wait(
    api: httpx.Client, raw: httpx.Client, sandbox: Any
) -> None:
    sandbox.faults(max_concurrency=1, latency_ms=100)

    def one(_: int) -> int:
        return api.put(INVENTORY, json=[]).status_code

    started = time.perf_counter()
    with ThreadPoolExecutor(3) as pool:
        assert list(pool.map(one, range(3))) == [200, 200, 200]
    assert time.perf_counter() - started >= 0.3
    stats = raw.get("/_sandbox/faults").json()["stats"]
    assert stats["peak_in_flight"] == 1


def test_peak_in_flight_is_counted_without_a_cap(
    api: httpx.Client, raw: httpx.Client, sandbox: Any
) -> None:
    sandbox.faults(latency_ms=200)
    with ThreadPoolExecutor(3) as pool:
        assert set(pool.map(lambda _: api.put(INVENTORY, json=[]).status_code, range(3))) == {200}
    assert raw.get("/_sandbox/faults").json()["stats"] == {"in_flight": 0, "peak_in_flight": 3}


def test_lifting_the_cap_lets_waiting_requests_through(
    api: httpx.Client, raw: httpx.Client, sandbox: Any
) -> None:
    sandbox.faults(max_concurrency=1, latency_ms=300)

    def one(_: int) -> int:
        return api.put(INVENTORY, json=[]).status_code

    with ThreadPoolExecutor(3) as pool:
        answers = pool.map(one, range(3))
        time.sleep(0.1)
        sandbox.faults(max_concurrency=None)  # the two waiting ones must still be woken
        assert list(answers) == [200, 200, 200]
    assert raw.get("/_sandbox/faults").json()["stats"]["in_flight"] == 0


def test_fault_seed_makes_injected_errors_reproducible(api: httpx.Client, sandbox: Any) -> None:
    def run() -> list[int]:
        sandbox.faults(error_rate=0.5, fault_seed=7)
        return [api.put(INVENTORY, json=[]).status_code for _ in range(12)]

    first = run()
    assert first == run()
    assert 200 in first and set(first) - {200}


def test_unknown_fault_setting_is_refused(sandbox: Any, raw: httpx.Client) -> None:
    answer = raw.post("/_sandbox/faults", json={"errorRate": 1})
    assert answer.status_code == 400
    assert "unknown fault setting" in answer.json()["message"]


def test_control_endpoints_refuse_non_loopback_clients() -> None:
    async def ask() -> list[int]:
        transport = httpx.ASGITransport(create_app(SandboxSettings()), client=("10.1.2.3", 5555))
        async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as client:
            return [
                (await client.get("/_sandbox/ledger")).status_code,
                (await client.post("/_sandbox/reset")).status_code,
            ]

    assert asyncio.run(ask()) == [403, 403]


def test_serve_in_thread_picks_a_free_port_and_stops_cleanly() -> None:
    with serve_in_thread(SandboxSettings(port=0, token="t-123")) as running:
        assert running.settings.port != 0
        assert running.url == f"http://127.0.0.1:{running.settings.port}"
        assert running.token == "t-123"
        assert httpx.get(f"{running.url}/_sandbox/state", trust_env=False).status_code == 200
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{running.url}/_sandbox/state", trust_env=False)


@pytest.mark.parametrize(
    ("flags", "said"),
    [
        (["--error-rate", "5"], "--error-rate must be between 0 and 1"),
        (["--drop-rate", "-1"], "--drop-rate must be a number >= 0"),
        (["--max-concurrency", "0"], "--max-concurrency must be at least 1"),
        (["--catalogue", "closed"], "--catalogue must be 'strict' or 'open'"),
    ],
)
def test_the_command_line_refuses_what_the_faults_endpoint_refuses(
    flags: list[str], said: str
) -> None:
    """A cap of 0 would make every request wait forever: said at once, nothing started."""
    result = CliRunner().invoke(app, ["sandbox", "--port", "0", *flags])
    assert result.exit_code == 2 and said in result.output


def test_a_test_suite_outside_the_package_gets_the_sandbox_fixture(tmp_path: Path) -> None:
    """SPEC 7: the third way to start the emulator. No conftest here: the plugin comes from
    the installed package's `pytest11` entry point."""
    (tmp_path / "test_outside.py").write_text(
        "import httpx\n\n"
        "def test_it(sandbox):\n"
        "    answer = httpx.get(sandbox.url + '/_sandbox/ledger')\n"
        "    assert answer.status_code == 200 and answer.json() == []\n"
    )
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
        cwd=tmp_path, capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 passed" in done.stdout


def test_a_port_in_use_is_said_as_a_port_problem() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = CliRunner().invoke(app, ["sandbox", "--port", str(port)])
    assert result.exit_code == 2
    assert f"cannot listen on 127.0.0.1:{port}" in result.output and "--port 0" in result.output
