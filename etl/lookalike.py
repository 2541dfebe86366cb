"""Characters that look like the usual ones in a code Konnect does not know.

Word processors and Excel's AutoCorrect turn `-` into an en dash and `'` into a curly quote
as a code is typed; an input method for Chinese or Japanese types full-width letters and
digits. On screen `TS–BLK–S` and `TS-BLK-S` look the same, and Konnect answers only
"X404SKU". Such a code is not refused by us (a catalogue may really hold it): when Konnect
does not know it, the row's message names the character and how the code would be typed
with the usual one, so the person fixing the errors file knows what to look for.
"""

from __future__ import annotations

import unicodedata

# look-alike -> its name for the message; `usual` -> the character it stands in for
LOOK_ALIKES = {
    "\u2010": "a Unicode hyphen",
    "\u2011": "a non-breaking hyphen",
    "\u2012": "a figure dash",
    "\u2013": "an en dash",
    "\u2014": "an em dash",
    "\u2015": "a horizontal bar",
    "\u2212": "a minus sign",
    "\u2018": "a curly quote",
    "\u2019": "a curly quote",
    "\u201c": "a curly double quote",
    "\u201d": "a curly double quote",
}
USUAL = dict.fromkeys("‘’", "'") | dict.fromkeys("“”", '"')
FULL_WIDTH = "full-width letters or digits (from a Chinese or Japanese input method)"


def look_alike_hint(code: str) -> str:
    """The hint for `code`, or "" when it holds no look-alike (or something else besides)."""
    plain = "".join(USUAL.get(c, "-") if c in LOOK_ALIKES else c for c in code)
    plain = unicodedata.normalize("NFKC", plain)  # full-width Ａ１ -> A1
    if plain == code or not plain.isascii():
        return ""
    found = dict.fromkeys(c for c in code if c in LOOK_ALIKES)
    names = [f"{LOOK_ALIKES[c]} ({c}) instead of {USUAL.get(c, '-')!r}" for c in found]
    if any(unicodedata.normalize("NFKC", c) != c for c in code if c not in LOOK_ALIKES):
        names.append(FULL_WIDTH)
    why = " (Word and Excel's AutoCorrect put such dashes and quotes in)" if found else ""
    return (
        f"this SKU holds {' and '.join(names)}: it looks the same on screen but is another "
        f"code{why}; if the SKU is {plain}, type it so"
    )
