"""An export's keys packed from an Arrow column are what an older version packed from a list
of strings: its digest must match a database that version wrote (an export of the same keys
drops the older one's), and its blob must read back the same."""

from __future__ import annotations

import zlib

import numpy as np
import pandas as pd

from etl.keypack import SLICE, as_array, pack


def test_packing_a_column_gives_the_list_packings_bytes_and_digest() -> None:
    keys = [f"ST-{i % 40:03d}|SKU-{i:07d}" for i in range(2 * SLICE + 7)] + ["", "MUM|ß"]
    hashes = pd.util.hash_array(np.asarray(keys, dtype=object), categorize=False)
    listed = (zlib.compress("\n".join(keys).encode(), 1),
              f"{len(keys)}:{int(hashes.sum(dtype=np.uint64)):016x}", len(keys) - 1)  # fmt: skip
    column = pd.Series(keys, dtype="str")
    assert pack(as_array(column)) == listed
    assert pack(as_array(pd.concat([column[:5], column[5:]]))) == listed  # in chunks too
    assert pack(as_array(keys)) == listed
    assert pack(as_array([])) == (zlib.compress(b"", 1), "0:0000000000000000", 0)
