"""Whether the inbox folder is still the one a watcher started on.

A network share unmounted leaves its mount point behind: an empty folder on the local disk,
where a watcher would carry on - make processing/, write status.json, take files dropped
there - while `status` says all is well. So a watcher notes the inbox's device and an id
kept in `INBOX/.konnect-etl/inbox-id`. A folder on another device without that id is not
the inbox: the share is gone (or was mounted after the watcher started, which then logs
under it, unseen). A share mounted again may come back on another device number; its id
says it is the same one. On the same device, a folder that lost its id (emptied, made
again) is still the inbox, and gets a new id.
"""

from __future__ import annotations

import secrets
from pathlib import Path

ID_FILE = "inbox-id"


class NotTheInbox(FileNotFoundError):
    """The folder at the inbox path is not the inbox the watcher started on."""


class InboxIdentity:
    def __init__(self, root: Path, state: Path) -> None:
        self.root, self.path = root, state / ID_FILE
        self.device: int | None = None
        self.token: str | None = None

    def check(self) -> None:
        """Raises NotTheInbox when the folder is on another device without our id."""
        device = self.root.stat().st_dev
        moved = self.device not in (None, device)
        if moved and (self.token is None or self._read() != self.token):
            raise NotTheInbox(
                f"the inbox folder {self.root} is not the one the watcher started on: it is on"
                f" another disk, without the inbox's {self.path.parent.name}/{ID_FILE}. A"
                " network share unmounted (mount it again), or mounted after the watcher"
                " started (restart the watcher)? Nothing is taken from it meanwhile"
            )
        self.device = device

    def remember(self) -> None:
        """Once the state folder exists: note the inbox's id, made if it has none."""
        token = self._read()
        if token is None:
            try:  # made once: two watchers starting together must not each write their own
                with self.path.open("x", encoding="ascii") as handle:
                    handle.write(secrets.token_hex(8) + "\n")
            except FileExistsError:
                pass
            token = self._read()
        self.token = token

    def _read(self) -> str | None:
        try:
            return self.path.read_text(encoding="ascii").strip() or None
        except (FileNotFoundError, UnicodeDecodeError):
            return None
