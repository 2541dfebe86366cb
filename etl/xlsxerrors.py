"""Put Excel error values (#N/A, #DIV/0!...) back into cells read from an XLSX workbook.

python-calamine hands error cells over as empty strings, which would let a failed VLOOKUP
pass as "no value" (and pick up a mapping default). The sheet XML keeps the error text, so
this module reads it from there. Only sheets that contain an error cell are scanned. The
same for `.xls` is in etl.xlserrors, for `.ods` in etl.odserrors; etl.errorvalues turns the
restored text into a row problem.
"""

from __future__ import annotations

import posixpath
import re
import zipfile
from collections.abc import Iterable
from pathlib import Path
from xml.etree import ElementTree

import pandas as pd

_MAIN_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_REL_NS = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_PKG_REL_NS = "{http://schemas.openxmlformats.org/package/2006/relationships}"
_ERROR_MARK = b't="e"'
# an error cell's open tag (not self-closing), then its content up to the closing tag
_ERROR_CELL = re.compile(rb'<(?:\w+:)?c\b([^>]*\bt="e"[^>]*)(?<!/)>(.*?)</(?:\w+:)?c>', re.DOTALL)
_REF = re.compile(rb'\br="([A-Z]+)([0-9]+)"')
_VALUE = re.compile(rb"<(?:\w+:)?v>([^<]*)</(?:\w+:)?v>")


def restore_xlsx_errors(
    path: Path, sheet_name: str, cells: pd.DataFrame, first_row: int, first_col: int
) -> None:
    """Write the error text into `cells` (0-based offsets `first_row`/`first_col`), in place."""
    try:
        xml = _sheet_xml(path, sheet_name)
    except (OSError, KeyError, zipfile.BadZipFile, ElementTree.ParseError):
        return  # best effort: calamine already read the sheet, only error texts are missing
    if _ERROR_MARK not in xml:
        return
    write_back(cells, _error_cells(xml), first_row, first_col)


def write_back(
    cells: pd.DataFrame, found: Iterable[tuple[int, int, str]], first_row: int, first_col: int
) -> None:
    """Each (sheet row, sheet column, error text) into `cells` (which start at `first_row`,
    `first_col`, 0-based), where the cell is inside and empty; shared by the .xls and .ods
    restorers."""
    rows, cols = cells.shape
    for row, col, text in found:
        i, j = row - first_row, col - first_col
        if 0 <= i < rows and 0 <= j < cols and cells.iat[i, j] == "":
            cells.iat[i, j] = text


def _sheet_xml(path: Path, sheet_name: str) -> bytes:
    with zipfile.ZipFile(path) as archive:
        workbook = ElementTree.fromstring(archive.read("xl/workbook.xml"))
        rels = ElementTree.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
        targets = {
            rel.get("Id"): rel.get("Target", "") for rel in rels.iter(f"{_PKG_REL_NS}Relationship")
        }
        for sheet in workbook.iter(f"{_MAIN_NS}sheet"):
            if sheet.get("name") == sheet_name:
                target = targets[sheet.get(f"{_REL_NS}id")]
                part = (
                    target.lstrip("/") if target.startswith("/") else posixpath.join("xl", target)
                )
                return archive.read(posixpath.normpath(part))
    raise KeyError(sheet_name)


def _error_cells(xml: bytes) -> list[tuple[int, int, str]]:
    """(0-based row, 0-based column, error text) of every error cell in a sheet's XML."""
    found = []
    for match in _ERROR_CELL.finditer(xml):
        ref, value = _REF.search(match.group(1)), _VALUE.search(match.group(2))
        if ref and value:
            row = int(ref.group(2)) - 1
            found.append((row, _column_index(ref.group(1)), value.group(1).decode("utf-8")))
    return found


def _column_index(letters: bytes) -> int:
    index = 0
    for letter in letters:
        index = index * 26 + (letter - ord("A") + 1)
    return index - 1
