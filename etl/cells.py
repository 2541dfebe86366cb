"""Fast whole-column questions about text cells, answered by Arrow compute kernels."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

BoolArray = npt.NDArray[np.bool_]
_TEXT_FORMULA = r'^="(?:[^"]|"")*"$'  # ="00123": text for Excel, leading zeros kept
EXCEL_DIGITS = 15  # significant digits a spreadsheet number keeps (and Excel shows)


def arrow_text(cells: pd.Series) -> pa.Array:
    """The column as one Arrow string array (missing values as ""); a big file's column
    arrives in several Arrow chunks, which are joined (the kernels here want one array)."""
    text = pa.array(cells.astype("str").fillna(""), type=pa.large_string())
    return text.combine_chunks() if isinstance(text, pa.ChunkedArray) else text


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


def bytes_at(text: pa.Array | pa.ChunkedArray, position: int = 0) -> npt.NDArray[np.uint8]:
    """Byte `position` of every cell (0 where the cell is shorter), read straight from the
    Arrow buffers: one look per row, whatever the length of the texts."""
    if isinstance(text, pa.ChunkedArray):  # large files arrive in several Arrow chunks
        parts = [_bytes_at(chunk, position) for chunk in text.chunks]
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.uint8)
    return _bytes_at(text, position)


def _bytes_at(text: pa.Array, position: int) -> npt.NDArray[np.uint8]:
    _, offsets_buffer, data_buffer = text.buffers()
    if data_buffer is None or data_buffer.size == 0 or len(text) == 0:
        return np.zeros(len(text), dtype=np.uint8)
    wide = pa.types.is_large_string(text.type)
    every = np.frombuffer(offsets_buffer, dtype=np.int64 if wide else np.int32)
    offsets = np.asarray(every[text.offset : text.offset + len(text) + 1], dtype=np.int64)
    data = np.frombuffer(data_buffer, dtype=np.uint8)
    starts = offsets[:-1] + position if position else offsets[:-1]
    found: npt.NDArray[np.uint8] = np.take(data, starts, mode="clip")
    found *= offsets[1:] - offsets[:-1] > position  # a shorter cell has no such byte
    return found


def contains_bytes(text: pa.Array, wanted: bytes) -> bool:
    """Whether any cell holds one of the bytes `wanted` (ASCII), from one look at the data
    buffer rather than a search per cell."""
    _, offsets_buffer, data_buffer = text.buffers()
    if data_buffer is None or len(text) == 0:
        return False
    wide = pa.types.is_large_string(text.type)
    every = np.frombuffer(offsets_buffer, dtype=np.int64 if wide else np.int32)
    start, end = int(every[text.offset]), int(every[text.offset + len(text)])
    data = np.frombuffer(data_buffer, dtype=np.uint8)[start:end]
    return any(bool((data == byte).any()) for byte in wanted)


def unwrap_text_formulas(cells: pd.DataFrame) -> None:
    """`="00123"` -> `00123`, in place: what Excel shows for the way many ERPs write a value
    so that Excel keeps its leading zeros. Only a whole cell of that form (inner quotes
    doubled); a real formula such as `="A"&B1` stays as it is. In a workbook too: a CSV
    errors file opened by LibreOffice without "Evaluate formulas" and saved as .xlsx keeps
    `="00123"` as text, which must not go out as the SKU."""
    for j in cells.columns:
        column = cells[j]
        if not column.str.startswith('="').any():  # Arrow's kernel: the usual column is cheap
            continue
        hit = column.str.match(_TEXT_FORMULA)
        if hit.any():
            inner = column[hit].str.slice(2, -1).str.replace('""', '"', regex=False)
            cells.loc[hit, j] = inner
