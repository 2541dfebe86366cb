"""A sheet's text columns, with what etl.xlsxerrors found in the sheet XML written in."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from etl.limits import active, check_grid
from etl.xlsxerrors import SheetScan

ObjArray = npt.NDArray[np.object_]
BoolArray = npt.NDArray[np.bool_]


class Grid:
    """A sheet's text columns (0-based `first_row`, `first_col` at the top left), into
    which what etl.xlsxerrors found is written: an error's text where calamine read an empty
    cell; a formula never calculated over whatever calamine read.

    calamine's range ends at the last row with a stored value: rows below it holding only
    formulas never calculated are added, so they are read as rows. Above and beside the
    range nothing is added: the header is typed, so every column a mapping can read, and
    every row under the header, is in it (and the row a header was found on keeps its
    place)."""

    def __init__(
        self, columns: dict[int, ObjArray], numeric: BoolArray, first_row: int, first_col: int
    ) -> None:
        self.columns, self.numeric = columns, numeric
        self.first_row, self.first_col = first_row, first_col

    def restore(self, scan: SheetScan) -> None:
        start, end = self.first_col, self.first_col + self.numeric.shape[1]
        below = [row for row, col, _ in scan.formulas if start <= col < end]
        if below:
            self._grow(max(below) + 1)
        for row, col, text in scan.errors:
            i, j = self._inside(row, col)
            if i >= 0 and self.columns[j][i] == "":
                self.columns[j][i] = text
        self._overwrite(scan.formulas)
        self._overwrite(scan.padded)  # `00012345` as Excel shows it, text from now on
        height, width = self.numeric.shape
        for top, left, bottom, right, text in scan.areas:  # clipped to the frame
            i0, i1 = max(top - self.first_row, 0), min(bottom - self.first_row + 1, height)
            for j in range(max(left - self.first_col, 0), min(right - self.first_col + 1, width)):
                if i0 < i1:
                    self.columns[j][i0:i1] = text
                    self.numeric[i0:i1, j] = False

    def _overwrite(self, found: list[tuple[int, int, str]]) -> None:
        """Each (sheet row, sheet column, text) inside the frame written over its cell, a
        column at a time (a sheet written by a program may hold a formula in every row)."""
        if not found:
            return
        height, width = self.numeric.shape
        rows = np.fromiter((row for row, _, _ in found), np.int64, len(found)) - self.first_row
        cols = np.fromiter((col for _, col, _ in found), np.int64, len(found)) - self.first_col
        texts: ObjArray = np.empty(len(found), dtype=object)
        texts[:] = [text for _, _, text in found]
        inside = (rows >= 0) & (rows < height) & (cols >= 0) & (cols < width)
        for j in np.unique(cols[inside]).tolist():
            pick = inside & (cols == j)
            self.columns[j][rows[pick]] = texts[pick]
            self.numeric[rows[pick], j] = False

    def _inside(self, row: int, col: int) -> tuple[int, int]:
        """(row, column) positions in the frame; (-1, -1) outside."""
        height, width = self.numeric.shape
        i, j = row - self.first_row, col - self.first_col
        return (i, j) if 0 <= i < height and 0 <= j < width else (-1, -1)

    def _grow(self, end_row: int) -> None:
        """Empty rows added below, for the frame to reach sheet row `end_row` (0-based, not
        included)."""
        height, width = self.numeric.shape
        extra = end_row - self.first_row - height
        if extra <= 0:
            return
        check_grid(end_row, self.first_col + width, active())
        self.numeric = np.vstack([self.numeric, np.zeros((extra, width), dtype=np.bool_)])
        blank: ObjArray = np.full(extra, "", dtype=object)
        self.columns = {j: np.concatenate([c, blank]) for j, c in self.columns.items()}
