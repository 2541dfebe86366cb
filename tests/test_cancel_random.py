"""Random but reproducible fault sequences for partial-cancel files, against the emulator.

Each scenario (one seed of `random.Random`) drives cancel files through a random sequence of
steps: files dropped (new cancels, rows repeating earlier files' cancels, bad reason codes),
runs under faults (the emulator's 5xx and answers dropped after applying; requests lost
before they arrive, 503s and 429s, a token refused mid-run and order look-ups failing, all
injected at `KonnectClient`), a run killed mid-upload (`os._exit` in a `run` process, right
after a request was applied or just before it went), rows appended to a file waiting in
processing/, that file edited there, an errors file fixed and dropped back, an original
fixed and dropped again, and time passing (`retry_failed_minutes`). Every order item has a
capacity far above what is asked of it (orders added to the emulator with 9 pieces an item),
beside the demo's items of 1 and 2 pieces, so a cancel applied twice shows in Konnect's
state. After every step:

1. no item has more pieces cancelled than the distinct cancel rows (order, item, quantity,
   reason) asked for it, in all files together;
2. no row is `ok` in a result file unless Konnect's state holds its cancel: per item, the
   distinct `ok` cancels add up to no more than the pieces cancelled;
3. no input file is lost: each is in the inbox, in processing/ (waiting), or next to its
   summary in done/, failed/ or duplicates/, and a file in done/ has one result row per
   data row;

and at the end, faults cleared and a few runs later, every file is settled. Rows left
`unknown` / `failed` are allowed (the safe side) and counted: `-s` prints them.

A failure names the seed and the steps; `-k seed-7` replays one. Backoff between retries is
set to 0 s here, only to keep the runs quick.
"""

from __future__ import annotations

import csv
import json
import os
import random
import sqlite3
import subprocess
import sys
from collections import Counter, defaultdict
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from runs import as_the_previous_version, drop, oid, run
from test_holdover import CANCEL, forty_partial_cancels, inbox_with

import etl.client
import etl.retry
from etl.errors import CredentialsError, OutcomeUnknown, RateLimited, TransientError
from etl.inbox import Inbox

# a longer search: CANCEL_RANDOM_SEEDS=200 [CANCEL_RANDOM_FIRST=1000] (the default fits the
# suite's time)
FIRST = int(os.environ.get("CANCEL_RANDOM_FIRST", "0"))
SEEDS = range(FIRST, FIRST + int(os.environ.get("CANCEL_RANDOM_SEEDS", "10")))
STEPS = 12
MAX_CRASHES = 1  # a killed run is a process of its own: about 2 s
CRASH_SHARE = 0.25
BIG = 9  # pieces of each item of the orders added for these tests
REASONS = ("6", "7", "8", "9")
BAD_REASON = "5"
REPO = Path(__file__).resolve().parents[1]

Item = tuple[str, str]  # (orderId, orderItemId)
Cancel = tuple[str, str, int, str]  # (orderId, orderItemId, quantity, reasonCode)


def big_order(n: int) -> str:
    return f"41{n:018d}"


def add_big_orders(sandbox: Any, count: int) -> None:
    """`count` placed orders at DEL-WH-01, two items of BIG pieces each."""
    items = [{"sku": "TS-BLK-S", "quantity": BIG}, {"sku": "TS-BLK-M", "quantity": BIG}]
    orders = [
        {"orderId": big_order(n), "state": "placed", "location": "DEL-WH-01",
         "orderDate": "2026-02-01T09:00:00+05:30", "is_self_ship": False, "items": items}
        for n in range(1, count + 1)
    ]  # fmt: skip
    sandbox.add_orders(orders=orders)


@pytest.fixture(autouse=True)
def no_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """Retries at once: only the waiting changes, not what is sent."""
    monkeypatch.setattr(etl.retry.RetryPolicy, "backoff", lambda self, failures, rng: 0.0)


# --- the world a scenario builds, and what it asked for ---


@dataclass
class World:
    seed: int
    rng: random.Random
    inbox: Path
    sandbox: Any
    hold_minutes: int
    capacity: dict[Item, int] = field(default_factory=dict)
    fresh: dict[str, list[Item]] = field(default_factory=dict)
    home: dict[Item, str] = field(default_factory=dict)  # the reason an item is cancelled for
    asks: dict[Item, set[tuple[int, str]]] = field(default_factory=lambda: defaultdict(set))
    asked: list[Cancel] = field(default_factory=list)  # every valid cancel row, for repeats
    dropped: list[tuple[str, list[list[str]]]] = field(default_factory=list)
    late: dict[Path, int] = field(default_factory=dict)  # done/ files written on: their rows
    drops: int = 0
    steps: list[str] = field(default_factory=list)
    crashes: int = 0

    def say(self, step: str) -> None:
        self.steps.append(step)

    def story(self) -> str:
        return f"seed {self.seed}, steps:\n" + "\n".join(
            f"  {n}. {s}" for n, s in enumerate(self.steps, 1)
        )


def new_world(seed: int, tmp_path: Path, sandbox: Any) -> World:
    rng = random.Random(seed)
    hold = rng.choice([0, 30, 30, 30])
    inbox = inbox_with(tmp_path, f"retry_failed_minutes: {hold}\n")
    add_big_orders(sandbox, 80)
    w = World(seed, rng, inbox, sandbox, hold)
    big = [(big_order(n), f"{big_order(n)}-{k}") for n in range(1, 81) for k in (1, 2)]
    half = [(oid(30, n), f"{oid(30, n)}-2") for n in range(2, 301, 2)]  # 2 pieces
    whole_item = [(oid(30, n), f"{oid(30, n)}-1") for n in range(2, 301, 2)]  # 1 piece
    whole_order = [(oid(30, n), f"{oid(30, n)}-1") for n in range(1, 301, 2)]  # the order
    kinds = [("big", big, BIG), ("half", half, 2), ("whole_item", whole_item, 1),
             ("whole_order", whole_order, 1)]  # fmt: skip
    for kind, items, pieces in kinds:
        rng.shuffle(items)
        w.fresh[kind] = items
        w.capacity.update(dict.fromkeys(items, pieces))
    w.say(f"retry_failed_minutes: {hold}")
    return w


def fresh_row(w: World, taken: set[Item]) -> list[str]:
    kind = w.rng.choices(["big", "half", "whole_item", "whole_order"], [6, 2, 1, 1])[0]
    if len(w.fresh[kind]) < 5:
        kind = max(w.fresh, key=lambda k: len(w.fresh[k]))
    item = w.fresh[kind].pop()
    while item in taken:
        item = w.fresh[kind].pop()
    w.home[item] = w.rng.choice(REASONS)
    quantity = w.rng.choice([1, 1, 2]) if kind == "big" else 1
    return [item[0], item[1], str(quantity), w.home[item]]


def cancel_rows(w: World, count: int) -> list[list[str]]:
    """`count` rows, one per order item: new cancels, repeats of earlier rows, bad reasons,
    another reason for an item cancelled before (another cancel, by the README)."""
    rows: list[list[str]] = []
    taken: set[Item] = set()
    while len(rows) < count:
        roll = w.rng.random()
        if roll < 0.3 and w.asked:
            o, i, q, r = w.rng.choice(w.asked)
            row = [o, i, str(q), r]
        elif roll < 0.38:
            row = fresh_row(w, taken)
            row[3] = BAD_REASON
        elif roll < 0.43 and any(w.capacity[x] == BIG for x in w.home):
            item = w.rng.choice(sorted(x for x in w.home if w.capacity[x] == BIG))
            row = [*item, "1", w.rng.choice([r for r in REASONS if r != w.home[item]])]
        else:
            row = fresh_row(w, taken)
        if (row[0], row[1]) not in taken:
            taken.add((row[0], row[1]))
            rows.append(row)
    return rows


def unwrap(cell: str) -> str:
    """An errors file writes an id `="0012"` (so Excel keeps its digits); it reads as 0012."""
    return cell[2:-1] if cell.startswith('="') and cell.endswith('"') else cell


def note_asks(w: World, rows: list[list[str]]) -> None:
    for o, i, q, r in ((unwrap(row[0]), *row[1:4]) for row in rows):
        if r in REASONS and (int(q), r) not in w.asks[(o, i)]:
            w.asks[(o, i)].add((int(q), r))
            w.asked.append((o, i, int(q), r))


def free_name(folder: Path, name: str) -> str:
    """`name`, or `name` numbered, so that a drop never overwrites a file still waiting."""
    stem, suffix = name.rsplit(".", 1)
    n = 1
    while (folder / name).exists():
        n += 1
        name = f"{stem}_{n}.{suffix}"
    return name


def put(w: World, name: str, rows: list[list[str]], header: list[str] = CANCEL) -> str:
    name = free_name(w.inbox, name)
    drop(w.inbox, name, [header, *rows])
    stamp = 1_700_000_000 + 60 * w.drops  # exported in the order dropped
    os.utime(w.inbox / name, (stamp, stamp))
    w.drops += 1
    note_asks(w, rows)
    return name


# --- steps ---


def step_drop(w: World) -> None:
    rows = cancel_rows(w, w.rng.randint(3, 30))
    name = put(w, w.rng.choice(["cancel.csv", "cancel.csv", "cancel_hourly.csv"]), rows)
    w.dropped.append((name, rows))
    w.say(f"drop {name}: {len(rows)} rows")


def step_fixed_original(w: World) -> None:
    """An earlier file, its bad reasons fixed, dropped again whole under its name."""
    if not w.dropped:
        return step_drop(w)
    name, rows = w.rng.choice(w.dropped)
    fixed = [[o, i, q, w.home.get((o, i), "6") if r == BAD_REASON else r] for o, i, q, r in rows]
    name = put(w, name, fixed)
    w.say(f"drop {name}: an earlier file with its bad reasons fixed ({len(rows)} rows)")


def step_errors_back(w: World) -> None:
    """An errors file from done/, its bad reasons fixed, the rest unchanged, dropped back."""
    found = sorted(w.inbox.glob("done/*/*.errors.csv"))
    if not found:
        return step_fixed_original(w)
    chosen = w.rng.choice(found)
    with chosen.open(encoding="utf-8-sig", newline="") as handle:
        header, *rows = list(csv.reader(handle))
    at = header.index("reasonCode")
    for row in rows:
        if row[at] == BAD_REASON:
            row[at] = w.home.get((unwrap(row[0]), row[1]), "6")
    name = put(w, chosen.name, rows, header)
    w.say(f"drop {name}: {chosen.name} with its bad reasons fixed ({len(rows)} rows)")


def waiting(w: World) -> list[Path]:
    processing = w.inbox / "processing"
    return sorted(p for p in processing.iterdir() if p.is_file()) if processing.is_dir() else []


def step_append(w: World) -> None:
    """The export writes on into a file waiting in processing/."""
    files = waiting(w)
    if not files:
        return step_drop(w)
    path = w.rng.choice(files)
    with path.open(encoding="utf-8-sig", newline="") as handle:
        present = {(unwrap(r[0]), r[1]) for r in csv.reader(handle) if r}
    rows = [r for r in cancel_rows(w, w.rng.randint(1, 3)) if (r[0], r[1]) not in present]
    if w.rng.random() < 0.3 and present:  # a row for an order the file has already
        order = w.rng.choice(sorted(o for o, _ in present if o.startswith("41")) or [""])
        if order and (order, f"{order}-1") not in present:
            rows.append([order, f"{order}-1", "1", w.home.setdefault((order, f"{order}-1"), "6")])
        elif order and (order, f"{order}-2") not in present:
            rows.append([order, f"{order}-2", "1", w.home.setdefault((order, f"{order}-2"), "6")])
    with path.open("a", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows(rows)
    note_asks(w, rows)
    w.say(f"append {len(rows)} rows to processing/{path.name}")


def row_to_fix(path: Path) -> tuple[list[str], list[list[str]], list[str], int, bool] | None:
    """A waiting cancel file's (header, rows, the row to fix, reason column, whether that row
    has a bad reason): its first bad reason, else its last row; None for no such file."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        header, *rows = list(csv.reader(handle))
    if not rows or "reasonCode" not in header:
        return None
    at = header.index("reasonCode")
    bad = [row for row in rows if row[at] == BAD_REASON]
    return header, rows, bad[0] if bad else rows[-1], at, bool(bad)


def step_edit(w: World) -> None:
    """Someone fixes the file waiting in processing/: a bad reason, or else the last row's."""
    files = waiting(w)
    if not files:
        return step_drop(w)
    path = w.rng.choice(files)
    found = row_to_fix(path)
    if found is None:
        return None
    header, rows, row, at, bad = found
    item = (unwrap(row[0]), row[1])
    row[at] = w.home.get(item, "6") if bad else w.rng.choice([r for r in REASONS if r != row[at]])
    drop(w.inbox / "processing", path.name, [header, *rows])
    note_asks(w, [row])
    w.say(f"edit processing/{path.name}: row {row[:4]}")
    return None


def step_write_late(w: World) -> None:
    """The export writes on into a file already filed in done/ (a pause longer than the
    whole processing): a copy goes back into the inbox and is taken whole."""
    filed = [
        summary.parent / json.loads(summary.read_text(encoding="utf-8"))["input"]
        for summary in sorted(w.inbox.glob("done/*/*.summary.json"))
    ]
    filed = [path for path in filed if path not in w.late and ".errors" not in path.name]
    if not filed:
        return step_drop(w)
    path = w.rng.choice(filed)
    with path.open(encoding="utf-8-sig", newline="") as handle:
        present = {(unwrap(r[0]), r[1]) for r in csv.reader(handle) if r}
    rows = [r for r in cancel_rows(w, w.rng.randint(1, 3)) if (r[0], r[1]) not in present]
    if not rows:
        return None
    w.late[path] = len(present) - 1
    with path.open("a", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows(rows)
    note_asks(w, rows)
    w.say(f"append {len(rows)} rows to {path.parent.parent.name}/{path.name} (late)")
    return None


def step_age(w: World) -> None:
    """31 minutes pass for files held since Konnect took part of them."""
    journal = w.inbox / ".konnect-etl" / "journal.sqlite3"
    if not journal.is_file():
        return
    stamp = (datetime.now(UTC) - timedelta(minutes=31)).isoformat()
    with sqlite3.connect(journal) as db:
        db.execute("UPDATE attempts SET held_since = ? WHERE held_since IS NOT NULL", (stamp,))
    w.say("31 minutes pass")


@dataclass
class Faults:
    """One run's faults: the emulator's dice, and what `KonnectClient` is made to meet."""

    error_rate: float = 0.0
    drop_rate: float = 0.0
    fault_seed: int = 0
    lost: float = 0.0  # sent, never arrived, no answer (OutcomeUnknown; nothing applied)
    applied_lost: float = 0.0  # applied, the answer lost
    busy: float = 0.0  # 503 before it arrived
    slow_down: float = 0.0  # 429 (Retry-After 0)
    refuse_token_at: int = 0  # the n-th request meets a refused token
    lookups_fail: float = 0.0
    dice: int = 0

    def __str__(self) -> str:
        shown = {k: v for k, v in vars(self).items() if v and k not in ("dice", "fault_seed")}
        if self.error_rate or self.drop_rate:
            shown["fault_seed"] = self.fault_seed
        return " ".join(f"{k}={v}" for k, v in shown.items()) or "no faults"


def random_faults(rng: random.Random) -> Faults:
    kind = rng.choice(
        ["none", "emulator", "emulator", "client", "token", "lookups", "mixed", "down"]
    )
    f = Faults(fault_seed=rng.randrange(10_000), dice=rng.randrange(10_000))
    if kind in ("emulator", "mixed"):
        f.error_rate, f.drop_rate = rng.choice([0, 0.3, 0.5]), rng.choice([0, 0.3, 0.6])
    if kind in ("client", "mixed"):
        f.lost, f.applied_lost = rng.choice([0, 0.2]), rng.choice([0, 0.2, 0.4])
        f.busy, f.slow_down = rng.choice([0, 0.3]), rng.choice([0, 0.1])
    if kind in ("token", "mixed") or rng.random() < 0.15:
        f.refuse_token_at = rng.randint(1, 4)
    if kind == "down":  # Konnect answers nothing at all (5xx), looks-ups included
        f.error_rate = 1.0
    if kind == "lookups":
        f.drop_rate, f.lookups_fail = rng.choice([0.3, 0.6]), rng.choice([0.3, 0.6, 1.0])
    return f


def inject(patch: pytest.MonkeyPatch, faults: Faults) -> None:
    """`KonnectClient.send` / `get_json` meet `faults` (dice in call order: one request at a
    time, `concurrency: 1`, so a seed gives the same faults each time)."""
    dice = random.Random(faults.dice)
    real_send, real_get = etl.client.KonnectClient.send, etl.client.KonnectClient.get_json
    calls = [0]

    async def send(self: Any, endpoint: Any, body: bytes) -> Any:
        calls[0] += 1
        if calls[0] == faults.refuse_token_at:
            raise CredentialsError("Konnect refused the access token (HTTP 401)")
        roll = dice.random()
        if roll < faults.lost:
            raise OutcomeUnknown("no answer from Konnect (connection dropped)")
        if roll < faults.lost + faults.busy:
            raise TransientError("Konnect answered HTTP 503")
        if roll < faults.lost + faults.busy + faults.slow_down:
            raise RateLimited("Konnect asked us to slow down (HTTP 429, wait 0 s)", 0.0)
        answer = await real_send(self, endpoint, body)
        if dice.random() < faults.applied_lost:
            raise OutcomeUnknown("no answer from Konnect (connection dropped)")
        return answer

    async def get_json(self: Any, path: str, params: Any = None, *args: Any, **kw: Any) -> Any:
        if dice.random() < faults.lookups_fail:
            raise TransientError("Konnect answered HTTP 503")
        return await real_get(self, path, params, *args, **kw)

    patch.setattr(etl.client.KonnectClient, "send", send)
    patch.setattr(etl.client.KonnectClient, "get_json", get_json)


def step_run(w: World, faults: Faults | None = None, who: str = "") -> None:
    faults = faults if faults is not None else random_faults(w.rng)
    w.sandbox.faults(
        error_rate=faults.error_rate, drop_rate=faults.drop_rate, fault_seed=faults.fault_seed
    )
    try:
        with pytest.MonkeyPatch.context() as patch:
            inject(patch, faults)
            done = run(w.inbox, w.sandbox)
    finally:
        w.sandbox.faults(error_rate=0.0, drop_rate=0.0)
    w.say(f"run {who + ' ' if who else ''}[{faults}] -> exit {done.exit_code}")


CRASHING_RUN = """
import os, sys
import etl.client, etl.retry
from etl.cli import app

at, after = int(sys.argv[2]), sys.argv[3] == "after"
real_send, calls = etl.client.KonnectClient.send, [0]

async def send(self, endpoint, body):
    calls[0] += 1
    if calls[0] == at:
        if after:
            await real_send(self, endpoint, body)
        os._exit(137)
    return await real_send(self, endpoint, body)

etl.client.KonnectClient.send = send
etl.retry.RetryPolicy.backoff = lambda self, failures, rng: 0.0
sys.argv = ["konnect-etl", "run", sys.argv[1], "--settle", "0"]
app()
"""


def step_crash(w: World) -> None:
    """`run` in a process of its own, killed (os._exit) at its n-th request: right after
    Konnect applied it, or just before it went (marked in flight)."""
    at, when = w.rng.choice([1, 1, 2]), w.rng.choice(["after", "after", "before"])
    env = {**os.environ, "KONNECT_BASE_URL": w.sandbox.url, "KONNECT_TOKEN": w.sandbox.token,
           "PYTHONPATH": str(REPO)}  # fmt: skip
    command = [sys.executable, "-c", CRASHING_RUN, str(w.inbox), str(at), when]
    done = subprocess.run(command, env=env, capture_output=True, timeout=60, check=False)
    w.crashes += 1
    w.say(f"crash at request {at}, {when} it is applied -> exit {done.returncode}")


def step_other_process(w: World) -> None:
    """A cron `run` while a watcher has the files waiting in processing/ (their locks held):
    it takes the newer files from the inbox; as this version (it stops behind a file that
    waits part-sent) or, as during an upgrade, as the previous one (it sends them)."""
    files = waiting(w)
    older = w.rng.random() < 0.5
    with ExitStack() as held:
        for path in files:
            assert held.enter_context(Inbox(w.inbox).lock(path.name))
        if older:
            held.enter_context(as_the_previous_version())
        who = f"by another process{' of the previous version' if older else ''}"
        step_run(w, random_faults(w.rng), f"{who} ({len(files)} locked)")


def step_copy_of_waiting(w: World) -> None:
    """A copy of a file waiting in processing/, fixed (a bad reason, else the last row's
    reason changed: another cancel), dropped into the inbox."""
    files = waiting(w)
    if not files:
        return step_fixed_original(w)
    path = w.rng.choice(files)
    found = row_to_fix(path)
    if found is None:
        return None
    header, rows, row, at, bad = found
    row[at] = w.home.get((unwrap(row[0]), row[1]), "6") if bad else "9" if row[at] != "9" else "8"
    name = put(w, f"{path.stem}_fixed.csv", rows, header)
    w.say(f"drop {name}: a copy of processing/{path.name}, row {row[:4]} fixed")
    return None


# (step, weight) while no file waits in processing/, and while one does
CALM: list[tuple[Callable[[World], None], int]] = [
    (step_drop, 4),
    (step_run, 6),
    (step_errors_back, 2),
    (step_fixed_original, 1),
    (step_write_late, 1),
]
WAITING: list[tuple[Callable[[World], None], int]] = [
    (step_run, 5),
    (step_append, 3),
    (step_edit, 2),
    (step_copy_of_waiting, 2),
    (step_other_process, 2),
    (step_drop, 1),
    (step_age, 1),
]


def next_step(w: World) -> Callable[[World], None]:
    table = WAITING if waiting(w) else CALM
    kinds, weights = zip(*table, strict=True)
    step: Callable[[World], None] = w.rng.choices(kinds, weights)[0]
    pending = waiting(w) or list(w.inbox.glob("*.csv"))
    if step is step_run and pending and w.crashes < MAX_CRASHES and w.rng.random() < CRASH_SHARE:
        return step_crash
    return step


# --- the invariants ---


def cancelled_now(w: World) -> dict[Item, int]:
    orders = w.sandbox.state()["orders"]
    wanted = sorted({o for o, _ in w.capacity})
    return {
        (o, str(i["orderItemId"])): int(i["cancelledQuantity"])
        for o in wanted
        for i in orders[o]["items"]
    }


def result_rows(w: World) -> list[tuple[Path, dict[str, str]]]:
    """Every row of every result file in done/ (orderId... and the report's status)."""
    rows = []
    for path in sorted(w.inbox.glob("done/*/*.result.csv")):
        with path.open(encoding="utf-8-sig", newline="") as handle:
            header, *lines = list(csv.reader(handle))
        status = len(header) - 1 - header[::-1].index("status")
        names = ["orderId", "orderItemId", "quantity", "reasonCode"]
        at = {n: header.index(n) for n in names}
        for line in lines:
            row = {n: line[at[n]] for n in names}
            rows.append((path, row | {"status": line[status], "message": line[status + 1]}))
    return rows


def check(w: World) -> Counter[str]:
    """Invariants 1 to 3 as things stand; the rows' statuses counted (invariant 4)."""
    cancelled = cancelled_now(w)
    for item, pieces in cancelled.items():  # 1: never more than the distinct rows asked
        asked = sum(q for q, _ in w.asks.get(item, ()))
        assert pieces <= asked, (
            f"invariant 1: {item[1]} has {pieces} pieces cancelled, the distinct cancel rows "
            f"asked for {asked}: {sorted(w.asks.get(item, ()))}"
        )
    statuses: Counter[str] = Counter()
    ok: dict[Item, dict[tuple[int, str], str]] = defaultdict(dict)
    for path, row in result_rows(w):
        statuses[row["status"]] += 1
        if row["status"] == "ok":
            item = (unwrap(row["orderId"]), row["orderItemId"])
            ok[item][(int(row["quantity"]), row["reasonCode"])] = f"{path.name}: {row}"
    for item, cancels in sorted(ok.items()):  # 2: an ok row's cancel is in Konnect's state
        said, pieces = sum(q for q, _ in cancels), cancelled.get(item, 0)
        # an item wholly cancelled is where any cancel of it leads ("already applied")
        assert said <= pieces or pieces == w.capacity[item], (
            f"invariant 2: {item[1]} has {cancelled.get(item, 0)} pieces cancelled, but rows "
            f"reported ok add up to {said}: {list(cancels.values())}"
        )
    accounted = files_accounted(w)
    # a file written on in done/ comes back as a copy once a run gets that far
    assert w.drops <= accounted <= w.drops + len(w.late), (
        f"invariant 3: {w.drops} files dropped ({len(w.late)} written on in done/ since), "
        f"{accounted} found"
    )
    return statuses


def files_accounted(w: World) -> int:
    """Inputs in the inbox, waiting in processing/, or beside their summary (and, in done/,
    with a result row per data row)."""
    inbox = w.inbox
    count = sum(1 for p in inbox.iterdir() if p.is_file() and p.suffix == ".csv")
    count += len(waiting(w))
    for summary in inbox.glob("*/*/*.summary.json"):
        name = json.loads(summary.read_text(encoding="utf-8"))["input"]
        path = summary.parent / name
        assert path.is_file(), f"invariant 3: {summary} names {name}, which is not there"
        count += 1
        result = summary.parent / f"{Path(name).stem}.result.csv"
        if summary.parent.parent.name == "done" and result.is_file():
            with path.open(encoding="utf-8-sig", newline="") as handle:
                data = sum(1 for row in csv.reader(handle) if any(row)) - 1
            data = w.late.get(path, data)  # the rows it had when processed
            with result.open(encoding="utf-8-sig", newline="") as handle:
                reported = sum(1 for _ in csv.reader(handle)) - 1
            assert reported == data, f"invariant 3: {name} has {data} rows, {reported} reported"
    return count


def settle(w: World) -> Counter[str]:
    """Faults cleared: a few runs (time passing before the last) settle every file."""
    for attempt in range(4):
        if attempt and not waiting(w) and not any(w.inbox.glob("*.csv")):
            break
        if attempt == 3:
            step_age(w)
        step_run(w, Faults())
        check(w)
    left = [p.name for p in waiting(w)] + [p.name for p in w.inbox.glob("*.csv")]
    assert not left, f"invariant 3: not settled after the faults were cleared: {left}"
    accounted = files_accounted(w)
    assert accounted == w.drops + len(w.late), (
        f"invariant 3: {w.drops} files dropped and {len(w.late)} written on in done/, "
        f"{accounted} found"
    )
    return check(w)


def play(seed: int, tmp_path: Path, sandbox: Any) -> Counter[str]:
    w = new_world(seed, tmp_path, sandbox)
    try:
        step_drop(w)
        for _ in range(STEPS):
            next_step(w)(w)
            check(w)
        statuses = settle(w)
    except AssertionError as failure:
        raise AssertionError(f"{failure}\n{w.story()}") from None
    print(f"\nseed {seed}: {dict(statuses)}; {w.drops} files\n{w.story()}")
    return statuses


@pytest.mark.parametrize("seed", SEEDS, ids=[f"seed-{s}" for s in SEEDS])
def test_cancels_under_random_faults_are_never_applied_twice(
    seed: int, tmp_path: Path, sandbox: Any
) -> None:
    statuses = play(seed, tmp_path, sandbox)
    assert sum(statuses.values()) > 0  # rows were reported


# --- the defect the random runs found (seeds 20, 32, 40, 53 and 59 of 0-59, as steps were then
# drawn, broke invariant 1:
# a kill right after an applied request, then the leftover edited, or a copy taken by another
# process, cancelled second pieces); fixed by writing each request's cancels ahead as maybe
# applied (etl.repeats.expect). Minimal reproductions: ---


def killed_after_the_first_request(inbox: Path, sandbox: Any) -> None:
    """A `run` process killed right after Konnect applied its first request (20 cancels)."""
    env = {**os.environ, "KONNECT_BASE_URL": sandbox.url, "KONNECT_TOKEN": sandbox.token,
           "PYTHONPATH": str(REPO)}  # fmt: skip
    command = [sys.executable, "-c", CRASHING_RUN, str(inbox), "1", "after"]
    subprocess.run(command, env=env, capture_output=True, timeout=60, check=False)
    assert (inbox / "processing" / "cancel.csv").is_file()


def second_pieces(sandbox: Any, orders: list[str]) -> list[str]:
    items = {o: sandbox.state()["orders"][o]["items"] for o in orders}
    return [o for o in orders if {i["orderItemId"]: i for i in items[o]}[f"{o}-2"]
            ["cancelledQuantity"] > 1]  # fmt: skip


def test_a_killed_cancel_file_edited_in_processing_cancels_no_piece_twice(
    tmp_path: Path, sandbox: Any
) -> None:
    """40 partial cancels (1 of 2 pieces), two requests; the run is killed right after
    Konnect applied the first. Someone fixes the last row's reason in processing/cancel.csv
    before the next run (as README invites for a waiting file: "a file edited there starts
    over"). The next run must not cancel a second piece of the first 20 items."""
    inbox = inbox_with(tmp_path)
    orders, rows = forty_partial_cancels(inbox)
    killed_after_the_first_request(inbox, sandbox)
    fixed = [*rows[:-1], [orders[-1], f"{orders[-1]}-2", "1", "9"]]  # another reason: fixed
    drop(inbox / "processing", "cancel.csv", fixed)
    run(inbox, sandbox)
    assert second_pieces(sandbox, orders) == []


def test_a_copy_taken_while_a_killed_cancel_file_waits_cancels_no_piece_twice(
    tmp_path: Path, sandbox: Any
) -> None:
    """The same kill; a fixed copy is dropped, and a cron `run` of the previous version takes
    it while the watcher that resumes processing/cancel.csv holds it (as in
    test_holdover_cancels; this version's run waits behind it). A file that stops part-way
    for any other reason has its cancels remembered when it stops."""
    inbox = inbox_with(tmp_path)
    orders, rows = forty_partial_cancels(inbox)
    killed_after_the_first_request(inbox, sandbox)
    drop(inbox, "cancel_fixed.csv", [*rows[:-1], [orders[-1], f"{orders[-1]}-2", "1", "9"]])
    with Inbox(inbox).lock("cancel.csv") as mine, as_the_previous_version():
        assert mine
        run(inbox, sandbox)
    run(inbox, sandbox)  # the leftover resumed
    assert second_pieces(sandbox, orders[:-1]) == []  # the last: two reasons, two asked
