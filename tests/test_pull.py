"""`konnect-etl orders pull` against the real emulator: pages, filters, windows, locations."""

from __future__ import annotations

import asyncio
import csv
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import openpyxl
import orjson
import pytest
from typer.testing import CliRunner

from etl.cli import app
from etl.client import KonnectClient
from etl.clientsettings import ClientSettings
from etl.errors import MappingError, RequestRejected
from etl.exportmap import load_export_mapping
from etl.flatten import IST, ORDER_COLUMNS, flatten_order, ist
from etl.orderpages import fetch_all_pages
from etl.sandbox import SandboxSettings, serve_in_thread

EARLY = "2026-01-01"  # before every demo order


def pull(sandbox: Any, out: Path, *args: str, fmt: str = "csv") -> Any:
    env = {"KONNECT_TOKEN": sandbox.token, "KONNECT_BASE_URL": sandbox.url}
    argv = ["orders", "pull", "--out", str(out), "--format", fmt, *args]
    return CliRunner().invoke(app, argv, env=env, catch_exceptions=False)


def sheets(out: Path) -> list[Path]:
    """The pulled sheets, oldest first."""
    return sorted(out.glob("orders-*"), key=lambda p: p.stat().st_mtime_ns)


def rows_of(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def visible(sandbox: Any, states: set[str], **where: str) -> set[str]:
    """The orderIds the emulator holds in `states` at the token's locations (+ filters)."""
    covered = {"DEL-WH-01", "MUM-ST-02", "BLR-ST-03"}
    found = set()
    for oid, order in sandbox.state()["orders"].items():
        wanted = all(order[key] == value for key, value in where.items())
        if wanted and order["state"] in states and order["locationCode"] in covered:
            found.add(oid)
    return found


def config(out: Path, text: str) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "konnect-etl.yaml").write_text(text, encoding="utf-8")


@pytest.mark.parametrize("page_size", [7, 10])
def test_every_page_is_fetched_once(tmp_path: Path, sandbox: Any, page_size: int) -> None:
    """310 CREATED orders: 45 pages of 7 (short last page) or 31 full pages of 10 + an
    empty one. Every order arrives exactly once, one row per item."""
    out = tmp_path / "out"
    config(out, f"pull_page_size: {page_size}\n")
    result = pull(sandbox, out, "--status", "CREATED", "--from", EARLY)
    assert result.exit_code == 0, result.output
    [sheet] = sheets(out)
    rows = rows_of(sheet)
    expected = visible(sandbox, {"placed", "store_reassigned"})
    assert len(expected) == 310
    assert {r["orderId"] for r in rows} == expected
    items = Counter((r["orderId"], r["orderItemId"]) for r in rows)
    assert set(items.values()) == {1}
    assert len(rows) == 465  # odd orders have one item, even orders two
    assert list(rows[0]) == list(ORDER_COLUMNS)


def test_filters_channel_location_and_dates(tmp_path: Path, sandbox: Any) -> None:
    out = tmp_path / "out"
    args = ("--status", "CREATED", "--channel", "myntra", "--location", "MUM-ST-02")
    result = pull(sandbox, out, *args, "--from", "2026-01-10", "--to", "2026-01-11")
    assert result.exit_code == 0, result.output
    [sheet] = sheets(out)
    assert "orders-CREATED-MUM-ST-02-" in sheet.name
    rows = rows_of(sheet)
    assert {r["orderingChannel"] for r in rows} == {"MYNTRA"}
    assert {r["locationCode"] for r in rows} == {"MUM-ST-02"}
    assert {r["orderDate"][:10] for r in rows} <= {"2026-01-10", "2026-01-11"}
    # block 30...: order n is dated 2026-01-10 00:00 + (n-1) h; n = 2, 5, 8 ... is MUM/MYNTRA
    expected = {str(30000000000000000000 + n) for n in range(2, 49, 3)}
    assert {r["orderId"] for r in rows} == expected


def test_returns_get_their_own_sheet(tmp_path: Path, sandbox: Any) -> None:
    out = tmp_path / "out"
    for status in ("RETURN_PROCESSING", "RETURN_DELIVERED"):
        assert pull(sandbox, out, "--status", status, "--from", EARLY).exit_code == 0
    processing, delivered = (rows_of(p) for p in sheets(out))
    assert {r["orderId"][:2] for r in processing} == {"17"}
    assert {r["orderId"] for r in delivered} == visible(
        sandbox, {"return_bag_delivered", "rto_bag_delivered"}
    )
    assert {r["orderStatus"] for r in delivered} == {"RETURN_DELIVERED"}


def test_orders_created_between_two_pulls_appear_exactly_once(tmp_path: Path, sandbox: Any) -> None:
    out = tmp_path / "out"
    assert pull(sandbox, out, "--status", "CREATED", "--from", EARLY).exit_code == 0
    now = datetime.now(IST).replace(microsecond=0)
    added = sandbox.add_orders(
        orders=[
            {"orderId": "51000000000000000001", "state": "placed", "orderDate": now.isoformat()},
            # arrived late: dated a few minutes before the first pull ended (the overlap)
            {
                "orderId": "51000000000000000002",
                "state": "placed",
                "orderDate": (now - timedelta(minutes=5)).isoformat(),
                "items": [{"sku": "CAP-RED", "quantity": 3}],
            },
        ]
    )
    second = pull(sandbox, out, "--status", "CREATED")
    assert second.exit_code == 0, second.output
    third = pull(sandbox, out, "--status", "CREATED")
    assert "no new CREATED orders" in third.output
    first_sheet, second_sheet = sheets(out)
    assert {r["orderId"] for r in rows_of(second_sheet)} == set(added)
    per_order: Counter[str] = Counter()
    for sheet in (first_sheet, second_sheet):
        per_order.update({r["orderId"] for r in rows_of(sheet)})
    assert set(per_order.values()) == {1}  # every order in exactly one sheet
    assert len(per_order) == 312


def test_an_explicit_earlier_window_still_does_not_repeat_orders(
    tmp_path: Path, sandbox: Any
) -> None:
    out = tmp_path / "out"
    assert pull(sandbox, out, "--status", "CREATED", "--from", "2026-01-10").exit_code == 0
    again = pull(sandbox, out, "--status", "CREATED", "--from", EARLY)
    [_, second] = sheets(out)
    assert {r["orderId"][:2] for r in rows_of(second)} == {"11"}, again.output


@pytest.fixture(scope="module")
def company_sandbox() -> Iterator[Any]:
    with serve_in_thread(SandboxSettings(port=0, token_scope="company")) as running:
        yield running


def test_company_token_without_locations_says_what_to_set(
    tmp_path: Path, company_sandbox: Any
) -> None:
    result = pull(company_sandbox, tmp_path / "out", "--status", "CREATED", "--from", EARLY)
    assert result.exit_code == 2
    assert "company-level" in result.output and "locations" in result.output
    config(tmp_path / "out", "token_scope: company\n")
    result = pull(company_sandbox, tmp_path / "out", "--status", "CREATED")
    assert result.exit_code == 2 and "locations: [" in result.output


def test_company_token_pulls_each_configured_location(tmp_path: Path, company_sandbox: Any) -> None:
    out = tmp_path / "out"
    config(out, "token_scope: company\nlocations: [DEL-WH-01, BLR-ST-03]\n")
    result = pull(company_sandbox, out, "--status", "CREATED", "--from", EARLY)
    assert result.exit_code == 0, result.output
    rows = rows_of(sheets(out)[0])
    assert {r["locationCode"] for r in rows} == {"DEL-WH-01", "BLR-ST-03"}
    wanted = visible(company_sandbox, {"placed"}, locationCode="DEL-WH-01")
    wanted |= visible(company_sandbox, {"placed"}, locationCode="BLR-ST-03")
    assert {r["orderId"] for r in rows} == wanted
    only = pull(
        company_sandbox, out, "--status", "CREATED", "--location", "MUM-ST-02", "--from", EARLY
    )
    assert only.exit_code == 0, only.output
    mumbai = rows_of(next(p for p in sheets(out) if "MUM-ST-02" in p.name))
    assert {r["locationCode"] for r in mumbai} == {"MUM-ST-02"}


def test_export_mapping_writes_the_erp_layout_in_xlsx(tmp_path: Path, sandbox: Any) -> None:
    out = tmp_path / "out"
    args = ("--status", "CREATED", "--from", "2026-01-05", "--to", "2026-01-05")
    result = pull(sandbox, out, *args, "--mapping", "erp_orders", fmt="xlsx")
    assert result.exit_code == 0, result.output
    [sheet] = sheets(out)
    assert sheet.suffix == ".xlsx"
    rows = list(openpyxl.load_workbook(sheet).active.iter_rows(values_only=True))
    assert rows[0][:4] == ("Order No", "Line No", "Order Date", "Channel")
    first = dict(zip(rows[0], rows[1], strict=True))
    assert first["Order No"] == "11000000000000000001"  # text: all 20 digits kept
    assert first["Order Date"] == "05/01/2026 09:00"
    assert first["Store"] == "Delhi Warehouse"
    assert first["Qty"] == 1 and first["Rate"] == 599  # numbers stay numbers
    assert first["Ship To"] == "1 Demo Street, New Delhi 110001"
    assert first["AWB"] == "-" and first["Source"] == "Fynd Konnect"


def test_the_xlsx_sheet_has_real_dates_amounts_and_quantities(tmp_path: Path, sandbox: Any) -> None:
    """Excel can filter the dates, sum the amounts; ids stay text."""
    out = tmp_path / "out"
    args = ("--status", "CREATED", "--from", "2026-01-05", "--to", "2026-01-05")
    assert pull(sandbox, out, *args, fmt="xlsx").exit_code == 0
    [sheet] = sheets(out)
    ws = openpyxl.load_workbook(sheet).active
    header = [c.value for c in ws[1]]
    cells = dict(zip(header, ws[2], strict=True))
    assert cells["orderId"].value == "11000000000000000001"
    assert cells["orderDate"].value == datetime(2026, 1, 5, 9, 0)
    assert cells["orderDate"].number_format == "yyyy-mm-dd hh:mm:ss"
    assert cells["esp"].value == 599 and cells["esp"].number_format == "#,##0.00"
    assert cells["quantity"].value == 1 and cells["quantity"].number_format == "General"


def test_control_characters_in_an_address_do_not_stop_the_xlsx_pull(
    tmp_path: Path, sandbox: Any
) -> None:
    """A vertical tab pasted from a web form into an address: no XLSX can hold it, so it is
    left out of the cell, and the order and the others reach the ERP (it stopped every pull)."""
    [oid] = sandbox.add_orders(
        orders=[
            {
                "orderId": "53000000000000000001",
                "state": "placed",
                "orderDate": datetime.now(IST).replace(microsecond=0).isoformat(),
                "address": {"address1": "Plot 7\x0b Sector 5\x01"},
            }
        ]
    )
    out = tmp_path / "out"
    result = pull(sandbox, out, "--status", "CREATED", "--from", EARLY, fmt="xlsx")
    assert result.exit_code == 0, result.output
    [sheet] = sheets(out)
    rows = list(openpyxl.load_workbook(sheet).active.iter_rows(values_only=True))
    header = rows[0]
    [row] = [r for r in rows if r[header.index("orderId")] == oid]
    assert row[header.index("shippingAddress1")] == "Plot 7 Sector 5"
    assert len(rows) > 300  # the other orders too


def test_an_internal_error_stops_the_pull_with_exit_2_and_a_logged_traceback(
    tmp_path: Path, sandbox: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import etl.outbox

    def broken(*args: Any) -> None:
        raise RuntimeError("a bug of ours")

    monkeypatch.setattr(etl.outbox, "_write_xlsx", broken)
    out = tmp_path / "out"
    result = pull(sandbox, out, "--status", "CREATED", "--from", EARLY, fmt="xlsx")
    assert result.exit_code == 2
    assert "orders pull stopped by an internal error: RuntimeError: a bug of ours" in result.output
    log_text = (out / ".konnect-etl" / "logs" / "konnect-etl.log").read_text(encoding="utf-8")
    assert "orders pull stopped by an internal error" in log_text
    assert "Traceback" in log_text and "a bug of ours" in log_text
    assert sheets(out) == []


def test_export_mapping_mistakes_name_file_line_and_key(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(
        "direction: export\ncolumns:\n  - {header: Order, field: orderId}\n"
        "  - {header: Qty, field: qty}\n",
        encoding="utf-8",
    )
    with pytest.raises(MappingError) as caught:
        load_export_mapping(path, "bad")
    assert "line 4" in str(caught.value) and "columns[1].field" in str(caught.value)
    assert "'qty' is not a pulled field" in str(caught.value)


def test_dates_are_shown_in_ist_and_orders_without_items_keep_a_row() -> None:
    assert ist("2026-01-05T03:30:00+00:00") == "2026-01-05 09:00:00"
    assert ist("2026-01-05T09:00:00") == "2026-01-05 09:00:00"  # no zone: already IST
    [row] = flatten_order({"orderId": "1", "orderDate": "2026-01-05T09:00:00+05:30"})
    assert row["orderId"] == "1" and row["sku"] == "" and row["isSelfShip"] == "no"


def test_a_server_that_ignores_page_numbers_stops_the_pull() -> None:
    """A shape the emulator cannot produce: the same full page whatever pageNumber says."""
    page = orjson.dumps([{"orderId": str(n)} for n in range(3)])
    transport = httpx.MockTransport(lambda request: httpx.Response(200, content=page))
    settings = ClientSettings(base_url="http://konnect.invalid", token="t", retries=0)

    async def fetch() -> None:
        async with KonnectClient(settings, transport=transport) as client:
            await fetch_all_pages(client, {"orderStatus": "CREATED"}, 3)

    with pytest.raises(RequestRejected, match="ignore pageNumber"):
        asyncio.run(fetch())


def test_a_schedule_pulls_when_due_and_survives_a_failed_pull(tmp_path: Path, sandbox: Any) -> None:
    from etl.config import Settings
    from etl.pullrequest import PullRequest
    from etl.pullschedule import PullSchedule, parse_interval

    assert parse_interval("10m") == 600 and parse_interval("1h") == 3600
    assert parse_interval("15") == 900
    clock = [1000.0]
    start = datetime(2026, 1, 1).date()
    good = PullRequest("CREATED", tmp_path / "out", date_from=start, format="csv")
    bad = PullRequest("SHIPPED", tmp_path / "out", date_from=start)  # not a Konnect status
    connection = ClientSettings(base_url=sandbox.url, token=sandbox.token, retries=0)
    schedule = PullSchedule(Settings(), connection, [bad, good], 600, clock=lambda: clock[0])
    assert schedule.run_due() == 600
    assert [r.new_orders for r in schedule.results] == [310]  # the bad one logged, no crash
    clock[0] += 599
    assert schedule.run_due() == 1 and len(sheets(tmp_path / "out")) == 1
    clock[0] += 1
    sandbox.add_orders(orders=[{"orderId": "52000000000000000001", "state": "placed",
                                "orderDate": "2026-01-20T10:00:00+05:30"}])  # fmt: skip
    schedule.run_due()
    assert [r.new_orders for r in schedule.results] == [1]


def test_adding_an_order_that_exists_is_refused(sandbox: Any) -> None:
    with pytest.raises(httpx.HTTPStatusError):
        sandbox.add_orders(orders=[{"orderId": "11000000000000000001", "state": "placed"}])
    with pytest.raises(httpx.HTTPStatusError):
        sandbox.add_orders(nonsense=[1])


def test_watch_pulls_on_an_interval_besides_taking_files(tmp_path: Path, sandbox: Any) -> None:
    """A real `watch --pull-out` process: its first round of pulls runs at start-up."""
    from watchproc import wait_for, watching

    inbox, out = tmp_path / "inbox", tmp_path / "outbox"
    config(inbox, "pull_lookback_days: 3650\n")  # the demo orders are from January 2026
    extra = ("--pull-out", str(out), "--pull-every", "10m", "--pull-status", "RETURN_DELIVERED")
    with watching(inbox, sandbox, *extra):
        wait_for(lambda: bool(sheets(out)), 60, "the first pull's sheet")
    [sheet] = sheets(out)
    assert "RETURN_DELIVERED" in sheet.name and sheet.suffix == ".xlsx"
    rows = list(openpyxl.load_workbook(sheet).active.iter_rows(values_only=True))[1:]
    assert {str(r[0])[:2] for r in rows} == {"18", "19"}


def test_an_older_window_never_moves_the_remembered_end_back(tmp_path: Path) -> None:
    from etl.pullstate import PullState, Window

    state = PullState(tmp_path / "journal.sqlite3")
    now = datetime(2026, 11, 27, 10, 0, tzinfo=IST)
    old = Window(now - timedelta(days=300), now - timedelta(days=299))
    state.record({"CREATED|*|*": Window(now - timedelta(hours=1), now)}, "CREATED", {}, now)
    state.record({"CREATED|*|*": old}, "CREATED", {"1": "2026-01-01 09:00:00"}, now)
    last = state.last_window("CREATED|*|*")
    assert last is not None and last.end == now
    assert state.already_pulled("CREATED", ["1", "2"]) == {"1"}
    state.forget_pulled_before(now + timedelta(seconds=1))
    assert state.already_pulled("CREATED", ["1"]) == set()
    state.close()
