"""`orders pull` after the pull-side review: an outbox that is an inbox, a pulled sheet dropped
into an inbox, a journal that cannot be written after the sheet was, order dates in Konnect's
other formats, pages shorter than asked for, and an order moved to another store.

Against the real emulator where it can show it; for pages capped below `pageSize` and for
odd order dates, which it never sends, a tiny Konnect of our own on loopback (`FakeKonnect`).
"""

from __future__ import annotations

import json
import logging
import shutil
import sqlite3
import subprocess
import threading
import time
from contextlib import closing, suppress
from datetime import date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import openpyxl
import pytest
from runs import run
from test_host_faults import mounted
from test_pull import EARLY, config, pull, rows_of, sheets
from test_pull_safety import connection, ids_in
from typer.testing import CliRunner
from watchproc import start_watch, stop

from etl import pull as pulling
from etl import pullstate
from etl.cli import app
from etl.config import Settings
from etl.flatten import IST
from etl.pullrequest import PullRequest
from etl.pullschedule import PullSchedule, pull_plan
from etl.pullstate import PullState
from etl.session import journal_path

RETURNED = {"return_bag_delivered", "rto_bag_delivered"}  # RETURN_DELIVERED in the emulator


def states(sandbox: Any) -> dict[str, str]:
    return {oid: order["state"] for oid, order in sandbox.state()["orders"].items()}


def failed_summaries(inbox: Path) -> list[dict[str, Any]]:
    folder = inbox / "failed" / date.today().isoformat()
    return [json.loads(p.read_text()) for p in sorted(folder.glob("*.summary.json"))]


# -- 1a: an outbox that is an inbox ------------------------------------------------------


def test_a_pull_into_an_inbox_is_refused(tmp_path: Path, sandbox: Any) -> None:
    """The reviewer's `orders pull --status RETURN_DELIVERED --out IN` then `run IN`."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    assert run(inbox, sandbox).exit_code == 0  # an inbox `run` has worked in
    before = states(sandbox)
    refused = pull(sandbox, inbox, "--status", "RETURN_DELIVERED", "--from", EARLY, fmt="xlsx")
    assert refused.exit_code == 2, refused.output
    assert f"--out {inbox} is an inbox" in refused.output
    assert "Keep the outbox apart from the inbox" in refused.output
    assert sheets(inbox) == []
    run(inbox, sandbox)
    assert states(sandbox) == before  # no return accepted at QC
    # an ERP import folder with processing/ and done/ of its own is no inbox of ours
    erp = tmp_path / "erp"
    (erp / "processing").mkdir(parents=True)
    (erp / "done").mkdir()
    fine = pull(sandbox, erp, "--status", "RETURN_DELIVERED", "--from", EARLY)
    assert fine.exit_code == 0, fine.output
    assert len(sheets(erp)) == 1


def test_run_on_an_outbox_is_refused_and_its_sheet_stays_for_the_erp(
    tmp_path: Path, sandbox: Any
) -> None:
    """The other way round: `run OUTBOX` took the pulled sheet into failed/, where the ERP
    never looks, and its orders counted as pulled."""
    out = tmp_path / "out"
    assert pull(sandbox, out, "--status", "CREATED", "--from", EARLY).exit_code == 0
    [sheet] = sheets(out)
    refused = run(out, sandbox)
    assert refused.exit_code == 2, refused.output
    assert "is an outbox of konnect-etl orders pull" in " ".join(refused.output.split())
    assert sheets(out) == [sheet] and not (out / "failed").exists()


def test_watch_refuses_its_own_inbox_as_the_pull_outbox(tmp_path: Path, sandbox: Any) -> None:
    """`watch IN --pull-out IN`: stops at start with exit 2 (before, it pulled the returns
    into IN and accepted each of them at QC a moment later)."""
    inbox = tmp_path / "inbox"
    config(inbox, "pull_lookback_days: 3650\n")
    before = states(sandbox)
    same = tmp_path / "inbox" / ".." / "inbox"  # the inbox under another name
    process = start_watch(inbox, sandbox, "--pull-out", str(same), "--pull-status",
                          "RETURN_DELIVERED")  # fmt: skip
    try:
        code = process.wait(30)
    except subprocess.TimeoutExpired:
        code = None
    finally:
        stop(process)
    output = "\n".join(p.read_text() for p in tmp_path.glob("watch-*.log"))
    assert code == 2, output
    assert "--pull-out" in output and "is the inbox this watcher takes files from" in output
    assert sheets(inbox) == [] and states(sandbox) == before


# -- 1b: the inbox never acts on a sheet konnect-etl pulled --------------------------------


@pytest.mark.parametrize(
    ("status", "fmt", "name"),
    [
        ("RETURN_DELIVERED", "xlsx", None),  # `*return*`: taken as a return QC file before
        ("CREATED", "csv", "confirm-today.csv"),  # renamed: taken as a confirm file before
    ],
)
def test_a_pulled_sheet_dropped_into_an_inbox_fails_as_a_whole(
    tmp_path: Path, sandbox: Any, status: str, fmt: str, name: str | None
) -> None:
    out, inbox = tmp_path / "erp", tmp_path / "inbox"
    assert pull(sandbox, out, "--status", status, "--from", EARLY, fmt=fmt).exit_code == 0
    [sheet] = sheets(out)
    inbox.mkdir()
    shutil.copy(sheet, inbox / (name or sheet.name))
    before = states(sandbox)
    result = run(inbox, sandbox)
    assert result.exit_code == 1, result.output
    assert states(sandbox) == before  # nothing confirmed, no return accepted
    [summary] = failed_summaries(inbox)
    assert summary["outcome"] == "failed" and summary["mapping"] is None
    message = " ".join(summary["file_errors"])
    assert "this is a sheet konnect-etl pulled from Konnect (orders pull)" in message
    assert "keep the outbox apart from the inbox" in message


# -- 2: the journal cannot be written after the sheet was ---------------------------------


def hold_journal(out: Path) -> sqlite3.Connection:
    """Another connection holding the outbox journal's write lock: a real "database is
    locked" for the pull's record of its orders (reads still work, as in WAL they do)."""
    holder = sqlite3.connect(journal_path(out), isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    return holder


def test_a_sheet_whose_orders_cannot_be_recorded_is_never_named(
    tmp_path: Path, sandbox: Any, monkeypatch: pytest.MonkeyPatch, caplog: Any
) -> None:
    """The journal locked (a backup tool): the pull waits for it with its sheet under a
    hidden temp name, so an ERP importing meanwhile sees nothing it could import twice (the
    sheet was named first and shown for the 30 s of the wait), and gives up naming none."""
    monkeypatch.setattr(pullstate, "BUSY_SECONDS", 2.0, raising=False)
    out = tmp_path / "out"
    days = ("--from", "2026-01-10", "--to", "2026-01-10")
    assert pull(sandbox, out, "--status", "CREATED", *days).exit_code == 0  # the journal exists
    [first] = sheets(out)
    with closing(hold_journal(out)):
        outcome: list[Any] = []
        every = ("--status", "CREATED", "--from", EARLY)
        puller = threading.Thread(target=lambda: outcome.append(pull(sandbox, out, *every)))
        puller.start()
        time.sleep(1.0)  # the orders fetched, the sheet written: waiting for the lock
        assert sheets(out) == [first]
        puller.join()
        [failed] = outcome
        # the watcher's pulls: logged, with the same words
        request = PullRequest("CREATED", out, date_from=date(2026, 1, 1), format="csv")
        schedule = PullSchedule(Settings(), connection(sandbox), [request], 600)
        with caplog.at_level(logging.ERROR):
            schedule.run_due()
    assert failed.exit_code == 2, failed.output
    said = " ".join(failed.output.split())
    assert f"cannot work in {out}: database is locked" in said
    assert "could not be recorded in the outbox's journal, so no sheet was written" in said
    assert "waiting files" not in said and "inbox" not in said.replace("outbox", "")
    assert sheets(out) == [first]  # no sheet left whose orders the journal does not know
    assert [p.name for p in out.iterdir() if p.name.endswith(".tmp")] == []
    logged = " ".join(caplog.text.split())
    assert f"cannot work in the outbox {out}" in logged and "no sheet was written" in logged
    again = pull(sandbox, out, "--status", "CREATED", "--from", EARLY)
    assert again.exit_code == 0, again.output
    last = pull(sandbox, out, "--status", "CREATED", "--from", EARLY)
    assert "no new CREATED orders" in last.output
    assert len(ids_in(out)) == 310 and set(ids_in(out).values()) == {1}  # none twice


def test_a_full_disk_after_the_sheet_leaves_no_sheet_behind(
    tmp_path: Path, sandbox: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The reviewer's case on a real full disk (a small tmpfs; needs root to mount)."""
    with mounted(tmp_path / "disk", "tmpfs", "tmpfs", "-o", "size=8m") as disk:
        out, filler = disk / "out", disk / "filler"
        real = pulling._write

        def write_then_fill(*args: Any) -> Path:
            written = real(*args)
            with filler.open("wb", buffering=0) as handle, suppress(OSError):
                for _ in range(1 << 12):  # 256 MB at most: the disk is full long before
                    handle.write(bytes(65536))
            assert shutil.disk_usage(disk).free < 65536
            return written

        monkeypatch.setattr(pulling, "_write", write_then_fill)
        full = pull(sandbox, out, "--status", "CREATED", "--from", EARLY)
        assert full.exit_code == 2, full.output
        said = " ".join(full.output.split())
        assert f"cannot work in {out}: database or disk is full" in said
        assert "(the disk is full: free some space there)" in said
        assert "could not be recorded in the outbox's journal, so no sheet was written" in said
        assert sheets(out) == []
        monkeypatch.setattr(pulling, "_write", real)
        filler.unlink()  # space freed
        assert pull(sandbox, out, "--status", "CREATED", "--from", EARLY).exit_code == 0
        last = pull(sandbox, out, "--status", "CREATED", "--from", EARLY)
        assert "no new CREATED orders" in last.output
        assert len(ids_in(out)) == 310 and set(ids_in(out).values()) == {1}


# -- a tiny Konnect for shapes the emulator never sends ------------------------------------


class FakeKonnect:
    """GET /oms/v3/shipment over `orders` (orderStatus filter, paging), nothing else.

    `cap`: at most this many orders a page, whatever pageSize asks; `counted`: page N starts
    at (N-1) x the size "sent" (the cap) or x the size "asked". `beyond`: what a page after
    the last is: "empty" ([]), "400" / "404" (a refusal), "repeat" (the last page again)."""

    def __init__(
        self,
        orders: list[dict[str, Any]],
        cap: int = 1000,
        beyond: str = "empty",
        counted: str = "sent",
    ) -> None:
        self.orders, self.cap, self.beyond, self.counted = orders, cap, beyond, counted
        self.pages: list[int] = []
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def answer(self, query: dict[str, str]) -> tuple[int, Any]:
        number, asked = int(query["pageNumber"]), int(query["pageSize"])
        size = min(asked, self.cap)
        step = size if self.counted == "sent" else asked
        self.pages.append(number)
        wanted = [o for o in self.orders if o["orderStatus"] == query.get("orderStatus")]
        last = max(1, -(-len(wanted) // step))
        if number > last and self.beyond in ("400", "404"):
            return int(self.beyond), {"code": "X400", "message": f"no page {number}"}
        if number > last and self.beyond == "repeat":
            number = last
        return 200, wanted[(number - 1) * step : (number - 1) * step + size]

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                url = urlparse(self.path)
                query = {k: v[0] for k, v in parse_qs(url.query).items()}
                code, body = fake.answer(query) if url.path == "/oms/v3/shipment" else (404, {})
                data = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        return Handler

    def __enter__(self) -> FakeKonnect:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def order(n: int, **more: Any) -> dict[str, Any]:
    oid = f"61{n:018d}"
    return {
        "orderId": oid, "orderStatus": "CREATED", "state": "placed", "orderingChannel": "FYND",
        "locationCode": "DEL-WH-01", "orderDate": "2026-11-26T10:00:00+05:30",
        "items": [{"orderItemId": f"{oid}-1", "sku": "TS-BLK-S", "quantity": 1, "mrp": 999,
                   "esp": 899, "currency": "INR"}],
        **more,
    }  # fmt: skip


def pull_from(fake: FakeKonnect, out: Path, *args: str, fmt: str = "csv") -> Any:
    env = {"KONNECT_TOKEN": "fake-token", "KONNECT_BASE_URL": fake.url}
    argv = ["orders", "pull", "--out", str(out), "--format", fmt, "--status", "CREATED", *args]
    return CliRunner().invoke(app, argv, env=env, catch_exceptions=False)


# -- 3: order dates in Konnect's other formats ---------------------------------------------


ODD_DATES = [
    order(1, orderDate="27-11-2026 00:30"),  # dd-mm-yyyy, IST (konnect-api.md)
    order(2, orderDate="2026-11-26T19:00:00Z"),  # the same moment, in UTC
    order(3, orderDate="27-11-2026", updatedDate="27-11-2026 02:15:00 PM IST"),
    order(4, orderDate="last Tuesday"),  # not a date: written as it came, with a warning
]


def test_order_dates_in_konnects_other_formats_are_written_in_one(tmp_path: Path) -> None:
    with FakeKonnect(ODD_DATES) as fake:
        plain = pull_from(fake, tmp_path / "plain", "--from", "2026-11-01")
        mapped = pull_from(fake, tmp_path / "erp", "--from", "2026-11-01",
                           "--mapping", "erp_orders", fmt="xlsx")  # fmt: skip
    assert plain.exit_code == 0, plain.output
    rows = {r["orderId"][-1]: r for r in rows_of(sheets(tmp_path / "plain")[0])}
    assert rows["1"]["orderDate"] == rows["2"]["orderDate"] == "2026-11-27 00:30:00"
    assert rows["3"]["orderDate"] == "2026-11-27 00:00:00"
    assert rows["3"]["updatedDate"] == "2026-11-27 14:15:00"
    assert rows["4"]["orderDate"] == "last Tuesday"
    warned = " ".join(plain.output.split())
    assert "order 61000000000000000004: orderDate 'last Tuesday' is not a date" in warned
    assert "written as Konnect sent it" in warned
    assert mapped.exit_code == 0, mapped.output
    [sheet] = sheets(tmp_path / "erp")
    table = list(openpyxl.load_workbook(sheet).active.iter_rows(values_only=True))
    dates = {str(r[0])[-1]: r[table[0].index("Order Date")] for r in table[1:]}
    assert dates == {"1": "27/11/2026 00:30", "2": "27/11/2026 00:30",
                     "3": "27/11/2026 00:00", "4": "last Tuesday"}  # fmt: skip


# -- 4: pages shorter than asked for ---------------------------------------------------------


@pytest.mark.parametrize("beyond", ["empty", "400", "repeat"])
def test_a_konnect_that_sends_fewer_orders_a_page_is_read_to_the_end(
    tmp_path: Path, beyond: str
) -> None:
    """120 orders, 50 a page at most though 100 are asked for: before, page 1 was taken as
    the last and the other 70 never fetched ("already pulled" ever after)."""
    out = tmp_path / "out"
    with FakeKonnect([order(n) for n in range(1, 121)], cap=50, beyond=beyond) as fake:
        first = pull_from(fake, out, "--from", "2026-11-01")
        assert first.exit_code == 0, first.output
        # pages 1-2 in 100s find the cap; then read again in 50s to the end (page 3: short
        # after full pages, the last)
        assert fake.pages == [1, 2, 1, 2, 3]
        said = " ".join(first.output.split())
        assert "Konnect sent 50 orders on a page though 100 were asked for" in said
        assert len(ids_in(out)) == 120
        fake.pages.clear()
        second = pull_from(fake, out, "--from", "2026-11-01")
    assert "no new CREATED orders (all locations; 120 already pulled)" in second.output


def test_a_konnect_that_counts_pages_in_the_size_asked_loses_no_order(tmp_path: Path) -> None:
    """Capped at 50, but page 2 starting at order 101 (the size asked): reading on in 100s
    skipped orders 51-100 for good; read again in 50s, every order arrives."""
    out = tmp_path / "out"
    orders = [order(n) for n in range(1, 251)]
    with FakeKonnect(orders, cap=50, counted="asked") as fake:
        result = pull_from(fake, out, "--from", "2026-11-01")
    assert result.exit_code == 0, result.output
    assert len(ids_in(out)) == 250


def test_a_short_page_after_full_ones_is_the_last_and_a_short_first_costs_one_more(
    tmp_path: Path,
) -> None:
    """Konnect's own paging (no cap): 130 orders in pages of 100 and 30: a Konnect that sent
    a full page does not cap, so page 2 is the last (asking on, orders arriving meanwhile
    were taken for a cap and the listing read again one order a page). 30 orders on page 1:
    the one check of page 2; a Konnect that pages past the end with the last page again, or
    refuses it with a 404, stops there too."""
    with FakeKonnect([order(n) for n in range(1, 131)]) as fake:
        result = pull_from(fake, tmp_path / "full", "--from", "2026-11-01")
        assert result.exit_code == 0, result.output
        assert fake.pages == [1, 2] and len(ids_in(tmp_path / "full")) == 130
    for beyond in ("empty", "repeat", "404"):
        with FakeKonnect([order(n) for n in range(1, 31)], beyond=beyond) as fake:
            result = pull_from(fake, tmp_path / beyond, "--from", "2026-11-01")
            assert result.exit_code == 0, result.output
            assert fake.pages == [1, 2] and len(ids_in(tmp_path / beyond)) == 30
    # the 70 a capped Konnect hid from the old pull arrive now, once
    with FakeKonnect([order(n) for n in range(1, 121)], cap=50) as fake:
        assert pull_from(fake, tmp_path / "capped", "--from", "2026-11-01").exit_code == 0
    assert len(ids_in(tmp_path / "capped")) == 120


# -- 5: an order moved to another store ------------------------------------------------------


def test_an_order_moved_to_another_store_is_pulled_for_it(tmp_path: Path, sandbox: Any) -> None:
    out = tmp_path / "out"
    when = datetime.now(IST).replace(microsecond=0) - timedelta(hours=2)
    spec = {"orderId": "62000000000000000001", "orderDate": when.isoformat()}
    sandbox.add_orders(orders=[{**spec, "state": "placed", "location": "DEL-WH-01"}])
    since = ("--from", (when - timedelta(days=1)).date().isoformat())
    assert pull(sandbox, out, "--status", "CREATED", *since).exit_code == 0
    sandbox.reset()  # the emulator cannot move an order: the same id again, at Mumbai
    sandbox.add_orders(orders=[{**spec, "state": "store_reassigned", "location": "MUM-ST-02"}])
    moved = pull(sandbox, out, "--status", "CREATED", *since)
    assert moved.exit_code == 0, moved.output
    first, second = (rows_of(s) for s in sheets(out))
    assert [(r["orderId"], r["locationCode"]) for r in first] == [(spec["orderId"], "DEL-WH-01")]
    assert [(r["orderId"], r["locationCode"]) for r in second] == [(spec["orderId"], "MUM-ST-02")]
    assert "no new CREATED orders" in pull(sandbox, out, "--status", "CREATED", *since).output


def test_a_journal_from_before_locations_keeps_its_orders_pulled(tmp_path: Path) -> None:
    """The old table (key orderId, status) is rebuilt once: its rows count for every
    location, as they did; new rows count for their own."""
    path = tmp_path / "journal.sqlite3"
    with closing(sqlite3.connect(path)) as old, old:
        old.execute("CREATE TABLE pulled_orders (order_id TEXT NOT NULL, status TEXT NOT NULL, "
                    "order_date TEXT NOT NULL, pulled_at TEXT NOT NULL, "
                    "PRIMARY KEY (order_id, status))")  # fmt: skip
        old.execute("INSERT INTO pulled_orders VALUES ('1', 'CREATED', '2026-11-20', "
                    "'2026-11-20T10:00:00+05:30')")  # fmt: skip
    now = datetime(2026, 11, 27, 10, 0, tzinfo=IST)
    state = PullState(path)
    assert state.already_pulled("CREATED", {"1": "MUM-ST-02", "2": "DEL-WH-01"}) == {"1"}
    state.record({}, "CREATED", {"2": "2026-11-27 09:00:00"}, now, {"2": "DEL-WH-01"})
    assert state.already_pulled("CREATED", {"2": "DEL-WH-01"}) == {"2"}
    assert state.already_pulled("CREATED", {"2": "MUM-ST-02"}) == set()
    assert state.already_pulled("CREATED", ["1", "2", "3"]) == {"1", "2"}  # any location
    state.close()
    state = PullState(path)  # opened again: nothing rebuilt twice, nothing lost
    assert state.already_pulled("CREATED", {"1": "BLR-ST-03", "2": "DEL-WH-01"}) == {"1", "2"}
    state.close()


# -- ids Konnect sends as JSON numbers ------------------------------------------------------


def test_order_ids_sent_as_json_numbers_keep_every_digit(tmp_path: Path) -> None:
    """orjson reads integers past 64 bits as floats: two 20-digit ids became one
    41000000000000000000 and an order was lost."""
    numeric = [order(n) for n in (11, 12)]
    for o in numeric:
        o["orderId"] = int("41" + o["orderId"][2:])
    with FakeKonnect(numeric) as fake:
        result = pull_from(fake, tmp_path / "out", "--from", "2026-11-01")
    assert result.exit_code == 0, result.output
    assert sorted(ids_in(tmp_path / "out")) == ["41000000000000000011", "41000000000000000012"]


# -- messages an operations person reads ----------------------------------------------------

NO_CONNECTION = dict.fromkeys(
    ("KONNECT_BASE_URL", "KONNECT_TOKEN", "KONNECT_USERNAME", "KONNECT_PASSWORD")
)


def test_a_pull_without_a_connection_says_where_its_config_is(tmp_path: Path) -> None:
    argv = ["orders", "pull", "--status", "CREATED", "--out", str(tmp_path / "out")]
    result = CliRunner().invoke(app, argv, env=NO_CONNECTION)
    assert result.exit_code == 2
    said = " ".join(result.output.split())
    assert "in the environment or in OUTBOX/konnect-etl.yaml (or --config FILE)" in said
    assert "--dry-run" not in said and ".;" not in said
    assert said.endswith("add --sandbox; nothing was written to " + str(tmp_path / "out"))


def test_documents_for_a_file_that_is_not_there_says_so(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["documents", str(tmp_path / "missing.csv")], env=NO_CONNECTION
    )
    assert result.exit_code == 2
    assert f"file not found: {tmp_path / 'missing.csv'}" in " ".join(result.output.split())


def test_the_watchers_pulls_read_the_pull_keys_of_the_outboxs_config(
    tmp_path: Path, sandbox: Any
) -> None:
    """`orders pull --out OUTBOX` reads OUTBOX/konnect-etl.yaml; `watch --pull-out OUTBOX`
    read only the inbox's (pageSize 100 where the outbox said 10)."""
    out = tmp_path / "out"
    config(out, "pull_page_size: 10\npull_lookback_days: 400\n")
    inbox = Settings(pull_page_size=50, pull_lookback_days=30, pull_every_minutes=20)
    plan = pull_plan(out, None, ["CREATED"], tmp_path / "inbox")
    assert plan is not None
    schedule = plan.schedule(inbox, connection(sandbox))
    assert schedule.settings.pull_page_size == 10
    assert schedule.settings.pull_lookback_days == 400
    assert schedule.settings.pull_every_minutes == 20  # not a pull key: the watcher's own
    config(out, "pull_lookback_days: 400\n")  # pull_page_size not set there: the inbox's
    assert plan.schedule(inbox, connection(sandbox)).settings.pull_page_size == 50
    schedule.run_due()  # and the pull itself goes with them: every order, in pages of 10
    assert [r.new_orders for r in schedule.results] == [310], schedule.failures
