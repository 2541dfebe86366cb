"""What lies in an inbox besides data: names never taken as data, workbooks still open,
folders and shortcuts whose files would never be read.

An inbox is often a Windows share that people browse with Explorer, which leaves files of its
own there. Taken as data, each went to failed/ with a report nobody could act on, and three in
a row made `status` say PROBLEM. A workbook open in Excel on such a share can be renamed from
under Excel (Samba lets it): a half-edited file was sent, and sent again at the next Ctrl+S.
"""

from __future__ import annotations

import fnmatch
import functools
import logging
import os
from pathlib import Path

from etl.config import CONFIG_NAMES, STATE_DIR

log = logging.getLogger("etl.inbox")

# Files that are never data: office lock files, partial downloads, temp and hidden files,
# backup copies (an old export under a new time: the out-of-order guard would take it for the
# newest), Windows' side files (Explorer's folder settings and thumbnails, shortcuts, the
# "downloaded from the internet" mark a share shows as `name:Zone.Identifier`), and our own
# summaries and `validate --preview` files. A result report dropped back is taken, to fail
# saying to drop its errors file instead (etl.matching), not wait unseen.
IGNORED = (
    "~$*", "*.tmp", "*.temp", "*.part", "*.crdownload", ".~lock*", ".*", *CONFIG_NAMES,
    "konnect-etl*.yaml", "konnect-etl*.yml",  # and Notepad's names for the config file:
    "konnect-etl.yaml.txt", "konnect-etl.yml.txt", "konnect-etl.txt",  # not "konnect-etl x.txt"
    "*.bak", "*.old", "*.orig", "*.xlk", "Backup of *",
    "desktop.ini", "thumbs.db", "ehthumbs*.db", "*.lnk", "*.url", "*:zone.identifier",
    "*.summary.json", "*.preview.result.csv",
)  # fmt: skip


def is_ignored(name: str) -> bool:
    return any(fnmatch.fnmatch(name.lower(), pattern.lower()) for pattern in IGNORED)


# the inbox's own folders (etl.inbox), and Windows' own on a drive's root
OWN_FOLDERS = ("processing", "done", "failed", "held", "duplicates", "$recycle.bin",
               "system volume information")  # fmt: skip


def files_not_read(folder: Path) -> list[Path]:
    """The files of a folder dropped into the inbox (Explorer drags whole folders): only the
    inbox's top level is read. None for our own folders, hidden ones, a mappings folder (it
    holds .yaml files), and an outbox or inbox of its own (`orders pull --out INBOX/pulled`)."""
    if folder.name.lower() in OWN_FOLDERS or folder.name.startswith("."):
        return []
    if (folder / STATE_DIR).is_dir():
        return []
    try:
        entries = [e for e in os.scandir(folder) if e.is_file(follow_symlinks=False)]
    except OSError:
        return []
    if any(e.name.lower().endswith((".yaml", ".yml")) for e in entries):
        return []
    return sorted(Path(e.path) for e in entries if not is_ignored(e.name))


@functools.lru_cache(maxsize=64)
def _names_not_read(folder: str, changed: int) -> tuple[str, ...]:
    """`files_not_read` by name, once per change of the folder (`changed`: its mtime): `run`
    looks at the inbox every half second while files settle, and an archive folder of
    thousands of files cost a third of a second a look."""
    return tuple(p.name for p in files_not_read(Path(folder)))


def not_read(entry: os.DirEntry[str]) -> str | None:
    """What to say of an entry of the inbox whose data nobody would read: a folder not ours
    with files in it, a shortcut dragged in instead of the file."""
    if entry.name.lower().endswith(".lnk"):
        return f"{entry.name} is a shortcut, not the file: copy the file itself into the inbox"
    if entry.is_symlink() or not entry.is_dir():
        return None
    try:
        names = _names_not_read(entry.path, entry.stat().st_mtime_ns)
    except OSError:
        return None
    if not names:
        return None
    shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
    return (f"{entry.name} is a folder ({shown}): files in sub-folders are not read: move them"
            " into the inbox itself")  # fmt: skip


# Excel's owner file (`~$` and the whole name; Word's shortened form is no spreadsheet's) and
# LibreOffice's lock file: while one is there, the file is open in that program
OWNER_FILES = (("~${}", "Excel"), (".~lock.{}#", "LibreOffice"))
# neither the owner file nor the file changed for this long: most likely left by a crash (Excel
# writes its owner file once, at opening: a workbook left open overnight looks the same)
STALE_OWNER_SECONDS = 12 * 3600


def open_in_office(path: Path, now: float) -> tuple[bool, str | None]:
    """Whether `path` waits because a spreadsheet program has it open, and what to say."""
    for pattern, program in OWNER_FILES:
        owner = path.with_name(pattern.format(path.name))
        try:
            idle = now - max(owner.stat().st_mtime, path.stat().st_mtime)
        except OSError:
            continue
        if idle < STALE_OWNER_SECONDS:
            said = f"{path.name} waits: it is open in {program}{_holder(owner)}"
            return True, f"{said} ({owner.name} is beside it): close it there to send it"
        hours = int(idle // 3600)
        return False, (
            f"{path.name} is taken though {owner.name} is beside it: neither changed for {hours}"
            f" hours, so {program} was most likely closed without removing it (a crash, a PC"
            " switched off); if the workbook is still open there, close it and check the file's"
            f" report; else delete {owner.name}"
        )
    return False, None


def _holder(owner: Path) -> str:
    """The name the owner file holds, as " by Ramesh" (Excel: a length byte, then the name;
    LibreOffice: the text before the first comma); nothing when it cannot be read."""
    try:
        data = owner.read_bytes()[:256]
    except OSError:
        return ""
    if owner.name.startswith("~$"):
        name = data[1 : 1 + data[0]].decode("cp1252", "replace") if data else ""
    else:
        name = data.decode("utf-8", "replace").split(",")[0]
    name = name.strip()
    return f" by {name}" if name and name.isprintable() else ""


class Notices:
    """Says each notice once while it holds: `run` looks at the inbox every half second while
    files settle, `watch` every few seconds, for as long as a workbook stays open."""

    def __init__(self) -> None:
        self._said: set[str] = set()

    def say(self, found: dict[str, int]) -> None:
        """`found`: every notice that holds now, with its logging level."""
        for message, level in found.items():
            if message not in self._said:
                log.log(level, "%s", message)
        self._said = set(found)
