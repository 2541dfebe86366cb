"""The watcher's pulls, seen from outside: a slow Konnect must not hide the watcher nor
hold up the inbox, failing pulls show in status.json and `konnect-etl status`, and
`orders pull` (cron) logs what it wrote and why it failed into the outbox's log.

Konnect is played by a tiny real HTTP server on loopback (`FakeKonnect`): it answers the
order listing as each test says (held until released, 503, a page then 503) and passes
everything else (stock uploads) on to the emulator.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import orjson
from typer.testing import CliRunner
from watchproc import done_dir, logs, start_watch, stop, wait_for, watching

from etl.cli import app
from etl.clientsettings import ClientSettings
from etl.config import Settings
from etl.health import Heartbeat, read_status, status_path, verdict
from etl.konnect import ORDERS_PATH
from etl.pullrequest import PullRequest
from etl.pullschedule import PullSchedule
from etl.stopping import StopRequest
from etl.watch import Watcher, WatchOptions, watch_inbox

EARLY = "2026-01-01"  # before every demo order
# (status, JSON body) for one request of the order listing, from its query
Answer = tuple[int, Any]


class FakeKonnect:
    """A real HTTP server: the order listing answered by `orders` (set by the test), any
    other request passed on to `upstream` (the emulator)."""

    def __init__(self, upstream: str | None) -> None:
        self.upstream = upstream
        self.orders: Callable[[dict[str, str]], Answer] = lambda query: (200, [])
        self.release = threading.Event()  # for `held`
        self.pending = 0  # order listings being answered right now
        self.asked: list[dict[str, str]] = []
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def held(self, query: dict[str, str]) -> Answer:
        """Konnect taking its time: no answer until the test releases it (at most 20 s,
        within the client's 30 s timeout), then an empty page."""
        self.release.wait(20)
        return 200, []

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                self._answer()

            def do_POST(self) -> None:
                self._answer()

            def do_PUT(self) -> None:
                self._answer()

            def log_message(self, *args: Any) -> None:
                pass

            def _answer(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                url = urlsplit(self.path)
                if url.path.rstrip("/") == ORDERS_PATH.rstrip("/"):
                    query = dict(parse_qsl(url.query))
                    with fake._lock:
                        fake.pending += 1
                        fake.asked.append(query)
                    try:
                        status, doc = fake.orders(query)
                    finally:
                        with fake._lock:
                            fake.pending -= 1
                    self._send(status, orjson.dumps(doc), "application/json")
                    return
                assert fake.upstream is not None, f"unexpected request {self.path}"
                headers = {k: v for k, v in self.headers.items()
                           if k.lower() in ("x-access-token", "content-type")}  # fmt: skip
                answer = httpx.request(self.command, fake.upstream + self.path, content=body,
                                       headers=headers, timeout=30)  # fmt: skip
                kind = answer.headers.get("content-type", "application/json")
                self._send(answer.status_code, answer.content, kind)

            def _send(self, status: int, content: bytes, kind: str) -> None:
                self.send_response(status)
                self.send_header("content-type", kind)
                self.send_header("content-length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)

        return Handler


@contextmanager
def fake_konnect(upstream: str | None = None) -> Iterator[FakeKonnect]:
    fake = FakeKonnect(upstream)
    serving = threading.Thread(target=fake.server.serve_forever, daemon=True)
    serving.start()
    try:
        yield fake
    finally:
        fake.release.set()
        fake.server.shutdown()
        fake.server.server_close()


def unavailable(query: dict[str, str]) -> Answer:
    return 503, {"message": "down for maintenance"}


def status_cli(inbox: Path, *extra: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["status", str(inbox), *extra])
    return result.exit_code, " ".join(result.output.split())


def pulls_of(inbox: Path) -> dict[str, Any]:
    return (read_status(inbox) or {}).get("pulls") or {}


# -- 1: a slow Konnect during a pull -----------------------------------------------------


def test_a_slow_pull_neither_hides_the_watcher_nor_holds_up_the_inbox(
    tmp_path: Path, sandbox: Any
) -> None:
    """The reviewer's case: an order listing that takes its time. Before, no status.json
    was written and no file taken until the pull ended (3 min with a 66 s Konnect)."""
    sandbox.faults(catalogue="open")
    inbox, out = tmp_path / "inbox", tmp_path / "outbox"
    inbox.mkdir()
    with fake_konnect(sandbox.url) as konnect:
        konnect.orders = konnect.held
        konnect_ = SimpleNamespace(url=konnect.url, token=sandbox.token)
        try:
            with watching(inbox, konnect_, "--pull-out", str(out), settle=0.3):
                wait_for(lambda: konnect.pending == 1, 15, "the first pull to ask for orders")
                wait_for(lambda: pulls_of(inbox).get("running_since") is not None, 4,
                         "status.json to show the pull running")  # fmt: skip
                first = read_status(inbox) or {}
                (inbox / "stock.csv").write_text("location_id,sku,quantity\nDEL-WH-01,SLOW-1,4\n")
                wait_for(lambda: (done_dir(inbox) / "stock.summary.json").is_file(), 8,
                         "stock.csv taken while the pull waits for Konnect")  # fmt: skip
                wait_for(lambda: (read_status(inbox) or {}).get("files_processed") == 1, 4,
                         "status.json to count it")  # fmt: skip
                assert konnect.pending == 1  # the pull is still waiting for its answer
                later = read_status(inbox) or {}
                assert later["last_scan_epoch"] > first["last_scan_epoch"]
                code, said = status_cli(inbox, "--max-age", "3")
                assert code == 0 and "alive" in said, said
                konnect.release.set()
                wait_for(lambda: pulls_of(inbox).get("last_success") is not None, 8,
                         "the pull to end")  # fmt: skip
        finally:
            konnect.release.set()
    assert sandbox.state()["stock"]["DEL-WH-01|SLOW-1"] == 4
    pulls = pulls_of(inbox)
    assert pulls["failed_rounds"] == 0 and pulls["running_since"] is None


def test_a_stop_waits_for_the_pull_in_progress_and_a_second_stop_does_not(
    tmp_path: Path, sandbox: Any
) -> None:
    """SIGTERM lets the pull in progress end (the watcher beating meanwhile, status.json
    saying "stopping"), as it lets a file end; a second SIGTERM stops at once."""
    inbox, out = tmp_path / "inbox", tmp_path / "outbox"
    inbox.mkdir()
    with fake_konnect(sandbox.url) as konnect:
        konnect.orders = konnect.held
        process = start_watch(inbox, SimpleNamespace(url=konnect.url, token=sandbox.token),
                              "--pull-out", str(out))  # fmt: skip
        try:
            wait_for(lambda: konnect.pending == 1, 15, "the first pull to ask for orders")
            wait_for(lambda: pulls_of(inbox).get("running_since") is not None, 4,
                     "status.json to show the pull running")  # fmt: skip
            process.send_signal(signal.SIGTERM)
            wait_for(lambda: "waiting for the pull in progress to end" in logs(inbox), 4,
                     "the watcher to wait for the pull")  # fmt: skip
            wait_for(lambda: (read_status(inbox) or {}).get("state") == "stopping", 2,
                     "status.json to say stopping")  # fmt: skip
            code, said = status_cli(inbox)
            assert code == 0, said
            assert "stopping: asked to stop, it finishes the pull of CREATED orders first" in said
            before = (read_status(inbox) or {})["last_scan_epoch"]
            time.sleep(1.2)  # the wait beats at most once a second
            assert process.poll() is None and konnect.pending == 1
            assert (read_status(inbox) or {})["last_scan_epoch"] > before
            process.send_signal(signal.SIGTERM)
            assert process.wait(5) == 0  # at once, the pull still unanswered
            assert konnect.pending == 1
        finally:
            stop(process)
    assert (read_status(inbox) or {})["state"] == "stopped"
    assert not list(out.glob("orders-*"))


# -- 2: pulls that fail every round ------------------------------------------------------


def test_a_failing_pull_shows_in_status_json_and_status(tmp_path: Path, sandbox: Any) -> None:
    """A real watcher against a Konnect answering 503: the round's failure is recorded
    with its context; one failed round is not yet a problem."""
    inbox, out = tmp_path / "inbox", tmp_path / "outbox"
    inbox.mkdir()
    (inbox / "konnect-etl.yaml").write_text("retries: 0\n")
    with fake_konnect(sandbox.url) as konnect:
        konnect.orders = unavailable
        konnect_ = SimpleNamespace(url=konnect.url, token=sandbox.token)
        with watching(inbox, konnect_, "--pull-out", str(out)):
            wait_for(lambda: pulls_of(inbox).get("failed_rounds") == 1, 12, "a failed round")
            code, said = status_cli(inbox)
    pulls = pulls_of(inbox)
    message = pulls["last_error"]["message"]
    assert "pull of CREATED orders (all locations, page 1) failed" in message
    assert "Konnect answered HTTP 503" in message
    assert f"nothing was written to {out}" in message
    assert pulls["last_success"] is None and pulls["failing_since"] is not None
    assert code == 0, said  # one failed round: tried again next round
    assert "last_pull_error:" in said and "HTTP 503" in said
    assert "pull_failed_rounds_in_a_row: 1" in said
    logged = (inbox / ".konnect-etl" / "logs" / "konnect-etl.log").read_text()
    assert "(all locations, page 1) failed: Konnect answered HTTP 503" in logged


def test_pulls_failing_three_rounds_in_a_row_need_a_look_until_one_succeeds(
    tmp_path: Path,
) -> None:
    """The watcher's loop in-process, pulling every 0.3 s (the command's floor is a minute)
    from a real server that answers 503, then recovers."""
    inbox, out = tmp_path / "inbox", tmp_path / "outbox"
    inbox.mkdir()
    with fake_konnect() as konnect:
        konnect.orders = unavailable
        connection = ClientSettings(base_url=konnect.url, token="t", retries=0)
        schedule = PullSchedule(Settings(), connection, [PullRequest("CREATED", out)], 0.3)
        options = WatchOptions(poll_seconds=0.2, events=False, pulls=schedule.run_due)
        stop = StopRequest()
        beat = Heartbeat(inbox, poll_seconds=0.2, mode="polling", started=time.time())

        def no_job() -> Any:
            raise AssertionError("the inbox is empty: no job to open")

        watcher = Watcher(inbox, no_job, options, stop, beat)
        loop = threading.Thread(target=watch_inbox, args=(watcher,))
        loop.start()
        try:
            wait_for(lambda: pulls_of(inbox).get("failed_rounds", 0) >= 3, 30, "3 failed rounds")
            code, said = status_cli(inbox)
            assert code == 1, said
            assert f"the pulls into {out} have failed" in said and "round(s) in a row" in said
            assert "HTTP 503" in said and "last success: never" in said
            konnect.orders = lambda query: (200, [])  # Konnect is back
            wait_for(lambda: pulls_of(inbox).get("failed_rounds") == 0, 30, "a good round")
            code, said = status_cli(inbox)
            assert code == 0, said
            assert "last_pull_success: 20" in said and "pull_failed_rounds_in_a_row: 0" in said
        finally:
            stop.request("the test is over")
            loop.join(15)
    assert not loop.is_alive()
    assert (read_status(inbox) or {})["state"] == "stopped"


def test_how_long_pulls_may_fail_or_run_and_older_status_files(tmp_path: Path) -> None:
    """The thresholds: 3 rounds in a row, or an hour of failing (a long interval), or a
    round running for an hour; a status.json without `pulls` reads as before."""
    now = time.time()
    beat = Heartbeat(tmp_path, poll_seconds=10, mode="polling", started=now - 7200)
    document = beat.document(now)

    def judged(pulls: dict[str, Any] | None, at: float = now) -> tuple[bool, str]:
        status_path(tmp_path).parent.mkdir(exist_ok=True)
        status_path(tmp_path).write_bytes(orjson.dumps({**document, "pulls": pulls}))
        return verdict(read_status(tmp_path) or {}, at)

    out = str(tmp_path / "out")
    failed = {"outbox": out, "every_seconds": 7200, "failed_rounds": 1,
              "failing_since": "2026-11-27T10:00:00+00:00", "failing_since_epoch": now - 3650,
              "last_error": {"at": "2026-11-27T10:00:00+00:00",
                             "message": "pull of CREATED orders (all locations, page 3) failed"},
              "last_success": None, "running_since_epoch": None}  # fmt: skip
    alive, said = judged(failed)
    assert not alive and "failed 1 round(s) in a row, for 61 min" in said and "page 3" in said
    assert judged(failed, now - 3000)[0]  # 11 min of failing: fine
    assert judged({**failed, "failing_since_epoch": now - 120, "failed_rounds": 2})[0]
    assert not judged({**failed, "failing_since_epoch": now - 120, "failed_rounds": 3})[0]

    running = {"outbox": out, "failed_rounds": 0, "running_since_epoch": now - 3900,
               "running_since": "2026-11-27T10:00:00+00:00"}  # fmt: skip
    alive, said = judged(running)
    assert not alive and "has been running for 65 min" in said
    assert judged({**running, "running_since_epoch": now - 600})[0]

    del document["pulls"]  # written by a watcher from before the pulls were recorded
    status_path(tmp_path).write_bytes(orjson.dumps(document))
    assert verdict(read_status(tmp_path) or {}, now) == (True, "alive: last scan 0 s ago")
    code, said = status_cli(tmp_path)
    assert code == 0 and "last_pull" not in said and "pull_outbox" not in said, said


# -- 3: `orders pull` from cron logs into the outbox ------------------------------------


def orders_pull(url: str, token: str, out: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "KONNECT_BASE_URL": url, "KONNECT_TOKEN": token,
           "NO_PROXY": "127.0.0.1,localhost"}  # fmt: skip
    command = [sys.executable, "-m", "etl", "orders", "pull", "--status", "CREATED",
               "--out", str(out), *extra]  # fmt: skip
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)


def outbox_log(out: Path) -> str:
    return (out / ".konnect-etl" / "logs" / "konnect-etl.log").read_text()


def test_orders_pull_logs_what_it_wrote_into_the_outbox(tmp_path: Path, sandbox: Any) -> None:
    out = tmp_path / "erp"
    wrote = orders_pull(sandbox.url, sandbox.token, out, "--from", EARLY, "--format", "csv", "-q")
    assert wrote.returncode == 0 and wrote.stdout == "", wrote.stderr
    [sheet] = out.glob("orders-CREATED-*.csv")
    assert f"wrote {sheet}: 310 new CREATED orders" in outbox_log(out)
    again = orders_pull(sandbox.url, sandbox.token, out, "--from", EARLY, "--format", "csv")
    assert again.returncode == 0 and "no new CREATED orders" in again.stdout
    assert "no new CREATED orders" not in again.stderr  # said once, on stdout
    logged = outbox_log(out)
    assert "no new CREATED orders (all locations; 310 already pulled): nothing written" in logged


def test_orders_pull_says_where_it_failed_and_that_nothing_was_written(tmp_path: Path) -> None:
    out = tmp_path / "erp"
    out.mkdir()
    (out / "konnect-etl.yaml").write_text("retries: 0\npull_page_size: 2\n")
    with fake_konnect() as konnect:
        konnect.orders = lambda query: (
            (200, [{"orderId": "1"}, {"orderId": "2"}]) if query["pageNumber"] == "1"
            else (503, {"message": "down"})
        )  # fmt: skip
        failed = orders_pull(konnect.url, "t", out, "--location", "DEL-WH-01", "-q")
    assert failed.returncode == 2, failed.stderr
    line = (
        "pull of CREATED orders (location DEL-WH-01, page 2) failed: Konnect answered HTTP "
        f"503 Service Unavailable; nothing was written to {out}"
    )
    assert line in " ".join(failed.stderr.split())
    assert failed.stderr.count("page 2") == 1  # not once more from the log
    assert line in outbox_log(out) and " ERROR " in outbox_log(out)
    assert not list(out.glob("orders-*"))

    with fake_konnect() as gone:
        closed = gone.url  # nobody listens there once it is shut
    unreachable = orders_pull(closed, "t", out)
    assert unreachable.returncode == 2
    said = "(all locations, page 1) failed: GET /oms/v3/shipment: could not reach Konnect"
    assert said in unreachable.stderr and said in outbox_log(out)
    assert f"nothing was written to {out}" in unreachable.stderr
