"""Atomic file writes: a reader sees the old file, the whole new file, or nothing.

The data goes to a temp file in the destination folder (same file system, so the final
rename is atomic), is flushed to disk, then renamed over the final name (`os.replace`).
The temp name starts with a dot and ends in `.tmp`, so inbox scanners skip it, and it is
removed again if the writer fails.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from pathlib import Path


def atomic_write(path: Path, writer: Callable[[Path], None]) -> None:
    """Call `writer(temp_path)` to write the content, then move it to `path` in one step."""
    temp = _create_temp(path)
    try:
        writer(temp)
        _fsync_file(temp)
        temp.replace(path)  # os.replace: atomic, overwrites on Windows too
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write `data` to `path` atomically."""

    def write(temp: Path) -> None:
        temp.write_bytes(data)

    atomic_write(path, write)


def _create_temp(path: Path) -> Path:
    # os.open with 0o666 honours the umask, unlike mkstemp's 0o600: reports on a shared
    # folder must stay readable by the people who dropped the input.
    while True:
        temp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
        try:
            os.close(os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
        except FileExistsError:
            continue
        return temp


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDWR)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_dir(folder: Path) -> None:
    """Make the rename itself durable (best effort: Windows and some shares cannot)."""
    if os.name == "nt":
        return
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # some network file systems refuse; the rename has happened anyway
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
