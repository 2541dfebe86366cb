"""Which text encoding a delimited file is in, and its text as UTF-8.

A byte-order mark decides (UTF-8, UTF-16 LE/BE); UTF-16 without one is recognised
by its zero bytes; otherwise strict UTF-8, then Windows-1252 (what Excel writes on Western
Windows), then Latin-1, which reads any byte. A few Windows-1252 pairs are valid UTF-8 too
("É–" reads as "ɖ"): text that decodes to C1 control codes or IPA letters, and has no other
sign of UTF-8, is read as Windows-1252 instead. A file that is partly UTF-8 and partly
Windows-1252 is refused: reading it either way would silently garble some of its values.
Shared by the CSV reader (`etl.csvread`) and the web-page reader (`etl.markupread`).
"""

from __future__ import annotations

import codecs
import re

from etl.errors import InputError

UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
_UTF8_SEQUENCE = re.compile(
    rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}"
)
# What Windows-1252 pairs such as "É–" (C9 96) become when read as UTF-8: C1 control codes and
# the rare Latin Extended-B tail, IPA and spacing modifier letters - never in shop data.
_NOT_REALLY_UTF8 = re.compile("[\u0080-\u009f\u0240-\u02ff]")
# ...and what real UTF-8 text has: Latin-1 letters (é, ü...) or characters of 3 or 4 bytes (₹)
_REALLY_UTF8 = re.compile("[\u00a0-\u00ff\u0800-\U0010ffff]")


def to_utf8(data: bytes, encoding: str | None = None) -> tuple[str, bytes]:
    """(name of the encoding used, the text as UTF-8 bytes without a byte-order mark).

    A byte-order mark outranks a mapping's `encoding:`: it is unambiguous, and it is what
    our own errors files (UTF-8 with BOM) and Excel's "CSV UTF-8" carry, so a cp1252 ERP's
    errors file, fixed and dropped back in, reads as it was written."""
    if encoding is not None and not data.startswith((codecs.BOM_UTF8, *UTF16_BOMS)):
        return _forced(data, encoding)
    if data.startswith(UTF16_BOMS):
        return "utf-16", _strict(data, "utf-16").encode("utf-8")
    bomless = utf16_without_bom(data)
    if bomless is not None:
        return bomless, _strict(data, bomless).encode("utf-8")
    if b"\x00" in data:
        raise InputError(
            "this is not a text (CSV) file: it contains binary data (NUL bytes)", "binary"
        )
    if data.startswith(codecs.BOM_UTF8):
        _strict(data, "utf-8-sig")
        return "utf-8-sig", data[len(codecs.BOM_UTF8) :]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        _refuse_mixed(data, exc.start)
    else:
        odd = None if data.isascii() else _NOT_REALLY_UTF8.search(text)
        if odd is None:
            return "utf-8", data
        if _REALLY_UTF8.search(text):
            raise _mixed(text.count("\n", 0, odd.start()) + 1)
    try:
        return "cp1252", data.decode("cp1252").encode("utf-8")
    except UnicodeDecodeError:  # the five bytes cp1252 leaves undefined
        return "latin-1", data.decode("latin-1").encode("utf-8")


def utf16_without_bom(data: bytes) -> str | None:
    """'utf-16-le'/'-be' when every other byte of the start is zero, as in UTF-16 text."""
    head = data[:4096]
    if len(data) % 2 or len(head) < 4:
        return None
    even, odd = head[0::2], head[1::2]
    if odd.count(0) >= 0.9 * len(odd) and even.count(0) == 0:
        return "utf-16-le"
    if even.count(0) >= 0.9 * len(even) and odd.count(0) == 0:
        return "utf-16-be"
    return None


def _refuse_mixed(data: bytes, bad_at: int) -> None:
    """Invalid UTF-8 next to valid multi-byte UTF-8: two encodings were mixed in one file.
    Windows-1252 pairs that are also UTF-8 ("NESCAFÉ®" holds C9 AE, IPA "ɮ") do not count."""
    for found in _UTF8_SEQUENCE.finditer(data):
        if not _NOT_REALLY_UTF8.match(found.group().decode("utf-8")):
            raise _mixed(data.count(b"\n", 0, bad_at) + 1)


def _mixed(line: int) -> InputError:
    return InputError(
        f"the file mixes text encodings: line {line} is not UTF-8 while other lines are, so"
        " some values would be garbled. Open it in Excel and save it again as"
        " 'CSV UTF-8 (Comma delimited)'",
        code="encoding",
    )


def _forced(data: bytes, encoding: str) -> tuple[str, bytes]:
    try:
        name = codecs.lookup(encoding).name
    except LookupError as exc:
        raise InputError(f"unknown text encoding {encoding!r}", code="config") from exc
    # "utf-8" as configured should still read files that start with a byte-order mark
    name = "utf-8-sig" if name == "utf-8" else name
    if _plainly_utf8(data, name):
        return "utf-8", data
    return name, _strict(data, name).encode("utf-8")


def _plainly_utf8(data: bytes, named: str) -> bool:
    """Valid UTF-8 beyond ASCII, without the C1 codes / IPA letters that Windows-1252 pairs
    such as "É–" give: a system named `cp1252` in its mapping now exports UTF-8. Read the
    mapping's way, "CAFÉ-01" would go to Konnect as "CAFÃ‰-01"."""
    if named.startswith(("utf-8", "utf-16", "utf-32")) or data.isascii():
        return False
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return _NOT_REALLY_UTF8.search(text) is None


def _strict(data: bytes, encoding: str) -> str:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        bad = data[exc.start : exc.start + 1].hex()
        raise InputError(
            f"the file is not valid {encoding} text (byte 0x{bad} at position {exc.start})",
            code="encoding",
        ) from exc
