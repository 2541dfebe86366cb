"""The inbox folder lifecycle: which files are ready, claiming them, and where they end.

inbox/                    files are dropped here (top level only)
inbox/processing/         claimed by an atomic rename; resumed after a crash
inbox/done/YYYY-MM-DD/    input + reports after the rows were checked (and the good ones sent)
inbox/failed/YYYY-MM-DD/  input + report when the file as a whole could not be used
inbox/.konnect-etl/       journal, logs, status

A name in processing/ (and in done/..., `etl.claimed`) is taken under a lock (`etl.locks`):
two processes never pick the same one, where each would replace the other's file a moment
later. The lock of a file claimed from the inbox is held from the rename to the end of the
work on it (`Inbox.claimed`): let go in between, another process resuming leftovers would
take the file for one a crash left. A name is cut short where its reports' names would not
fit (`etl.atomic.fit_name`).
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from etl.atomic import NAME_MAX, fit_name, link_unless_taken, name_size, numbered
from etl.config import STATE_DIR
from etl.errors import ConfigError
from etl.locks import file_lock
from etl.sidefiles import Notices, is_ignored, not_read, open_in_office

log = logging.getLogger(__name__)

TRIGGER_SUFFIXES = (".done", ".ok")
# how Python hands over the bytes of a file name that are not valid UTF-8 (surrogateescape)
_UNDECODED = re.compile("[\udc80-\udcff]")


@dataclass(frozen=True)
class Inbox:
    """One inbox folder and its sub-folders."""

    root: Path
    notices: Notices = field(default_factory=Notices, compare=False, repr=False)

    @property
    def processing(self) -> Path:
        return self.root / "processing"

    @property
    def state(self) -> Path:
        return self.root / STATE_DIR

    @property
    def locks(self) -> Path:
        return self.state / "locks"

    def lock(self, name: str) -> AbstractContextManager[bool]:
        """Hold the lock for `processing/<name>` while working on it (False: someone has it)."""
        self.folder(STATE_DIR, "locks")
        if name_size(name) > NAME_MAX - len(".lock"):  # claimed by an earlier version
            name = hashlib.sha256(os.fsencode(name)).hexdigest()
        return file_lock(self.locks, name)

    def folder(self, *parts: str) -> Path:
        """`root/parts...`, created level by level below the inbox folder, never the inbox
        itself: when a share goes away mid-file, FileNotFoundError (a host fault, retried)
        rather than a new inbox on the local disk under the mount point, hiding the real one."""
        folder = self.root
        for part in parts:
            folder = folder / part
            try:
                folder.mkdir(exist_ok=True)
            except FileExistsError:  # a file of that name: not a folder to put files in
                raise ConfigError(
                    f"{folder} is a file, where konnect-etl keeps its folder '{part}':"
                    " rename or move that file"
                ) from None
        return folder

    def check_reachable(self) -> None:
        """FileNotFoundError when the inbox is gone (share unmounted, folder removed).

        Checked before `prepare`, which would otherwise re-create the folder on the local disk
        under an unmounted share's mount point.
        """
        if not self.root.is_dir():
            raise FileNotFoundError(f"the inbox folder {self.root} is not there")

    def prepare(self) -> None:
        self.folder("processing")
        self.folder(STATE_DIR)

    def candidates(self, trigger_suffix: str | None = None) -> list[Path]:
        """Regular files at the top level that could be data (oldest first).

        Symlinks are never followed: a link could point outside the inbox. In trigger mode
        only files whose trigger (`name.done`) exists are candidates. A workbook open in
        Excel or LibreOffice waits (`etl.sidefiles.open_in_office`), said once, as are folders
        and shortcuts whose files would never be read (`not_read`).
        """
        found, notices, now = [], {}, time.time()
        for entry in os.scandir(self.root):
            if unread := not_read(entry):
                notices[unread] = logging.WARNING
            if entry.is_symlink() or not entry.is_file() or is_ignored(entry.name):
                continue
            if is_trigger(entry.name, trigger_suffix):
                continue
            path = Path(entry.path)
            if trigger_suffix and not trigger_path(path, trigger_suffix).exists():
                continue
            waits, notice = open_in_office(path, now)
            if notice:
                notices[notice] = logging.INFO if waits else logging.WARNING
            if not waits:
                found.append(path)
        self.notices.say(notices)
        return sorted(found, key=_mtime_or_zero)

    @contextmanager
    def claimed(self, path: Path) -> Iterator[Path | None]:
        """Move `path` into processing/ atomically, its lock held until the block ends; None if
        another process took it first. The caller works on the file in the block: a process
        resuming leftovers meanwhile must not take it for one (`etl.runner`)."""
        self.folder("processing")
        name = fit_name(readable_name(path.name))
        if name_size(name) < name_size(readable_name(path.name)):
            log.warning("%s: the file name is too long for the names of its reports (a file "
                        "name may have %d bytes); it is processed as %s", path.name, NAME_MAX,
                        name)  # fmt: skip
        with self._moved_in(path, name) as target:
            yield target

    def claim(self, path: Path) -> Path | None:
        """`claimed`, its lock let go at once: the file waits in processing/ to be resumed."""
        with self.claimed(path) as target:
            return target

    @contextmanager
    def lock_soon(self, name: str, patience: float = 0.25) -> Iterator[bool]:
        """`lock`, tried again for up to `patience` seconds: `status` (`etl.leftlook`) and a
        process giving a leftover its readable name hold it for a moment only, a process at
        work on the file throughout."""
        deadline = time.monotonic() + patience
        while True:
            with self.lock(name) as mine:
                if mine or time.monotonic() >= deadline:
                    yield mine
                    return
            time.sleep(0.05)

    @contextmanager
    def _moved_in(self, path: Path, name: str) -> Iterator[Path | None]:
        """Rename `path` into processing/ as `name` (`name-2`... if taken), under the lock of
        that name, held while the block runs: two processes never pick the same one, and a
        rename never replaces."""
        for n in range(1, 10_000):
            target = self.processing / numbered(name, n)
            with self.lock(target.name) as mine:
                if not mine or target.exists():
                    continue
                try:
                    path.rename(target)
                except FileNotFoundError:  # another process moved it first
                    yield None
                    return
                yield target
                return
        raise FileExistsError(f"no free name for {name} in {self.processing}")

    def in_processing(self) -> list[Path]:
        """Files a previous run claimed but did not finish (to resume)."""
        if not self.processing.is_dir():
            return []
        found = [p for p in self.processing.iterdir() if p.is_file() and not p.is_symlink()]
        return sorted(p for p in map(self._readable, found) if p is not None)

    def _readable(self, path: Path) -> Path | None:
        """A claimed file under its readable name (claimed before names were made readable);
        None when another process renamed or finished it first."""
        name = readable_name(path.name)
        if name == path.name:
            return path
        with self._moved_in(path, name) as moved:
            return moved

    def outcome_dir(self, kind: str, day: date) -> Path:
        """`done/YYYY-MM-DD/` or `failed/YYYY-MM-DD/` (created)."""
        return self.folder(kind, day.isoformat())

    def give_back(self, claimed: Path, trigger_suffix: str | None = None) -> Path:
        """Return a claimed file to the inbox untouched (e.g. credentials are wrong); in
        trigger mode with a new trigger file, or it would never be taken again. A new file
        of that name, dropped meanwhile, is never replaced: this one becomes `name-2`."""
        n = 1
        while not link_unless_taken(claimed, self.root / numbered(claimed.name, n)):
            n += 1
        claimed.unlink(missing_ok=True)  # gone already where the link was a rename
        target = self.root / numbered(claimed.name, n)
        if trigger_suffix:
            trigger_path(target, trigger_suffix).touch()
        return target


def trigger_path(path: Path, suffix: str) -> Path:
    return path.with_name(path.name + suffix)


def is_trigger(name: str, trigger_suffix: str | None) -> bool:
    suffixes = (trigger_suffix,) if trigger_suffix else TRIGGER_SUFFIXES
    return any(name.lower().endswith(s.lower()) for s in suffixes)


def readable_name(name: str) -> str:
    """`name` with the bytes that are not UTF-8 written as `%E9`: a share with another
    character set gives names SQLite, the logs and the reports cannot take as they are."""
    return _UNDECODED.sub(lambda found: f"%{ord(found.group()) - 0xDC00:02X}", name)


def _mtime_or_zero(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0
