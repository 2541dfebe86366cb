"""Konnect going dark part-way through a file, over real sockets: `konnect-etl run` (in
process) talks to the emulator through a TCP proxy on loopback that forwards the file's first
requests, then answers nothing: it reads every request and never answers (a blackhole), or
resets each connection a moment after its request; or it takes no connection any more
(refused, or its SYN dropped: Konnect unreachable, `etl.upload._konnect_down`).

A Konnect that answered part of the file, then nothing for `QUIET_SECONDS` (0.3 s here,
monkeypatched: the CLI runs in the test's process), nor a one-try look-up: the requests not
sent yet are left for the next run and the file waits in processing/
(`etl.upload._gone_quiet`, `etl.holdover`), instead of each request using up its retries in
turn (hours for a big file). The next run, the network back, sends only what Konnect did not
acknowledge. tests/test_upload.py has the same with a fake transport answering 503; these go
through the CLI, the journal, the real client's timeouts and the reports. Each run:
`timeout_seconds: 1`, `retries: 1`, `concurrency: 2`.
"""

from __future__ import annotations

import asyncio
import json
import re
import socket
import threading
import time
from collections import Counter
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Literal

import pytest
from runs import drop, results, run
from test_transport import reset_now
from typer.testing import CliRunner
from watchproc import done_dir

import etl.upload
from etl.cli import app

ROWS = 3000  # six requests of 500
FORWARDED = 2  # the requests answered before the network goes dark
QUIET = 0.3  # etl.upload.QUIET_SECONDS here
RESET_AFTER = 0.5  # a reset comes this long after the request (a middlebox giving up on it)
# seconds from the file's first request to the end of a run in the dark: a few timeouts
# (two tries of a second and the backoff, a look-up's second), not every request's retries
BOUND = 10.0
PUT = b"PUT /ims/v3/inventory "
Reader, Writer = asyncio.StreamReader, asyncio.StreamWriter
Dark = Literal["blackhole", "reset", "refuse", "drop"]


class Proxy:
    """A TCP proxy on 127.0.0.1 in front of `upstream` (host, port), with an event loop in a
    thread of its own (the in-process CLI runs its own loop in the test's thread). It forwards
    `budget` requests (HTTP/1.1 heads with their content-length bodies, counted over all
    connections), then goes `dark`: "blackhole" reads every request and never answers;
    "reset" resets the connection `RESET_AFTER` seconds after a request; "refuse" stops
    listening (connections refused) and resets a connection open when a request comes on it;
    "drop" stops taking connections (`full_backlog`) and blackholes those open. Answers come
    back untouched. `light()`: every request forwarded from then on, on the same port."""

    def __init__(self, upstream: tuple[str, int], budget: int, dark: Dark) -> None:
        self.upstream = upstream
        self.budget: int | None = budget
        self.dark = dark
        self.forwarded: list[bytes] = []  # the request line of each request forwarded
        self.swallowed: list[bytes] = []  # ... and of each one not
        self.unsent: Counter[bytes] = Counter()  # the bodies not forwarded: how many times
        self.port = 0
        self.first_at: float | None = None  # time.monotonic() of the first request
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._lock = threading.Lock()
        self._server: asyncio.Server | None = None
        self._full: list[socket.socket] = []  # "drop": a listener whose backlog is full

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Proxy:
        self._thread.start()
        self._call(self._listen())
        return self

    def __exit__(self, *exc: object) -> None:
        async def close() -> None:
            if self._server is not None:
                self._server.close()
            for task in asyncio.all_tasks() - {asyncio.current_task()}:
                task.cancel()

        self._call(close())
        self._unfill()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()

    def light(self) -> None:
        with self._lock:
            self.budget = None
        if self._server is None:
            self._call(self._listen())

    def _unfill(self) -> None:
        for sock in self._full:
            sock.close()
        self._full = []

    def _call(self, work: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(work, self._loop).result(5)

    async def _listen(self) -> None:
        self._unfill()
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    def _take(self, request: bytes) -> bool:
        """Whether `request` is forwarded (counted against the budget)."""
        line = request.split(b"\r\n", 1)[0]
        with self._lock:
            self.first_at = self.first_at or time.monotonic()
            if self.budget is not None and self.budget <= 0:
                self.swallowed.append(line)
                self.unsent[request.split(b"\r\n\r\n", 1)[1]] += 1
                return False
            if self.budget is not None:
                self.budget -= 1
            self.forwarded.append(line)
            return True

    async def _serve(self, reader: Reader, writer: Writer) -> None:
        up_reader, up_writer = await asyncio.open_connection(*self.upstream)
        answers = asyncio.create_task(_pipe(up_reader, writer))
        try:
            while (request := await _read_request(reader)) is not None:
                if self._take(request):
                    up_writer.write(request)
                    await up_writer.drain()
                elif await self._cut(writer):
                    return
        finally:
            answers.cancel()
            up_writer.close()
            writer.close()

    async def _cut(self, writer: Writer) -> bool:
        """Go dark for a request not forwarded on `writer`'s connection: True if it is closed,
        False to read on there and answer nothing."""
        if self.dark in ("refuse", "drop") and self._server is not None:
            self._server.close()  # new connections refused; the open ones stay
            self._server = None
            if self.dark == "drop":
                self._full = full_backlog(self.port)
        if self.dark in ("blackhole", "drop"):
            return False
        if self.dark == "reset":
            await asyncio.sleep(RESET_AFTER)
        reset_now(writer)
        return True


def full_backlog(port: int) -> list[socket.socket]:
    """A listener on `port` that never accepts, its backlog (0) filled by one connection: the
    SYNs of any other are dropped, so a connection is never made (a firewall dropping it)."""
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", port))
    listener.listen(0)
    return [listener, socket.create_connection(("127.0.0.1", port), timeout=5)]


async def _read_request(reader: Reader) -> bytes | None:
    """One whole request, head and content-length body (the transport never sends chunked
    bodies), or None at EOF."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
        assert not re.search(rb"transfer-encoding", head, re.IGNORECASE), head
        length = re.search(rb"content-length: *(\d+)", head, re.IGNORECASE)
        return head + await reader.readexactly(int(length[1]) if length else 0)
    except (asyncio.IncompleteReadError, ConnectionError):
        return None


async def _pipe(reader: Reader, writer: Writer) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except ConnectionError:
        pass


@pytest.fixture(autouse=True)
def quiet(monkeypatch: pytest.MonkeyPatch) -> None:
    """A minute of silence made `QUIET`; no proxy from the environment in between."""
    monkeypatch.setattr(etl.upload, "QUIET_SECONDS", QUIET)
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy",
                 "all_proxy"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)


def quantity(i: int) -> int:
    return i % 50


def stock_inbox(tmp_path: Path, sandbox: Any, minutes: float = 30, concurrency: int = 2) -> Path:
    """An inbox with a 3,000-row stock.csv of SKUs the emulator takes (`catalogue: open`)."""
    sandbox.faults(catalogue="open")
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    config = {"timeout_seconds": 1, "retries": 1, "concurrency": concurrency,
              "retry_failed_minutes": minutes}  # fmt: skip
    (inbox / "konnect-etl.yaml").write_text("".join(f"{k}: {v:g}\n" for k, v in config.items()))
    rows = [["DEL-WH-01", sku(i), str(quantity(i))] for i in range(ROWS)]
    drop(inbox, "stock.csv", [["location_id", "sku", "quantity"], *rows])
    return inbox


def sku(i: int) -> str:
    return f"DARK-{i:04d}"


def run_through(proxy: Proxy, inbox: Path, sandbox: Any) -> tuple[Any, float]:
    """`run INBOX` against the emulator through `proxy`: its result, and how long it took
    from its first request (the first run in a process spends seconds importing)."""
    proxy.first_at = None
    result = run(inbox, SimpleNamespace(url=proxy.url, token=sandbox.token))
    assert proxy.first_at is not None, result.output
    return result, time.monotonic() - proxy.first_at


def upstream(sandbox: Any) -> tuple[str, int]:
    host, port = sandbox.url.removeprefix("http://").rstrip("/").rsplit(":", 1)
    return host, int(port)


def applied(sandbox: Any) -> Counter[str]:
    """How many times Konnect applied each `location|sku`."""
    return Counter(e["key"] for e in sandbox.ledger() if e["outcome"] == "applied")


def warnings_of(inbox: Path, words: str) -> list[str]:
    """The WARNING lines of the inbox's log with `words` in them."""
    text = (inbox / ".konnect-etl" / "logs" / "konnect-etl.log").read_text()
    return [line for line in text.splitlines() if " WARNING " in line and words in line]


def status(inbox: Path) -> tuple[int, str, dict[str, Any]]:
    """`status INBOX`: its exit code and words on one line; and `status INBOX --json`."""
    said = CliRunner().invoke(app, ["status", str(inbox)])
    as_json = CliRunner().invoke(app, ["status", str(inbox), "--json"])
    return said.exit_code, " ".join(said.output.split()), json.loads(as_json.output)


def run_in_the_dark(proxy: Proxy, inbox: Path, sandbox: Any) -> str:
    """A run that ends in bounded time, exit 2, the file waiting; what it said, on one line."""
    held, took = run_through(proxy, inbox, sandbox)
    assert took < BOUND and held.exit_code == 2, (took, held.output)
    return " ".join(held.output.split())


def held_in_processing(inbox: Path) -> None:
    assert (inbox / "processing" / "stock.csv").is_file()
    assert not (inbox / "stock.csv").exists() and not (inbox / "done").exists()
    code, said, loaded = status(inbox)
    assert code == 1 and said.startswith("PROBLEM"), said
    assert "exit 2, " in said and "stock.csv" in said and "waits in processing/" in said, said
    assert loaded["exit_code"] == 2 and loaded["files_waiting"] == ["stock.csv"], loaded
    assert "waits in processing/" in loaded["reason"], loaded


def finished_by_the_next_run(proxy: Proxy, inbox: Path, sandbox: Any) -> None:
    """The network back: the next run sends what was not acknowledged, and only that."""
    before = applied(sandbox)
    assert len(before) == FORWARDED * 500 and set(before.values()) == {1}
    proxy.light()
    done, _ = run_through(proxy, inbox, sandbox)
    assert done.exit_code == 0, done.output
    assert "uploaded" in done.output and "resumed" in done.output
    assert not (inbox / "processing" / "stock.csv").exists()
    sent = applied(sandbox)
    assert sent == Counter({f"DEL-WH-01|{sku(i)}": 1 for i in range(ROWS)})  # exactly once
    stock = sandbox.state()["stock"]
    assert all(stock[f"DEL-WH-01|{sku(i)}"] == quantity(i) for i in range(ROWS))
    rows = results(inbox, "stock")
    assert len(rows) == ROWS and {r["status"] for r in rows.values()} == {"ok"}
    summary = json.loads((done_dir(inbox) / "stock.summary.json").read_text())
    assert summary["outcome"] == "uploaded", summary
    assert summary["rows"] == {"total": ROWS, "ok": ROWS, "rejected": 0, "failed": 0,
                               "unknown": 0}  # fmt: skip
    assert summary["chunks"]["total"] == summary["chunks"]["acknowledged"] == ROWS // 500
    assert not (done_dir(inbox) / "stock.errors.csv").exists()
    code, said, loaded = status(inbox)
    assert code == 0 and said.startswith("OK"), said
    assert loaded["exit_code"] == 0 and loaded["files_waiting"] == [], loaded


@pytest.mark.parametrize("dark", ["blackhole", "reset"])
def test_konnect_going_dark_mid_file_leaves_the_rest_for_the_next_run(
    tmp_path: Path, sandbox: Any, dark: Dark
) -> None:
    """Two requests answered, then nothing: those in flight use up their tries (two, each a
    second's timeout or a reset), a look-up fails at its one try, and the other requests are
    not sent; the file waits in processing/. A run while it is still dark leaves it there
    (Konnect answered nothing: it is down). The next run, the network back, sends the four
    requests not acknowledged, and only them."""
    inbox = stock_inbox(tmp_path, sandbox)
    with Proxy(upstream(sandbox), FORWARDED, dark) as proxy:
        said = run_in_the_dark(proxy, inbox, sandbox)
        # the console tells the requests tried from those never sent, as the proxy saw them
        tried = {body: n for body, n in proxy.unsent.items() if body}  # not the look-ups
        unsent = 4 - len(tried)
        assert (f"stock.csv: Konnect gave no usable answer to {len(tried)} of this file's 6 "
                f"requests through every retry, then stopped answering: {unsent} more not sent"
                " (2,000 rows; the last: Konnect's answer to a try was lost (of 2 tries; the "
                "last: PUT /ims/v3/inventory: ") in said, said  # fmt: skip
        assert "It waits in processing/ (newer files wait behind it)." in said
        assert "the next runs send them again" in said
        [warned] = warnings_of(inbox, "stopped answering")
        named = "WARNING etl.upload: stock.csv: Konnect stopped answering part-way through the"
        assert f"{named} file (chunk " in warned, warned
        assert "the requests not sent yet wait for the next run" in warned, warned
        # those in flight when it went dark tried twice, a look-up once; the others (two,
        # when the two in flight gave up together) never sent
        assert proxy.forwarded == [PUT + b"HTTP/1.1"] * FORWARDED
        assert 1 <= len(tried) < 4 and set(tried.values()) == {2}, tried.values()
        assert b"GET /oms/v3/shipment?orderId=0&pageSize=1 HTTP/1.1" in proxy.swallowed
        held_in_processing(inbox)
        if dark == "reset":  # a run while still dark (resets are quicker than timeouts)
            said = run_in_the_dark(proxy, inbox, sandbox)  # nothing answered: Konnect down
            assert "Konnect closed the connection without answering" in said, said
            assert "Nothing of stock.csv is lost: it waits in processing/" in said, said
            held_in_processing(inbox)

        finished_by_the_next_run(proxy, inbox, sandbox)
        assert proxy.forwarded[FORWARDED:] == [PUT + b"HTTP/1.1"] * 4  # those not acknowledged
    assert len(warnings_of(inbox, "stopped answering")) == 1


@pytest.mark.parametrize(
    ("dark", "cause"),
    [("refuse", "nothing answers at 127.0.0.1:{port} (connection refused)"),
     ("drop", "127.0.0.1:{port} did not take the connection within the timeout")],
    ids=["refused", "dropped"],
)  # fmt: skip
def test_konnect_taking_no_connection_mid_file_holds_it_until_the_next_run(
    tmp_path: Path, sandbox: Any, dark: Dark, cause: str
) -> None:
    """No connection made (refused, or its SYN dropped) is Konnect unreachable, not gone
    quiet: the run stops as soon as the requests in flight gave up, saying why, and the file
    waits the same way (`etl.upload._konnect_down`)."""
    inbox = stock_inbox(tmp_path, sandbox)
    with Proxy(upstream(sandbox), FORWARDED, dark) as proxy:
        said = run_in_the_dark(proxy, inbox, sandbox)
        assert f"could not reach Konnect: {cause.format(port=proxy.port)}" in said, said
        assert "Nothing of stock.csv is lost: it waits in processing/" in said, said
        assert warnings_of(inbox, "stopped answering") == []
        assert proxy.forwarded == [PUT + b"HTTP/1.1"] * FORWARDED
        assert 1 <= len(proxy.unsent) < 4, proxy.unsent.values()  # the others never sent
        held_in_processing(inbox)

        finished_by_the_next_run(proxy, inbox, sandbox)
        assert proxy.forwarded[FORWARDED:] == [PUT + b"HTTP/1.1"] * 4


def test_with_retry_failed_minutes_0_every_request_is_tried_and_its_rows_reported(
    tmp_path: Path, sandbox: Any
) -> None:
    """No hold would keep the file: nothing is left unsent (its rows would be reported
    failed, never sent). Every request is tried to the end of its retries and its rows are
    `unknown` - a request that timed out may have been applied - saying why; the file is
    done, its errors file ready to drop in again."""
    inbox = stock_inbox(tmp_path, sandbox, minutes=0, concurrency=4)
    with Proxy(upstream(sandbox), FORWARDED, "blackhole") as proxy:
        done, took = run_through(proxy, inbox, sandbox)
    assert took < BOUND, done.output
    assert done.exit_code == 1, done.output
    assert "partial" in done.output
    assert warnings_of(inbox, "stopped answering") == []
    assert set(proxy.swallowed) == {PUT + b"HTTP/1.1"}  # no look-up
    assert list(proxy.unsent.values()) == [2] * 4  # each request not answered: both tries
    rows = results(inbox, "stock")
    assert sum(r["status"] == "ok" for r in rows.values()) == FORWARDED * 500
    left = [r for r in rows.values() if r["status"] != "ok"]
    assert len(left) == ROWS - FORWARDED * 500 and {r["status"] for r in left} == {"unknown"}
    for row in left:
        assert row["message"] == (
            "Konnect's answer to a try was lost (of 2 tries; the last: PUT /ims/v3/inventory: "
            "no answer from Konnect within timeout_seconds (1 s)): the update may or may not "
            "have been applied"
        )
    summary = json.loads((done_dir(inbox) / "stock.summary.json").read_text())
    assert summary["rows"] == {"total": ROWS, "ok": 1000, "rejected": 0, "failed": 0,
                               "unknown": 2000}  # fmt: skip
    assert (done_dir(inbox) / "stock.errors.csv").is_file()
    assert not (inbox / "processing" / "stock.csv").exists()
    assert len(applied(sandbox)) == FORWARDED * 500
