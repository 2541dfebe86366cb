"""A cancel row whose answer was lost is not sent again from a later file (etl/repeats.py).

Konnect's answer to a partial cancel gets lost, and the order look-up cannot tell whether it
was applied (1 of 2 pieces cancelled may be this request or an earlier one) - the look at the
order just before the send, which tells it otherwise (`etl.reconcile`), failed: the row ends
`unknown` and lands in the errors file, which is made to be dropped back in. Sent again, it
would cancel a second piece. So such rows are remembered as "answer lost", and a later row
repeating one is not sent: it stays `unknown` and says to check the item in Konnect.

Faults (docs/sandbox.md): `drop_rate` 0.5 with `fault_seed` 3, on writes only, drops the
answer to the first cancel request after the faults are set and answers the second; the order
look-ups fail (503, injected at `KonnectClient`) until the order's cancel was sent.
Demo seed: 11... and 30... placed; even-numbered orders have item -1 (1 piece) and item -2
(2 pieces), odd-numbered ones item -1 only.
"""

from __future__ import annotations

import shutil
import sqlite3
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from runs import drop, oid, results, run
from test_repeated_cancels import HEADER, cancelled, summary

from etl.cancelbook import AppliedRow
from etl.client import KonnectClient
from etl.errors import TransientError
from etl.keystate import KeyState

LOST = "not sent: the answer to the same cancel from {} (row {}, "


def run_losing_answers(inbox: Path, sandbox: Any) -> Any:
    """A run that loses the answer to its first cancel request, and whose look-ups of each
    order fail until the order's cancel was sent (the look just before the send, too)."""
    sent: set[str] = set()
    real_send, real_get = KonnectClient.send, KonnectClient.get_json

    async def send(self: KonnectClient, endpoint: Any, body: bytes) -> Any:
        sent.update(str(record.get("orderId")) for record in orjson.loads(body))
        return await real_send(self, endpoint, body)

    async def get_json(self: KonnectClient, path: str, params: dict[str, str], **kw: Any) -> Any:
        if params.get("orderId") not in sent:
            raise TransientError("Konnect answered HTTP 503")
        return await real_get(self, path, params, **kw)

    sandbox.faults(drop_rate=0.5, fault_seed=3, faults_on="writes")
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(KonnectClient, "send", send)
            patch.setattr(KonnectClient, "get_json", get_json)
            return run(inbox, sandbox)
    finally:
        sandbox.faults(drop_rate=0)


def drop_errors_file_back(inbox: Path, stem: str) -> None:
    """The errors file of `stem`, unchanged, back into the inbox (as the workflow invites)."""
    name = f"{stem}.errors.csv"
    shutil.copy(inbox / "done" / date.today().isoformat() / name, inbox / name)


def partial(n: int) -> list[str]:
    """Cancel 1 of the 2 pieces of item -2 of order 11...n (n even), out of stock."""
    return [oid(11, n), f"{oid(11, n)}-2", "1", "6"]


def test_the_errors_file_dropped_back_cancels_no_second_piece(tmp_path: Path, sandbox: Any) -> None:
    """The reviewer's case: 40 rows, half of the answers lost; even orders cancel 1 of the 2
    pieces of item -2, so their look-up cannot tell and they end `unknown`, although Konnect
    applied them. The errors file dropped back unchanged sends none of them again."""
    inbox = tmp_path / "inbox"
    items = {n: f"{oid(30, n)}-{2 if n % 2 == 0 else 1}" for n in range(1, 41)}
    drop(inbox, "cancel_bulk.csv", [HEADER] + [[oid(30, n), i, "1", "6"] for n, i in items.items()])
    assert run_losing_answers(inbox, sandbox).exit_code == 1
    first = results(inbox, "cancel_bulk")
    lost = {row: r["orderItemId"] for row, r in first.items() if r["status"] == "unknown"}
    assert lost and all(item.endswith("-2") for item in lost.values())
    drop_errors_file_back(inbox, "cancel_bulk")
    assert run(inbox, sandbox).exit_code == 1
    again = results(inbox, "cancel_bulk.errors-2")
    assert len(again) == len(lost)
    for r in again.values():
        row = next(row for row, item in lost.items() if item == r["orderItemId"])
        assert r["status"] == "unknown"
        assert r["message"].startswith(LOST.format("cancel_bulk.csv", row)), r["message"]
        assert "check this item in Konnect" in r["message"]
    for n in range(1, 41):  # every cancel applied once: no second piece anywhere
        assert cancelled(sandbox, oid(30, n)) == ({"1": 0, "2": 1} if n % 2 == 0 else {"1": 1})
    assert summary(inbox, "cancel_bulk.errors-2")["warnings"] == [
        f"{len(lost)} cancel rows not sent and left unknown: the answer to the same cancel"
        " from an earlier file was lost (cancel_bulk.csv); check those items in Konnect"
    ]


OLD_SCHEMA = """
CREATE TABLE exports (id INTEGER PRIMARY KEY, mapping TEXT NOT NULL,
    exported_at REAL NOT NULL, file TEXT NOT NULL, keys BLOB NOT NULL, error_rows BLOB);
CREATE INDEX exports_time ON exports (mapping, exported_at);
CREATE TABLE skips (sha256 TEXT NOT NULL, name TEXT NOT NULL, digest TEXT NOT NULL,
    PRIMARY KEY (sha256, name));
CREATE TABLE released (sha256 TEXT PRIMARY KEY, name TEXT NOT NULL);
CREATE TABLE cancels (action TEXT PRIMARY KEY, file TEXT NOT NULL, row INTEGER NOT NULL,
    applied_at TEXT NOT NULL);
"""


def old_state(inbox: Path, applied: list[str]) -> Path:
    """A protection database as the version before `settled` made it, with `applied` (one
    cancel row) applied yesterday from cancel_monday.csv row 2."""
    path = inbox / ".konnect-etl" / "protection.sqlite3"
    path.parent.mkdir(parents=True)
    yesterday = (datetime.now(UTC) - timedelta(days=1)).isoformat(timespec="milliseconds")
    with sqlite3.connect(path) as db:
        db.executescript(OLD_SCHEMA)
        db.execute(
            "INSERT INTO cancels VALUES (?, 'cancel_monday.csv', 2, ?)",
            ("|".join(applied), yesterday),
        )
    db.close()
    return path


def test_an_old_protection_database_is_migrated(tmp_path: Path, sandbox: Any) -> None:
    """Its cancel rows were applied ones and stay so; rows whose answer is lost from now on
    are remembered in it too."""
    inbox = tmp_path / "inbox"
    path = old_state(inbox, partial(2))
    drop(inbox, "cancel_tue.csv", [HEADER, partial(2), partial(4)])
    assert run_losing_answers(inbox, sandbox).exit_code == 1
    tuesday = results(inbox, "cancel_tue")
    assert tuesday["2"]["message"].startswith("already applied from cancel_monday.csv (row 2, ")
    assert [tuesday[r]["status"] for r in ("2", "3")] == ["ok", "unknown"]
    with sqlite3.connect(path) as db:
        assert "settled" in {row[1] for row in db.execute("PRAGMA table_info(cancels)")}
    db.close()
    drop_errors_file_back(inbox, "cancel_tue")
    assert run(inbox, sandbox).exit_code == 1
    [again] = results(inbox, "cancel_tue.errors-2").values()
    assert again["status"] == "unknown"
    assert again["message"].startswith(LOST.format("cancel_tue.csv", 3))
    assert cancelled(sandbox, oid(11, 2)) == {"1": 0, "2": 0}  # Monday's row: not sent
    assert cancelled(sandbox, oid(11, 4)) == {"1": 0, "2": 1}  # not 2 of 2


def test_a_lost_answer_settled_by_a_file_that_applied_it_counts_as_applied(
    tmp_path: Path, sandbox: Any
) -> None:
    """Held as "answer lost", the row is sent on purpose once (the store wants the second
    piece gone; `guards: {repeated_cancels: false}` for that file): from then on the cancel
    is an applied one, named after that file, and a repeat of it is `ok`."""
    inbox = tmp_path / "inbox"
    drop(inbox, "cancel_a.csv", [HEADER, partial(6)])
    assert run_losing_answers(inbox, sandbox).exit_code == 1
    assert results(inbox, "cancel_a")["2"]["status"] == "unknown"
    drop(inbox, "cancel_b.csv", [HEADER, partial(6), partial(8)])  # another file: not a copy
    assert run(inbox, sandbox).exit_code == 1
    assert results(inbox, "cancel_b")["2"]["message"].startswith(LOST.format("cancel_a.csv", 2))
    (inbox / "konnect-etl.yaml").write_text("guards: {repeated_cancels: false}\n")
    drop(inbox, "cancel_c.csv", [HEADER, partial(6), partial(10)])
    assert run(inbox, sandbox).exit_code == 0  # the guard off: sent, the second piece goes
    assert cancelled(sandbox, oid(11, 6)) == {"1": 0, "2": 2}
    (inbox / "konnect-etl.yaml").unlink()
    drop(inbox, "cancel_d.csv", [HEADER, partial(6), partial(2)])
    assert run(inbox, sandbox).exit_code == 0
    d = results(inbox, "cancel_d")["2"]
    assert d["status"] == "ok" and d["message"].startswith("already applied from cancel_c.csv")
    assert cancelled(sandbox, oid(11, 6)) == {"1": 0, "2": 2}


def test_what_settles_a_lost_answer_and_what_does_not(tmp_path: Path) -> None:
    """The first file to lose the answer is named until one applies the cancel; that one is
    named from then on: neither a lost answer nor another file applying it replaces it."""
    at = [f"2026-11-27T0{h}:00:00.000+00:00" for h in range(5)]
    with KeyState(tmp_path) as state:
        state.cancels.record([], "a.csv", at[0], lost=[("o|i|1|6", 2)])
        state.cancels.record([], "b.csv", at[1], lost=[("o|i|1|6", 5)])
        assert state.cancels.applied(["o|i|1|6"], None) == {
            "o|i|1|6": AppliedRow("a.csv", 2, at[0], settled=False)
        }
        state.cancels.record([("o|i|1|6", 4)], "c.csv", at[2])
        state.cancels.record([], "d.csv", at[3], lost=[("o|i|1|6", 7)])
        state.cancels.record([("o|i|1|6", 8)], "e.csv", at[4])
        assert state.cancels.applied(["o|i|1|6"], None) == {
            "o|i|1|6": AppliedRow("c.csv", 4, at[2], settled=True)
        }


def test_an_order_look_up_settles_what_it_can(tmp_path: Path) -> None:
    """`settle`: a lost answer found applied counts as applied (its file and row kept); one
    found not applied is forgotten; an applied one is never forgotten."""
    at = "2026-11-27T05:00:00.000+00:00"
    with KeyState(tmp_path) as state:
        state.cancels.record([("o|z|1|6", 3)], "z.csv", at)
        state.cancels.record([], "a.csv", at, lost=[("o|x|1|6", 2), ("o|y|1|6", 4)])
        state.cancels.settle(["o|x|1|6"], ["o|y|1|6", "o|z|1|6"])
        assert state.cancels.applied(["o|x|1|6", "o|y|1|6", "o|z|1|6"], None) == {
            "o|x|1|6": AppliedRow("a.csv", 2, at, settled=True),
            "o|z|1|6": AppliedRow("z.csv", 3, at, settled=True),
        }
