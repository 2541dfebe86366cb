"""When the watcher's pulls run, and what `status` says when they do not: rounds keep their
interval while a slow pass works through an inbox backlog, pulls overdue are a problem, a
full outbox disk is named as such.

Time is compressed: the watcher runs as `tests/fastpulls.py` (pull intervals down to half a
second), Konnect's order listing is `FakeKonnect` (answered at once) and the stock uploads
go on to the emulator, made slow by its latency fault.
"""

from __future__ import annotations

import errno
import sqlite3
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from test_watch_pull_health import fake_konnect, status_cli
from watchproc import FAST_PULLS, done_dir, wait_for, watching

from etl.clientsettings import ClientSettings
from etl.config import Settings
from etl.health import Heartbeat, read_status, status_path, verdict
from etl.pullhealth import PULL_OVERDUE_SECONDS, PullHealth
from etl.pullrequest import PullRequest
from etl.pullschedule import PullSchedule

FILES = 8


def test_pull_rounds_keep_their_interval_while_a_slow_pass_takes_a_backlog(
    tmp_path: Path, sandbox: Any
) -> None:
    """The reviewer's starvation: Konnect answering stock uploads in 0.6 s and 8 files
    waiting. Before, no round started until the whole pass had ended."""
    sandbox.faults(catalogue="open", latency_ms=600)
    inbox, out = tmp_path / "inbox", tmp_path / "outbox"
    inbox.mkdir()
    for n in range(FILES):
        (inbox / f"stock_{n}.csv").write_text(f"location_id,sku,quantity\nDEL-WH-01,BK-{n},{n}\n")
    asked: list[float] = []
    with fake_konnect(sandbox.url) as konnect:
        konnect.orders = lambda query: (asked.append(time.monotonic()), (200, []))[1]
        konnect_ = SimpleNamespace(url=konnect.url, token=sandbox.token)
        options = ("--pull-out", str(out), "--pull-every", "1s")
        with watching(inbox, konnect_, *options, settle=0.2, program=FAST_PULLS):
            wait_for(lambda: bool((read_status(inbox) or {}).get("files_in_flight")), 15,
                     "the pass to start")  # fmt: skip
            began = time.monotonic()
            wait_for(lambda: len(list(done_dir(inbox).glob("*.summary.json"))) == FILES, 30,
                     "the backlog to be taken")  # fmt: skip
            ended = time.monotonic()
    during = [t for t in asked if began <= t <= ended]
    assert ended - began > 4, "the pass was too quick to tell: raise the latency"
    assert len(during) >= (ended - began) / 2, (ended - began, during)
    gaps = [b - a for a, b in zip([began, *during], [*during, ended], strict=True)]
    assert max(gaps) < 3, gaps


def judged(tmp_path: Path, pulls: dict[str, Any], now: float) -> tuple[bool, str]:
    beat = Heartbeat(tmp_path, poll_seconds=10, mode="polling", started=now - 7200)
    status_path(tmp_path).parent.mkdir(exist_ok=True)
    status_path(tmp_path).write_bytes(b"{}")
    return verdict({**beat.document(now), "pulls": pulls}, now)


def test_pulls_overdue_are_a_problem(tmp_path: Path) -> None:
    """No round ended for 3 intervals (at least 10 min) while none runs: rounds do not
    start, whatever the reason; `status` says since when."""
    health = PullHealth()
    health.round_started(tmp_path / "out", 300.0, ["CREATED"], 1000.0)
    health.round_ended([], 1010.0)
    pulls = health.document()
    assert pulls["overdue_after_seconds"] == 900.0  # 3 x 5 min
    assert judged(tmp_path, pulls, 1010.0 + 900)[0]
    alive, said = judged(tmp_path, pulls, 1010.0 + 960)
    assert not alive, said
    assert f"the pulls into {tmp_path / 'out'} are overdue" in said
    assert "the last round ended 16 min ago (1970-01-01T00:16:50+00:00)" in said
    assert "one is due every 5 min (limit 15 min)" in said

    health.round_started(tmp_path / "out", 60.0, ["CREATED"], 2000.0)  # every minute
    assert health.document()["overdue_after_seconds"] == PULL_OVERDUE_SECONDS
    assert judged(tmp_path, health.document(), 2000.0 + 3000)[0]  # a round runs: not overdue
    health.round_ended([], 2010.0)
    assert judged(tmp_path, health.document(), 2010.0 + 590)[0]
    assert not judged(tmp_path, health.document(), 2010.0 + 610)[0]


def test_status_cli_says_the_pulls_are_overdue(tmp_path: Path) -> None:
    now = time.time()
    health = PullHealth()
    health.round_started(tmp_path / "out", 60.0, ["CREATED"], now - 1300)
    health.round_ended([], now - 1200)
    beat = Heartbeat(tmp_path, poll_seconds=10, mode="polling", started=now - 7200, pulls=health)
    beat.write(now)
    code, said = status_cli(tmp_path)
    assert code == 1 and "are overdue: the last round ended 20 min ago" in said, said


def disk_io_error() -> sqlite3.OperationalError:
    """What SQLite raises when its journal cannot grow on a full disk."""
    exc = sqlite3.OperationalError("disk I/O error")
    exc.sqlite_errorcode = sqlite3.SQLITE_IOERR_WRITE  # type: ignore[attr-defined]
    return exc


@pytest.mark.parametrize(
    "fault",
    [lambda: OSError(errno.ENOSPC, "No space left on device"), disk_io_error],
    ids=["ENOSPC", "sqlite-disk-io-error"],
)
def test_a_pull_failing_on_a_full_outbox_disk_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fault: Any
) -> None:
    """Not just "disk I/O error", which reads as failing hardware."""

    def full(*args: Any) -> None:
        raise fault()

    monkeypatch.setattr("etl.pullschedule.pull_once", full)
    monkeypatch.setattr("etl.hostfaults.shutil.disk_usage", lambda root: SimpleNamespace(free=4096))
    out = tmp_path / "outbox"
    connection = ClientSettings(base_url="http://127.0.0.1:9", token="t")
    health = PullHealth()
    PullSchedule(Settings(), connection, [PullRequest("CREATED", out)], 60).run_due(health)
    said = (health.last_error or {})["message"]
    assert f"failed: cannot work in the outbox {out}: " in said
    assert "(the disk is full: free some space there)" in said
    assert said.endswith(f"; nothing was written to {out}")
