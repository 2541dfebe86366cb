"""`konnect-etl release FILE`: let a held file through the destructive-update guards.

The file goes back to the top of its inbox (with a trigger file, in trigger mode); its
content is remembered as released, so the next `run` uploads it without the zero-stock and
fewer-rows checks (`etl.guards`). Its held report stays in held/ as the record of why it was
stopped.
"""

from __future__ import annotations

import logging
from pathlib import Path

from etl.config import SANDBOX_STATE, STATE_DIR, load_settings
from etl.errors import ConfigError
from etl.filehash import content_hash
from etl.inbox import Inbox
from etl.keystate import KeyState

log = logging.getLogger(__name__)

HELD = "held"


def release_command(held_file: Path) -> str:
    """The command that lets `held_file` go, as a person copies it from a line."""
    return f'konnect-etl release "{held_file.absolute()}"'


def held_inbox(file: Path) -> Path:
    """The inbox of a file in `INBOX/held/YYYY-MM-DD/`; ConfigError for any other file."""
    if not file.is_file():
        raise ConfigError(f"file not found: {file}")
    folder = file.resolve().parent
    if folder.parent.name != HELD:
        raise ConfigError(
            f"{file} is not a held file: release takes a file from INBOX/{HELD}/YYYY-MM-DD/"
        )
    return folder.parent.parent


def release_file(file: Path) -> Path:
    """Mark `file` released and move it back into its inbox; returns where it is now."""
    inbox = held_inbox(file)
    sha256 = content_hash(file)
    # into the records of --sandbox runs too, if there are any (a test folder): it may have
    # been held by one, which reads its own (`etl.session.journal_path`)
    trial = inbox / STATE_DIR / SANDBOX_STATE
    for folder in (inbox / STATE_DIR, *([trial] if trial.is_dir() else [])):
        with KeyState(folder) as state:
            state.release(sha256, file.name)
    target = Inbox(inbox).give_back(file, load_settings(inbox=inbox).trigger_suffix)
    log.info("released %s: moved to %s, the next run uploads it", file.name, target)
    return target
