"""Faults of months unattended (an operations review): a file deleted from processing/ while
it was sent, and a journal damaged under an idle watcher. Real processes, the real emulator."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from runs import run_process, start_and_wait_for_claim
from watchproc import done_dir, start_watch, stop, wait_for

STOCK = "location_id,sku,quantity\n" + "".join(f"DEL-WH-01,SKU-{i:05d},7\n" for i in range(3000))


@pytest.mark.parametrize("feed", ["stock", "confirm"])
def test_a_file_deleted_from_processing_while_it_is_sent_still_gets_its_reports(
    tmp_path: Path, sandbox: Any, feed: str
) -> None:
    """Konnect applied every row, and nothing said so: no reports, a false 'files wait for
    the next run' (exit 2), and the next run OK. The reports are written, the run ends."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    if feed == "stock":
        sandbox.faults(catalogue="open", latency_ms=300)
        (inbox / "stock.csv").write_text(STOCK)
    else:
        sandbox.faults(latency_ms=300)
        oids = [f"30{n:018d}" for n in range(1, 41)]  # placed: may be confirmed
        lines = [f"{oid},{oid}-1,1" for oid in oids]
        (inbox / "confirm.csv").write_text("orderId,orderItemId,quantity\n" + "\n".join(lines))
    name = f"{feed}.csv"
    process = start_and_wait_for_claim(inbox, sandbox, name)
    wait_for(lambda: len(sandbox.ledger()) > 0, 30, "the first request applied")
    (inbox / "processing" / name).unlink()
    assert process.wait(60) in (0, 1)
    summary = json.loads((done_dir(inbox) / f"{feed}.summary.json").read_text())
    assert summary["rows"]["ok"] == summary["rows"]["total"] > 0
    assert not (done_dir(inbox) / name).exists()  # the file itself is gone: nothing to move
    command, env = run_process(inbox, sandbox)
    again = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    assert again.returncode == 0, again.stderr


def test_a_damaged_journal_under_an_idle_watcher_is_said_once_with_what_to_do(
    tmp_path: Path, sandbox: Any
) -> None:
    """It logged a bare 'file is not a database' at every pass (89 in 3 minutes) and
    `status` said OK until a file came."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    command, env = run_process(inbox, sandbox)
    subprocess.run(command, env=env, check=True, capture_output=True, timeout=60)
    journal = inbox / ".konnect-etl" / "journal.sqlite3"
    assert journal.is_file()
    process = start_watch(inbox, sandbox)
    try:
        wait_for((inbox / ".konnect-etl" / "status.json").is_file, 30, "the first heartbeat")
        for extra in ("-wal", "-shm"):
            Path(f"{journal}{extra}").unlink(missing_ok=True)
        journal.write_bytes(b"not a database, a share's half-written block" * 100)

        def said() -> str:
            status = json.loads((inbox / ".konnect-etl" / "status.json").read_text())
            return str((status.get("last_error") or {}).get("message", ""))

        wait_for(lambda: "is damaged" in said(), 30, "the watcher's error")
        assert "Move it aside (with its -wal and -shm files)" in said()
        wait_for(lambda: _logged(inbox).count("is damaged") >= 3, 30, "three failed passes")
    finally:
        stop(process)
    logged = _logged(inbox)
    assert "could not be looked at for rows written late" not in logged
    # failures 1, 2 and 4 in a row are logged, not every pass (0.5 s polls, backing off)
    assert logged.count("is damaged") < 8


def _logged(inbox: Path) -> str:
    return "".join(
        p.read_text(encoding="utf-8") for p in (inbox / ".konnect-etl" / "logs").glob("*.log")
    )
