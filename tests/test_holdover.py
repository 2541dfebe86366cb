"""A flaky Konnect: some requests of a file answered only 5xx through every retry, or orders
in doubt that cannot be looked up.

The file waits in processing/ (exit 2) and the next runs send what Konnect did not take (or
look the orders up again), for `retry_failed_minutes` from the first attempt; newer files
wait behind it. Against the real emulator, one request at a time (`concurrency: 1`), two
tries each (`retries: 1`): `error_rate` 0.6 with `fault_seed` 15 takes the first and last of
four requests and answers the middle two 5xx twice in a row.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from runs import drop, oid, results, run
from test_exactly_once import Body, LoseFirstRequest

import etl.client
from etl.chunkresult import ChunkResult
from etl.client import KonnectClient
from etl.clientsettings import ClientSettings
from etl.config import ConfigError, load_settings
from etl.errors import Unreachable
from etl.holdover import not_taken
from etl.journal import Journal
from etl.konnect import ENDPOINTS
from etl.reconcile import upload_orders
from etl.sandbox import SandboxSettings, serve_in_thread

ROWS = 2000  # four requests of 500


def flaky(sandbox: Any) -> None:
    sandbox.faults(catalogue="open", error_rate=0.6, fault_seed=15)


def stock_file(inbox: Path, name: str, quantity: int, mtime: float = 0) -> None:
    drop(inbox, name, [["location_id", "sku", "quantity"]]
         + [["DEL-WH-01", f"FLAKY-{i:04d}", str(quantity)] for i in range(ROWS)])  # fmt: skip
    if mtime:
        os.utime(inbox / name, (mtime, mtime))


def inbox_with(tmp_path: Path, config: str = "") -> Path:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "konnect-etl.yaml").write_text(f"retries: 1\nconcurrency: 1\n{config}")
    return inbox


def applied(sandbox: Any) -> int:
    return sum(e["outcome"] == "applied" for e in sandbox.ledger())


def test_requests_konnect_did_not_take_are_sent_by_the_next_run_before_newer_files(
    tmp_path: Path, sandbox: Any
) -> None:
    inbox = inbox_with(tmp_path)
    stock_file(inbox, "stock.csv", 5, mtime=1_700_000_000)
    stock_file(inbox, "stock-later.csv", 9, mtime=1_700_000_100)
    flaky(sandbox)
    held = run(inbox, sandbox)
    assert held.exit_code == 2, held.output
    assert (inbox / "processing" / "stock.csv").is_file() and not (inbox / "done").exists()
    said = " ".join(held.output.split())
    assert "stock.csv: Konnect gave no usable answer to 2 of this file's 4 requests" in said
    assert "(1,000 rows; the last: Konnect answered HTTP 50" in said
    assert "It waits in processing/ (newer files wait behind it). Until " in said
    assert "(retry_failed_minutes: 30) the next runs send them again;" in said
    assert (inbox / "stock-later.csv").is_file()  # the newer file was not sent before it
    taken = applied(sandbox)
    assert taken == 1000

    sandbox.faults(error_rate=0.0)
    assert run(inbox, sandbox).exit_code == 0
    assert applied(sandbox) == 2 * ROWS  # the two requests not taken, once; then the newer file
    stock = sandbox.state()["stock"]  # the newer file's quantities, the middle ones included
    assert {stock[f"DEL-WH-01|FLAKY-{i:04d}"] for i in range(ROWS)} == {9}
    rows = results(inbox, "stock")
    assert {r["status"] for r in rows.values()} == {"ok"} and len(rows) == ROWS


def age(inbox: Path, column: str, minutes: float) -> None:
    """The journal's `column` stamps (`files.started_at`, `attempts.held_since`), so long ago."""
    table = "files" if column == "started_at" else "attempts"
    stamp = (datetime.now(UTC) - timedelta(minutes=minutes)).isoformat()
    with sqlite3.connect(inbox / ".konnect-etl" / "journal.sqlite3") as db:
        db.execute(f"UPDATE {table} SET {column} = ?", (stamp,))


def test_after_retry_failed_minutes_the_rows_are_reported_failed(
    tmp_path: Path, sandbox: Any
) -> None:
    """A request that always breaks the server holds the inbox up for that long at most."""
    inbox = inbox_with(tmp_path)
    stock_file(inbox, "stock.csv", 5)
    flaky(sandbox)
    assert run(inbox, sandbox).exit_code == 2
    age(inbox, "held_since", 31)
    # both requests fail twice again, while a look-up is answered: Konnect is there
    sandbox.faults(error_rate=0.6, fault_seed=32)
    done = run(inbox, sandbox)
    assert done.exit_code == 1, done.output
    rows = results(inbox, "stock")
    assert sum(r["status"] == "ok" for r in rows.values()) == 1000
    failed = [r["message"] for r in rows.values() if r["status"] != "ok"]
    assert len(failed) == 1000
    assert all("nothing was applied" in m or "may or may not" in m for m in failed)


def test_a_file_that_waited_out_an_outage_still_gets_its_time(tmp_path: Path, sandbox: Any) -> None:
    """Konnect down for 40 minutes (the file waits however long it takes), then back but
    flaky, as outages end: the time counts from the first partial answer, not the first try."""
    inbox = inbox_with(tmp_path)
    stock_file(inbox, "stock.csv", 5)
    sandbox.faults(error_rate=1.0)
    assert run(inbox, sandbox).exit_code == 2 and sandbox.ledger() == []
    age(inbox, "started_at", 40)
    flaky(sandbox)
    back = run(inbox, sandbox)
    assert back.exit_code == 2, back.output
    assert (inbox / "processing" / "stock.csv").is_file()


def test_retry_failed_minutes_0_reports_them_failed_at_once(tmp_path: Path, sandbox: Any) -> None:
    inbox = inbox_with(tmp_path, "retry_failed_minutes: 0\n")
    stock_file(inbox, "stock.csv", 5)
    flaky(sandbox)
    assert run(inbox, sandbox).exit_code == 1
    rows = results(inbox, "stock")
    assert sum(r["status"] == "ok" for r in rows.values()) == 1000


def test_only_requests_konnect_never_answered_count_as_not_taken() -> None:
    every = dict.fromkeys(range(2), ("UNAVAILABLE", "Konnect answered HTTP 503"))
    assert not_taken(ChunkResult(0, "failed", None, every))
    assert not_taken(ChunkResult(0, "unknown", None, {}, [0, 1], "no answer"))
    refused = dict.fromkeys(range(2), ("X413", "too many records"))
    assert not not_taken(ChunkResult(0, "failed", None, refused))  # the same again: refused
    assert not not_taken(ChunkResult(0, "acknowledged", "ack-1", {}, [1], "counts differ"))


@pytest.mark.parametrize("value", [-1, "soon", True, 5_000_000_000])
def test_retry_failed_minutes_must_be_minutes(tmp_path: Path, value: Any) -> None:
    (tmp_path / "konnect-etl.yaml").write_text(f"retry_failed_minutes: {value}\n")
    with pytest.raises(ConfigError, match="retry_failed_minutes"):
        load_settings(inbox=tmp_path, environ={})


def confirmed(sandbox: Any) -> list[str]:
    path = ENDPOINTS["confirm"].path
    return [e["key"] for e in sandbox.ledger() if e["path"] == path and e["outcome"] == "applied"]


def confirm_file(inbox: Path, orders: list[str]) -> None:
    drop(inbox, "confirm.csv", [["orderId", "orderItemId", "quantity"]]
         + [[o, f"{o}-1", "1"] for o in orders])  # fmt: skip


def test_an_order_request_refused_for_now_is_sent_by_the_next_run_and_no_other(
    tmp_path: Path, sandbox: Any
) -> None:
    """500/503 apply nothing: that request alone is sent again; each order confirmed once."""
    inbox = inbox_with(tmp_path)
    orders = [oid(30, n) for n in range(1, 120, 2)]  # one item each; three requests of 20
    confirm_file(inbox, orders)
    sandbox.faults(error_rate=0.5, fault_seed=29)  # taken, 503, 503, taken
    held = run(inbox, sandbox)
    assert held.exit_code == 2, held.output
    said = " ".join(held.output.split())
    assert "no usable answer to 1 of this file's 3 requests" in said
    assert (
        "(20 rows; the last: Konnect answered HTTP 503" in said and "none of them applied" in said
    )
    assert (inbox / "processing" / "confirm.csv").is_file()
    assert len(confirmed(sandbox)) == 40
    sandbox.faults(error_rate=0.0)
    assert run(inbox, sandbox).exit_code == 0
    assert sorted(confirmed(sandbox)) == sorted(orders)  # every order once
    assert {r["status"] for r in results(inbox, "confirm").values()} == {"ok"}


def test_an_order_whose_answer_and_look_ups_were_lost_is_settled_by_the_next_run(
    tmp_path: Path, sandbox: Any
) -> None:
    """Applied, but every answer lost, the look-ups' too: not `unknown` for a person to check
    in Konnect; the next run looks it up and finds it applied. Never sent twice."""
    inbox = inbox_with(tmp_path)
    confirm_file(inbox, [oid(11, 7)])
    sandbox.faults(drop_rate=1.0, fault_seed=1)
    held = run(inbox, sandbox)
    assert held.exit_code == 2 and "1 row in doubt" in held.output, held.output
    sandbox.faults(drop_rate=0.0)
    assert run(inbox, sandbox).exit_code == 0
    row = results(inbox, "confirm")["2"]
    assert row["status"] == "ok", row
    assert row["message"] == (  # applied by the first run's request, but no answer said so
        "applied by an earlier attempt at this file, or before it (Konnect does not say"
        " which): the look-up shows confirmed, now bag_confirmed"
    )
    assert confirmed(sandbox) == [oid(11, 7)]  # sent once, never blindly again


def test_an_order_resent_after_a_look_up_and_refused_for_now_waits_too(
    tmp_path: Path, sandbox: Any
) -> None:
    """`error_rate` 0.6, `fault_seed` 49: the confirm is answered 502 (in doubt), the look-up
    says `placed`, the resend is answered 503 then 500 (nothing applied). The file waits; the
    next run looks the order up again and sends it once."""
    inbox = inbox_with(tmp_path)
    confirm_file(inbox, [oid(11, 7)])
    sandbox.faults(error_rate=0.6, fault_seed=49)
    held = run(inbox, sandbox)
    assert held.exit_code == 2 and "1 row in doubt" in held.output, held.output
    assert confirmed(sandbox) == []
    sandbox.faults(error_rate=0.0)
    assert run(inbox, sandbox).exit_code == 0
    assert confirmed(sandbox) == [oid(11, 7)]
    assert results(inbox, "confirm")["2"]["status"] == "ok"


def test_look_ups_refused_with_a_4xx_do_not_hold_the_file(tmp_path: Path) -> None:
    """A company-level token without `locations:`: every look-up is refused 400 ("locationCode
    is required"), and would be on every later run. The row is `unknown` at once, as before;
    the inbox is not held up for nothing."""
    with serve_in_thread(SandboxSettings(port=0, token_scope="company")) as konnect:
        settings = ClientSettings(konnect.url, token=konnect.token, retries=1)  # no locations
        records = [{"orderId": oid(11, 1), "orderItems": [{"orderItemId": f"{oid(11, 1)}-1",
                                                           "quantity": 1}]}]  # fmt: skip
        chunk = Body(0, orjson.dumps(records), 1)
        with Journal(tmp_path / "journal.sqlite3") as journal:
            file_id = journal.begin_file("sha", "confirm.csv", "confirm", "generic/confirm")

            async def upload() -> list[ChunkResult]:
                async with KonnectClient(settings, transport=LoseFirstRequest()) as client:
                    return await upload_orders(
                        client, "confirm", ENDPOINTS["confirm"], [chunk],
                        keys_of=lambda c: [r["orderId"] for r in orjson.loads(c.body)],
                        journal=journal, file_id=file_id,
                    )  # fmt: skip

            [result] = asyncio.run(upload())  # PartlyTaken, if held
    assert result.unknown_records == [0]


CANCEL = ["orderId", "orderItemId", "quantity", "reasonCode"]
# with `inbox_with`'s `retries: 1, concurrency: 1`: the first cancel request taken, the second
# refused 503 twice (the dice for writes only: the order look-ups take none)
SECOND_REFUSED = {"error_rate": 0.5, "fault_seed": 15, "faults_on": "writes"}


def forty_partial_cancels(inbox: Path) -> tuple[list[str], list[list[str]]]:
    """cancel.csv: one of two pieces of 40 orders (two requests); (orders, its rows)."""
    orders = [oid(30, 2 * k) for k in range(1, 41)]
    rows = [CANCEL] + [[o, f"{o}-2", "1", "6"] for o in orders]
    drop(inbox, "cancel.csv", rows)
    return orders, rows


def test_a_held_cancel_file_its_export_wrote_on_into_cancels_no_piece_twice(
    tmp_path: Path, sandbox: Any
) -> None:
    """40 partial cancels (1 of 2 pieces) in two requests: the first taken, the second 503
    twice (`SECOND_REFUSED`): held. The export, its handle still open,
    writes one more row into processing/cancel.csv. The next run continues the attempt (its
    content is the start of the file now) instead of starting over: the first request's
    cancels are not sent again (Konnect would cancel the second piece of each)."""
    inbox = inbox_with(tmp_path)
    orders = [oid(30, 2 * k) for k in range(1, 41)]
    drop(inbox, "cancel.csv", [CANCEL] + [[o, f"{o}-2", "1", "6"] for o in orders])
    sandbox.faults(**SECOND_REFUSED)
    assert run(inbox, sandbox).exit_code == 2
    with (inbox / "processing" / "cancel.csv").open("a", encoding="utf-8") as handle:
        handle.write(f"{oid(30, 90)},{oid(30, 90)}-2,1,6\r\n")
    sandbox.faults(error_rate=0.0)
    again = run(inbox, sandbox)
    assert again.exit_code == 0, again.output
    assert "grew after part of it was sent" in again.output
    state = sandbox.state()["orders"]
    for order in [*orders, oid(30, 90)]:
        items = {i["orderItemId"]: i["cancelledQuantity"] for i in state[order]["items"]}
        assert items[f"{order}-2"] == 1, order
    rows = results(inbox, "cancel")
    assert len(rows) == 41 and {r["status"] for r in rows.values()} == {"ok"}


def test_a_held_file_edited_in_processing_is_not_continued(tmp_path: Path, sandbox: Any) -> None:
    """Only a file whose start is the content sent is continued: one edited (a quantity
    changed) starts over, as before (stock: absolute values, sent again)."""
    inbox = inbox_with(tmp_path)
    stock_file(inbox, "stock.csv", 5)
    flaky(sandbox)
    assert run(inbox, sandbox).exit_code == 2
    stock_file(inbox / "processing", "stock.csv", 6)
    sandbox.faults(error_rate=0.0)
    again = run(inbox, sandbox)
    assert again.exit_code == 0 and "grew after part of it was sent" not in again.output
    assert applied(sandbox) == 1000 + ROWS  # the edited file, whole
    assert {v for k, v in sandbox.state()["stock"].items() if "FLAKY" in k} == {6}


def test_a_held_cancel_file_edited_meanwhile_does_not_send_its_applied_cancels_again(
    tmp_path: Path, sandbox: Any
) -> None:
    """Someone fixes a row of the waiting file in processing/: its start differs, so it is a
    new attempt; the cancels the held attempt applied were remembered when it was held, so
    they are not sent again (the repeated-cancel guard), and the others go once."""
    inbox = inbox_with(tmp_path)
    orders, rows = forty_partial_cancels(inbox)
    sandbox.faults(**SECOND_REFUSED)
    assert run(inbox, sandbox).exit_code == 2
    fixed = [*rows[:-1], [orders[-1], f"{orders[-1]}-2", "1", "9"]]  # another reason: fixed
    drop(inbox / "processing", "cancel.csv", fixed)
    sandbox.faults(error_rate=0.0)
    again = run(inbox, sandbox)
    assert again.exit_code == 0, again.output
    state = sandbox.state()["orders"]
    for order in orders:
        items = {i["orderItemId"]: i["cancelledQuantity"] for i in state[order]["items"]}
        assert items[f"{order}-2"] == 1, order
    said = [r["message"] for r in results(inbox, "cancel").values()]
    assert sum("already applied from cancel.csv" in m for m in said) == 20


def test_konnect_answering_nothing_at_all_does_not_use_up_the_time(
    tmp_path: Path, sandbox: Any
) -> None:
    """Partly answered (the time starts), then down altogether past the 30 minutes, then back
    but flaky: the time starts again, the file waits rather than failing its rows."""
    inbox = inbox_with(tmp_path)
    stock_file(inbox, "stock.csv", 5)
    flaky(sandbox)
    assert run(inbox, sandbox).exit_code == 2
    age(inbox, "held_since", 31)
    sandbox.faults(error_rate=1.0)  # the look-up fails too: down
    assert run(inbox, sandbox).exit_code == 2
    sandbox.faults(error_rate=0.6, fault_seed=32)  # both requests fail, a look-up answered
    back = run(inbox, sandbox)
    assert back.exit_code == 2 and "no usable answer to 2" in back.output, back.output


def test_orders_found_applied_while_the_file_waited_say_so_in_the_end(
    tmp_path: Path, sandbox: Any
) -> None:
    """`error_rate` 0.3, `drop_rate` 0.3, `fault_seed` 0: answers lost (the confirms applied)
    are looked up and found applied, while another request is refused for now: held. The
    next run's result file still says what the look-up found on those rows (the journal keeps
    the look-up's notes), and every order is confirmed once."""
    inbox = inbox_with(tmp_path)
    orders = [oid(30, n) for n in range(1, 80, 2)]  # one item each; two requests of 20
    confirm_file(inbox, orders)
    sandbox.faults(error_rate=0.3, drop_rate=0.3, fault_seed=0)
    assert run(inbox, sandbox).exit_code == 2
    sandbox.faults(error_rate=0.0, drop_rate=0.0)
    assert run(inbox, sandbox).exit_code == 0
    said = [r["message"] for r in results(inbox, "confirm").values()]
    # this run's look-up, or the next run's: applied by this file, either way
    found = [m for m in said if m.endswith("the look-up shows confirmed, now bag_confirmed")]
    assert len(found) == 20 and all(m.startswith("applied") for m in found), said
    assert sorted(confirmed(sandbox)) == sorted(orders)


def test_a_run_in_which_konnect_answered_then_went_away_keeps_the_time(
    tmp_path: Path, sandbox: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only a run in which Konnect answered nothing at all starts the time afresh: one that
    got an answer before the connection was refused does not."""
    inbox = inbox_with(tmp_path)
    stock_file(inbox, "stock.csv", 5)
    flaky(sandbox)
    assert run(inbox, sandbox).exit_code == 2
    sandbox.faults(error_rate=0.0)
    age(inbox, "held_since", 31)
    real_send = etl.client.KonnectClient.send
    calls: list[int] = []

    async def send(self: Any, endpoint: Any, body: bytes) -> Any:
        calls.append(1)
        if len(calls) >= 2:
            raise Unreachable("connection refused")
        return await real_send(self, endpoint, body)

    with monkeypatch.context() as patch:
        patch.setattr(etl.client.KonnectClient, "send", send)
        assert run(inbox, sandbox).exit_code == 2  # the first request taken, then gone
    sandbox.faults(error_rate=0.6, fault_seed=32)  # both requests fail, a look-up answered
    assert run(inbox, sandbox).exit_code == 1  # 31 minutes since the first partial answer


def test_an_outage_while_an_order_file_waits_for_look_ups_does_not_use_up_its_time(
    tmp_path: Path, sandbox: Any
) -> None:
    """An order file held only for look-ups (the answer and the look-ups lost) meets
    Konnect down altogether after retry_failed_minutes: Konnect answered nothing in that
    run, so the file waits (the time starts afresh), as a stock file does, and is settled
    once Konnect is back."""
    inbox = inbox_with(tmp_path)
    confirm_file(inbox, [oid(11, 7)])
    sandbox.faults(drop_rate=1.0, fault_seed=1)
    held = run(inbox, sandbox)
    assert held.exit_code == 2 and "1 row in doubt" in held.output, held.output
    age(inbox, "held_since", 31)
    sandbox.faults(drop_rate=0.0, error_rate=1.0)  # down: every request and look-up 5xx
    down = run(inbox, sandbox)
    assert down.exit_code == 2, down.output  # waits, as a stock file would
    sandbox.faults(error_rate=0.0)
    assert run(inbox, sandbox).exit_code == 0
    assert results(inbox, "confirm")["2"]["status"] == "ok"


def test_konnect_answering_a_request_in_flight_when_another_gives_up_keeps_the_time(
    tmp_path: Path, sandbox: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`concurrency: 2`: one request finds Konnect unreachable through every retry while
    the other, in flight, is answered afterwards: Konnect answered part of the file in this
    run, so the hold's time goes on (it is not started afresh)."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "konnect-etl.yaml").write_text("retries: 1\nconcurrency: 1\n")
    stock_file(inbox, "stock.csv", 5)
    flaky(sandbox)
    assert run(inbox, sandbox).exit_code == 2
    sandbox.faults(error_rate=0.0)
    age(inbox, "held_since", 31)
    (inbox / "konnect-etl.yaml").write_text("retries: 1\nconcurrency: 2\n")
    real_send = etl.client.KonnectClient.send
    calls: list[int] = []

    async def send(self: Any, endpoint: Any, body: bytes) -> Any:
        calls.append(1)
        if len(calls) == 1:
            await asyncio.sleep(2.0)  # slow, answered after the other gave up
            return await real_send(self, endpoint, body)
        raise Unreachable("connection refused")

    before = applied(sandbox)
    with monkeypatch.context() as patch:
        patch.setattr(etl.client.KonnectClient, "send", send)
        assert run(inbox, sandbox).exit_code == 2
    assert applied(sandbox) == before + 500  # Konnect answered one request of this run
    with sqlite3.connect(inbox / ".konnect-etl" / "journal.sqlite3") as db:
        (since,) = db.execute("SELECT held_since FROM attempts").fetchone()
    assert since is not None, "the hold's time was restarted though Konnect answered"


def test_a_stock_file_dropped_again_after_its_attempt_was_cleared_is_sent_whole(
    tmp_path: Path, sandbox: Any
) -> None:
    """A stock file stopped part-way (Konnect took 2 of its 4 requests) is deleted from
    processing/ by hand; a newer export sets every SKU to 99; the first file is dropped again
    (a new copy, so its own export time). Taking up the stopped attempt would skip the two
    requests taken then and report their rows ok while Konnect holds the newer 99s; a stock
    file from the inbox starts over, so every row is sent and holds what the file says."""
    inbox = inbox_with(tmp_path)
    stock_file(inbox, "stock.csv", 5)
    original = (inbox / "stock.csv").read_bytes()
    flaky(sandbox)
    assert run(inbox, sandbox).exit_code == 2 and applied(sandbox) == 1000
    (inbox / "processing" / "stock.csv").unlink()  # "stuck": cleared by the engineer
    sandbox.faults(error_rate=0.0)
    stock_file(inbox, "stock-newer.csv", 99)
    assert run(inbox, sandbox).exit_code == 0
    (inbox / "stock.csv").write_bytes(original)
    again = run(inbox, sandbox)
    assert again.exit_code == 0, again.output
    assert "an attempt at this file begun at" in again.output and "it is sent whole" in again.output
    stock = sandbox.state()["stock"]
    assert {stock[f"DEL-WH-01|FLAKY-{i:04d}"] for i in range(ROWS)} == {5}
    assert {r["status"] for r in results(inbox, "stock").values()} == {"ok"}


def counted_look_ups(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Every GET look-up from now on, as whether it was allowed its retries."""
    looks: list[bool] = []
    real_get = etl.client.KonnectClient.get_json

    async def get_json(self: Any, path: str, params: Any, *, retry: bool = True) -> Any:
        looks.append(retry)
        return await real_get(self, path, params, retry=retry)

    monkeypatch.setattr(etl.client.KonnectClient, "get_json", get_json)
    return looks


def test_a_maintenance_window_ends_the_run_after_one_round_of_quick_look_ups(
    tmp_path: Path, sandbox: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Konnect answering 5xx only: the orders in doubt are looked up once, and once one
    look-up has failed through its retries the others try once - not every order through a
    full backoff, round after round (a 60-order file held a run 12 minutes). The file waits
    for the next run (exit 2), nothing applied."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "konnect-etl.yaml").write_text("retries: 3\nconcurrency: 2\n")
    orders = [oid(30, n) for n in range(1, 80, 2)]  # 40 orders, two requests
    confirm_file(inbox, orders)
    sandbox.faults(error_rate=1.0, faults_on="all")
    looks = counted_look_ups(monkeypatch)
    assert run(inbox, sandbox).exit_code == 2
    assert applied(sandbox) == 0 and (inbox / "processing" / "confirm.csv").is_file()
    # one round of order look-ups (the check whether Konnect answers at all may add a GET),
    # not retries + 1 rounds; only the look-ups in flight when the first gave up retried
    assert len(looks) <= len(orders) + 1, len(looks)
    assert sum(looks) <= 3, looks


def test_look_ups_keep_retrying_while_konnect_answers_some(
    sandbox: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A flaky Konnect (80% 5xx) is no outage: one look-up failing through its retries must
    not make the others try once while others are answered - that left 40 of 60 orders in
    doubt where retrying settled all but a few."""
    from etl.orderlookup import fetch_orders

    sandbox.faults(error_rate=0.8, fault_seed=1, faults_on="all")
    looks = counted_look_ups(monkeypatch)
    settings = ClientSettings(
        sandbox.url, token=sandbox.token, retries=3, backoff_base=0.01, concurrency=2
    )

    async def look() -> tuple[dict[str, Any], set[str]]:
        async with KonnectClient(settings) as client:
            return await fetch_orders(client, {oid(11, n) for n in range(1, 21)})

    fetched, _ = asyncio.run(look())
    assert fetched and all(looks)  # some answered: every look-up kept its retries
    sandbox.faults(error_rate=1.0)  # down: after the first gave up, the rest try once
    looks.clear()
    fetched, for_now = asyncio.run(look())
    assert not fetched and len(for_now) == 20 and sum(looks) <= 2, looks
