"""Cancels of a file that waits in processing/ (Konnect down or partly answering, credentials
refused) are never sent twice: not by its own resume, not by a copy fixed meanwhile, not by a
continuation after its export wrote on into it. Against the real emulator."""

from __future__ import annotations

from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from runs import as_the_previous_version, drop, oid, results, run
from test_holdover import CANCEL, SECOND_REFUSED, forty_partial_cancels, inbox_with

import etl.client
from etl.errors import CredentialsError, OutcomeUnknown, TransientError
from etl.inbox import Inbox
from etl.journal import Journal


def cancelled(sandbox: Any, order: str, item: str) -> int:
    items = sandbox.state()["orders"][order]["items"]
    return {i["orderItemId"]: i["cancelledQuantity"] for i in items}[item]


def token_refused_on_the_second_request(patch: pytest.MonkeyPatch) -> None:
    real_send = etl.client.KonnectClient.send
    calls: list[Any] = []

    async def send(self: Any, endpoint: Any, body: bytes) -> Any:
        calls.append(endpoint)
        if len(calls) == 2:
            raise CredentialsError("Konnect refused the access token (HTTP 401)")
        return await real_send(self, endpoint, body)

    patch.setattr(etl.client.KonnectClient, "send", send)


def test_a_held_cancel_in_doubt_is_looked_up_by_the_next_run(tmp_path: Path, sandbox: Any) -> None:
    """Applied, the answer and the look-ups lost: held; the next run finds it applied."""
    inbox = inbox_with(tmp_path)
    o = oid(30, 2)
    drop(inbox, "cancel.csv", [CANCEL, [o, f"{o}-1", "1", "6"]])
    sandbox.faults(drop_rate=1.0, fault_seed=1)
    held = run(inbox, sandbox)
    assert held.exit_code == 2 and "1 row in doubt" in held.output, held.output
    sandbox.faults(drop_rate=0.0)
    again = run(inbox, sandbox)
    assert again.exit_code == 0, again.output
    row = results(inbox, "cancel")["2"]
    assert row["status"] == "ok", row
    assert row["message"].startswith("applied by an earlier attempt at this file, or before it")


def test_a_held_partial_cancel_is_not_settled_by_another_files_cancel_meanwhile(
    tmp_path: Path, sandbox: Any
) -> None:
    """cancel.csv asks for 1 of the 2 pieces of an item (reason 6); its request gets no
    answer (it never arrived) and the look-ups fail: held. While it waits, cancel_b.csv, 1
    piece of the same item for reason 9, is sent from another inbox (a second ERP, or a store
    tool: in this inbox an order file waits behind the held one), applied. The
    resume finds 1 piece more than cancel.csv's look just before its request showed - but
    cancel_b's: the row stays `unknown` (the look is not kept for a later run), never `ok`."""
    inbox = inbox_with(tmp_path)
    o = oid(30, 2)
    drop(inbox, "cancel.csv", [CANCEL, [o, f"{o}-2", "1", "6"]])
    real_get = etl.client.KonnectClient.get_json
    sent: list[bytes] = []

    async def lost(self: Any, endpoint: Any, body: bytes) -> Any:
        sent.append(body)
        raise OutcomeUnknown("no answer from Konnect (connection dropped)")

    async def get_json(self: Any, path: str, params: dict[str, str], **kw: Any) -> Any:
        if sent and params.get("orderId") == o:
            raise TransientError("Konnect answered HTTP 503")
        return await real_get(self, path, params, **kw)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(etl.client.KonnectClient, "send", lost)
        patch.setattr(etl.client.KonnectClient, "get_json", get_json)
        held = run(inbox, sandbox)
    assert held.exit_code == 2 and "1 row in doubt" in held.output, held.output
    (tmp_path / "other").mkdir()
    other = inbox_with(tmp_path / "other")
    drop(other, "cancel_b.csv", [CANCEL, [o, f"{o}-2", "1", "9"]])
    assert run(other, sandbox).exit_code == 0
    assert cancelled(sandbox, o, f"{o}-2") == 1  # cancel_b's
    assert run(inbox, sandbox).exit_code == 1  # cancel.csv resumed
    row = results(inbox, "cancel")["2"]
    assert row["status"] == "unknown", row
    assert cancelled(sandbox, o, f"{o}-2") == 1


def test_a_grown_held_cancel_in_doubt_is_looked_up_too(tmp_path: Path, sandbox: Any) -> None:
    """Same, but the export writes one more row into processing/cancel.csv while it waits:
    the attempt is continued before the repeated-cancel guard looks, so the file's own record
    of the row in doubt does not count, and the row is looked up (not left `unknown`)."""
    inbox = inbox_with(tmp_path)
    o, o2 = oid(30, 2), oid(30, 4)
    drop(inbox, "cancel.csv", [CANCEL, [o, f"{o}-1", "1", "6"]])
    sandbox.faults(drop_rate=1.0, fault_seed=1)
    held = run(inbox, sandbox)
    assert held.exit_code == 2 and "1 row in doubt" in held.output, held.output
    with (inbox / "processing" / "cancel.csv").open("a", encoding="utf-8") as handle:
        handle.write(f"{o2},{o2}-1,1,6\r\n")
    sandbox.faults(drop_rate=0.0)
    again = run(inbox, sandbox)
    assert again.exit_code == 0, again.output
    rows = results(inbox, "cancel")
    assert rows["3"]["status"] == "ok"
    assert rows["2"]["status"] == "ok", rows["2"]
    assert rows["2"]["message"].startswith("applied by an earlier attempt at this file")


@pytest.mark.parametrize("previous_version", [True, False])
def test_a_held_cancel_file_does_not_resend_what_a_fixed_copy_applied_meanwhile(
    tmp_path: Path, sandbox: Any, previous_version: bool
) -> None:
    """Two processes on one inbox: a watcher, and a cron run. cancel.csv is held: its first
    request (20 partial cancels) taken, the second refused 503 twice. While one has
    processing/cancel.csv, the other takes a fixed copy from the inbox. Of the previous
    version (an upgrade under way), it sends it: the 20 cancel.csv applied are skipped, the
    other 20 sent, and the resume of cancel.csv then counts the copy's cancels (another
    file's, whenever recorded) and sends none of them again. Of this version, it stops with
    nothing sent; the next run continues cancel.csv, then the copy, skipping what it applied."""
    inbox = inbox_with(tmp_path)
    orders, rows = forty_partial_cancels(inbox)
    sandbox.faults(**SECOND_REFUSED)
    assert run(inbox, sandbox).exit_code == 2
    sandbox.faults(error_rate=0.0)
    fixed = [*rows[:-1], [orders[-1], f"{orders[-1]}-2", "1", "9"]]  # another reason: fixed
    drop(inbox, "cancel_fixed.csv", fixed)
    before = len(sandbox.ledger())
    with ExitStack() as stack:  # the other process works on cancel.csv
        assert stack.enter_context(Inbox(inbox).lock("cancel.csv"))
        if previous_version:
            stack.enter_context(as_the_previous_version())
        other = run(inbox, sandbox)
    if previous_version:
        assert other.exit_code == 0, other.output
    else:
        assert other.exit_code == 2 and "waits in processing/ behind cancel.csv" in other.output
        assert len(sandbox.ledger()) == before
        assert (inbox / "processing" / "cancel_fixed.csv").is_file()
    assert (inbox / "processing" / "cancel.csv").is_file()
    again = run(inbox, sandbox)  # cancel.csv resumed (and this version's copy after it)
    assert again.exit_code == 0, again.output
    assert not list((inbox / "processing").iterdir())
    # (the last order's fixed copy has another reason: another cancel, by design)
    twice = [o for o in orders[:-1] if cancelled(sandbox, o, f"{o}-2") > 1]
    assert twice == [], f"{len(twice)} items had a second piece cancelled"


def test_a_cancel_file_stopped_by_refused_credentials_then_edited_cancels_nothing_twice(
    tmp_path: Path, sandbox: Any
) -> None:
    """Stopped part-way by a token refused on its second request (it waits in processing/):
    the 20 cancels applied are remembered from the journal, so the file edited there (a new
    attempt: its start differs) does not send them again."""
    inbox = inbox_with(tmp_path)
    orders, rows = forty_partial_cancels(inbox)
    with pytest.MonkeyPatch.context() as patch:
        token_refused_on_the_second_request(patch)
        assert run(inbox, sandbox).exit_code == 2
    assert (inbox / "processing" / "cancel.csv").is_file()
    fixed = [*rows[:-1], [orders[-1], f"{orders[-1]}-2", "1", "9"]]  # another reason: fixed
    drop(inbox / "processing", "cancel.csv", fixed)
    again = run(inbox, sandbox)
    assert again.exit_code == 0, again.output
    twice = [o for o in orders if cancelled(sandbox, o, f"{o}-2") > 1]
    assert twice == [], f"{len(twice)} items had a second piece cancelled"


def test_a_later_export_of_the_same_name_is_not_handed_a_stale_attempt(
    tmp_path: Path, sandbox: Any
) -> None:
    """09:00 cancel.csv (21 partial cancels) stops part-way (token refused on its second
    request: 20 applied) and someone removes it from processing/; 10:00 the 21st cancel goes
    in a file of its own; 11:00 the ERP's cumulative export cancel.csv (the 09:00 rows and
    one more) is a new file, not the 09:00 attempt continued (only leftovers are), and the
    cancels both earlier files applied are not sent again, before or after a Konnect outage."""
    inbox = inbox_with(tmp_path)
    orders = [oid(30, 2 * k) for k in range(1, 23)]
    row = {o: [o, f"{o}-2", "1", "6"] for o in orders}
    drop(inbox, "cancel.csv", [CANCEL] + [row[o] for o in orders[:21]])
    with pytest.MonkeyPatch.context() as patch:
        token_refused_on_the_second_request(patch)
        assert run(inbox, sandbox).exit_code == 2
    (inbox / "processing" / "cancel.csv").unlink()  # taken out by hand

    drop(inbox, "cancel_21.csv", [CANCEL, row[orders[20]]])
    assert run(inbox, sandbox).exit_code == 0
    assert cancelled(sandbox, orders[20], f"{orders[20]}-2") == 1

    drop(inbox, "cancel.csv", [CANCEL] + [row[o] for o in orders])  # cumulative export
    sandbox.faults(error_rate=1.0)
    down = run(inbox, sandbox)
    assert down.exit_code == 2, down.output
    assert "grew after part of it was sent" not in down.output
    sandbox.faults(error_rate=0.0)
    assert run(inbox, sandbox).exit_code == 0
    assert [cancelled(sandbox, o, f"{o}-2") for o in orders] == [1] * 22
    said = [r["message"] for r in results(inbox, "cancel").values()]
    assert sum("already applied from" in m for m in said) == 21


def test_a_hold_stamped_by_a_clock_that_ran_ahead_runs_from_when_it_is_seen(
    tmp_path: Path,
) -> None:
    """The clock ran a day ahead when Konnect first took part of the file, then was put
    right: the stamp is set to now when seen, so the time runs out 30 minutes later, not a
    day later."""
    now = [datetime(2026, 11, 28, 10, 0, tzinfo=UTC)]  # a day ahead
    with Journal(tmp_path / "j.sqlite3", clock=lambda: now[0].isoformat()) as journal:
        file_id = journal.begin_file("sha", "stock.csv", "stock", "generic/stock", size=1)
        journal.held_since(file_id)  # the first partial answer, stamped tomorrow
        now[0] = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)  # the clock put right
        assert journal.held_since(file_id) == (now[0], now[0])
        now[0] += timedelta(hours=2)  # two hours of holding later
        since, current = journal.held_since(file_id)
    assert current - since == timedelta(hours=2)


def orders_of(body: bytes) -> set[str]:
    return {str(r.get("orderId")) for r in orjson.loads(body) if isinstance(r, dict)}


def scripted_send(patch: pytest.MonkeyPatch, script: Any) -> list[set[str]]:
    """`KonnectClient.send` asks `script(call_number, orders_in_body)`: None sends it to the
    emulator, an exception is raised instead (nothing reaches the emulator)."""
    real_send = etl.client.KonnectClient.send
    calls: list[set[str]] = []

    async def send(self: Any, endpoint: Any, body: bytes) -> Any:
        orders = orders_of(body)
        calls.append(orders)
        fault = script(len(calls), orders)
        if fault is not None:
            raise fault
        return await real_send(self, endpoint, body)

    patch.setattr(etl.client.KonnectClient, "send", send)
    return calls


def unavailable() -> TransientError:
    return TransientError("Konnect answered HTTP 503")


def piece(o: str, reason: str = "6") -> list[str]:
    return [o, f"{o}-2", "1", reason]  # 1 of the 2 pieces of item -2


def test_a_row_added_to_an_order_already_sent_never_cancels_a_piece_twice(
    tmp_path: Path, sandbox: Any
) -> None:
    """A grown leftover whose added row is for an order of a request Konnect took: one
    record per order, so that record changed, the file counts as cut differently and is
    looked up. The order shows one item cancelled as asked and the new one not: sending the
    record again would cancel a second piece of the first, so it cannot tell: `unknown`."""
    inbox = inbox_with(tmp_path)
    a = [oid(30, 2 * k) for k in range(1, 21)]
    b = [oid(30, 2 * k) for k in range(21, 41)]
    drop(inbox, "cancel.csv", [CANCEL] + [piece(o) for o in a + b])
    with pytest.MonkeyPatch.context() as patch:
        scripted_send(patch, lambda n, orders: unavailable() if orders & set(b) else None)
        assert run(inbox, sandbox).exit_code == 2
    with (inbox / "processing" / "cancel.csv").open("a", encoding="utf-8") as handle:
        handle.write(f"{a[0]},{a[0]}-1,1,6\r\n")  # the export wrote on: item -1 of a[0]
    again = run(inbox, sandbox)
    assert "grew after part of it was sent" in again.output, again.output
    assert cancelled(sandbox, a[0], f"{a[0]}-2") == 1  # not twice
    assert cancelled(sandbox, a[0], f"{a[0]}-1") == 0  # not sent: cannot tell
    rows = results(inbox, "cancel")
    assert rows["2"]["status"] == rows["42"]["status"] == "unknown"
    assert all(cancelled(sandbox, o, f"{o}-2") == 1 for o in a[1:] + b)


def test_cancels_resent_just_before_a_refused_token_are_remembered(
    tmp_path: Path, sandbox: Any
) -> None:
    """60 partial cancels, three requests (A, B, C). Run 1: A's and B's answers lost
    (nothing applied), C applied; looked up, not cancelled; their resends refused 503 twice:
    held. Run 2: A resent and applied, then the token is refused on B's. A resend is saved as
    maybe applied before it goes, so A's cancels are remembered: the file edited in
    processing/ (a new attempt) does not cancel A's second pieces; B's, looked up and found
    not applied, are sent."""
    inbox = inbox_with(tmp_path)
    a = [oid(30, 2 * k) for k in range(1, 21)]
    b = [oid(30, 2 * k) for k in range(21, 41)]
    c = [oid(30, 2 * k) for k in range(41, 61)]
    rows = [CANCEL] + [piece(o) for o in a + b + c]
    drop(inbox, "cancel.csv", rows)

    def first_run(n: int, orders: set[str]) -> Exception | None:
        if n <= 2:
            return OutcomeUnknown("no answer from Konnect (connection dropped)")
        return None if n == 3 else unavailable()

    with pytest.MonkeyPatch.context() as patch:
        scripted_send(patch, first_run)
        held = run(inbox, sandbox)
    assert held.exit_code == 2 and "40 rows in doubt" in held.output, held.output

    def second_run(n: int, orders: set[str]) -> Exception | None:
        return CredentialsError("Konnect refused the access token (HTTP 401)") if n == 2 else None

    with pytest.MonkeyPatch.context() as patch:
        calls = scripted_send(patch, second_run)
        assert run(inbox, sandbox).exit_code == 2
    assert calls[0] == set(a) and (inbox / "processing" / "cancel.csv").is_file()
    assert [cancelled(sandbox, o, f"{o}-2") for o in a] == [1] * 20  # A applied now
    fixed = [*rows[:-1], [c[-1], f"{c[-1]}-2", "1", "9"]]  # a row fixed in processing/
    drop(inbox / "processing", "cancel.csv", fixed)
    assert run(inbox, sandbox).exit_code == 1
    assert [cancelled(sandbox, o, f"{o}-2") for o in a] == [1] * 20  # not twice
    # B's resend was in the same round, saved as maybe applied before it went: its orders
    # are looked up first, show none of the pieces cancelled, and are sent (once)
    assert [cancelled(sandbox, o, f"{o}-2") for o in b] == [1] * 20
    assert {results(inbox, "cancel")[str(22 + i)]["status"] for i in range(20)} == {"ok"}


def test_other_files_cancels_while_it_waited_are_never_sent_twice(
    tmp_path: Path, sandbox: Any
) -> None:
    """cancel.csv: request A refused 503 twice, request B applied: held. While it waits, an
    hourly file applies A[0]'s cancel. The resume skips A[0] (another file's record), which
    cuts its requests differently (an hourly file sent by a run of the previous version: this
    version's waits): what is not settled is looked up, never sent blindly, so
    no piece is cancelled twice (rows whose order cannot tell are `unknown`: README)."""
    inbox = inbox_with(tmp_path)
    a = [oid(30, 2 * k) for k in range(1, 21)]
    b = [oid(30, 2 * k) for k in range(21, 41)]
    drop(inbox, "cancel.csv", [CANCEL] + [piece(o) for o in a + b])
    with pytest.MonkeyPatch.context() as patch:
        scripted_send(patch, lambda n, orders: unavailable() if orders & set(a) else None)
        assert run(inbox, sandbox).exit_code == 2
    drop(inbox, "cancel_hourly.csv", [CANCEL, piece(a[0])])
    # another process works on cancel.csv
    with Inbox(inbox).lock("cancel.csv") as mine, as_the_previous_version():
        assert mine
        assert run(inbox, sandbox).exit_code == 0
    run(inbox, sandbox)  # cancel.csv resumed
    assert [cancelled(sandbox, o, f"{o}-2") for o in a + b] == [1] * 40
    rows = results(inbox, "cancel")
    assert (
        rows["2"]["status"] == "ok" and "already applied from cancel_hourly" in rows["2"]["message"]
    )


def test_a_resend_of_a_resume_cut_differently_stopped_by_a_refused_token_is_remembered(
    tmp_path: Path, sandbox: Any
) -> None:
    """A recut resume (another file applied A[0] while it waited) resends A[1..39] after a
    look-up (A[0]: by a run of the previous version); the first resend request is applied,
    the token is refused on the second. The write-ahead save must leave A[1..20] remembered
    as maybe applied, so a copy fixed in processing/ (a new attempt) does not cancel their
    second pieces."""
    inbox = inbox_with(tmp_path)
    a = [oid(30, 2 * k) for k in range(1, 41)]
    b = [oid(30, 2 * k) for k in range(41, 61)]
    rows = [CANCEL] + [piece(o) for o in a + b]
    drop(inbox, "cancel.csv", rows)
    with pytest.MonkeyPatch.context() as patch:
        scripted_send(patch, lambda n, orders: unavailable() if orders & set(a) else None)
        assert run(inbox, sandbox).exit_code == 2
    drop(inbox, "cancel_hourly.csv", [CANCEL, piece(a[0])])
    with Inbox(inbox).lock("cancel.csv") as mine, as_the_previous_version():
        assert mine
        assert run(inbox, sandbox).exit_code == 0
    token = CredentialsError("Konnect refused the access token (HTTP 401)")
    with pytest.MonkeyPatch.context() as patch:
        calls = scripted_send(patch, lambda n, orders: token if n == 2 else None)
        assert run(inbox, sandbox).exit_code == 2
    assert calls[0] == set(a[1:21]), calls
    assert [cancelled(sandbox, o, f"{o}-2") for o in a[1:21]] == [1] * 20  # applied now
    fixed = [*rows[:-1], [b[-1], f"{b[-1]}-2", "1", "9"]]  # a row fixed in processing/
    drop(inbox / "processing", "cancel.csv", fixed)
    run(inbox, sandbox)
    assert [cancelled(sandbox, o, f"{o}-2") for o in a[1:21]] == [1] * 20  # not twice


def test_a_resume_cut_differently_and_stopped_mid_resend_never_resends_an_applied_cancel(
    tmp_path: Path, sandbox: Any
) -> None:
    """Run 1: requests 1 and 3 refused for now, 2 applied; another file cancels a[0], so the
    resume is cut differently; run 2 cannot look a[1..19] up and is stopped by a refused
    token on its resend. Every chunk in doubt was saved as such when the re-cut was seen, so
    run 3 looks them up instead of sending the one that holds a cancel run 1 applied."""
    inbox = inbox_with(tmp_path)
    a = [oid(30, 2 * k) for k in range(1, 61)]  # three requests of 20
    rows = [CANCEL] + [piece(o) for o in a]
    drop(inbox, "cancel.csv", rows)
    first, last = set(a[:20]), set(a[40:])
    # run 1: requests 1 and 3 refused 503 (nothing applied), request 2 (a[20..39]) applied
    with pytest.MonkeyPatch.context() as patch:
        scripted_send(patch, lambda n, o: unavailable() if o & (first | last) else None)
        assert run(inbox, sandbox).exit_code == 2
    assert cancelled(sandbox, a[20], f"{a[20]}-2") == 1
    # another file cancels a[0] meanwhile (a run of the previous version: this one's waits):
    # cancel.csv is cut differently (shifted by one)
    drop(inbox, "cancel_hourly.csv", [CANCEL, piece(a[0])])
    with Inbox(inbox).lock("cancel.csv") as mine, as_the_previous_version():
        assert mine
        assert run(inbox, sandbox).exit_code == 0
    # run 2 (recut): a[1..19] cannot be looked up for now; the resend (a[40..59]) meets a
    # refused token -> stop
    real_get = etl.client.KonnectClient.get_json
    blind = set(a[1:20])

    async def get_json(self: Any, path: str, params: Any = None, *args: Any, **kw: Any) -> Any:
        if params and params.get("orderId") in blind:
            raise TransientError("Konnect answered HTTP 503")
        return await real_get(self, path, params, *args, **kw)

    token = CredentialsError("Konnect refused the access token (HTTP 401)")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(etl.client.KonnectClient, "get_json", get_json)
        calls = scripted_send(patch, lambda n, o: token)
        assert run(inbox, sandbox).exit_code == 2
    assert calls  # the resend was tried
    assert cancelled(sandbox, a[20], f"{a[20]}-2") == 1
    # run 3: everything answers
    run(inbox, sandbox)
    assert cancelled(sandbox, a[20], f"{a[20]}-2") == 1, "a[20]'s second piece cancelled"


def test_an_order_whose_look_up_always_breaks_the_server_holds_its_file_for_a_while_only(
    tmp_path: Path, sandbox: Any
) -> None:
    """holdover's promise: a request that always breaks the server holds the inbox up for
    retry_failed_minutes at most. Konnect is up; only this order's look-up answers 5xx."""
    from test_holdover import age, confirm_file

    inbox = inbox_with(tmp_path)
    o = oid(11, 7)
    confirm_file(inbox, [o])
    sandbox.faults(drop_rate=1.0, fault_seed=1)
    held = run(inbox, sandbox)
    assert held.exit_code == 2 and "1 row in doubt" in held.output, held.output
    sandbox.faults(drop_rate=0.0)
    real_get = etl.client.KonnectClient.get_json

    async def get_json(self: Any, path: str, params: Any = None, *args: Any, **kw: Any) -> Any:
        if params and params.get("orderId") == o:
            raise TransientError("Konnect answered HTTP 500")  # this order breaks the server
        return await real_get(self, path, params, *args, **kw)

    codes = []
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(etl.client.KonnectClient, "get_json", get_json)
        for _ in range(3):
            age(inbox, "held_since", 31)  # ever more than retry_failed_minutes since
            codes.append(run(inbox, sandbox).exit_code)
    assert codes[0] == 1, f"held past retry_failed_minutes, run after run: {codes}"


def test_a_journal_lost_while_a_cancel_file_waits_settles_its_marks_by_looking_up(
    tmp_path: Path, sandbox: Any
) -> None:
    """Three requests of a cancel file lose their answers, and the look-ups fail: it waits
    in processing/. A (whole items) and C (1 of 2 pieces) were applied, B never arrived.
    The journal is then lost (deleted, moved aside when damaged): the resume is a new
    attempt that knows only the write-ahead marks. Looked up, A's items are wholly cancelled
    (ok, not sent), B's show no piece cancelled (sent, once), C's cannot tell (unknown)."""
    inbox = inbox_with(tmp_path)
    a = [oid(30, 2 * k) for k in range(1, 21)]
    b = [oid(30, 2 * k) for k in range(21, 41)]
    c = [oid(30, 2 * k) for k in range(41, 61)]
    rows = [CANCEL] + [[o, f"{o}-1", "1", "6"] for o in a] + [piece(o) for o in b + c]
    drop(inbox, "cancel.csv", rows)
    real_send, real_get = etl.client.KonnectClient.send, etl.client.KonnectClient.get_json

    async def send(self: Any, endpoint: Any, body: bytes) -> Any:
        if not orders_of(body) & set(b):  # B never arrives; A and C are applied
            await real_send(self, endpoint, body)
        raise OutcomeUnknown("no answer from Konnect (connection dropped)")

    async def get_json(self: Any, *args: Any, **kwargs: Any) -> Any:
        raise unavailable()

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(etl.client.KonnectClient, "send", send)
        patch.setattr(etl.client.KonnectClient, "get_json", get_json)
        held = run(inbox, sandbox)
    assert held.exit_code == 2 and "60 rows in doubt" in held.output, held.output
    for name in ("journal.sqlite3", "journal.sqlite3-wal", "journal.sqlite3-shm"):
        (inbox / ".konnect-etl" / name).unlink(missing_ok=True)
    calls: list[set[str]] = []
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(etl.client.KonnectClient, "get_json", real_get)
        calls = scripted_send(patch, lambda n, orders: None)
        assert run(inbox, sandbox).exit_code == 1
    assert set().union(*calls) == set(b)  # only B is sent again
    assert [cancelled(sandbox, o, f"{o}-1") for o in a] == [1] * 20
    assert [cancelled(sandbox, o, f"{o}-2") for o in b + c] == [1] * 40  # none twice
    got = results(inbox, "cancel")
    assert {got[str(2 + i)]["status"] for i in range(20)} == {"ok"}
    assert "already applied from cancel.csv" in got["2"]["message"], got["2"]
    assert {got[str(22 + i)]["status"] for i in range(20)} == {"ok"}
    assert {got[str(42 + i)]["status"] for i in range(20)} == {"unknown"}
    assert "check this item in Konnect" in got["42"]["message"], got["42"]
