"""What python-calamine cannot tell from an XLSX sheet: Excel error values (#N/A, #DIV/0!...)
and formulas whose result was never calculated, read back from the sheet XML.

calamine hands error cells over as empty strings, which would let a failed VLOOKUP pass as
"no value" (and pick up a mapping default); the sheet XML keeps the error text. A formula
cell holds the result its writer stored with it, and programs that write .xlsx store none:
openpyxl writes the formula alone, XlsxWriter writes 0 for every formula, and both set
`fullCalcOnLoad` in xl/workbook.xml so that Excel calculates on opening. calamine reads such
a cell as empty, or as the 0: a stock of 40 sent as 0, an "=IF(...,"Yes","No")" showing Yes
sent as the mapping's default. So a formula cell with no stored result, and every formula
cell of a workbook that asks to be calculated on opening, gets etl.errorvalues'
`uncalculated_text` (its formula, marked) in place of what calamine read; the mapping step
rejects its row. A workbook Excel or LibreOffice saved stores every result and no
`fullCalcOnLoad`, and is read as before.

The sheet XML is read once, and only when calamine read the sheet whole; error cells are
looked for only when the text `t="e"` is in it, formula cells only when an `<f>` tag is.
The same for `.xls` is in etl.xlserrors, for `.ods` in etl.odserrors; etl.errorvalues turns
the restored text into a row problem.
"""

from __future__ import annotations

import functools
import posixpath
import re
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from html import unescape
from pathlib import Path
from xml.etree import ElementTree

import pandas as pd

from etl.errors import InputError
from etl.errorvalues import uncalculated_text
from etl.xlsxpadded import padded_cells, padding_styles

_PKG_REL_NS = "{http://schemas.openxmlformats.org/package/2006/relationships}"
_ERROR_MARK = b't="e"'
# an error cell's open tag (not self-closing), then its content up to the closing tag
_ERROR_CELL = re.compile(rb'<(?:\w+:)?c\b([^>]*\bt="e"[^>]*)(?<!/)>(.*?)</(?:\w+:)?c>', re.DOTALL)
_REF = re.compile(rb'\br="([A-Z]+)([0-9]+)"')
_VALUE = re.compile(rb"<(?:\w+:)?v>([^<]*)</(?:\w+:)?v>")
_TYPE = re.compile(rb'\bt="(\w+)"')
_ROOT = re.compile(rb"<(?:(\w+):)?worksheet\b")
_AREA = re.compile(rb'\bref="([A-Z]+)([0-9]+):([A-Z]+)([0-9]+)"')
_TRUE = ("1", "true")
# a row Excel does not show, with its number (`r` is optional: rows without it are not found)
_HIDDEN_ROW = re.compile(
    rb'<(?:\w+:)?row\b(?=[^>]*\bhidden="(?:1|true)")[^>]*?\br="([0-9]+)"', re.DOTALL
)
_UNPLACED = (
    "sheet '{sheet}' has cells with a formula whose result was never calculated (the file"
    " was written by a program, not saved by Excel), and does not say which cells they are:"
    " open the file in Excel and save it, or export values instead of formulas"
)

Found = list[tuple[int, int, str]]  # (0-based row, 0-based column, cell text)


@dataclass
class SheetScan:
    """What the sheet XML says that calamine did not: error texts (for cells calamine read
    as empty) and the text of formulas never calculated (for their cells, whatever calamine
    read there)."""

    errors: Found = field(default_factory=list)
    formulas: Found = field(default_factory=list)
    # an array formula's range (first row, first column, last row, last column, formula):
    # its other cells hold values that came with the formula
    areas: list[tuple[int, int, int, int, str]] = field(default_factory=list)
    # rows Excel hides (Hide, a filter, a collapsed group): their 1-based row numbers; None
    # when the sheet XML could not be read (`etl.hiddenrows` then says so)
    hidden: list[int] | None = field(default_factory=list)
    # number cells under a zero-padding format, as Excel shows them (etl.xlsxpadded)
    padded: Found = field(default_factory=list)


def scan_xlsx(path: Path, sheet_name: str) -> SheetScan:
    """The error cells and formulas never calculated of sheet `sheet_name`. InputError when
    a formula never calculated sits in a cell the XML gives no place (no `r="C4"`)."""
    try:
        xml, full_calc, styles = _sheet_xml(path, sheet_name)
        padding = padding_styles(styles)
    except (OSError, KeyError, zipfile.BadZipFile, ElementTree.ParseError):
        return SheetScan(hidden=None)  # best effort: calamine already read the sheet
    scan = SheetScan(padded=padded_cells(xml, padding))
    if _ERROR_MARK in xml:
        scan.errors = _error_cells(xml)
    found = _uncalculated_cells(xml, _prefix(xml), full_calc, sheet_name)
    scan.formulas, scan.areas = found.formulas, found.areas
    if b'hidden="1"' in xml or b'hidden="true"' in xml:
        scan.hidden = [int(row) for row in _HIDDEN_ROW.findall(xml)]
    return scan


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


def _sheet_xml(path: Path, sheet_name: str) -> tuple[bytes, bool, bytes | None]:
    """The sheet's XML, whether the workbook asks to be calculated on opening, and the
    workbook's styles part (None when it has none)."""
    with zipfile.ZipFile(path) as archive:
        book_part = _workbook_part(archive)
        folder, name = posixpath.split(book_part)
        workbook = ElementTree.fromstring(archive.read(book_part))
        rels = ElementTree.fromstring(archive.read(posixpath.join(folder, "_rels", name + ".rels")))
        targets = {
            rel.get("Id"): rel.get("Target", "") for rel in rels.iter(f"{_PKG_REL_NS}Relationship")
        }
        # any namespace: Excel's "Strict Open XML" workbook names its elements otherwise
        calc = workbook.find("{*}calcPr")
        full_calc = calc is not None and calc.get("fullCalcOnLoad", "").lower() in _TRUE

        def read(target: str) -> bytes:
            part = target.lstrip("/") if target.startswith("/") else posixpath.join(folder, target)
            return archive.read(posixpath.normpath(part))

        styles = [
            rel.get("Target", "")
            for rel in rels.iter(f"{_PKG_REL_NS}Relationship")
            if rel.get("Type", "").endswith("/styles")
        ]
        for sheet in workbook.iterfind(".//{*}sheet"):
            if sheet.get("name") == sheet_name:
                rel = next(v for k, v in sheet.attrib.items() if k.endswith("}id"))
                xml = read(targets[rel])
                return xml, full_calc, read(styles[0]) if styles else None
    raise KeyError(sheet_name)


def _workbook_part(archive: zipfile.ZipFile) -> str:
    """The workbook's part, as the package's relationships name it (xl/workbook.xml)."""
    try:
        rels = ElementTree.fromstring(archive.read("_rels/.rels"))
    except KeyError:
        return "xl/workbook.xml"
    for rel in rels.iter(f"{_PKG_REL_NS}Relationship"):
        if rel.get("Type", "").endswith("/officeDocument"):
            return posixpath.normpath(rel.get("Target", "").lstrip("/"))
    return "xl/workbook.xml"


def _prefix(xml: bytes) -> bytes:
    """The namespace prefix the sheet's tags carry (b"x:" for <x:worksheet>, usually b"")."""
    root = _ROOT.search(xml, 0, 4096)
    return root.group(1) + b":" if root and root.group(1) else b""


@dataclass(frozen=True)
class _Patterns:
    """The regular expressions for a sheet whose tags carry `prefix` (usually none)."""

    tag: re.Pattern[bytes]  # a formula tag: `<f>`, `<f t="shared" si="0"/>` (not `<formula1>`)
    fast: re.Pattern[bytes]  # a cell holding a formula, `r` its first attribute (all writers)
    cell: re.Pattern[bytes]  # the same, attributes in any order
    no_value: bytes  # `<v></v>`
    unvalued: re.Pattern[bytes]  # a sign of a formula stored without its value


@functools.cache
def _patterns(prefix: bytes) -> _Patterns:
    """A formula cell's groups: where it is (`fast`: letters, digits), the cell's other
    attributes, the formula's attributes, its text (empty for a shared formula's copy),
    and the value element after it (empty when there is none)."""
    p = re.escape(prefix)
    formula = (
        rb"\s*<" + p + rb"f\b([^>]*?)(?:/>|>([^<]*)</" + p + rb"f>)\s*"
        rb"(<" + p + rb"v\s*/>|<" + p + rb"v>[^<]*</" + p + rb"v>)?"
    )
    return _Patterns(
        tag=re.compile(rb"<" + p + rb"f[\s>/]"),
        fast=re.compile(rb"<" + p + rb'c r="([A-Z]+)([0-9]+)"([^>]*)>' + formula),
        cell=re.compile(rb"<" + p + rb"c\b([^>]*)>" + formula),
        no_value=b"<" + prefix + b"v></" + prefix + b"v>",
        unvalued=re.compile(
            rb"</"
            + p
            + rb"f>\s*</"
            + p
            + rb"c>|/>\s*</"
            + p
            + rb"c>|<"
            + p
            + rb"v\s*/>|<"
            + p
            + rb"v></"
            + p
            + rb"v>"
        ),
    )


def _uncalculated_cells(xml: bytes, prefix: bytes, full_calc: bool, sheet_name: str) -> SheetScan:
    """The formula cells whose value was never calculated: no value stored (an empty one is
    only a text result's); in a workbook to be calculated on opening, also an empty value
    or 0 (XlsxWriter's placeholder; Apache POI sets the flag too but stores real results,
    which are kept); with the ranges of array formulas among them (their other cells hold
    values that came with the formula). A sheet with neither that flag nor any sign of a
    formula without its value is not looked at cell by cell (Excel's own files). A
    regular-expression search finds the first formula, or none; the cells are then read with
    one that leans on the `r` attribute coming first, as every writer puts it (the general
    one runs when it missed some)."""
    scan = SheetScan()
    if not full_calc and not _patterns(prefix).unvalued.search(xml):
        return scan
    found = _formula_cells(xml, _patterns(prefix))
    columns: dict[bytes, int] = {}
    no_value = _patterns(prefix).no_value
    for letters, digits, attributes, attrs, formula, value in found:
        if _stored(value, attributes, no_value) and not (full_calc and _placeholder(value)):
            continue
        if not letters:  # rare writers leave the place out (the cells follow in order)
            raise InputError(_UNPLACED.format(sheet=sheet_name), code="unreadable")
        col = columns.get(letters)
        if col is None:
            col = columns[letters] = _column_index(letters)
        shown = formula.decode("utf-8")
        text = uncalculated_text(unescape(shown) if "&" in shown else shown or None)
        scan.formulas.append((int(digits) - 1, col, text))
        if b"ref=" in attrs:
            _add_area(scan, attrs, text)
    return scan


def _placeholder(value: bytes) -> bool:
    """A value element a program writes in place of a result: `<v>0</v>`, `<v></v>`."""
    inner = value[value.find(b">") + 1 : value.rfind(b"<")] if b"</" in value else b""
    return inner.strip() in (b"", b"0")


def _stored(value: bytes, attributes: bytes, no_value: bytes) -> bool:
    """Whether a formula's value element holds its result: any text does; an empty one only
    for a formula whose result is text (`t="str"`), Excel's way of storing ""."""
    if not value:
        return False
    empty = value == no_value or value.endswith(b"/>")
    return not empty or b't="str"' in attributes


_Cell = tuple[bytes, bytes, bytes, bytes, bytes, bytes]


def _formula_cells(xml: bytes, patterns: _Patterns) -> list[_Cell]:
    """(column letters, row digits, cell attributes, formula attributes, formula text,
    value element) of every cell holding a formula; no letters nor digits for a cell
    without its `r`."""
    first = patterns.tag.search(xml)
    if first is None:
        return []
    start = xml.rfind(b"<", 0, first.start())
    found: list[_Cell] = patterns.fast.findall(xml, start)
    if len(found) == len(patterns.tag.findall(xml, first.start())):
        return found
    found = []
    for match in patterns.cell.finditer(xml, start):
        attributes, attrs, formula, value = match.groups(b"")
        ref = _REF.search(attributes)
        letters, digits = ref.groups() if ref else (b"", b"")
        found.append((letters, digits, attributes, attrs, formula, value))
    return found


def _add_area(scan: SheetScan, attrs: bytes, text: str) -> None:
    """An array formula's range (`<f t="array" ref="B2:B4">`; a shared formula's `ref` only
    says which cells share it, each with its own `<f>`)."""
    kind, area = _TYPE.search(attrs), _AREA.search(attrs)
    if kind is None or kind.group(1) not in (b"array", b"dataTable") or area is None:
        return
    top, left = int(area.group(2)) - 1, _column_index(area.group(1))
    bottom, right = int(area.group(4)) - 1, _column_index(area.group(3))
    scan.areas.append((top, left, bottom, right, text))


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
