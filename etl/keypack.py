"""How an export's `location|sku` keys are kept in the protection database (`etl.keystate`):
packed (zlib over the keys, a line each), their digest (the same for the same set of keys, in
any order) and how many there are.

All from an Arrow array, a slice at a time: a million keys as a list of Python strings (and
that list joined into one string) took ~140 MB at the end of a million-row stock file, its
peak memory.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

SLICE = 100_000  # keys hashed at a time (an object array of this many Python strings)


def as_array(keys: Iterable[str] | pd.Series) -> pa.Array:
    """The keys as one Arrow array of large strings (a big column comes in chunks)."""
    given = keys if isinstance(keys, pd.Series) else list(keys)
    found = pa.array(given, type=pa.large_string())
    return found.combine_chunks() if isinstance(found, pa.ChunkedArray) else found


def pack(keys: pa.Array) -> tuple[bytes, str, int]:
    """(the keys a line each, compressed; their digest; how many are not empty)."""
    whole = pa.LargeListArray.from_arrays(pa.array([0, len(keys)], pa.int64()), keys)
    joined = pc.binary_join(whole, pa.scalar("\n", pa.large_string()))[0]
    blob = zlib.compress(joined.as_buffer() if joined.is_valid else b"", 1)
    filled = int(pc.sum(pc.not_equal(keys, "")).as_py() or 0)
    return blob, digest(keys), filled


def digest(keys: pa.Array) -> str:
    """Their count and the sum of their 64-bit hashes (pandas' SipHash with its fixed key: the
    same in every process and run, and as an older version computed it over a list; ~0.2 s
    for a million keys)."""
    total = 0
    for start in range(0, len(keys), SLICE):
        part = keys.slice(start, SLICE).to_numpy(zero_copy_only=False).astype(object)
        total += int(pd.util.hash_array(part, categorize=False).sum(dtype=np.uint64))
    return f"{len(keys)}:{total % 2**64:016x}"
