"""courierDetails (JSON), labels and invoice (PDF): read-only order endpoints.

The ledger still gets one entry per record. When any record of a labels/invoice request is
refused, the answer is an OMS envelope listing the errors (JSON) and no PDF at all.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.responses import Response

from etl.konnect import Endpoint, oms_envelope
from etl.sandbox import lifecycle
from etl.sandbox.model import Order, Refused
from etl.sandbox.orders import find_order
from etl.sandbox.pdf import text_pdf
from etl.sandbox.records import Action
from etl.sandbox.responses import JSONAnswer
from etl.sandbox.runtime import Sandbox

Answer = Callable[[Endpoint, list[Any], list[dict[str, Any]], dict[int, Any]], Response]


def _courier(sandbox: Sandbox, record: Any) -> dict[str, Any]:
    order = find_order(sandbox.state, record, "courier_details")
    awb = order.awb or {}
    return {
        "courierName": awb.get("courierName"),
        "courierCode": awb.get("courierCode"),
        "awbNumber": [awb["awbNumber"]] if awb.get("awbNumber") else [],
        "additionalInfo": {"is_self_ship": order.is_self_ship, "state": order.state},
        "orderId": order.order_id,
    }


def _courier_answer(
    endpoint: Endpoint, records: list[Any], errors: list[dict[str, Any]], results: dict[int, Any]
) -> Response:
    """One entry per record, in order; refused records appear as their error entry."""
    refused = {e["index"]: e for e in errors}
    return JSONAnswer([results.get(i, refused.get(i)) for i in range(len(records))])


def _printable(name: str, code: str) -> Action:
    def check(sandbox: Sandbox, record: Any) -> Order:
        order = find_order(sandbox.state, record, name)
        if order.state not in lifecycle.PACKED:
            raise Refused(code, f"order {order.order_id} is {order.state}, not packed yet")
        return order

    return check


def _pdf_answer(title: str) -> Answer:
    def answer(
        _: Endpoint, records: list[Any], errors: list[dict[str, Any]], results: dict[int, Any]
    ) -> Response:
        if errors or not records:
            return JSONAnswer(oms_envelope(len(records), errors))
        pages = [_page(title, order) for order in results.values()]
        return Response(text_pdf(pages), media_type="application/pdf")

    return answer


def _page(title: str, order: Order) -> list[str]:
    awb = (order.awb or {}).get("awbNumber", "-")
    invoice = (order.invoice or {}).get("invoiceNumber", "-")
    lines = [title, f"Order {order.order_id}", f"AWB {awb}   Invoice {invoice}"]
    lines += [f"{i.sku} x {i.quantity}" for i in order.items]
    return [*lines, order.customer.get("name", ""), order.address.get("city", "")]


ROUTES: dict[str, tuple[Action, Answer]] = {
    "courier_details": (_courier, _courier_answer),
    "labels": (_printable("labels", "L403"), _pdf_answer("SHIPPING LABEL")),
    "invoice_pdf": (_printable("invoice_pdf", "IN403"), _pdf_answer("TAX INVOICE")),
}
