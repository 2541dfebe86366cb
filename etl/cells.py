"""Fast whole-column questions about text cells, answered by Arrow compute kernels."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

BoolArray = npt.NDArray[np.bool_]


def arrow_text(cells: pd.Series) -> pa.Array:
    """The column as an Arrow string array (missing values as "")."""
    return pa.array(cells.astype("str").fillna(""), type=pa.large_string())


def to_mask(array: pa.Array) -> BoolArray:
    """An Arrow boolean array as a numpy mask (missing counts as False)."""
    filled = pc.fill_null(array, False)
    return np.asarray(filled.to_numpy(zero_copy_only=False), dtype=bool)


def blank_cells(cells: pd.Series | pa.Array | pa.ChunkedArray) -> BoolArray:
    """True where a cell is empty or only whitespace."""
    if isinstance(cells, pa.ChunkedArray):  # large files arrive in several Arrow chunks
        cells = cells.combine_chunks()
    text = cells if isinstance(cells, pa.Array) else arrow_text(cells)
    return to_mask(pc.or_(pc.equal(text, ""), pc.utf8_is_space(text)))
