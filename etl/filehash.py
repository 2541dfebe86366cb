"""SHA-256 of an input file, whole or its first bytes: what the journal knows a file by."""

from __future__ import annotations

import hashlib
from pathlib import Path

BLOCK = 1 << 20


class Shorter(Exception):
    """The file is shorter than the bytes asked for: it was changed, not written on."""


def file_digest(path: Path) -> tuple[str, int]:
    """(SHA-256 of the content, its size in bytes), from one read of the file."""
    digest, size = hashlib.sha256(), 0
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(BLOCK), b""):
            digest.update(block)
            size += len(block)
    return digest.hexdigest(), size


def content_hash(path: Path) -> str:
    return file_digest(path)[0]


def prefix_digest(path: Path, size: int) -> str:
    """SHA-256 of the first `size` bytes of `path`; OSError when it cannot be read (a
    share away: try again), `Shorter` when it has fewer bytes."""
    digest, left = hashlib.sha256(), size
    with path.open("rb") as handle:
        while left > 0:
            block = handle.read(min(left, BLOCK))
            if not block:
                raise Shorter(f"{path.name} has fewer than the {size} bytes processed")
            digest.update(block)
            left -= len(block)
    return digest.hexdigest()
