"""An order action whose answer is lost, or refused as a replay, is "already applied" only
when Konnect's order shows it: against the emulator, with its listing trimmed to what a
real Konnect may not show (konnect-api.md documents no field of the order listing).

The emulator's ledger is the witness: what Konnect applied, and how often.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
from runs import upload_one

LOCATION = "DEL-WH-01"


class Konnectish(httpx.AsyncBaseTransport):
    """Forwards to the emulator. `lose` ("POST", "/cancel"): the first such request gets no
    answer - after the emulator applied it (`applied`), or before it arrives. `hide`: keys
    removed from the orders GET /oms/v3/shipment lists, and from their items."""

    def __init__(
        self, lose: tuple[str, str] | None = None, applied: bool = True, hide: tuple[str, ...] = ()
    ) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.lose, self.applied, self.hide = lose, applied, hide
        self.lost = 0

    def _loses(self, request: httpx.Request) -> bool:
        if self.lost or self.lose is None:
            return False
        method, path = self.lose
        return request.method == method and request.url.path.endswith(path)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        hit = self._loses(request)
        if hit and not self.applied:
            self.lost += 1
            raise httpx.ReadTimeout("no answer", request=request)
        response = await self.inner.handle_async_request(request)
        if hit:
            await response.aread()
            self.lost += 1
            raise httpx.ReadTimeout("no answer", request=request)
        if request.method == "GET" and self.hide:
            orders = json.loads(await response.aread())
            for order in orders:
                for thing in [order, *order.get("items", [])]:
                    for key in self.hide:
                        thing.pop(key, None)
            return httpx.Response(response.status_code, json=orders)
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


def order(sandbox: Any, oid: str, state: str, *pieces: int, self_ship: bool = False) -> str:
    """Order `oid` in `state`, with items of `pieces` each (one of 1 if none)."""
    items = [{"sku": "TS-BLK-S", "quantity": n} for n in pieces or (1,)]
    spec = {"orderId": oid, "state": state, "location": LOCATION, "items": items}
    [added] = sandbox.add_orders(orders=[{**spec, "is_self_ship": self_ship}])
    return str(added)


def applied(sandbox: Any, oid: str, path: str) -> int:
    """How often Konnect applied an action at `path` to order `oid`."""
    return sum(
        1
        for e in sandbox.ledger()
        if e["key"] == oid and e["path"].endswith(path) and e["outcome"] == "applied"
    )


def test_a_partial_cancel_in_doubt_is_unknown_when_the_listing_shows_no_cancelled_pieces(
    sandbox: Any,
) -> None:
    """Cancel 1 of 2 pieces; the answer is lost after Konnect applied it. Read as "none
    cancelled", the cancel was sent again: both pieces gone, the whole order cancelled."""
    oid = order(sandbox, "43000000000000000001", "placed", 2)
    net = Konnectish(lose=("POST", "/cancel"), hide=("cancelledQuantity",))
    rows = [{"orderId": oid, "orderItems": [{"orderItemId": f"{oid}-1", "quantity": 1,
                                             "reasonCode": "6"}]}]  # fmt: skip
    result = upload_one(sandbox, "cancel", rows, net)
    assert net.lost == 1
    assert (result.record_errors, result.unknown_records) == ({}, [0])
    assert applied(sandbox, oid, "/cancel") == 1
    assert sandbox.state()["orders"][oid]["state"] == "placed"


def test_a_corrected_courier_name_with_the_same_awb_is_sent_again(sandbox: Any) -> None:
    oid = order(sandbox, "43000000000000000002", "dp_assigned", self_ship=True)
    awb = {"orderId": oid, "awbNumber": "123", "autoDispatch": False}
    upload_one(sandbox, "awb", [{**awb, "courierName": "Delhivry"}])
    net = Konnectish(lose=("PUT", "/awb"), applied=False)
    result = upload_one(sandbox, "awb", [{**awb, "courierName": "Delhivery"}], net)
    assert net.lost == 1
    assert (result.record_errors, result.unknown_records, result.notes) == ({}, [], {})
    assert sandbox.state()["orders"][oid]["awb"]["courierName"] == "Delhivery"


def test_a_corrected_package_weight_under_the_same_invoice_is_refused_naming_what_konnect_holds(
    sandbox: Any,
) -> None:
    oid = order(sandbox, "43000000000000000003", "bag_confirmed")
    invoice = {"orderId": oid, "invoiceNumber": "INV-43-3", "invoiceType": "sale"}
    bag = {"packageId": "BAG1", "packageLengthCm": 10, "packageWidthCm": 10,
           "packageHeightCm": 10}  # fmt: skip
    upload_one(sandbox, "invoice", [{**invoice, "packages": [{**bag, "packageWeightGms": 500}]}])
    result = upload_one(
        sandbox, "invoice", [{**invoice, "packages": [{**bag, "packageWeightGms": 900}]}]
    )
    [(code, message)] = result.record_errors.values()
    assert code == "IN453"
    assert "(with package BAG1 weight 500 g)" in message
    assert sandbox.state()["orders"][oid]["packages"][0]["packageWeightGms"] == 500


def test_an_invoice_refused_as_already_invoiced_stays_refused_when_the_listing_shows_no_invoice(
    sandbox: Any,
) -> None:
    """The order was invoiced under INV-1; INV-2 is refused IN453. Without the invoice in the
    listing, INV-1 looks just like ours: the refusal stands, with Konnect's words."""
    oid = order(sandbox, "43000000000000000004", "bag_confirmed")
    upload_one(
        sandbox, "invoice", [{"orderId": oid, "invoiceNumber": "INV-1", "invoiceType": "sale"}]
    )
    second = [{"orderId": oid, "invoiceNumber": "INV-2", "invoiceType": "sale"}]
    result = upload_one(sandbox, "invoice", second, Konnectish(hide=("invoice",)))
    assert result.record_errors == {0: ("IN453", f"order {oid} is already invoiced")}
    assert result.notes == {}


def test_a_customer_return_status_on_a_credit_note_after_an_rto_is_not_taken_as_applied(
    sandbox: Any,
) -> None:
    oid = order(sandbox, "43000000000000000005", "rto_bag_accepted", self_ship=True)
    credit_note = {"orderId": oid, "invoiceNumber": "CN-5", "invoiceType": "return"}
    upload_one(sandbox, "invoice", [credit_note])
    result = upload_one(
        sandbox, "status", [{"orderId": oid, "orderStatus": "return_bag_delivered"}]
    )
    assert [code for code, _ in result.record_errors.values()] == ["X409"]
    assert result.notes == {}


def test_a_status_the_order_passed_before_its_rto_is_already_applied(sandbox: Any) -> None:
    oid = order(sandbox, "43000000000000000009", "dp_assigned", self_ship=True)
    for status in ("bag_picked", "rto_bag_delivered"):
        upload_one(sandbox, "status", [{"orderId": oid, "orderStatus": status}])
    net = Konnectish(lose=("PUT", "/status"))  # a re-export's pickup, refused, answer lost
    result = upload_one(sandbox, "status", [{"orderId": oid, "orderStatus": "bag_picked"}], net)
    assert net.lost == 1 and result.record_errors == {}
    assert "rto_bag_delivered" in result.notes[0]
    assert applied(sandbox, oid, "/status") == 2


def test_a_confirm_naming_a_cancelled_item_is_refused(sandbox: Any) -> None:
    """Item 1 cancelled, the order confirmed with item 2 only; a row confirming both was
    never taken."""
    oid = order(sandbox, "43000000000000000006", "placed", 1, 2)
    cancel = {"orderItemId": f"{oid}-1", "quantity": 1, "reasonCode": "6"}
    upload_one(sandbox, "cancel", [{"orderId": oid, "orderItems": [cancel]}])
    upload_one(sandbox, "confirm", [{"orderId": oid, "orderItems": [
        {"orderItemId": f"{oid}-2", "quantity": 2}]}])  # fmt: skip
    both = [{"orderItemId": f"{oid}-1", "quantity": 1}, {"orderItemId": f"{oid}-2", "quantity": 2}]
    result = upload_one(sandbox, "confirm", [{"orderId": oid, "orderItems": both}])
    assert [code for code, _ in result.record_errors.values()] == ["X409"]


def test_a_return_qc_of_an_item_the_qc_taken_did_not_name_is_refused(sandbox: Any) -> None:
    oid = order(sandbox, "43000000000000000007", "return_bag_delivered", 1, 1)
    qc = {"orderId": oid, "orderItems": [{"orderItemId": f"{oid}-1", "quantity": 1,
                                          "reasonCode": "9"}]}  # fmt: skip
    upload_one(sandbox, "return_qc", [qc])
    good = [{"orderId": oid, "orderItems": [{"orderItemId": f"{oid}-2", "quantity": 1}]}]
    result = upload_one(sandbox, "return_qc", good)
    assert [code for code, _ in result.record_errors.values()] == ["X409"]


def test_a_pack_of_a_self_ship_order_handed_over_unpacked_is_refused(sandbox: Any) -> None:
    oid = order(sandbox, "43000000000000000008", "dp_assigned", self_ship=True)
    handover = {"orderId": oid, "awbNumber": "P8", "courierName": "Own", "autoDispatch": True}
    upload_one(sandbox, "awb", [handover])
    result = upload_one(sandbox, "pack", [{"orderId": oid}])
    assert [code for code, _ in result.record_errors.values()] == ["CR400"]
    assert applied(sandbox, oid, "/pack") == 0
