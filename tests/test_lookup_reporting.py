"""What an order file says of its look-ups: when they fail, one WARNING for them all and a
line that counts them. Against the real emulator on loopback.

Seed orders 12000000000000000001-010 are bag_confirmed: ready for a sale invoice.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import httpx
import orjson
import pytest
from runs import Body, oid

from etl.client import KonnectClient
from etl.clientsettings import ClientSettings
from etl.konnect import ENDPOINTS
from etl.reconcile import upload_orders


class FailLookUps(httpx.AsyncBaseTransport):
    """Forwards to the emulator, except that looking up an order of `failing` answers 500."""

    def __init__(self, failing: set[str]) -> None:
        self.inner, self.failing = httpx.AsyncHTTPTransport(), failing

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "GET" and request.url.params.get("orderId") in self.failing:
            return httpx.Response(500, json={"message": "look-ups are failing"})
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


def test_failed_look_ups_are_counted_and_logged_once_per_round(
    sandbox: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """4 invoices whose answer is lost; 3 of the 4 look-ups fail through their retries. One
    WARNING names the reason and the first orders (not one per order), and the round's line
    says 1 answered, 3 could not be looked up - not "looked up 4 orders"."""
    sandbox.faults(drop_rate=1.0, faults_on="writes", fault_seed=3)
    records = [{"orderId": oid(12, n), "invoiceNumber": f"INV-F-{n}", "invoiceType": "sale"}
               for n in (6, 7, 8, 9)]  # fmt: skip
    chunk = Body(0, orjson.dumps(records), len(records))
    settings = ClientSettings(
        base_url=sandbox.url, token=sandbox.token, retries=1, backoff_base=0.01
    )
    failing = {oid(12, n) for n in (7, 8, 9)}

    async def main() -> None:
        async with KonnectClient(settings, transport=FailLookUps(failing)) as client:
            await upload_orders(
                client, "invoice", ENDPOINTS["invoice"], [chunk], name="invoice_1200.csv",
                keys_of=lambda c: [r["orderId"] for r in orjson.loads(c.body)],
            )  # fmt: skip

    with caplog.at_level(logging.INFO, logger="etl"):
        asyncio.run(main())
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    orders = ", ".join(sorted(failing))
    http500 = "3: Konnect answered HTTP 500 Internal Server Error"
    assert warnings == [  # one line a round; the second round answered none: stopped there
        f"invoice_1200.csv: 3 of 4 orders could not be looked up ({http500}): orders {orders}",
        f"invoice_1200.csv: 3 of 3 orders could not be looked up ({http500}): orders {orders}",
        "invoice_1200.csv: Konnect answered none of the look-ups of 3 orders whose answer needs"
        " checking; they stay in doubt for a later run",
    ], warnings
    said = [r.getMessage() for r in caplog.records if r.name == "etl.reconcile"]
    assert (
        "invoice_1200.csv: 4 orders to check (an answer lost, or a refusal that may mean done"
        " already): 1 answered, 3 could not be looked up; 0 sent again"
    ) in said, said
