"""Characters in a code that the user cannot see: rejected, never stripped.

Text copied from a web page, a chat or a PDF brings along characters that show as nothing
(a zero-width space, a soft hyphen, a direction mark) or as an ordinary space (a non-breaking
space). In a SKU or an order id they make another code that looks identical on screen, and
Konnect answers only "X404SKU". Stripping them would change an identifier silently, so the
cell is refused with the character named and where it sits; the user types the code again.
A line break, a tab or another control character inside a code (Alt+Enter in an Excel cell,
a few lines pasted into one cell, a program's stray byte) is refused the same way; around the
code such characters are trimmed like spaces.
"""

from __future__ import annotations

import re
import unicodedata

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from etl.cells import arrow_text, to_mask

BoolArray = npt.NDArray[np.bool_]

# Spaces other than " ", and format characters that have no width (Unicode Zs, Zl, Zp, Cf)
INVISIBLE = "[\u00a0\u00ad\u061c\u180e\u2000-\u200f\u2028-\u202f\u205f-\u206f\u3000\ufeff]"
NAMES = {
    "\u00a0": "a non-breaking space",
    "\u00ad": "a soft hyphen",
    "\u200b": "a zero-width space",
    "\u200c": "a zero-width non-joiner",
    "\u200d": "a zero-width joiner",
    "\u200e": "a left-to-right mark",
    "\u200f": "a right-to-left mark",
    "\u202f": "a narrow non-breaking space",
    "\u2060": "a word joiner",
    "\ufeff": "a zero-width no-break space",
}
ORIGIN = "it usually comes with text copied from a web page, chat or PDF"
RETYPE = "type the {name} again rather than pasting it"
# ASCII control characters (escapes, for RE2 and Python's re alike)
CONTROL = r"[\x00-\x1f\x7f]"
LINES = "Alt+Enter in an Excel cell, or several lines pasted into one cell, put it there"
CONTROL_NAMES = {  # character -> (name, how it got there)
    "\n": ("a line break", LINES),
    "\r": ("a line break", LINES),
    "\t": ("a tab", "it comes with cells copied from a table on a web page or in a document"),
}
STRAY = "the program that wrote the file put it there"


def invisible_cells(texts: pd.Series) -> BoolArray:
    """True where a cell holds an invisible character. Only cells with non-ASCII text are
    searched, and a column without a single non-ASCII byte costs one look at its bytes."""
    cells = arrow_text(texts)
    found = np.zeros(len(cells), dtype=np.bool_)
    wide_bytes, control_bytes = _unusual_bytes(cells)
    if wide_bytes:
        wide = ~to_mask(pc.string_is_ascii(cells))
        picked = cells.filter(pa.array(wide))
        found[wide] = to_mask(pc.match_substring_regex(picked, INVISIBLE))
    if control_bytes:
        found |= to_mask(pc.match_substring_regex(cells, CONTROL))
    return found


def _unusual_bytes(cells: pa.Array | pa.ChunkedArray) -> tuple[bool, bool]:
    """Whether the text buffers hold a byte above 0x7F, and one below 0x20 or 0x7F (a buffer
    shared with other rows may say yes for nothing: the caller then looks cell by cell)."""
    wide = control = False
    chunks = cells.chunks if isinstance(cells, pa.ChunkedArray) else [cells]
    for chunk in chunks:
        data = chunk.buffers()[2]
        if data is not None and data.size:
            raw = np.frombuffer(data, dtype=np.uint8)
            top = int(raw.max())  # min and max: ~1 ms each per million codes
            wide = wide or top > 0x7F
            control = control or int(raw.min()) < 0x20 or (top >= 0x7F and 0x7F in raw)
    return wide, control


def invisible_problem(name: str, item: str) -> tuple[str, str] | None:
    """(code, message) naming the first invisible character of `item` and where it is."""
    hits = [m.start() for m in re.finditer(f"{INVISIBLE}|{CONTROL}", item)]
    if not hits:
        return None
    char, where = item[hits[0]], _where(item, hits[0])
    more = f", and {len(hits) - 1} more further on" if len(hits) > 1 else ""
    if re.fullmatch(CONTROL, char):
        what, origin = CONTROL_NAMES.get(char, (f"a control character (U+{ord(char):04X})", STRAY))
        return (
            "id_invisible",
            f"{name} contains {what} {where}{more}: {origin}; type the {name} again",
        )
    if unicodedata.category(char).startswith("Z"):
        what = f"{char_name(char)} {where}, not an ordinary space"
    else:
        what = f"an invisible character ({char_name(char)}, {where})"
    return "id_invisible", f"{name} contains {what}{more}: {ORIGIN}; {RETYPE.format(name=name)}"


def _where(item: str, at: int) -> str:
    if at == 0:
        return "at the start"
    return "at the end" if at == len(item) - 1 else f"after '{item[:at]}'"


def char_name(char: str) -> str:
    """'a zero-width space'; Unicode's own name for the rarer ones ('a thin space')."""
    if char in NAMES:
        return NAMES[char]
    name = unicodedata.name(char, f"character U+{ord(char):04X}").lower()
    return f"{'an' if name[0] in 'aeiou' else 'a'} {name}"
