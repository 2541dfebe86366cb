"""What an order file says of rows a look-up settled: applied by this file when its own
request's answer was lost (not "already done in Konnect"), already applied when Konnect
refused a replay; and, when look-ups fail, one WARNING for them all and a summary line that
counts them. Against the real emulator on loopback.

Seed orders 12000000000000000001-010 are bag_confirmed: ready for a sale invoice.
"""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from runs import Body, drop, oid, results, run

from etl.client import KonnectClient
from etl.clientsettings import ClientSettings
from etl.konnect import ENDPOINTS
from etl.reconcile import upload_orders

TODAY = date.today().isoformat()
HEAD = ["orderId", "invoiceNumber", "invoiceType", "orderItemId", "quantity"]
ADVICE = "an order is invoiced once"


def summary(inbox: Path, stem: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(
        (inbox / "done" / TODAY / f"{stem}.summary.json").read_text()
    )
    return loaded


def invoices(*numbers: int) -> list[list[str]]:
    return [HEAD, *[[oid(12, n), f"INV-L-{n}", "sale", f"{oid(12, n)}-1", "1"] for n in numbers]]


def invoiced(sandbox: Any, n: int) -> int:
    """How often Konnect applied an invoice to order 12...n."""
    ledger = sandbox.ledger()
    return sum(1 for e in ledger if e["key"] == oid(12, n) and e["outcome"] == "applied")


def test_a_new_file_whose_answers_were_lost_applied_its_rows_itself(
    tmp_path: Path, sandbox: Any
) -> None:
    """Sent once, every answer lost after Konnect applied it: the look-up shows the invoices.
    This file applied them: not "already done in Konnect", nor advice about split files."""
    drop(tmp_path, "invoice_0900.csv", invoices(1, 2))
    sandbox.faults(drop_rate=1.0, faults_on="writes", fault_seed=3)
    done = run(tmp_path, sandbox)
    assert done.exit_code == 0, done.output
    said = summary(tmp_path, "invoice_0900")
    assert said["rows"]["ok"] == 2 and said["already_applied"] == 0
    assert said["chunks"]["settled_by_lookup"] == 1
    assert "Already done" not in done.output
    rows = results(tmp_path, "invoice_0900")
    assert rows["2"]["message"] == (
        "applied: Konnect's answer was lost; the look-up shows invoice INV-L-1 on this order,"
        " now dp_assigned"
    )
    assert ADVICE not in rows["3"]["message"]
    assert [invoiced(sandbox, n) for n in (1, 2)] == [1, 1]


def test_a_file_sent_again_is_still_already_applied_with_the_advice(
    tmp_path: Path, sandbox: Any
) -> None:
    """The same invoices in a second file: Konnect refuses the replay (IN453), the look-up
    shows them - applied before this file, and said so."""
    drop(tmp_path / "a", "invoice_0900.csv", invoices(3))
    assert run(tmp_path / "a", sandbox).exit_code == 0
    drop(tmp_path / "b", "invoice_1000.csv", invoices(3, 4))
    done = run(tmp_path / "b", sandbox)
    assert done.exit_code == 0, done.output
    assert summary(tmp_path / "b", "invoice_1000")["already_applied"] == 1
    split = "2 ok (1 applied now, 1 already done in Konnect)"
    assert f"Already done invoice_1000.csv: {split}" in " ".join(done.output.split())
    message = results(tmp_path / "b", "invoice_1000")["2"]["message"]
    assert message.startswith("already applied: Konnect shows invoice INV-L-3"), message
    assert ADVICE in message
    assert invoiced(sandbox, 3) == 1


def test_a_file_held_with_its_answers_lost_says_which_attempt_cannot_be_told(
    tmp_path: Path, sandbox: Any
) -> None:
    """Every answer lost, the look-ups' too: the file waits. The next run finds the invoice:
    this file's first attempt sent it (or an earlier file did: Konnect does not say)."""
    drop(tmp_path, "invoice_1100.csv", invoices(5))
    sandbox.faults(drop_rate=1.0, fault_seed=1)
    assert run(tmp_path, sandbox).exit_code == 2
    sandbox.faults(drop_rate=0.0)
    done = run(tmp_path, sandbox)
    assert done.exit_code == 0, done.output
    assert summary(tmp_path, "invoice_1100")["already_applied"] == 0
    assert results(tmp_path, "invoice_1100")["2"]["message"] == (
        "applied by an earlier attempt at this file, or before it (Konnect does not say which):"
        " the look-up shows invoice INV-L-5 on this order, now dp_assigned"
    )
    assert invoiced(sandbox, 5) == 1


def send_invoices(
    sandbox: Any, transport: httpx.AsyncBaseTransport, records: list[dict[str, str]], name: str,
    retries: int,
) -> None:  # fmt: skip
    """Upload `records` as one invoice request through `transport`, as file `name`."""
    chunk = Body(0, orjson.dumps(records), len(records))
    settings = ClientSettings(
        base_url=sandbox.url, token=sandbox.token, retries=retries, backoff_base=0.01
    )

    async def main() -> None:
        async with KonnectClient(settings, transport=transport) as client:
            await upload_orders(
                client, "invoice", ENDPOINTS["invoice"], [chunk], name=name,
                keys_of=lambda c: [r["orderId"] for r in orjson.loads(c.body)],
            )  # fmt: skip

    asyncio.run(main())


class Forwarding(httpx.AsyncBaseTransport):
    """Forwards every request to the emulator; a subclass answers some itself."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


class FailLookUps(Forwarding):
    """Looking up an order of `failing` answers 500."""

    def __init__(self, failing: set[str]) -> None:
        super().__init__()
        self.failing = failing

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "GET" and request.url.params.get("orderId") in self.failing:
            return httpx.Response(500, json={"message": "look-ups are failing"})
        return await super().handle_async_request(request)


def test_failed_look_ups_are_counted_and_logged_once_per_round(
    sandbox: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """4 invoices whose answer is lost; 3 of the 4 look-ups fail through their retries. One
    WARNING names the reason and the first orders (not one per order), and the round's line
    says 1 answered, 3 could not be looked up - not "looked up 4 orders"."""
    sandbox.faults(drop_rate=1.0, faults_on="writes", fault_seed=3)
    records = [{"orderId": oid(12, n), "invoiceNumber": f"INV-F-{n}", "invoiceType": "sale"}
               for n in (6, 7, 8, 9)]  # fmt: skip
    failing = {oid(12, n) for n in (7, 8, 9)}
    with caplog.at_level(logging.INFO, logger="etl"):
        send_invoices(sandbox, FailLookUps(failing), records, "invoice_1200.csv", retries=1)
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


def test_a_row_an_answer_did_not_name_says_so_when_found_applied() -> None:
    """Konnect answered the request but named only some of its rows: one found applied by
    the look-up says the answer did not name it, not that the answer was lost."""
    from etl.chunkresult import ChunkResult
    from etl.order_states import Order
    from etl.orderverdicts import Verdicts
    from etl.orderwords import UNNAMED, found_applied
    from etl.reconcile import Lost

    records = [{"orderId": "O1", "status": "bag_confirmed"}, {"orderId": "O2"}]
    answered = ChunkResult(0, "acknowledged", "ack-1", {}, [1], "Konnect named 1 of 2")
    verdicts = Verdicts.of(answered, orjson.dumps(records), ["O1", "O2"], "confirm")
    lost = Lost(sent={0})
    lost.note([verdicts])
    assert lost.of(verdicts, 1) == "unnamed" and lost.of(verdicts, 0) == ""
    order: Order = {"orderId": "O2", "state": "bag_confirmed"}
    assert found_applied("confirm", records[1], order, "unnamed").startswith(UNNAMED)


class LoseFirstThenFailResend(Forwarding):
    """The first invoice request times out unsent (its answer is lost, nothing applied); the
    first resend answers 500; everything else reaches the emulator."""

    def __init__(self) -> None:
        super().__init__()
        self.posts = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "POST" and "invoiceUpdate" in request.url.path:
            self.posts += 1
            if self.posts == 1:
                raise httpx.ReadTimeout("no answer", request=request)
            if self.posts == 2:
                return httpx.Response(500, json={"message": "try later"})
        return await super().handle_async_request(request)


def test_a_resend_names_its_file_in_the_log(sandbox: Any, caplog: pytest.LogCaptureFixture) -> None:
    """A record sent again after its look-up showed it not applied: the resend's retry line
    names the file it belongs to (a watcher's log mixes files), and the invoice lands once."""
    records = [{"orderId": oid(12, 10), "invoiceNumber": "INV-R-10", "invoiceType": "sale"}]
    with caplog.at_level(logging.INFO, logger="etl"):
        send_invoices(sandbox, LoseFirstThenFailResend(), records, "invoice_1300.csv", retries=2)
    said = [r.getMessage() for r in caplog.records if r.name == "etl.upload"]
    assert any(
        m.startswith("invoice_1300.csv (sent again): chunk 0: ") and "trying again" in m
        for m in said
    ), said
    assert invoiced(sandbox, 10) == 1
