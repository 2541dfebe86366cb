"""The inbox lifecycle: which files are taken, claiming, and never overwriting."""

from __future__ import annotations

import os
import threading
import time
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from runs import run

from etl.atomic import reserved_name
from etl.inbox import Inbox
from etl.settling import wait_until_ready
from etl.sidefiles import is_ignored


def drop(folder: Path, name: str, text: str = "sku\n", age: float = 60.0) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    then = time.time() - age
    os.utime(path, (then, then))
    return path


def test_lock_temp_and_hidden_files_are_never_candidates(tmp_path: Path) -> None:
    never = ["~$Book1.xlsx", "stock.tmp", "stock.csv.part", ".~lock.Book1.ods#", ".hidden",
             "konnect-etl.yaml", "old.preview.result.csv", "old.summary.json", "stock.csv.bak",
             "stock.csv.old", "stock.csv.orig", "Backup of stock.xlk"]  # fmt: skip
    for name in never:
        drop(tmp_path, name)
    keep = drop(tmp_path, "stock.csv")
    errors_file = drop(tmp_path, "stock.errors.csv")
    result = drop(tmp_path, "stock.result.csv")  # taken, to fail saying what to drop instead
    expected = sorted([keep, errors_file, result], key=os.path.getmtime)
    assert Inbox(tmp_path).candidates() == expected
    assert is_ignored("~$Book1.xlsx") and not is_ignored("price.xlsx")


def test_symlinks_are_not_followed(tmp_path: Path) -> None:
    outside = tmp_path / "outside.csv"
    outside.write_text("secret\n")
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "link.csv").symlink_to(outside)
    assert Inbox(inbox).candidates() == []


def test_a_copy_that_keeps_an_old_mtime_is_taken_only_once_it_stops_growing(
    tmp_path: Path,
) -> None:
    """Explorer and `cp -p` give the copy the source's old mtime while its size grows."""
    copy = drop(tmp_path, "stock.csv", text="location_id,sku,quantity\n", age=3600)
    copied: list[float] = []

    def copying() -> None:
        for i in range(8):
            time.sleep(0.1)
            with copy.open("a") as handle:
                handle.write(f"DEL-WH-01,SKU-{i},1\n")
            os.utime(copy, (time.time() - 3600, time.time() - 3600))
        copied.append(time.time())

    writer = threading.Thread(target=copying)
    writer.start()
    ready = wait_until_ready(Inbox(tmp_path), None, settle_seconds=0.5, max_wait=5)
    taken = time.time()
    writer.join()
    assert ready == [copy]
    assert taken >= copied[0] + 0.5  # not before the copy had ended and stayed still


def test_wait_until_ready_waits_for_a_file_to_settle(tmp_path: Path) -> None:
    drop(tmp_path, "fresh.csv", age=0)
    started = time.time()
    ready = wait_until_ready(Inbox(tmp_path), None, settle_seconds=1.0, max_wait=5)
    assert [p.name for p in ready] == ["fresh.csv"]
    assert time.time() - started >= 0.9


def test_trigger_mode_takes_a_file_only_with_its_trigger(tmp_path: Path) -> None:
    gated = drop(tmp_path, "stock.csv")
    drop(tmp_path, "price.csv")
    assert Inbox(tmp_path).candidates(".done") == []
    drop(tmp_path, "stock.csv.done", text="")
    assert Inbox(tmp_path).candidates(".done") == [gated]


def test_claim_moves_the_file_and_a_second_claim_gets_nothing(tmp_path: Path) -> None:
    inbox = Inbox(tmp_path)
    path = drop(tmp_path, "stock.csv")
    claimed = inbox.claim(path)
    assert claimed == tmp_path / "processing" / "stock.csv" and claimed.exists()
    assert not path.exists()
    assert inbox.claim(path) is None


def test_a_reserved_name_never_overwrites_inputs_or_reports(tmp_path: Path) -> None:
    inbox = Inbox(tmp_path)
    done = inbox.outcome_dir("done", date(2026, 11, 27))

    def reserve() -> str:
        with reserved_name(done, "stock.csv", inbox.lock) as name:
            return name

    assert reserve() == "stock.csv"
    (done / "stock.csv").write_text("x")
    assert reserve() == "stock-2.csv"
    (done / "stock-2.summary.json").write_text("{}")  # reports whose input went elsewhere
    assert reserve() == "stock-3.csv"
    with reserved_name(done, "stock.csv", inbox.lock) as held:  # another process holds it
        assert held == "stock-3.csv" and reserve() == "stock-4.csv"


def test_give_back_returns_a_claimed_file_to_the_inbox(tmp_path: Path) -> None:
    inbox = Inbox(tmp_path)
    claimed = inbox.claim(drop(tmp_path, "stock.csv"))
    assert claimed is not None
    back = inbox.give_back(claimed)
    assert back == tmp_path / "stock.csv" and back.read_text() == "sku\n"


def test_a_file_name_that_is_not_utf8_does_not_block_the_inbox(
    tmp_path: Path, sandbox: Any
) -> None:
    """A share mounted with another character set hands over 'stock_\\xe9t\\xe9.csv': it is
    processed under a readable name, and the files after it are not held up."""
    inbox = tmp_path / "inbox"
    (inbox / "processing").mkdir(parents=True)
    row = b"location_id,sku,quantity\nDEL-WH-01,TS-BLK-S,5\n"
    (inbox / os.fsdecode(b"stock_\xe9t\xe9.csv")).write_bytes(row)
    price = b"location_id,sku,mrp,esp,currency\nDEL-WH-01,TS-BLK-S,999,799,INR\n"
    (inbox / "processing" / os.fsdecode(b"price_\xe9.csv")).write_bytes(price)
    (inbox / "good.csv").write_bytes(row.replace(b"5\n", b"6\n"))
    assert run(inbox, sandbox).exit_code == 0
    done = sorted(p.name for p in (inbox / "done").rglob("*.csv"))
    assert "stock_%E9t%E9.csv" in done and "price_%E9.csv" in done and "good.csv" in done


def test_a_vanished_inbox_is_never_made_again_on_the_local_disk(tmp_path: Path) -> None:
    """The share went away mid-file: creating done/<day>/ or a lock must fail (a host fault,
    retried), not re-create the inbox under the empty mount point."""
    inbox = Inbox(tmp_path / "mnt" / "inbox")
    with pytest.raises(FileNotFoundError):
        inbox.outcome_dir("done", date(2026, 11, 27))
    with pytest.raises(FileNotFoundError), inbox.lock("stock.csv"):
        pass
    assert not (tmp_path / "mnt").exists()


def test_windows_side_files_are_left_alone_and_status_stays_ok(
    tmp_path: Path, sandbox: Any
) -> None:
    """Explorer's folder settings and thumbnails, a shortcut dragged in instead of the file, and
    the "downloaded" mark a Samba share shows as a file: each went to failed/ with a report
    nobody could act on, the run exited 1, and three in a row made `status` say PROBLEM."""
    from typer.testing import CliRunner

    from etl.cli import app

    side = {
        "desktop.ini": b"\xff\xfe" + "[.ShellClassInfo]\r\n".encode("utf-16-le"),
        "Thumbs.db": b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504,
        "stock - Shortcut.lnk": b"L\x00\x00\x00\x01\x14\x02\x00" + b"\x00" * 60,
        "stock.csv:Zone.Identifier": b"[ZoneTransfer]\r\nZoneId=3\r\n",
        ".DS_Store": b"\x00\x00\x00\x01Bud1",
    }
    for name, data in side.items():
        (tmp_path / name).write_bytes(data)
    drop(tmp_path, "stock.csv", "location_id,sku,quantity\nDEL-WH-01,TS-BLK-S,1\n")
    assert Inbox(tmp_path).candidates() == [tmp_path / "stock.csv"]
    assert run(tmp_path, sandbox).exit_code == 0
    assert all((tmp_path / name).is_file() for name in side)
    assert not (tmp_path / "failed").exists()
    assert CliRunner().invoke(app, ["status", str(tmp_path)]).exit_code == 0


EXCEL_OWNER = b"\x06Ramesh" + b" " * 48 + b"\x00" * 109  # what Excel writes in ~$stock.xlsx


def test_a_workbook_open_in_excel_or_libreoffice_waits_said_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """On a share Samba serves, Excel's open file can be renamed from under it: the half-edited
    workbook was sent 5 s after a Ctrl+S, and again at the next save."""
    stock, price = drop(tmp_path, "stock.xlsx"), drop(tmp_path, "price.csv")
    (tmp_path / "~$stock.xlsx").write_bytes(EXCEL_OWNER)
    (tmp_path / ".~lock.price.csv#").write_text("Sunita,SHOP-PC,sunita,28.11.2026 09:12,0;")
    inbox = Inbox(tmp_path)
    with caplog.at_level("INFO", logger="etl.inbox"):
        assert inbox.candidates() == [] and inbox.candidates() == []
    said = [r.getMessage() for r in caplog.records if "waits" in r.getMessage()]
    assert sorted(said) == [
        "price.csv waits: it is open in LibreOffice by Sunita (.~lock.price.csv# is beside it):"
        " close it there to send it",
        "stock.xlsx waits: it is open in Excel by Ramesh (~$stock.xlsx is beside it): close it"
        " there to send it",
    ]
    (tmp_path / "~$stock.xlsx").unlink()  # closed in Excel
    assert inbox.candidates() == [stock]
    assert price.exists()


def test_an_owner_file_left_by_a_crash_holds_the_file_12_hours_at_most(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Neither the owner file nor the workbook changed for 12 hours: Excel is not editing it."""
    stock = drop(tmp_path, "stock.xlsx", age=11 * 3600)
    owner = drop(tmp_path, "~$stock.xlsx", age=13 * 3600)
    assert Inbox(tmp_path).candidates() == []  # saved 11 hours ago: may still be open
    then = time.time() - 13 * 3600
    os.utime(stock, (then, then))
    with caplog.at_level("WARNING", logger="etl.inbox"):
        assert Inbox(tmp_path).candidates() == [stock]
    assert "stock.xlsx is taken though ~$stock.xlsx is beside it: neither changed for 13 hours" in (
        caplog.text
    )
    assert owner.exists()  # never ours to remove


def test_run_leaves_a_workbook_open_in_excel_and_sends_it_once_closed(
    tmp_path: Path, sandbox: Any
) -> None:
    drop(tmp_path, "stock.csv", "location_id,sku,quantity\nDEL-WH-01,TS-BLK-S,1\n")
    (tmp_path / "~$stock.csv").write_bytes(EXCEL_OWNER)
    assert run(tmp_path, sandbox).exit_code == 0
    assert (tmp_path / "stock.csv").is_file() and not (tmp_path / "done").exists()
    (tmp_path / "~$stock.csv").unlink()
    assert run(tmp_path, sandbox).exit_code == 0
    assert not (tmp_path / "stock.csv").exists() and (tmp_path / "done").is_dir()


def test_a_folder_dropped_into_the_inbox_and_a_shortcut_are_named_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Explorer drags whole folders: their files were never read and nothing said so."""
    (tmp_path / "Reports 28-11").mkdir()
    drop(tmp_path / "Reports 28-11", "stock.csv")
    (tmp_path / "Reports 28-11" / "Thumbs.db").write_bytes(b"\x00")
    (tmp_path / "mappings").mkdir()
    (tmp_path / "mappings" / "pos-stock.yaml").write_text("feed: stock\n")
    (tmp_path / "my maps").mkdir()
    (tmp_path / "my maps" / "stores.csv").write_text("a,b\n")  # a lookup beside a mapping:
    (tmp_path / "my maps" / "price.yml").write_text("feed: price\n")  # a mappings folder
    (tmp_path / "Empty").mkdir()
    (tmp_path / "pulled" / ".konnect-etl").mkdir(parents=True)  # an outbox: `--out INBOX/pulled`
    (tmp_path / "pulled" / "orders-CREATED-0101.csv").write_text("orderId\n")
    for own in ("done", "failed", "held", "duplicates", "processing", ".konnect-etl"):
        (tmp_path / own).mkdir()
        (tmp_path / own / "stock.csv").write_text("x\n")
    (tmp_path / "stock - Shortcut.lnk").write_bytes(b"L\x00\x00\x00")
    inbox = Inbox(tmp_path)
    with caplog.at_level("WARNING", logger="etl.inbox"):
        assert inbox.candidates() == [] and inbox.candidates() == []
    assert sorted(r.getMessage() for r in caplog.records) == [
        "Reports 28-11 is a folder (stock.csv): files in sub-folders are not read: move them"
        " into the inbox itself",
        "stock - Shortcut.lnk is a shortcut, not the file: copy the file itself into the inbox",
    ]


def test_a_file_named_like_one_of_our_folders_stops_the_run_saying_so(
    tmp_path: Path, sandbox: Any
) -> None:
    """A file `processing` (no extension) in a new inbox: `[Errno 17] File exists` said
    nothing of which file or what to do."""
    (tmp_path / "processing").write_text("someone's notes\n")
    result = run(tmp_path, sandbox)
    assert result.exit_code == 2
    assert "processing is a file, where konnect-etl keeps its folder 'processing'" in (
        result.output
    )
    assert "rename or move that file" in result.output
