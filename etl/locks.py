"""Per-file locks that make two `run`/`watch` processes on one inbox take a file only once.

A claimed file is worked on while its lock, `INBOX/.konnect-etl/locks/<name>.lock`, is held
(an OS lock: `flock` on POSIX, `msvcrt.locking` on Windows). The OS releases it when the
process dies, even by kill -9, so a file left in processing/ by a crash can be resumed by the
next process, while a file another live process is working on is left alone.

`waiting_lock` is the same lock taken by waiting: for work two processes must do one after
the other (cancel files, and the stock/price files of one mapping: `etl.turns`).
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import IO

log = logging.getLogger(__name__)


@contextmanager
def file_lock(folder: Path, name: str) -> Iterator[bool]:
    """Try to take the lock for `name` without waiting; yields whether we hold it."""
    folder.mkdir(exist_ok=True)  # its parent must be there: never re-creates a missing inbox
    path = folder / f"{name}.lock"
    handle = _locked_handle(path)
    if handle is None:
        yield False
        return
    try:
        yield True
    finally:
        _release(path, handle)


@contextmanager
def waiting_lock(folder: Path, name: str, waits: str, poll: float = 0.2) -> Iterator[None]:
    """Take the lock for `name`, waiting while another process holds it (`waits`: what the
    log says then). Not re-entrant: the same process taking it twice waits for itself."""
    path = folder / f"{name}.lock"
    handle = _locked_handle(path)
    if handle is None:
        log.info("%s", waits)
    while handle is None:
        time.sleep(poll)
        handle = _locked_handle(path)
    try:
        yield
    finally:
        _release(path, handle)


def _locked_handle(path: Path) -> IO[bytes] | None:
    handle = path.open("a+b")
    if not _try_lock(handle) or not _still_linked(path, handle):
        handle.close()
        return None
    return handle


def _still_linked(path: Path, handle: IO[bytes]) -> bool:
    """The lock file we locked is still the one at `path` (a finishing process removes it)."""
    if os.name == "nt":
        return True
    try:
        return path.stat().st_ino == os.fstat(handle.fileno()).st_ino
    except FileNotFoundError:
        return False


def _release(path: Path, handle: IO[bytes]) -> None:
    # POSIX: remove the lock file while still holding it; a process that opened the old file
    # sees it unlinked and backs off. Windows cannot delete an open file: remove it once
    # closed, unless another process has it open (then it is theirs: the delete fails) -
    # else one lock file per name ever taken (exports named by the hour) would pile up.
    if os.name != "nt":
        path.unlink(missing_ok=True)
    _unlock(handle)
    handle.close()
    if os.name == "nt":
        with suppress(OSError):
            path.unlink()


if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
    import msvcrt

    def _try_lock(handle: IO[bytes]) -> bool:
        try:
            handle.seek(0)
            msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True

    def _unlock(handle: IO[bytes]) -> None:
        handle.seek(0)
        msvcrt.locking(handle.fileno(), msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def _try_lock(handle: IO[bytes]) -> bool:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return False
        return True

    def _unlock(handle: IO[bytes]) -> None:
        fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
