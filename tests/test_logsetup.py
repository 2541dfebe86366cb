"""The log file in the inbox follows its path (etl/logsetup.py)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

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
