"""The emulator's order side over loopback HTTP: the state machine, its codes, fetch, PDFs."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from etl.konnect import ENDPOINTS, ORDERS_PATH, TOKEN_HEADER
from etl.sandbox import SandboxSettings, serve_in_thread

PLACED = "11000000000000000001"  # 11...001-010 placed
CONFIRMED = "12000000000000000001"  # bag_confirmed
SELF_SHIP = "13000000000000000001"  # dp_assigned, self-ship
COURIER = "14000000000000000001"  # dp_assigned, Fynd courier
PACKED = "15000000000000000001"  # bag_packed
PICKED_SELF = "16000000000000000001"  # bag_picked, self-ship
RETURN_SELF = "17000000000000000001"  # return_dp_assigned, self-ship
RETURNED = "18000000000000000001"  # return_bag_delivered
RTO = "19000000000000000001"  # rto_bag_delivered
ACCEPTED = "20000000000000000001"  # return_bag_accepted
CANCELLED = "21000000000000000001"  # cancelled_fynd
OTHER = "2900000000000000000"  # + 1..6: orders of another location


@pytest.fixture(scope="module")
def client(sandbox_server: Any) -> Iterator[httpx.Client]:
    headers = {TOKEN_HEADER: sandbox_server.token}
    with httpx.Client(base_url=sandbox_server.url, headers=headers, trust_env=False) as c:
        yield c


@pytest.fixture
def api(sandbox: Any, client: httpx.Client) -> httpx.Client:
    return client


def send(api: httpx.Client, name: str, records: list[Any]) -> httpx.Response:
    endpoint = ENDPOINTS[name]
    return api.request(endpoint.method, endpoint.path, json=records)


def codes(api: httpx.Client, name: str, records: list[Any]) -> list[str | None]:
    """The error code of each record (None when applied), from either envelope family."""
    body = send(api, name, records).json()
    errors = body["data"]["errors"] if "data" in body else body["errors"]
    by_index = {e["index"]: e["code"] for e in errors}
    return [by_index.get(i) for i in range(len(records))]


def state_of(sandbox: Any, order_id: str) -> str:
    state: str = sandbox.state()["orders"][order_id]["state"]
    return state


def items(sandbox: Any, order_id: str, **extra: Any) -> list[dict[str, Any]]:
    """A seed order's items, by the documented rule: order n of a block has 1 item when n is
    odd, 2 when even; item k is `<orderId>-<k>` with quantity k."""
    count = 2 if int(order_id[-3:]) % 2 == 0 else 1
    return [{"orderItemId": f"{order_id}-{k}", "quantity": k, **extra} for k in range(1, count + 1)]


def invoice(order_id: str, number: str, kind: str = "sale") -> dict[str, Any]:
    return {"orderId": order_id, "invoiceNumber": number, "invoiceType": kind}


def test_confirm_moves_placed_orders_and_refuses_the_rest(api: httpx.Client, sandbox: Any) -> None:
    records = [
        {"orderId": PLACED, "orderItems": items(sandbox, PLACED)},
        {"orderId": CANCELLED, "orderItems": items(sandbox, CANCELLED)},
        {"orderId": OTHER + "1", "orderItems": items(sandbox, OTHER + "1")},
        {"orderId": "99999999999999999999", "orderItems": []},
        {"orderId": CONFIRMED, "orderItems": items(sandbox, CONFIRMED)},
        {"orderId": "11000000000000000002", "orderItems": [{"orderItemId": "x", "quantity": 1}]},
    ]
    body = send(api, "confirm", records).json()
    assert set(body) == {"payloadCount", "successCount", "failedCount", "status", "errors"}
    assert (body["payloadCount"], body["successCount"], body["status"]) == (6, 1, "PARTIAL")
    assert [e["code"] for e in body["errors"]] == ["O400", "O422", "X404ORD", "X409", "X422"]
    assert body["errors"][0]["orderId"] == CANCELLED
    assert state_of(sandbox, PLACED) == "bag_confirmed"
    assert state_of(sandbox, "11000000000000000002") == "placed"
    assert [e["outcome"] for e in sandbox.ledger()] == ["applied", *["rejected"] * 5]
    assert sandbox.ledger()[0]["key"] == PLACED


def test_sale_invoice_assigns_the_courier_at_once(api: httpx.Client, sandbox: Any) -> None:
    assert codes(api, "invoice", [invoice(CONFIRMED, "INV/26/0001")]) == [None]
    order = sandbox.state()["orders"][CONFIRMED]
    assert (order["state"], order["orderStatus"]) == ("dp_assigned", "PROCESSING")
    assert order["invoice"]["invoiceNumber"] == "INV/26/0001"
    assert order["awb"]["awbNumber"]
    assert codes(api, "invoice", [invoice(CONFIRMED, "INV/26/0001")]) == ["IN453"]


@pytest.mark.parametrize(
    ("record", "code"),
    [
        (invoice(PLACED, "INV-1"), "IN403"),
        (invoice(CANCELLED, "INV-1"), "IN401"),
        (invoice(OTHER + "2", "INV-1"), "IN400"),
        (invoice(CONFIRMED, "INV-THIS-IS-FAR-TOO-LONG"), "IN422"),
        (invoice(CONFIRMED, "INV 1"), "IN422"),
        (invoice(CONFIRMED, "INV-1", "proforma"), "IN422"),
        (invoice(CONFIRMED, "INV0000000001"), "IN422"),  # already used by a seed order
        (
            {**invoice(CONFIRMED, "INV-1"), "orderItems": [{"orderItemId": "?", "quantity": 1}]},
            "IN400",
        ),
        (invoice(PACKED, "INV-1"), "IN453"),
        (invoice(RETURNED, "CN-1", "return"), "IN422"),
    ],
    ids=[
        "unconfirmed",
        "cancelled",
        "location",
        "long",
        "space",
        "type",
        "dup",
        "item",
        "done",
        "cn",
    ],
)
def test_invoice_refusals(api: httpx.Client, sandbox: Any, record: Any, code: str) -> None:
    before = state_of(sandbox, record["orderId"])
    assert codes(api, "invoice", [record]) == [code]
    assert state_of(sandbox, record["orderId"]) == before


def test_credit_note_only_after_an_accepted_return(api: httpx.Client, sandbox: Any) -> None:
    assert codes(api, "invoice", [invoice(ACCEPTED, "CN/26/1", "return")]) == [None]
    assert state_of(sandbox, ACCEPTED) == "credit_note_generated"
    assert codes(api, "invoice", [invoice(ACCEPTED, "CN/26/1", "return")]) == ["IN453"]


def test_invoice_keeps_serials_and_packages(api: httpx.Client, sandbox: Any) -> None:
    item = items(sandbox, CONFIRMED, imeiSerialNumber=["IMEI-1"])[:1]
    package = {"packageId": "P1", "packageLengthCm": 30, "packageWidthCm": 20,
               "packageHeightCm": 10, "packageWeightGms": 450}  # fmt: skip
    record = {**invoice(CONFIRMED, "INV-9"), "orderItems": item, "packages": [package]}
    assert codes(api, "invoice", [record]) == [None]
    order = sandbox.state()["orders"][CONFIRMED]
    assert order["items"][0]["imeiSerialNumber"] == ["IMEI-1"]
    assert order["packages"] == [package]
    bad = {**invoice("12000000000000000002", "INV-10"), "packages": [{"packageWeightGms": -1}]}
    assert codes(api, "invoice", [bad]) == ["IN422"]


def test_pack_then_dispatch_and_their_replays(api: httpx.Client, sandbox: Any) -> None:
    assert codes(api, "pack", [{"orderId": COURIER}]) == [None]
    assert codes(api, "pack", [{"orderId": COURIER}]) == ["CR400"]
    dispatch = {"orderId": COURIER, "orderItems": items(sandbox, COURIER)}
    assert codes(api, "dispatch", [dispatch]) == [None]
    assert state_of(sandbox, COURIER) == "bag_picked"
    assert codes(api, "dispatch", [dispatch]) == ["D400"]


def test_pack_and_dispatch_refusals(api: httpx.Client, sandbox: Any) -> None:
    pack = [{"orderId": o} for o in (CANCELLED, OTHER + "3", CONFIRMED)]
    assert codes(api, "pack", pack) == ["CR401", "CR422", "CR400"]
    dispatch = [{"orderId": o, "orderItems": items(sandbox, o)} for o in (CANCELLED, OTHER + "4")]
    dispatch.append({"orderId": COURIER, "orderItems": items(sandbox, COURIER)})
    assert codes(api, "dispatch", dispatch) == ["D401", "D422", "D400"]


def test_awb_is_for_self_ship_and_can_auto_dispatch(api: httpx.Client, sandbox: Any) -> None:
    awb = {"awbNumber": "AWB1", "courierName": "Own Fleet", "autoDispatch": False}
    second = "13000000000000000002"
    records = [
        {**awb, "orderId": SELF_SHIP},
        {**awb, "orderId": second, "autoDispatch": True},
        {**awb, "orderId": COURIER},
        {**awb, "orderId": RETURN_SELF},
        {**awb, "orderId": PLACED},
        {"orderId": "13000000000000000003", "courierName": "Own Fleet"},
    ]
    body = send(api, "awb", records).json()
    assert set(body) == {"data", "meta"} and body["meta"]["ack_id"]
    assert codes(api, "awb", []) == []
    assert [(e["index"], e["code"]) for e in body["data"]["errors"]] == [
        (2, "X409"),
        (4, "X409"),
        (5, "X422"),
    ]
    orders = sandbox.state()["orders"]
    assert (orders[SELF_SHIP]["state"], orders[SELF_SHIP]["awb"]["awbNumber"]) == (
        "dp_assigned",
        "AWB1",
    )
    assert orders[second]["state"] == "bag_picked"
    assert orders[RETURN_SELF]["returnAwb"]["awbNumber"] == "AWB1"


def test_status_follows_the_documented_self_ship_moves(api: httpx.Client, sandbox: Any) -> None:
    def move(order_id: str, status: str) -> str | None:
        return codes(api, "status", [{"orderId": order_id, "orderStatus": status}])[0]

    assert move(SELF_SHIP, "delivery_done") == "X409"
    assert [move(SELF_SHIP, "bag_picked"), move(SELF_SHIP, "delivery_done")] == [None, None]
    assert move(PICKED_SELF, "rto_bag_delivered") is None
    assert move(RETURN_SELF, "return_bag_in_transit") is None
    assert move(RETURN_SELF, "return_bag_delivered") is None
    assert move(COURIER, "bag_picked") == "X409"  # not self-ship
    assert move(OTHER + "3", "bag_picked") == "O422"
    states = [state_of(sandbox, o) for o in (SELF_SHIP, PICKED_SELF, RETURN_SELF)]
    assert states == ["delivery_done", "rto_bag_delivered", "return_bag_delivered"]


def test_return_qc_accepts_delivered_returns(api: httpx.Client, sandbox: Any) -> None:
    records = [
        {"orderId": o, "orderItems": items(sandbox, o, reasonCode=r)}
        for o, r in ((RETURNED, ""), (RTO, "9"), (PACKED, ""))
    ]
    assert codes(api, "return_qc", records) == [None, None, "X409"]
    assert state_of(sandbox, RETURNED) == "return_bag_accepted"
    assert state_of(sandbox, RTO) == "rto_bag_accepted"
    assert sandbox.state()["orders"][RTO]["items"][0]["returnReasonCode"] == "9"


def test_cancel_whole_orders_until_packed_items_until_invoiced(
    api: httpx.Client, sandbox: Any
) -> None:
    two_items = "11000000000000000002"
    first_item = items(sandbox, two_items, reasonCode="6")[:1]
    records = [
        {"orderId": PLACED, "orderItems": items(sandbox, PLACED, reasonCode="8")},
        {"orderId": two_items, "orderItems": first_item},
        {"orderId": COURIER, "orderItems": items(sandbox, COURIER, reasonCode="NA")},
        {"orderId": "14000000000000000002", "orderItems": items(sandbox, COURIER, reasonCode="NA")},
        {"orderId": PACKED, "orderItems": items(sandbox, PACKED, reasonCode="9")},
        {"orderId": "11000000000000000003", "orderItems": items(sandbox, PLACED, reasonCode="1")},
    ]
    assert codes(api, "cancel", records) == [None, None, None, "X422", "X409", "X422"]
    orders = sandbox.state()["orders"]
    assert orders[PLACED]["orderStatus"] == "CANCELLED"
    assert orders[two_items]["state"] == "placed"
    assert orders[two_items]["items"][0]["cancelledQuantity"] == 1
    assert orders[COURIER]["state"] == "cancelled_fynd"
    partial = {
        "orderId": "14000000000000000002",
        "orderItems": items(sandbox, "14000000000000000002", reasonCode="7")[:1],
    }
    assert codes(api, "cancel", [partial]) == ["X409"]


def test_courier_details(api: httpx.Client) -> None:
    answer = send(api, "courier_details", [{"orderId": COURIER}, {"orderId": OTHER + "3"}]).json()
    assert answer[0]["orderId"] == COURIER
    assert answer[0]["courierName"] and len(answer[0]["awbNumber"]) == 1
    assert answer[1]["code"] == "C400"


def assert_valid_pdf(content: bytes, pages: int) -> None:
    """Header, trailer, and an xref table whose offsets point at the objects."""
    assert content.startswith(b"%PDF-1.") and content.rstrip().endswith(b"%%EOF")
    start = int(re.findall(rb"startxref\s+(\d+)", content)[-1])
    assert content[start:].startswith(b"xref")
    offsets = [int(m) for m in re.findall(rb"(\d{10}) 00000 n", content)]
    for number, offset in enumerate(offsets, start=1):
        assert content[offset:].startswith(b"%d 0 obj" % number)
    assert content.count(b"/Type /Page ") == pages


@pytest.mark.parametrize(
    ("name", "early", "elsewhere"), [("labels", "L403", "L400"), ("invoice_pdf", "IN403", "IN400")]
)
def test_labels_and_invoices_are_pdfs_once_packed(
    api: httpx.Client, sandbox: Any, name: str, early: str, elsewhere: str
) -> None:
    answer = send(api, name, [{"orderId": PACKED}, {"orderId": PICKED_SELF}])
    assert answer.headers["content-type"] == "application/pdf"
    assert_valid_pdf(answer.content, pages=2)
    assert PACKED.encode() in answer.content
    refused = send(api, name, [{"orderId": COURIER}, {"orderId": OTHER + "4"}])
    assert refused.headers["content-type"] == "application/json"
    assert [e["code"] for e in refused.json()["errors"]] == [early, elsewhere]


def fetch(api: httpx.Client, **params: Any) -> list[dict[str, Any]]:
    answer = api.get(ORDERS_PATH, params=params)
    assert answer.status_code == 200, answer.text
    orders: list[dict[str, Any]] = answer.json()
    return orders


def test_fetch_by_id_returns_the_documented_fields(api: httpx.Client) -> None:
    [order] = fetch(api, orderId=CONFIRMED)
    assert order["orderStatus"] == "CONFIRMED" and order["state"] == "bag_confirmed"
    for key in ("locationCode", "orderingChannel", "orderDate", "customer", "shippingAddress"):
        assert order[key]
    assert {"orderItemId", "sku", "quantity", "mrp", "esp"} <= set(order["items"][0])
    assert {"is_self_ship", "awb", "invoice"} <= set(order)
    assert fetch(api, orderId=OTHER + "1") == []  # another location's order is not visible


def test_fetch_filters_by_status_channel_location(api: httpx.Client) -> None:
    created = fetch(api, orderStatus="CREATED", pageSize=100, pageNumber=1)
    assert all(o["state"] == "placed" for o in created) and len(created) == 100
    assert {o["orderId"] for o in fetch(api, orderStatus="COMPLETED", pageSize=100)} == {
        f"150000000000000000{n:02d}" for n in range(1, 11)
    }
    mumbai = fetch(api, locationCode="MUM-ST-02", orderingChannel="myntra", pageSize=100)
    assert mumbai and all(o["locationCode"] == "MUM-ST-02" for o in mumbai)
    assert all(o["orderingChannel"] == "MYNTRA" for o in mumbai)


@pytest.mark.parametrize(
    ("start", "end"),
    [
        ("05-01-2026", "05-01-2026"),
        ("2026-01-05", "2026-01-05"),
        ("2026-01-05T00:00:00+05:30", "2026-01-05 23:59:59"),
    ],
)
def test_fetch_by_order_date_in_any_documented_format(
    api: httpx.Client, start: str, end: str
) -> None:
    found = fetch(api, orderStatus="CREATED", orderDateFrom=start, orderDateTo=end, pageSize=100)
    assert {o["orderId"] for o in found} == {f"110000000000000000{n:02d}" for n in range(1, 11)}


def test_fetch_pages_start_at_one_and_stop_short(api: httpx.Client) -> None:
    assert fetch(api, orderStatus="CONFIRMED", pageNumber=0, pageSize=4) == fetch(
        api, orderStatus="CONFIRMED", pageNumber=1, pageSize=4
    )
    pages = [fetch(api, orderStatus="CONFIRMED", pageNumber=n, pageSize=4) for n in (1, 2, 3)]
    assert [len(p) for p in pages] == [4, 4, 2]
    ids = [o["orderId"] for p in pages for o in p]
    assert len(set(ids)) == 10
    assert api.get(ORDERS_PATH, params={"pageSize": 0}).status_code == 400
    assert api.get(ORDERS_PATH, params={"orderDateFrom": "yesterday"}).status_code == 400


def test_fetch_needs_the_token(sandbox: Any) -> None:
    assert httpx.get(f"{sandbox.url}{ORDERS_PATH}", trust_env=False).status_code == 401


def test_two_hundred_generated_orders_confirm_in_chunks_of_twenty(
    api: httpx.Client, sandbox: Any
) -> None:
    ids = [str(30000000000000000001 + n) for n in range(200)]
    records = [{"orderId": i, "orderItems": items(sandbox, i)} for i in ids]
    for start in range(0, 200, 20):
        assert send(api, "confirm", records[start : start + 20]).json()["status"] == "SUCCESS"
    assert send(api, "confirm", records[:21]).status_code == 400
    orders = sandbox.state()["orders"]
    assert all(orders[i]["state"] == "bag_confirmed" for i in ids)
    assert sum(o["state"] == "placed" for o in orders.values()) >= 100


def test_a_dropped_invoice_was_applied_and_its_replay_fails_in453(
    api: httpx.Client, sandbox: Any
) -> None:
    sandbox.faults(drop_rate=1.0)
    with pytest.raises(httpx.RemoteProtocolError):
        send(api, "invoice", [invoice(CONFIRMED, "INV-77")])
    sandbox.faults(drop_rate=0.0)
    assert codes(api, "invoice", [invoice(CONFIRMED, "INV-77")]) == ["IN453"]
    assert [e["outcome"] for e in sandbox.ledger()] == ["applied", "rejected"]


def test_seed_file_replaces_the_demo_data(tmp_path: Path) -> None:
    seed = {
        "locations": ["LOC-A"],
        "skus": ["SKU-A"],
        "stock": {"LOC-A|SKU-A": 3},
        "order_blocks": [{"first_id": "00000000000000000007", "count": 2, "state": "placed"}],
    }
    path = tmp_path / "seed.json"
    path.write_bytes(orjson.dumps(seed))
    with serve_in_thread(SandboxSettings(port=0, seed=path)) as running:
        state = running.state()
    assert state["stock"] == {"LOC-A|SKU-A": 3}
    assert sorted(state["orders"]) == ["00000000000000000007", "00000000000000000008"]
    assert (
        state["orders"]["00000000000000000008"]["items"][1]["orderItemId"]
        == "00000000000000000008-2"
    )


def test_a_placed_order_goes_all_the_way_to_picked(api: httpx.Client, sandbox: Any) -> None:
    order_id = "11000000000000000004"
    steps = [
        ("confirm", {"orderId": order_id, "orderItems": items(sandbox, order_id)}),
        ("invoice", invoice(order_id, "INV/E2E/1")),
        ("pack", {"orderId": order_id}),
        ("dispatch", {"orderId": order_id, "orderItems": items(sandbox, order_id)}),
    ]
    for name, record in steps:
        assert codes(api, name, [record]) == [None], name
    [order] = fetch(api, orderId=order_id)
    assert (order["state"], order["orderStatus"]) == ("bag_picked", "TRANSIT")
    assert [e["path"].rsplit("/", 1)[-1] for e in sandbox.ledger()] == [
        "confirm",
        "invoiceUpdate",
        "pack",
        "dispatch",
    ]


def test_demo_seed_has_the_documented_blocks(sandbox: Any) -> None:
    orders = sandbox.state()["orders"]
    blocks = {
        "11": ("placed", 10),
        "12": ("bag_confirmed", 10),
        "13": ("dp_assigned", 10),
        "15": ("bag_packed", 10),
        "18": ("return_bag_delivered", 10),
        "20": ("return_bag_accepted", 10),
        "21": ("cancelled_fynd", 5),
        "30": ("placed", 300),
    }
    for prefix, (state, count) in blocks.items():
        block = [o for i, o in orders.items() if i.startswith(prefix)]
        assert len(block) == count and {o["state"] for o in block} == {state}, prefix
    assert all(len(i) == 20 and i.isdigit() for i in orders)
    assert all(o["is_self_ship"] for i, o in orders.items() if i.startswith("13"))
    assert {o["locationCode"] for i, o in orders.items() if i.startswith("29")} == {"PUN-ST-09"}
    second = orders["11000000000000000002"]
    assert second["locationCode"] == "MUM-ST-02" and second["orderingChannel"] == "MYNTRA"
    assert [(i["sku"], i["quantity"]) for i in second["items"]] == [
        ("TS-BLK-M", 1),
        ("TS-BLK-L", 2),
    ]
