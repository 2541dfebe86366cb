"""A file whose exact content was processed before: stock/price again, order feeds never."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import date, datetime
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from etl.cli import app

ROOT = Path(__file__).resolve().parent.parent
TODAY = date.today().isoformat()


def run(inbox: Path, sandbox: Any) -> int:
    env = {"KONNECT_TOKEN": sandbox.token, "KONNECT_BASE_URL": sandbox.url}
    result = CliRunner().invoke(app, ["run", str(inbox), "--settle", "0"], env=env)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code


def read_json(path: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(path.read_text())
    return loaded


def pack_requests(sandbox: Any) -> int:
    return sum(1 for e in sandbox.ledger() if e["path"].endswith("/pack"))


def packed_once(tmp_path: Path, sandbox: Any) -> tuple[Path, int]:
    """An inbox whose example pack file went through; the pack requests that took."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    shutil.copy(ROOT / "inbox_example" / "pack_list.csv", inbox)
    run(inbox, sandbox)
    sent = pack_requests(sandbox)
    assert sent > 0
    return inbox, sent


def test_an_order_file_dropped_twice_goes_to_duplicates_and_is_not_sent(
    tmp_path: Path, sandbox: Any
) -> None:
    inbox, sent = packed_once(tmp_path, sandbox)
    shutil.copy(ROOT / "inbox_example" / "pack_list.csv", inbox)  # the same file again
    assert run(inbox, sandbox) == 1
    assert pack_requests(sandbox) == sent  # nothing sent the second time
    summary = read_json(inbox / "duplicates" / TODAY / "pack_list.summary.json")
    assert (inbox / "duplicates" / TODAY / "pack_list.csv").is_file()
    assert summary["outcome"] == "duplicate" and summary["feed"] == "pack"
    original = summary["duplicate_of"]
    assert original["input"] == "pack_list.csv"
    assert original["summary"].endswith(f"done/{TODAY}/pack_list.summary.json")
    assert "same content as 'pack_list.csv'" in summary["file_errors"][0]
    # the time as people here read it (27 Nov 2026 07:00), not the journal's UTC stamp
    local = datetime.fromisoformat(original["processed_at"]).astimezone()
    assert f"processed at {local:%d %b %Y %H:%M} (its report" in summary["file_errors"][0]
    assert not (inbox / "done" / TODAY / "pack_list-2.csv").exists()


def test_an_order_file_stopped_between_its_reports_and_its_move_is_moved_not_duplicated(
    tmp_path: Path, sandbox: Any
) -> None:
    inbox, sent = packed_once(tmp_path, sandbox)
    done = inbox / "done" / TODAY
    # the crash window: reports written and the journal says done, the input not yet moved
    (done / "pack_list.csv").rename(inbox / "processing" / "pack_list.csv")
    assert run(inbox, sandbox) == 1  # the example's deliberate mistakes, as the first time
    assert pack_requests(sandbox) == sent  # nothing sent again
    assert (done / "pack_list.csv").is_file()
    assert not (inbox / "duplicates").exists()
    assert not list((inbox / "processing").iterdir())


def test_a_stock_file_stopped_between_its_reports_and_its_move_is_moved_not_sent_again(
    tmp_path: Path, sandbox: Any
) -> None:
    """Stock files are sent again when dropped again; this very file, stopped by a kill after
    the journal said done, is not: it only joins its reports."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "stock.csv").write_text("location_id,sku,quantity\nDEL-WH-01,TS-BLK-S,25\n")
    assert run(inbox, sandbox) == 0
    done = inbox / "done" / TODAY
    (done / "stock.csv").rename(inbox / "processing" / "stock.csv")  # the crash window
    assert run(inbox, sandbox) == 0
    assert len(sandbox.ledger()) == 1  # not sent again
    assert (done / "stock.csv").is_file() and not (done / "stock-2.summary.json").exists()
    assert not list((inbox / "processing").iterdir())


KILLED_BEFORE_FINISH = """
import os, sys
import etl.journal
etl.journal.Journal.finish_file = lambda *args, **kwargs: os._exit(9)  # kill -9 right there
from etl.cli import app
sys.argv = ["konnect-etl", "run", sys.argv[1], "--settle", "0"]
app()
"""


def test_a_file_killed_after_its_reports_but_before_the_journal_knew_leaves_one_report_set(
    tmp_path: Path, sandbox: Any
) -> None:
    """The reports were written, the journal still says processing: the resumed attempt
    writes its reports again under the same name, not a second set beside an orphan one."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "stock.csv").write_text("location_id,sku,quantity\nDEL-WH-01,TS-BLK-S,25\n")
    env = {**os.environ, "KONNECT_BASE_URL": sandbox.url, "KONNECT_TOKEN": sandbox.token}
    killed = subprocess.run([sys.executable, "-c", KILLED_BEFORE_FINISH, str(inbox)], env=env)
    assert killed.returncode == 9
    done = inbox / "done" / TODAY
    assert (done / "stock.summary.json").is_file() and not (done / "stock.csv").exists()
    assert run(inbox, sandbox) == 0
    assert sorted(p.name for p in done.iterdir()) == [
        "stock.csv", "stock.result.csv", "stock.summary.json"]  # fmt: skip


def test_a_stock_file_dropped_twice_is_processed_again_by_default(
    tmp_path: Path, sandbox: Any
) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    text = "location_id,sku,quantity\nDEL-WH-01,TS-BLK-S,25\n"
    (inbox / "stock.csv").write_text(text)
    assert run(inbox, sandbox) == 0
    (inbox / "stock.csv").write_text(text)
    assert run(inbox, sandbox) == 0
    assert read_json(inbox / "done" / TODAY / "stock-2.summary.json")["outcome"] == "uploaded"
    assert [e["key"] for e in sandbox.ledger()] == ["DEL-WH-01|TS-BLK-S"] * 2


def test_stock_duplicates_are_set_aside_when_configured(tmp_path: Path, sandbox: Any) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "konnect-etl.yaml").write_text("reprocess_duplicates: false\n")
    text = "location_id,sku,quantity\nDEL-WH-01,TS-BLK-S,25\n"
    (inbox / "stock.csv").write_text(text)
    run(inbox, sandbox)
    (inbox / "stock.csv").write_text(text)
    run(inbox, sandbox)
    assert (inbox / "duplicates" / TODAY / "stock.csv").is_file()
    assert len(sandbox.ledger()) == 1
    # the same name with different content is a new file
    (inbox / "stock.csv").write_text(text.replace(",25", ",26"))
    assert run(inbox, sandbox) == 0
    assert (inbox / "done" / TODAY / "stock-2.csv").is_file()
    assert sandbox.state()["stock"]["DEL-WH-01|TS-BLK-S"] == 26


def test_the_same_rows_for_another_order_action_are_sent_not_set_aside(
    tmp_path: Path, sandbox: Any
) -> None:
    """One pick list, confirmed in the morning, dispatched in the afternoon: the same bytes,
    two different actions - the second is no duplicate of the first."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    rows = (ROOT / "inbox_example" / "confirm_orders.csv").read_bytes()
    (inbox / "confirm_orders.csv").write_bytes(rows)
    run(inbox, sandbox)
    (inbox / "dispatch_orders.csv").write_bytes(rows)
    run(inbox, sandbox)
    assert not (inbox / "duplicates").exists()
    assert read_json(inbox / "done" / TODAY / "dispatch_orders.summary.json")["feed"] == "dispatch"
    assert any(e["path"].endswith("/dispatch") for e in sandbox.ledger())


def test_an_order_file_that_applied_nothing_is_sent_again_not_set_aside(
    tmp_path: Path, sandbox: Any
) -> None:
    """Every row refused the first time (the order did not exist yet): the same file again
    repeats no action, so it is processed, not filed as a duplicate."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    order = "59000000000000000002"
    content = f"orderId,orderItemId,quantity\n{order},{order}-1,1\n"
    (inbox / "confirm_late.csv").write_text(content)
    assert run(inbox, sandbox) == 1  # Konnect does not know the order yet
    sandbox.add_orders(orders=[{"orderId": order, "state": "placed", "location": "DEL-WH-01",
                                "items": [{"sku": "TS-BLK-S", "quantity": 1}]}])  # fmt: skip
    (inbox / "confirm_late.csv").write_text(content)
    assert run(inbox, sandbox) == 0
    assert not (inbox / "duplicates").exists()
    assert read_json(inbox / "done" / TODAY / "confirm_late-2.summary.json")["rows"]["ok"] == 1
