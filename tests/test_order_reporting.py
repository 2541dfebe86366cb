"""What an order file's reports, console and log say of work Konnect had done already: the
rows found applied (counted apart from those this file applied), what each look-up found, the
requests settled by looking up rather than answered, and how far a long look-up phase got.
Against the real emulator on loopback."""

from __future__ import annotations

import asyncio
import json
import logging
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

import orjson
import pytest
from runs import drop, results, run
from test_exactly_once import Body, LoseFirstRequest

import etl.orderlookup
from etl.client import KonnectClient
from etl.clientsettings import ClientSettings
from etl.console import progress_bars
from etl.konnect import ENDPOINTS
from etl.orderverdicts import unsettled
from etl.reconcile import upload_orders

TODAY = date.today().isoformat()
AWB_HEAD = ["orderId", "awbNumber", "courierName", "autoDispatch"]


def summary(inbox: Path, stem: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(
        (inbox / "done" / TODAY / f"{stem}.summary.json").read_text()
    )
    return loaded


def self_ship(sandbox: Any, first: str, n: int, state: str = "dp_assigned") -> list[str]:
    block = {"first_id": first, "count": n, "state": state, "is_self_ship": True}
    added: list[str] = sandbox.add_orders(order_blocks=[block])
    return added


def test_a_file_sent_again_says_how_many_of_its_ok_rows_konnect_had_already(
    tmp_path: Path, sandbox: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """The evening's pickup manifest exported again with one more order: 3 of its 4 rows
    were handed over by the first export. `ok` alone would read as 4 applied."""
    orders = self_ship(sandbox, "43000000000000000001", 4)
    rows = [[o, f"AWB70{n}", "Delhivery", "Yes"] for n, o in enumerate(orders)]
    drop(tmp_path / "a", "awb_1800.csv", [AWB_HEAD, *rows[:3]])
    assert run(tmp_path / "a", sandbox).exit_code == 0
    drop(tmp_path / "b", "awb_1900.csv", [AWB_HEAD, *rows])
    with caplog.at_level(logging.INFO):
        done = run(tmp_path / "b", sandbox)
    assert done.exit_code == 0, done.output
    said = summary(tmp_path / "b", "awb_1900")
    assert said["rows"] == {"total": 4, "ok": 4, "rejected": 0, "failed": 0, "unknown": 0}
    assert said["already_applied"] == 3
    split = "4 ok (1 applied now, 3 already done in Konnect)"
    assert f"Already done awb_1900.csv: {split}" in " ".join(done.output.split())
    assert any(split in r.getMessage() for r in caplog.records if r.name == "etl.outcomes")
    report = results(tmp_path / "b", "awb_1900")
    assert report["2"]["message"] == (
        "already applied: Konnect shows AWB AWB700 (Delhivery) on this order, now bag_picked"
    )
    assert report["5"]["message"] == ""  # applied by this file
    assert summary(tmp_path / "a", "awb_1800")["already_applied"] == 0


def test_requests_whose_answer_was_lost_are_settled_by_lookup_not_acknowledged(
    tmp_path: Path, sandbox: Any
) -> None:
    """Every answer to a write is lost (the confirms applied): the two requests are settled
    by looking their orders up. Konnect acknowledged none of them."""
    orders = [f"30{n:018d}" for n in range(1, 50, 2)][:25]  # one item each
    drop(tmp_path, "confirm.csv", [["orderId", "orderItemId", "quantity"],
                                   *[[o, f"{o}-1", "1"] for o in orders]])  # fmt: skip
    sandbox.faults(drop_rate=1.0, faults_on="writes", fault_seed=3)
    assert run(tmp_path, sandbox).exit_code == 0
    said = summary(tmp_path, "confirm")
    assert said["chunks"] == {"total": 2, "acknowledged": 0, "settled_by_lookup": 2}
    assert said["already_applied"] == 0  # this file applied them, though no answer said so
    assert said["rows"]["ok"] == 25


def test_each_feed_says_what_the_look_up_found() -> None:
    from etl.orderwords import found_applied

    awb = {"awbNumber": "7000000123", "courierName": "Delhivery", "autoDispatch": True}
    order = {"state": "bag_picked", "awb": {"awbNumber": "7000000123", "courierName": "DHL"}}
    assert found_applied("awb", awb, order) == (
        "already applied: Konnect shows AWB 7000000123 (DHL) on this order, now bag_picked"
    )
    back = {"state": "return_dp_assigned", "returnAwb": {"awbNumber": "RT1"}}
    assert found_applied("awb", {"awbNumber": "RT1", "courierName": "Bluedart"}, back) == (
        "already applied: Konnect shows return AWB RT1 (Bluedart) on this order,"
        " now return_dp_assigned"
    )
    status = {"orderStatus": "bag_picked"}
    assert found_applied("status", status, {"state": "delivery_done"}) == (
        "already applied: status bag_picked reached, Konnect shows this order as delivery_done"
    )
    assert found_applied("pack", {}, {"state": "bag_picked"}) == (
        "already applied: packed, Konnect shows this order as bag_picked"
    )
    sale = {"invoiceNumber": "INV-7", "invoiceType": "sale"}
    invoiced = {"state": "bag_invoiced", "invoice": {"invoiceNumber": "INV-7"}}
    assert found_applied("invoice", sale, invoiced) == (
        "already applied: Konnect shows invoice INV-7 on this order, now bag_invoiced"
    )


def test_a_status_two_steps_ahead_says_which_status_to_send_first(
    tmp_path: Path, sandbox: Any
) -> None:
    [order] = self_ship(sandbox, "44000000000000000001", 1)
    drop(tmp_path, "status.csv", [["orderId", "orderStatus"], [order, "delivery_done"]])
    assert run(tmp_path, sandbox).exit_code == 1
    row = results(tmp_path, "status")["2"]
    assert row["status"] == "failed"
    assert row["message"].startswith("X409 - ")
    assert row["message"].endswith(
        "Konnect shows this order as dp_assigned - send bag_picked first, in a file of its"
        " own, and delivery_done in a later file"
    )


def test_rows_in_doubt_say_whether_dropping_them_back_is_safe() -> None:
    assert "dropping this row back (the errors file, unchanged) is safe" in unsettled("awb")
    assert "dropping this row back" in unsettled("status")
    assert "check the order in Konnect before sending this row again" in unsettled("cancel")


def test_an_awb_on_two_orders_of_one_file_is_counted_in_the_warnings(
    tmp_path: Path, sandbox: Any
) -> None:
    first, second = self_ship(sandbox, "45000000000000000001", 2)
    drop(tmp_path, "awb.csv", [AWB_HEAD, [first, "AWB55", "Delhivery", "No"],
                               [second, "AWB55", "Delhivery", "No"]])  # fmt: skip
    done = run(tmp_path, sandbox)
    assert done.exit_code == 0, done.output
    assert summary(tmp_path, "awb")["warnings"] == [
        "2 rows set an AWB number another order of this file has too: check that those"
        " orders really travel as one consignment (the rows say which)"
    ]
    assert "Note awb.csv: 2 rows set an AWB number" in " ".join(done.output.split())


class Bar:
    """A terminal's progress callback as `etl.console` gives it: `phase` opens a bar."""

    def __init__(self) -> None:
        self.phases: list[tuple[str, int, list[int]]] = []

    def __call__(self, done: int) -> None:
        pass

    def phase(self, description: str, total: int) -> Any:
        counts: list[int] = []
        self.phases.append((description, total, counts))
        return counts.append


def confirm_lost(sandbox: Any, orders: list[str], on_progress: Any = None) -> None:
    """A confirm of `orders` whose first request never arrives: its orders are looked up."""
    records = [{"orderId": o, "orderItems": [{"orderItemId": f"{o}-1", "quantity": 1}]}
               for o in orders]  # fmt: skip
    chunk = Body(0, orjson.dumps(records), len(records))
    settings = ClientSettings(base_url=sandbox.url, token=sandbox.token, retries=2)

    async def main() -> None:
        async with KonnectClient(settings, transport=LoseFirstRequest()) as client:
            await upload_orders(
                client, "confirm", ENDPOINTS["confirm"], [chunk], on_progress=on_progress,
                keys_of=lambda c: [r["orderId"] for r in orjson.loads(c.body)],
                name="confirm_0900.csv",
            )  # fmt: skip

    asyncio.run(main())


def test_on_a_terminal_the_look_ups_get_a_bar_of_their_own(sandbox: Any) -> None:
    bar = Bar()
    confirm_lost(sandbox, [f"11{n:018d}" for n in (1, 3)], bar)
    [(description, total, counts)] = bar.phases
    assert (description, total) == ("looking up confirm_0900.csv: 2 orders in doubt", 2)
    assert counts == [1, 2]


def test_off_a_terminal_the_look_ups_log_how_far_they_got(
    sandbox: Any, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(etl.orderlookup, "LOG_EVERY", 0.0)  # a line at every step
    with caplog.at_level(logging.INFO, logger="etl"):
        confirm_lost(sandbox, [f"11{n:018d}" for n in (1, 3)])
    said = [r.getMessage() for r in caplog.records]
    assert (
        "confirm_0900.csv: looked up 1 of 2 orders whose answer was lost (or a refusal that"
        " may mean done already)"
    ) in said


def test_a_long_cancel_file_says_how_far_it_got_off_a_terminal(
    tmp_path: Path, sandbox: Any, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each request of a cancel file looks its orders up first: 2,000 cancels take minutes,
    and a scheduled job's log must show they are going."""
    monkeypatch.setattr(etl.orderlookup, "LOG_EVERY", 0.0)
    orders = [f"30{n:018d}" for n in range(1, 50, 2)][:25]
    drop(tmp_path, "cancel_bulk.csv", [["orderId", "orderItemId", "quantity", "reasonCode"],
                                       *[[o, f"{o}-1", "1", "6"] for o in orders]])  # fmt: skip
    # one request at a time, answered 60 ms apart: the first one's count comes before the
    # second's (closer, both may share one journal commit - results are saved in batches of
    # 20 ms - and the file be done before a line is due)
    (tmp_path / "konnect-etl.yaml").write_text("concurrency: 1\n")
    sandbox.faults(latency_ms=60)
    with caplog.at_level(logging.INFO, logger="etl"):
        assert run(tmp_path, sandbox).exit_code == 0
    said = [r.getMessage() for r in caplog.records]
    assert any(
        m.startswith("cancel_bulk.csv: ") and m.endswith(
            " of 25 orders sent (each request of a cancel file first looks its orders up)")
        for m in said
    ), said  # fmt: skip


def test_the_terminal_progress_callback_opens_a_bar_per_phase(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    with progress_bars(True) as bars:
        assert bars is not None
        upload = bars("awb.csv", 10)
        upload(10)
        looking = etl.orderlookup.phase_of(upload)
        assert looking is not None
        looking("looking up awb.csv: 3 orders in doubt", 3)(3)
    assert etl.orderlookup.phase_of(lambda done: None) is None


def test_a_watchers_progress_keeps_the_look_up_bar_and_its_heartbeat(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The watcher wraps a file's progress to keep status.json fresh: the wrapper must still
    open the terminal's bar for the look-ups (before, their log lines came instead)."""
    from etl.health import Beating, Heartbeat, status_path

    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    heartbeat = Heartbeat(tmp_path, 1.0, "polling", time.time())
    with progress_bars(True) as bars:
        assert bars is not None
        upload = Beating(bars("awb.csv", 10), heartbeat)
        looking = etl.orderlookup.phase_of(upload)
        assert looking is not None
        looking("looking up awb.csv: 3 orders in doubt", 3)(3)
    assert status_path(tmp_path).is_file()  # the look-ups beat too
    assert etl.orderlookup.phase_of(Beating(None, heartbeat)) is None  # no terminal
