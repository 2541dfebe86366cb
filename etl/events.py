"""File events for the watcher: a watchdog observer on the inbox, and when not to trust one.

Events only wake a scan sooner; polling is the safety net. On a network share (CIFS/SMB,
NFS, sshfs..., a UNC path or mapped network drive on Windows) events are unreliable, so the
watcher does not start an observer there. An observer that died, or watches an inbox folder
that was replaced (a known watchdog failure when a share disappears and comes back), is
restarted before the next scan.
"""

from __future__ import annotations

import logging
import sys
import threading
from pathlib import Path

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

log = logging.getLogger(__name__)


class _StopNoise(logging.Filter):
    """watchdog 7 logs "InotifyEmitter.queue_events() called when the thread is inactive" at
    ERROR when an emitter wakes up once more while its observer is being stopped (at every
    shutdown, and when we restart the observer). It is harmless, and an ERROR line each time
    would page whoever alerts on the log, so it is passed on as DEBUG."""

    def filter(self, record: logging.LogRecord) -> bool:
        if "called when the thread is inactive" in str(record.msg):
            record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return True


logging.getLogger("watchdog.observers.inotify").addFilter(_StopNoise())


NETWORK_FILESYSTEMS = frozenset(
    {"cifs", "smb3", "smbfs", "nfs", "nfs4", "fuse.sshfs", "sshfs", "9p", "afs", "ncpfs",
     "davfs", "fuse.davfs2", "fuse.rclone", "fuse.s3fs", "ceph", "glusterfs",
     "fuse.glusterfs", "lustre", "gpfs", "vboxsf", "vmhgfs", "fuse.vmhgfs-fuse"}
)  # fmt: skip


def mount_type(path: Path, mounts: str) -> str | None:
    """The file system type of the mount holding `path`, from /proc/self/mounts text."""
    best, found = -1, None
    target = str(path)
    for line in mounts.splitlines():
        parts = line.split()
        if len(parts) < 3:
            continue
        point = parts[1].encode().decode("unicode_escape")  # "\040" is a space
        inside = target == point or target.startswith(point.rstrip("/") + "/")
        if inside and len(point) > best:
            best, found = len(point), parts[2]
    return found


def network_filesystem(path: Path) -> str | None:
    """What makes `path` a network location ("cifs", "UNC path"...), or None."""
    resolved = path.resolve()
    if sys.platform == "win32":  # pragma: no cover - Windows only
        return _windows_network(resolved)
    try:
        mounts = Path("/proc/self/mounts").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    kind = mount_type(resolved, mounts)
    return kind if kind in NETWORK_FILESYSTEMS else None


def _windows_network(path: Path) -> str | None:  # pragma: no cover - Windows only
    if str(path).startswith("\\\\"):
        return "UNC path"
    import ctypes

    drive_remote = 4
    kind = ctypes.windll.kernel32.GetDriveTypeW(path.anchor)  # type: ignore[attr-defined]
    return "network drive" if kind == drive_remote else None


class _Wake(FileSystemEventHandler):
    def __init__(self, wake: threading.Event) -> None:
        self.wake = wake

    def on_any_event(self, event: FileSystemEvent) -> None:
        self.wake.set()


class EventSource:
    """A watchdog observer on the inbox that sets `wake`; restarted when it breaks."""

    def __init__(self, root: Path, wake: threading.Event) -> None:
        self.root, self.wake = root, wake
        self._observer: Observer | None = None  # type: ignore[valid-type]
        self._identity: tuple[int, int] | None = None

    def ensure_running(self) -> None:
        identity = _identity(self.root)
        if self._healthy(identity):
            return
        if self._observer is not None:
            log.warning("file events for %s stopped; restarting the watcher", self.root)
            self.stop()
        if identity is not None:
            self._start(identity)

    def _healthy(self, identity: tuple[int, int] | None) -> bool:
        observer = self._observer
        if observer is None or identity is None or identity != self._identity:
            return False
        return bool(observer.is_alive() and all(e.is_alive() for e in observer.emitters))

    def _start(self, identity: tuple[int, int]) -> None:
        observer = Observer()
        try:
            observer.schedule(_Wake(self.wake), str(self.root), recursive=False)
            observer.start()
        except OSError as exc:
            log.warning("no file events for %s (%s); polling only for now", self.root, exc)
            return
        self._observer, self._identity = observer, identity

    def stop(self) -> None:
        if self._observer is not None:
            try:
                self._observer.stop()
                self._observer.join(timeout=5)
            except Exception as exc:  # a broken observer must not stop the watcher
                log.debug("stopping the file-event observer: %s", exc)
        self._observer, self._identity = None, None


def _identity(root: Path) -> tuple[int, int] | None:
    try:
        stat = root.stat()
    except OSError:
        return None
    return stat.st_dev, stat.st_ino
