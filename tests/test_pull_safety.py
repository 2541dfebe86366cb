"""`orders pull` when things overlap or arrive late, against the real emulator: two pulls at
once, a name taken meanwhile, late orders, paging shifts, old returns, re-pulls, typos."""

from __future__ import annotations

import contextlib
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from test_pull import EARLY, config, pull, rows_of, sheets

import etl.client
from etl import orderpages, outbox
from etl import pull as pulling
from etl.atomic import link_unless_taken
from etl.clientsettings import ClientSettings
from etl.config import Settings
from etl.flatten import IST
from etl.konnect import TOKEN_HEADER
from etl.pull import pull_once
from etl.pullrequest import PullRequest
from etl.pullsheet import free_name
from etl.pullstate import PullState
from etl.session import journal_path


def connection(sandbox: Any) -> ClientSettings:
    return ClientSettings(base_url=sandbox.url, token=sandbox.token, retries=0)


def ids_in(out: Path) -> Counter[str]:
    """How many sheets each orderId is in."""
    seen: Counter[str] = Counter()
    for sheet in sheets(out):
        seen.update({r["orderId"] for r in rows_of(sheet)})
    return seen


def placed(order_id: str, when: datetime, **more: Any) -> dict[str, Any]:
    return {"orderId": order_id, "state": "placed", "orderDate": when.isoformat(), **more}


def test_a_sheet_written_meanwhile_under_the_same_name_is_never_overwritten(
    tmp_path: Path, sandbox: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another pull in the same second writes the name this one chose while it writes."""
    out = tmp_path / "out"
    now = datetime(2026, 11, 27, 10, 0, 0, tzinfo=IST)
    taken = out / "orders-CREATED-20261127-100000.xlsx"
    real = outbox._write_xlsx

    def racing(path: Path, *args: Any) -> None:
        if not taken.exists():
            taken.write_bytes(b"the other pull's orders")
        real(path, *args)

    monkeypatch.setattr(outbox, "_write_xlsx", racing)
    request = PullRequest("CREATED", out, date_from=date(2026, 1, 1))
    result = pull_once(Settings(), connection(sandbox), request, now=now)
    assert taken.read_bytes() == b"the other pull's orders"
    assert result.file == out / "orders-CREATED-20261127-100000-2.xlsx"
    assert result.file.stat().st_size > 1000 and result.new_orders == 310


def test_sheets_racing_for_one_name_all_survive(tmp_path: Path) -> None:
    def write(n: int) -> Path:
        """Stage a sheet and name it as `pullsheet.publish` does: the next free name, taken
        only if nobody took it between the look and the link."""
        staged = outbox.stage_sheet(tmp_path, "orders-X", ".csv", ["orderId"], [[str(n)]])
        sheet = tmp_path / "orders-X.csv"
        while not link_unless_taken(staged.path, sheet):
            sheet = free_name(staged)
        staged.discard()
        return sheet

    with ThreadPoolExecutor(8) as pool:
        paths = list(pool.map(write, range(8)))
    assert len(set(paths)) == 8
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in paths)
    assert {rows_of(p)[0]["orderId"] for p in paths} == {str(n) for n in range(8)}


def test_two_pulls_at_once_write_each_order_once(
    tmp_path: Path, sandbox: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without a lock both pulls read "not pulled yet" before either records: a barrier
    there makes that overlap certain (with the lock, the second never gets there in time)."""
    meet = threading.Barrier(2, timeout=2)
    real = PullState.already_pulled

    def together(self: PullState, status: str, order_ids: Any) -> set[str]:
        with contextlib.suppress(threading.BrokenBarrierError):
            meet.wait()
        return real(self, status, order_ids)

    monkeypatch.setattr(PullState, "already_pulled", together)
    out = tmp_path / "out"
    request = PullRequest("CREATED", out, date_from=date(2026, 1, 1), format="csv")
    with ThreadPoolExecutor(2) as pool:
        runs = [pool.submit(pull_once, Settings(), connection(sandbox), request) for _ in "ab"]
        results = [run.result() for run in runs]
    assert sorted(r.new_orders for r in results) == [0, 310]
    assert len(sheets(out)) == 1 and set(ids_in(out).values()) == {1}


def test_a_pull_that_waits_too_long_for_another_writes_nothing(
    tmp_path: Path, sandbox: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from etl.pullstate import pull_lock

    monkeypatch.setattr(pulling, "LOCK_WAIT_SECONDS", 0.5)
    out = tmp_path / "out"
    with pull_lock(out, "CREATED", 0):  # "another pull" into the outbox is running
        busy = pull(sandbox, out, "--status", "CREATED", "--from", EARLY)
        other = pull(sandbox, out, "--status", "RETURN_DELIVERED", "--from", EARLY)
    assert busy.exit_code == 1 and other.exit_code == 1
    assert "another pull into" in busy.output and "without writing" in busy.output
    assert sheets(out) == []
    assert pull(sandbox, out, "--status", "CREATED", "--from", EARLY).exit_code == 0
    assert len(sheets(out)) == 1


def test_an_order_that_reaches_konnect_late_is_still_pulled(tmp_path: Path, sandbox: Any) -> None:
    """Dated two days back, it appears after a pull that already covered those days."""
    out = tmp_path / "out"
    config(out, "pull_lookback_days: 10\n")
    now = datetime.now(IST).replace(microsecond=0)
    sandbox.add_orders(orders=[placed("54000000000000000001", now - timedelta(hours=1))])
    assert pull(sandbox, out, "--status", "CREATED").exit_code == 0
    sandbox.add_orders(orders=[placed("54000000000000000002", now - timedelta(days=2))])
    late = pull(sandbox, out, "--status", "CREATED")
    assert late.exit_code == 0, late.output
    assert ids_in(out) == {"54000000000000000001": 1, "54000000000000000002": 1}


def test_an_order_a_paging_shift_hid_is_pulled_next_time(
    tmp_path: Path, sandbox: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Page 1's orders are confirmed while the pull reads it: the other orders move up a
    page, so page 2 skips ten of them. The next (automatic) pull must find those."""
    out = tmp_path / "out"
    config(out, "pull_page_size: 10\npull_lookback_days: 10\n")
    start = datetime.now(IST).replace(microsecond=0) - timedelta(days=3)
    block = {"first_id": "53000000000000000001", "count": 25, "state": "placed",
             "location": "DEL-WH-01", "start": start.isoformat()}  # fmt: skip
    added = sandbox.add_orders(order_blocks=[block])
    real = orderpages.page_of_orders
    confirmed: list[str] = []

    async def shifting(client: Any, params: dict[str, str]) -> list[dict[str, Any]]:
        page = await real(client, params)
        if params.get("orderStatus") == "CREATED" and not confirmed:
            confirmed.extend(confirm(sandbox, page))
        return page

    monkeypatch.setattr(orderpages, "page_of_orders", shifting)
    assert pull(sandbox, out, "--status", "CREATED").exit_code == 0
    assert len(confirmed) == 10 and len(ids_in(out)) == 15  # ten were skipped
    again = pull(sandbox, out, "--status", "CREATED")
    assert again.exit_code == 0, again.output
    assert set(ids_in(out)) == set(added) and set(ids_in(out).values()) == {1}


def confirm(sandbox: Any, orders: list[dict[str, Any]]) -> list[str]:
    """Confirm `orders` through the real API (they leave the CREATED list)."""
    body = [{"orderId": o["orderId"], "orderItems": [
        {"orderItemId": i["orderItemId"], "quantity": i["quantity"]} for i in o["items"]]}
        for o in orders]  # fmt: skip
    answer = httpx.post(f"{sandbox.url}/oms/v3/shipment/confirm", json=body,
                        headers={"x-access-token": sandbox.token})  # fmt: skip
    assert answer.status_code == 200 and answer.json()["successCount"] == len(orders)
    return [o["orderId"] for o in orders]


def test_a_return_of_a_40_day_old_order_is_pulled_with_the_defaults(
    tmp_path: Path, sandbox: Any
) -> None:
    out = tmp_path / "out"
    old = datetime.now(IST).replace(microsecond=0) - timedelta(days=40)
    spec = {"orderId": "55000000000000000001", "state": "return_initiated"}
    [returned] = sandbox.add_orders(orders=[{**spec, "orderDate": old.isoformat()}])
    result = pull(sandbox, out, "--status", "RETURN_PROCESSING")
    assert result.exit_code == 0, result.output
    assert returned in ids_in(out)


def test_again_writes_orders_pulled_before_once_more(tmp_path: Path, sandbox: Any) -> None:
    out = tmp_path / "out"
    days = ("--status", "CREATED", "--from", "2026-01-10", "--to", "2026-01-10")
    assert pull(sandbox, out, *days).exit_code == 0
    assert "no new CREATED orders" in pull(sandbox, out, *days).output
    again = pull(sandbox, out, *days, "--again")
    assert again.exit_code == 0, again.output
    said = " ".join(again.output.split())
    assert " CREATED orders, " in said and "(all locations; --again: pulled before or not)" in said
    assert "new CREATED" not in said and "already pulled" not in said
    first, second = sheets(out)
    assert {r["orderId"] for r in rows_of(first)} == {r["orderId"] for r in rows_of(second)}
    assert "no new CREATED orders" in pull(sandbox, out, *days).output
    alone = pull(sandbox, out, "--status", "CREATED", "--again")
    assert alone.exit_code == 2 and "--from" in alone.output


def test_a_location_or_channel_konnect_has_no_orders_for_is_warned_about(
    tmp_path: Path, sandbox: Any
) -> None:
    out = tmp_path / "out"
    typo = pull(sandbox, out, "--status", "CREATED", "--location", "NOPE", "--from", EARLY)
    assert typo.exit_code == 0, typo.output
    assert "no orders at all for location 'NOPE'" in typo.output
    state = PullState(journal_path(out))
    assert state.last_window("CREATED|NOPE|*") is None  # no window kept for a typo
    state.close()
    channel = pull(sandbox, out, "--status", "CREATED", "--channel", "MYNTRAA", "--from", EARLY)
    assert "no orders at all for channel 'MYNTRAA'" in channel.output
    # a real location with nothing in that status on that day: no warning
    quiet_day = ("--from", "2026-01-01", "--to", "2026-01-01")
    real = pull(sandbox, out, "--status", "CREATED", "--location", "MUM-ST-02", *quiet_day)
    assert "no new CREATED orders" in real.output and "no orders at all" not in real.output


def test_an_old_config_with_pull_overlap_minutes_still_loads(tmp_path: Path, sandbox: Any) -> None:
    pulling._overlap_is_gone.cache_clear()  # said once per process
    out = tmp_path / "out"
    config(out, "pull_overlap_minutes: 30\n")
    result = pull(sandbox, out, "--status", "CREATED", "--from", EARLY)
    assert result.exit_code == 0, result.output
    assert "pull_overlap_minutes is no longer used" in result.output


@pytest.mark.timeout(120)
def test_a_pull_konnect_keeps_rate_limiting_stops_instead_of_holding_the_outbox(
    tmp_path: Path, sandbox: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A listing page answered 429 waits at most `GET_WAIT_SECONDS` in all (here 1 s, against
    a Retry-After of ~20 s), then the pull stops, writing nothing, with the outbox free for
    the next one - not 50 waits of up to 5 minutes with its lock held."""
    monkeypatch.setattr(etl.client, "GET_WAIT_SECONDS", 1.0)
    sandbox.faults(rate_limit=0.05)  # the one request of the bucket, taken now:
    httpx.get(f"{sandbox.url}/oms/v3/shipment", headers={TOKEN_HEADER: sandbox.token})
    started = time.monotonic()
    stopped = pull(sandbox, tmp_path / "out", "--status", "CREATED")
    assert stopped.exit_code == 2 and time.monotonic() - started < 10
    assert "Konnect asked us to slow down (HTTP 429" in stopped.output
    assert "nothing was written" in stopped.output and not sheets(tmp_path / "out")
    sandbox.faults(rate_limit=None)
    assert pull(sandbox, tmp_path / "out", "--status", "CREATED").exit_code == 0
