"""The watcher after an outage: what it logs while failing, and when it says it works again.

In-process passes (`etl.watch._one_pass`) over a real inbox, journal and emulator.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from watchproc import wait_for

from etl import watch
from etl.clientsettings import ClientSettings
from etl.config import Settings
from etl.errors import ConfigError
from etl.health import Heartbeat, read_status, verdict
from etl.job import FileResult, Job
from etl.journal import Journal
from etl.runner import RunOptions
from etl.session import all_mappings
from etl.stopping import StopRequest

STOCK = "location_id,sku,quantity\nDEL-WH-01,TS-BLK-M,{}\n"


def state_of(inbox: Path) -> dict[str, Any]:
    return read_status(inbox) or {}


def watcher_of(inbox: Path, sandbox: Any, on_file: Any = None) -> watch.Watcher:
    client = ClientSettings(sandbox.url, token=sandbox.token, retries=0)
    mappings = all_mappings(Settings())

    @contextmanager
    def open_job() -> Iterator[Job]:
        journal = Journal(inbox / ".konnect-etl" / "journal.sqlite3")
        try:
            yield Job(mappings, client, journal)
        finally:
            journal.close()

    run = RunOptions(settle_seconds=0, on_file=on_file)
    options = watch.WatchOptions(run=run, poll_seconds=0.2, events=False)
    beat = Heartbeat(inbox, poll_seconds=0.2, mode="polling", started=time.time())
    return watch.Watcher(inbox, open_job, options, StopRequest(), beat)


def test_a_fault_that_says_something_new_is_logged_whatever_its_place_in_a_row(
    tmp_path: Path, sandbox: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """Repeats are logged the 1st, 2nd, 4th... time; a new message at once (a file held
    after the outage must not wait for the 8th failure to be said)."""
    watcher = watcher_of(tmp_path, sandbox)
    caplog.set_level(logging.ERROR, "etl.watch")
    for message in ["Konnect down"] * 3 + ["stock.csv: held until 17:19"] + ["Konnect down"]:
        watcher.fault(ConfigError(message))
    logged = [r.getMessage().split(";")[0] for r in caplog.records]
    assert logged == ["Konnect down", "Konnect down", "stock.csv: held until 17:19",
                      "Konnect down"]  # fmt: skip


def test_the_watcher_works_again_as_soon_as_a_file_goes_through_not_after_the_backlog(
    tmp_path: Path, sandbox: Any, caplog: pytest.LogCaptureFixture
) -> None:
    seen: list[tuple[str, float | None, int]] = []

    def on_file(file: FileResult) -> None:  # what `status` would read as each file is filed
        seen.append((file.summary["input"], watcher.heartbeat.failing_since,
                     watcher.backoff.failures))  # fmt: skip

    watcher = watcher_of(tmp_path, sandbox, on_file)
    sandbox.faults(catalogue="open", error_rate=1.0, faults_on="all")
    (tmp_path / "a-stock.csv").write_text(STOCK.format(1))
    for _ in range(2):
        watch._one_pass(watcher)  # Konnect answers 5xx only: the file waits in processing/
    assert watcher.heartbeat.failing_since is not None and watcher.backoff.failures == 2
    assert not seen
    sandbox.faults(error_rate=0.0)
    (tmp_path / "b-stock.csv").write_text(STOCK.format(2))
    caplog.set_level(logging.WARNING, "etl.watch")
    watch._one_pass(watcher)
    assert [(name, since, failures) for name, since, failures in seen] == [
        ("a-stock.csv", None, 0),  # working again from the first file filed
        ("b-stock.csv", None, 0),
    ]
    again = [r.getMessage() for r in caplog.records if "working again" in r.getMessage()]
    assert len(again) == 1 and "after 2 failed passes" in again[0]


def test_a_watcher_asked_to_stop_mid_file_says_stopping_until_it_has_stopped(
    tmp_path: Path, sandbox: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SIGTERM during a slow upload: the file is finished first, which may take minutes;
    `status` says so meanwhile instead of "watching"."""
    monkeypatch.setattr(watch, "BUSY_BEAT_SECONDS", 0.1)
    sandbox.faults(catalogue="open", latency_ms=250)
    (tmp_path / "konnect-etl.yaml").write_text("concurrency: 1\n")
    rows = "".join(f"DEL-WH-01,SKU-{n},{n}\n" for n in range(10_000))  # 20 requests: 5 s
    (tmp_path / "stock.csv").write_text("location_id,sku,quantity\n" + rows)
    watcher = watcher_of(tmp_path, sandbox)
    loop = threading.Thread(target=watch.watch_inbox, args=(watcher,))
    loop.start()
    try:
        wait_for(lambda: bool(state_of(tmp_path).get("files_in_flight")), 30, "the upload")
        watcher.stop.request("SIGTERM")
        wait_for(lambda: state_of(tmp_path).get("state") == "stopping", 10, "stopping")
        alive, said = verdict(state_of(tmp_path), time.time())
        assert alive and said.startswith("stopping: asked to stop, it finishes stock.csv first")
    finally:
        loop.join(60)
    assert state_of(tmp_path)["state"] == "stopped"
    assert list((tmp_path / "done").rglob("stock.csv"))  # the file was finished


def test_the_lease_s_stop_request_never_raises() -> None:
    """Another machine taking the inbox over asks the process to finish the file in progress
    (from the lease's thread): after a SIGTERM it neither raises nor stops at once; a signal
    after it is a second request, as after any first one, and stops at once."""
    from etl.stopping import StopNow

    first = StopRequest()
    first.request("SIGTERM")
    first.finish_then_stop("another machine took this inbox over")  # no StopNow here
    later = StopRequest()
    later.finish_then_stop("another machine took this inbox over")
    later.finish_then_stop("another machine took this inbox over")
    assert first.requested and later.requested
    with pytest.raises(StopNow):
        later.request("SIGTERM")
