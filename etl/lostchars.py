"""Letters a file's character set could not hold, saved as '?': rejected, never sent.

Excel's "CSV (Comma delimited)" writes Windows-1252: every character it lacks (₹, Hindi
letters, many accented ones of other scripts) becomes '?' in the file, with no warning.
Read back, `CAFÉ-01` is `CAF?-01` and a Hindi remark `????? ?? ????`: other codes, text
nobody can read. A '?' has no place in a code, so an identifier cell holding one is refused;
a text field (a remark, a courier's name) is refused when its '?' stand where letters were
(a word of three or more, or one between letters, outside a web address): "Ready?",
"not reachable??" and "t?id=55" stay as they are. Only delimited text can lose letters so:
in a workbook every character is kept, and a '?' is the writer's.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow.compute as pc

from etl.cells import arrow_text, contains_bytes, to_mask
from etl.model import Problem
from etl.wording import label

TEXT_FIELDS = frozenset({"remark", "courierName", "dpLocation"})
LOST_IN_TEXT = r"(?:^|\s)\?{3,}(?:\s|$)|[^\W\d_]\?[^\W\d_]"
WEB_ADDRESS = "://"
SAVE_AS_UTF8 = (
    'save it as "CSV UTF-8 (Comma delimited)" (LibreOffice: character set Unicode UTF-8) or'
    " export it again"
)
WHY = (
    "the file was saved in a character set without some of its letters (Excel's \"CSV (Comma"
    " delimited)\" writes é, ₹ or Hindi letters as '?')"
)


def lost_in_code(name: str, item: str) -> tuple[str, str] | None:
    """(code, message) when an identifier holds a '?'."""
    if "?" not in item:
        return None
    return "lost_characters", f"{name} '{item}' has a '?': {WHY}; {SAVE_AS_UTF8}"


def lost_in_text(
    field: str, source: str, texts: pd.Series, rows: npt.NDArray[np.int64]
) -> list[Problem]:
    """A problem per cell (`texts`: the column as text) of text field `field` whose '?'
    stand where letters were; `rows`: the cells' row numbers."""
    cells = arrow_text(texts)
    if not contains_bytes(cells, b"?"):
        return []
    found = to_mask(pc.match_substring_regex(cells, LOST_IN_TEXT))
    found &= ~to_mask(pc.match_substring(cells, WEB_ADDRESS))
    message = f"{label(field)} has '?' where letters were: {WHY}; {SAVE_AS_UTF8}"
    return [
        Problem(int(rows[i]), source, str(texts.iat[int(i)]), "lost_characters", message)
        for i in np.flatnonzero(found)
    ]
