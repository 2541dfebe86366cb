"""The emulator's book of used invoice numbers: one number, one order, until a reset.

The book is kept as invoices are applied (and filled from the seed and from orders added at
run time), so the "already used" check does not walk every order per record.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from etl.konnect import ENDPOINTS, TOKEN_HEADER
from etl.sandbox.seed import build_state, load_seed

FIRST = "12000000000000000001"  # bag_confirmed in the demo seed
SECOND = "12000000000000000002"
ACCEPTED = "20000000000000000001"  # return_bag_accepted: may get a credit note


@pytest.fixture
def api(sandbox: Any) -> Iterator[httpx.Client]:
    headers = {TOKEN_HEADER: sandbox.token}
    with httpx.Client(base_url=sandbox.url, headers=headers, trust_env=False) as client:
        yield client


def invoice_code(api: httpx.Client, order_id: str, number: str, kind: str = "sale") -> Any:
    """The error code Konnect gives this one invoice record (None when applied)."""
    endpoint = ENDPOINTS["invoice"]
    record = {"orderId": order_id, "invoiceNumber": number, "invoiceType": kind}
    body = api.request(endpoint.method, endpoint.path, json=[record]).json()
    errors = body["data"]["errors"] if "data" in body else body["errors"]
    return errors[0]["code"] if errors else None


def test_a_number_already_used_is_refused_on_a_second_order(
    api: httpx.Client, sandbox: Any
) -> None:
    assert invoice_code(api, FIRST, "INV/26/0777") is None
    assert invoice_code(api, SECOND, "INV/26/0777") == "IN422"
    assert sandbox.state()["orders"][SECOND]["state"] == "bag_confirmed"
    assert invoice_code(api, SECOND, "INV/26/0778") is None


def test_a_credit_note_number_is_used_too(api: httpx.Client, sandbox: Any) -> None:
    assert invoice_code(api, ACCEPTED, "CN/26/0009", "return") is None
    assert invoice_code(api, FIRST, "CN/26/0009") == "IN422"


def test_a_reset_forgets_the_numbers_used_since_the_seed(api: httpx.Client, sandbox: Any) -> None:
    assert invoice_code(api, FIRST, "INV/26/0777") is None
    sandbox.reset()
    assert invoice_code(api, SECOND, "INV/26/0777") is None
    assert invoice_code(api, FIRST, "INV0000000001") == "IN422"  # the seed's own stays used


def test_orders_added_already_invoiced_bring_their_numbers(api: httpx.Client, sandbox: Any) -> None:
    assert invoice_code(api, FIRST, "INV9876543210") is None
    sandbox.reset()
    # an invoiced order gets the number INV + the last 10 digits of its id
    invoiced = {"orderId": "31000000009876543210", "state": "dp_assigned"}
    credited = {"orderId": "31000000009876543211", "state": "credit_note_generated"}
    sandbox.add_orders(orders=[invoiced, credited])
    assert invoice_code(api, FIRST, "INV9876543210") == "IN422"
    assert invoice_code(api, FIRST, "CN9876543211") == "IN422"


def test_the_book_starts_from_the_seed_documents() -> None:
    state = build_state(load_seed())
    expected = {
        str(document["invoiceNumber"])
        for order in state.orders.values()
        for document in (order.invoice, order.credit_note)
        if document
    }
    assert expected and state.invoice_numbers == expected
