"""Atomic file writes: a reader sees the old file, the whole new file, or nothing.

The data goes to a temp file in the destination folder (same file system, so the final
rename is atomic), is flushed to disk, then renamed over the final name (`os.replace`).
The temp name starts with a dot and ends in `.tmp`, so inbox scanners skip it, and it is
removed again if the writer fails. It is short and of fixed length, not the final name with
more added: a long final name (which the file system takes) must not give a temp name that
is too long for it.

Names that never replace a file: `link_unless_taken` gives a file a second name only if
nobody has it, `reserved_name` keeps a chosen name from a second process that looks at the
same moment (checked, then renamed into seconds later, it would replace that process's
file), and from the reports a killed attempt left under it (`is_free`). `fit_name` cuts a
name whose reports' names (`stem.summary.json`) would not fit.
"""

from __future__ import annotations

import errno
import hashlib
import os
import secrets
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

# bytes in a file name (ext4, XFS, APFS; NTFS and SMB count UTF-16 units, never more)
NAME_MAX = 255
# what is added to a stem or a name: `-99` for a repeat, then `.summary.json` or `.lock`
_STEM_MAX = NAME_MAX - len("-99.summary.json")
_NAME_MAX = NAME_MAX - len("-99.lock")
# a file system that cannot make hard links (SMB/CIFS without Unix extensions, some FUSE)
_NO_HARD_LINKS = {errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.ENOSYS, errno.EXDEV}


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
        temp = path.with_name(f".konnect-etl-{secrets.token_hex(8)}.tmp")
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


def link_unless_taken(source: Path, path: Path) -> bool:
    """Give `source` the name `path` too, unless a file has that name (False): never replaces.
    The caller removes `source` afterwards (it may be gone already: Windows renames)."""
    try:
        if os.name == "nt":  # pragma: no cover - Windows' rename refuses an existing name
            source.rename(path)
        else:
            os.link(source, path)  # refuses an existing name, atomically
    except FileExistsError:
        return False
    except OSError as exc:
        if exc.errno not in _NO_HARD_LINKS:
            raise
        return _reserve_then_replace(source, path)
    return True


def _reserve_then_replace(source: Path, path: Path) -> bool:
    """For shares without hard links: take the name with an empty file (O_EXCL), then put
    the file in its place. A reader could see the empty file for an instant."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
    except FileExistsError:
        return False
    try:
        source.replace(path)
    except BaseException:  # not named: the empty stand-in must not stay as the sheet
        path.unlink(missing_ok=True)
        raise
    return True


@contextmanager
def reserved_name(
    folder: Path, name: str, lock: Callable[[str], AbstractContextManager[bool]]
) -> Iterator[str]:
    """A name for a finished file in `folder` (done/<day>/...): `name`, or `stem-2.ext`...
    when a file or the reports of that stem are there. The stem is ours while the block runs
    (`lock`, taken without waiting): another process finishing a file of the same name
    meanwhile takes the next, so neither replaces the other's input or reports."""
    for n in range(1, 10_000):
        candidate = numbered(fit_name(name), n)
        stem = Path(candidate).stem.casefold()  # Stock.csv and stock.xlsx: one stem
        # by kind (done, failed...), not by day: one lock name per stem, whatever the day
        key = hashlib.sha256(os.fsencode(stem)).hexdigest()[:16]
        with lock(f"{folder.parent.name}-{key}") as mine:
            if mine and is_free(folder, candidate):
                yield candidate
                return
    raise FileExistsError(f"no free name for {name} in {folder}")


def is_free(folder: Path, name: str) -> bool:
    """No file has `name`, and no reports have its stem: no summary, nor the result or errors
    file an attempt killed before its summary left (`stem.result.csv`). A second file filed
    beside those would have its reports taken for that attempt's, and removed, when it is
    resumed (`etl.seen_before.drop_unfinished_reports`)."""
    stem = Path(name).stem
    taken = [name, f"{stem}.summary.json"]
    taken += [f"{stem}.{part}.{kind}" for part in ("result", "errors") for kind in ("csv", "xlsx")]
    return not any((folder / each).exists() for each in taken)


def numbered(name: str, n: int) -> str:
    """`name` for n == 1, else `stem-n.ext`, its stem cut if need be to fit (`fit_name`)."""
    if n == 1:
        return name
    stem, suffix = _split(name)
    tag = f"-{n}"
    return _cut(stem, suffix, len(tag) - len("-99")) + tag + suffix


def fit_name(name: str) -> str:
    """`name`, its stem cut short (by whole characters) where `stem.summary.json`, a repeat's
    `stem-2...` or our lock file for it would be longer than a file name may be."""
    stem, suffix = _split(name)
    return _cut(stem, suffix, 0) + suffix


def _split(name: str) -> tuple[str, str]:
    path = Path(name)
    if name_size(path.suffix) > 32:  # no extension is that long: all of it is the stem
        return name, ""
    return path.stem, path.suffix


def _cut(stem: str, suffix: str, extra: int) -> str:
    room = min(_STEM_MAX, _NAME_MAX - name_size(suffix)) - extra
    if name_size(stem) <= room:
        return stem
    return os.fsencode(stem)[:room].decode("utf-8", "ignore").rstrip(" .") or "file"


def name_size(name: str) -> int:
    """Bytes in `name` on disk."""
    return len(os.fsencode(name))
