"""Memory handed back to the system once a big file's columns are freed.

Two allocators keep freed memory for reuse, and a watcher would otherwise stay at its biggest
file's size for months (a million-row stock file: ~465 MB after it is filed, ~170 MB handed
back), and a big file peak higher than it needs:
- Arrow's default pool (mimalloc): the system allocator is used instead (`hand_memory_back`,
  when `etl.pipeline` is imported).
- glibc's malloc keeps the freed middle of its heaps; `malloc_trim` hands it back
  (`release_freed_memory`: after reading, after uploading, and after each file). At the two
  points inside a file this took the million-row run's peak from ~490 to ~440 MB, at no
  measurable cost (bench/, docs/performance.md). A fixed mmap threshold (every big block an
  `mmap` of its own) took it lower but cost ~70% more CPU in page faults.
Elsewhere (Windows, macOS, musl) both are left to the system allocator as it is.
"""

from __future__ import annotations

import ctypes
import os
from collections.abc import Callable

import pyarrow as pa


def hand_memory_back() -> None:
    """Arrow's columns from the system allocator, for this process (idempotent)."""
    pa.set_memory_pool(pa.system_memory_pool())


def release_freed_memory() -> None:
    """Hand the heap's free pages back to the system (glibc; a no-op elsewhere)."""
    if _TRIM is not None:
        _TRIM(0)


def _malloc_trim() -> Callable[[int], int] | None:
    try:
        if not (os.confstr("CS_GNU_LIBC_VERSION") or "").startswith("glibc"):
            return None
        trim: Callable[[int], int] = ctypes.CDLL(None).malloc_trim
    except (AttributeError, ValueError, OSError):  # Windows has no confstr; musl, no name
        return None
    return trim


_TRIM = _malloc_trim()
