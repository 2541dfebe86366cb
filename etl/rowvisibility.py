"""Which rows of an .ods or .xls sheet are hidden: hidden, filtered out, in a collapsed group.

python-calamine reads cells, not whether a row shows; etl.hiddenrows needs it (a cancel list
filtered down to the orders to cancel and saved must not cancel the rows filtered out). The
file is first searched for the mark a hidden row leaves, so a workbook hiding none costs a
byte search only:

- .ods: LibreOffice writes `table:visibility="collapse"` (hidden, or in a collapsed group) or
  `"filter"` (filtered out) on the `<table:table-row>`; a `<table:table-row-group>` written
  `table:display="false"` hides its rows too. Rows count as etl.odserrors counts them.
- .xls: a ROW record (0x0208) with its fDyZero flag (0x20 of the option flags) set. Only
  then does xlrd read the sheet's row records: with `formatting_info` it parses every cell,
  about twice calamine's read of the whole sheet.

Rows are 1-based sheet row numbers up to `last` (the sheet's last row read: a hidden run
can repeat to the end of the sheet); None when the file does not let them be read.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator

import xlrd

from etl.odserrors import ROWS_REPEATED, repeat, table_span
from etl.xlserrors import stream_may_hold

_ODS_MARKS = (b'visibility="collapse"', b'visibility="filter"', b'display="false"')
_ODS_ROW_OR_GROUP = re.compile(rb"<(/?)table:table-row(-group)?(?=[\s/>])([^>]*)>")
_ODS_HIDDEN = re.compile(rb'\btable:visibility="(?:collapse|filter)"')
_ODS_FOLDED = re.compile(rb'\btable:display="false"')
# a ROW record (id 0x0208, 16 bytes) whose option flags' low byte, the data's 13th, has 0x20
_XLS_HIDDEN_ROW = re.compile(
    rb"\x08\x02\x10\x00.{12}[\x20-\x3f\x60-\x7f\xa0-\xbf\xe0-\xff]", re.DOTALL
)


def ods_hidden_rows(xml: bytes | None, sheet_name: str, last: int) -> list[int] | None:
    """The hidden rows of sheet `sheet_name` in content.xml `xml` (None: it could not be read)."""
    if xml is None:
        return None
    if not any(mark in xml for mark in _ODS_MARKS):
        return []
    span = table_span(xml, sheet_name)
    return None if span is None else list(_ods_rows(xml, span, last))


def _ods_rows(xml: bytes, span: tuple[int, int], last: int) -> Iterator[int]:
    row, folded = 0, [False]  # per open row group: is it (or one around it) collapsed
    for match in _ODS_ROW_OR_GROUP.finditer(xml, *span):
        closing, group, attributes = match.groups()
        if group and closing:
            folded = folded[:-1] or [False]
        elif group and not attributes.endswith(b"/"):
            folded.append(folded[-1] or _ODS_FOLDED.search(attributes) is not None)
        elif not group and not closing:
            height = repeat(ROWS_REPEATED, attributes)
            if folded[-1] or _ODS_HIDDEN.search(attributes):
                yield from range(row + 1, min(row + height, last) + 1)
            row += height
            if row >= last:
                return


def xls_hidden_rows(content: bytes, sheet_name: str, last: int) -> list[int] | None:
    """The hidden rows of sheet `sheet_name` of the .xls file `content` (None: unreadable)."""
    if not stream_may_hold(content, (_XLS_HIDDEN_ROW,)):
        return []
    try:
        book = xlrd.open_workbook(
            file_contents=content, formatting_info=True, on_demand=True, logfile=io.StringIO()
        )
        rows = book.sheet_by_name(sheet_name).rowinfo_map
    except Exception:  # xlrd raises assorted errors for what it cannot read
        return None
    return sorted(row + 1 for row, info in rows.items() if info.hidden and row < last)
