"""Codes kept as numbers under a zero-padding format: read as Excel shows them.

An item code column formatted `00000000` shows `00012345` while the cell holds the number
12345; calamine reads the number. Sent as 12345, the code is another SKU (or an unknown one
with a hint blaming Excel for zeros the user can see). Such a cell is read as the text Excel
shows, as a `="00123"` cell already is. Only formats of zeros alone (`000`, `00000000`) are
looked for, in the workbook's styles; a workbook without one costs nothing more. A number
with decimals under such a format is left as read (Excel would round it for display).
"""

from __future__ import annotations

import re
from xml.etree import ElementTree

_MAIN_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_ZEROS = re.compile(r"0{2,}")
# a cell with its attributes and its value (after a formula, if any)
_CELL = re.compile(
    rb'<(?:\w+:)?c r="([A-Z]+)([0-9]+)"([^>]*)>\s*'
    rb"(?:<(?:\w+:)?f\b[^>]*?(?:/>|>[^<]*</(?:\w+:)?f>)\s*)?"
    rb"<(?:\w+:)?v>([^<]*)</(?:\w+:)?v>"
)
_STYLE = re.compile(rb'\bs="([0-9]+)"')
_TYPE = re.compile(rb'\bt="(\w+)"')

Found = list[tuple[int, int, str]]  # (0-based row, 0-based column, text)


def padding_styles(styles_xml: bytes | None) -> dict[int, int]:
    """Cell style index -> digits shown, for the styles whose number format is zeros alone."""
    if not styles_xml or b"formatCode" not in styles_xml:
        return {}
    root = ElementTree.fromstring(styles_xml)
    widths = {
        int(fmt.get("numFmtId", "-1")): len(code)
        for fmt in root.iter(f"{_MAIN_NS}numFmt")
        if _ZEROS.fullmatch(code := fmt.get("formatCode", "").replace("\\", ""))
    }
    if not widths:
        return {}
    xfs = root.find(f"{_MAIN_NS}cellXfs")
    if xfs is None:
        return {}
    return {
        index: widths[int(xf.get("numFmtId", "0"))]
        for index, xf in enumerate(xfs.iter(f"{_MAIN_NS}xf"))
        if int(xf.get("numFmtId", "0")) in widths
    }


def padded_cells(xml: bytes, styles: dict[int, int]) -> Found:
    """The number cells of the sheet `xml` under one of `styles`, as Excel shows them."""
    used = rb'\bs="(?:' + b"|".join(b"%d" % s for s in styles) + rb')"'
    if not styles or not re.search(used, xml):
        return []
    found: Found = []
    for letters, row, attributes, value in _CELL.findall(xml):
        style, kind = _STYLE.search(attributes), _TYPE.search(attributes)
        if style is None or int(style.group(1)) not in styles or (kind and kind.group(1) != b"n"):
            continue
        text = _shown(value.decode("ascii", "replace"), styles[int(style.group(1))])
        if text is not None:
            found.append((int(row) - 1, _column(letters.decode()), text))
    return found


def _shown(value: str, width: int) -> str | None:
    """`12345` under `00000000` -> `00012345`; None for what is not a whole number."""
    try:
        number = float(value)
    except ValueError:
        return None
    if not number.is_integer() or abs(number) >= 1e15:
        return None
    digits = str(abs(int(number))).zfill(width)
    return f"-{digits}" if number < 0 else digits


def _column(letters: str) -> int:
    index = 0
    for letter in letters:
        index = index * 26 + ord(letter) - 64
    return index - 1
