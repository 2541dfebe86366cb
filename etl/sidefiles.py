"""What lies in an inbox besides data: names never taken as data.

An inbox is often a Windows share that people browse with Explorer, which leaves files of its
own there. Taken as data, each went to failed/ with a report nobody could act on, and three in
a row made `status` say PROBLEM.
"""

from __future__ import annotations

import fnmatch

from etl.config import CONFIG_NAMES

# Files that are never data: office lock files, partial downloads, temp and hidden files,
# backup copies (an old export under a new time: the out-of-order guard would take it for the
# newest), Windows' side files (Explorer's folder settings and thumbnails, shortcuts, the
# "downloaded from the internet" mark a share shows as `name:Zone.Identifier`), and our own
# summaries and `validate --preview` files. A result report dropped back is taken, to fail
# saying to drop its errors file instead (etl.matching), not wait unseen.
IGNORED = (
    "~$*", "*.tmp", "*.temp", "*.part", "*.crdownload", ".~lock*", ".*", *CONFIG_NAMES,
    "konnect-etl*.yaml*", "konnect-etl*.yml*", "konnect-etl*.txt",  # Notepad's .yaml.txt too
    "*.bak", "*.old", "*.orig", "*.xlk", "Backup of *",
    "desktop.ini", "thumbs.db", "ehthumbs*.db", "*.lnk", "*.url", "*:zone.identifier",
    "*.summary.json", "*.preview.result.csv",
)  # fmt: skip


def is_ignored(name: str) -> bool:
    return any(fnmatch.fnmatch(name.lower(), pattern.lower()) for pattern in IGNORED)
