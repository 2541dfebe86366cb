"""The log file in the inbox follows its path (etl/logsetup.py)."""

from __future__ import annotations

import io
import logging
import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from etl.logsetup import FollowingFileHandler, setup_logging


@pytest.fixture
def logs_at(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setattr(FollowingFileHandler, "CHECK_SECONDS", 0.0)
    folder = tmp_path / "inbox" / ".konnect-etl" / "logs"
    setup_logging(log_dir=folder)
    yield folder
    setup_logging()  # the file handler goes


def test_a_swapped_inbox_folder_gets_the_lines_that_follow(logs_at: Path, tmp_path: Path) -> None:
    log = logging.getLogger("etl.test_logsetup")
    log.info("before the swap")
    inbox = tmp_path / "inbox"
    inbox.rename(tmp_path / "stand-in")  # the folder at the inbox path is another one now
    logs_at.mkdir(parents=True)
    log.info("after the swap")
    assert "after the swap" in (logs_at / "konnect-etl.log").read_text()
    moved = tmp_path / "stand-in" / ".konnect-etl" / "logs" / "konnect-etl.log"
    assert "after the swap" not in moved.read_text()


def test_a_share_gone_away_keeps_the_open_file(logs_at: Path, tmp_path: Path) -> None:
    log = logging.getLogger("etl.test_logsetup")
    (tmp_path / "inbox").rename(tmp_path / "away")  # nothing at the path: no folder made there
    log.info("while away")
    assert not (tmp_path / "inbox").exists()
    assert (
        "while away"
        in (tmp_path / "away" / ".konnect-etl" / "logs" / "konnect-etl.log").read_text()
    )


def test_a_file_name_cannot_forge_a_log_line_or_recolour_a_terminal(logs_at: Path) -> None:
    """Anyone may drop a file on the share; its name goes into log lines."""
    name = "x.csv\n2026-11-28 07:00:00 [1] INFO etl.runner: stock.csv: uploaded\x1b[8m"
    logging.getLogger("etl.runner").warning("%s: not taken", name)
    lines = (logs_at / "konnect-etl.log").read_text().splitlines()
    assert len(lines) == 1 and "\x1b" not in lines[0]
    assert lines[0].endswith("x.csv\\n2026-11-28 07:00:00 [1] INFO etl.runner: stock.csv: uploaded"
                             "\\x1b[8m: not taken")  # fmt: skip


def test_log_file_lines_say_which_process_wrote_them_and_keep_tracebacks(tmp_path: Path) -> None:
    """A `watch` and a cron `run` may write one log: each line names its process; a JSON line
    has the time to the millisecond and, for an exception, its traceback (the README's
    internal-error advice is to send the log)."""
    for json_logs in (False, True):
        folder = tmp_path / str(json_logs)
        setup_logging(json_logs=json_logs, log_dir=folder)
        try:
            raise KeyError("surprise")
        except KeyError:
            logging.getLogger("etl.runner").exception("stock.csv: internal error")
        setup_logging()
        line = (folder / "konnect-etl.log").read_text(encoding="utf-8")
        if json_logs:
            entry = orjson.loads(line.splitlines()[0])
            assert entry["pid"] == os.getpid() and "KeyError: 'surprise'" in entry["traceback"]
            assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d{4}", entry["time"])
        else:
            assert f"[{os.getpid()}] ERROR etl.runner: stock.csv: internal error" in line
            assert "KeyError: 'surprise'" in line


def test_verbose_logging_leaves_out_asyncios_debug_lines() -> None:
    """`-v` is for our detail, not "Using selector: EpollSelector" at every start."""
    setup_logging(verbosity=1)
    try:
        assert logging.getLogger("etl.upload").isEnabledFor(logging.DEBUG)
        assert not logging.getLogger("asyncio").isEnabledFor(logging.DEBUG)
    finally:
        setup_logging()


def test_a_console_that_went_away_never_stops_the_work_that_logs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """stderr closed (a terminal or pipe gone, a test runner's captured stream): logging's
    own error report went to that same dead stderr and raised out of `log.error`, so a
    watcher's pull round "failed unexpectedly". The line is lost to the console, nothing more."""
    gone = io.StringIO()
    setup_logging()
    console = next(h for h in logging.getLogger().handlers if getattr(h, "_konnect_etl", False))
    assert isinstance(console, logging.StreamHandler)
    console.setStream(gone)
    gone.close()
    monkeypatch.setattr(sys, "stderr", gone)  # where logging reports its own errors
    logging.getLogger("etl.pullschedule").error("pull failed; trying again next round")
    setup_logging()


def test_the_log_file_loses_a_line_it_cannot_write_quietly_but_not_our_mistakes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A full disk: the line is lost from the file, no traceback on stderr (a cron mail of
    dozens of lines). A line that cannot be formatted is reported as logging does."""
    handler = FollowingFileHandler(tmp_path / "etl.log")
    record = logging.makeLogRecord({"msg": "wrote a sheet"})
    try:
        raise OSError(28, "No space left on device")
    except OSError:
        handler.handleError(record)
    assert capsys.readouterr().err == ""
    try:
        raise TypeError("not enough arguments for format string")
    except TypeError:
        handler.handleError(record)
    assert "--- Logging error ---" in capsys.readouterr().err
    handler.close()
