"""Identifiers a spreadsheet has damaged: reject the row, never guess the real value.

Excel keeps 15 significant digits, so a 20-digit shipment id typed as a number turns into
another order's id; it shows long numbers as 7.80012E+11 and saves them that way to CSV; it
drops the leading zeros of codes stored as numbers. Each check below finds one of those
signatures in an identifier field (or breaks a `pattern:` / `length:` the mapping declares)
and becomes a `Problem` that says what happened and how to export the file again. Codes
pasted from a web page or chat, with a character nobody can see, are refused too
(etl.invisible), as are codes and text with letters a CSV's character set turned into '?'
(etl.lostchars).
"""

from __future__ import annotations

import re

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from etl.cells import EXCEL_DIGITS, arrow_text, contains_bytes, to_mask
from etl.invisible import invisible_cells, invisible_problem
from etl.lostchars import TEXT_FIELDS, lost_in_code, lost_in_text
from etl.mapspec import FieldSpec, Mapping
from etl.model import Mapped, Problem
from etl.wording import label

BoolArray = npt.NDArray[np.bool_]

ID_FIELDS = frozenset(
    {"location_id", "sku", "orderId", "orderItemId", "awbNumber", "invoiceNumber", "packageId"}
) | {"imeiSerialNumber", "ackNumber"}  # ackNumber: the e-invoice's 15-digit acknowledgement
SCIENTIFIC = r"[+-]?\d+(?:[.,]\d+)?[eE][+-]?\d+"
# Text cells (CSV): 19+ digits that are all zeros after the 15th is how Excel saves a long id
# it rounded. Shorter numbers ending in zeros are too often real to reject.
ROUNDED_TEXT = rf"\d{{{EXCEL_DIGITS}}}0{{4,}}"
ITEM_SEPARATORS = re.compile(r"[;,|\s]+")
# A workbook cell that holds a date or time where a code belongs: as etl.excelread writes them
DATE_CELL = r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}:\d{2}(?:\.\d+)?)?|-?\d+:\d{2}:\d{2}(?:\.\d+)?"
# A code saved as a formatted number, or with Excel's text mark: `2345678901231.0` (a program
# wrote the number as a float), `2,345,678,901,233` / `23,45,67,890` (thousands separators),
# `'2345678901234` (the apostrophe that keeps digits as text in Excel, written into the file).
AS_FLOAT = r"(\d{4,})\.0+"  # 1001.0, 10234.0: from a float column; 42.0 may be a size
APOSTROPHE = r"'(\d+)"
GROUPED = r"\d{1,3}(?:,\d{3}){2,}|\d{1,2}(?:,\d{2})+,\d{3}"
# More of a number's formats: grouped with decimal zeros (`1,23,45,67,89,012.00`), a
# European locale's (`123.456.789.012`, `123456789012,00`), groups split by spaces
# (`123 456 789 017`, also no-break spaces). Dots and spaces count only in ids that are
# digits by nature (`DIGIT_IDS`): `101.002.003` may well be a SKU. `, ` joins an IMEI list.
LOCALE_GROUPED = "|".join(
    rf"\d{{1,3}}(?:{sep}\d{{3}}){{2,}}" for sep in ("\\.", " ", "\u00a0", "\u202f")
)
COMMA_DECIMAL = r"(\d{6,}), ?0+"
FORMATTED = rf"(?:{GROUPED})\.0+|(?:{LOCALE_GROUPED})(?:,0+)?|{COMMA_DECIMAL}"
DIGIT_IDS = frozenset({"orderId", "orderItemId", "awbNumber", "imeiSerialNumber", "ackNumber"})
# Cells worth a closer look: an exponent, 16+ digits in a row, or one of the forms above.
SUSPECT = rf"\d[eE][+-]?\d|\d{{16}}|\?|^(?:{APOSTROPHE}|{AS_FLOAT}|{GROUPED}|{FORMATTED})$"
SHORTENED = ("id_scientific", "id_rounded")  # a long number Excel cut to 15 digits
AS_TEXT = (
    "export the file again from your system without saving it in Excel, or format the column"
    " as Text before saving"
)


def damage_problems(mapping: Mapping, mapped: Mapped) -> list[Problem]:
    """One problem per damaged identifier cell (cells already reported are skipped)."""
    seen = {(p.row, p.column) for p in mapped.problems}
    found: list[Problem] = []
    # letters lost as '?' (etl.lostchars): only delimited text has a character set to lose them
    text_file = mapped.table is None or mapped.table.sheet.kind == "csv"
    for spec in mapping.fields:
        if spec.source == "" or spec.name not in mapped.frame.columns:
            continue
        problems: list[Problem] = []
        if spec.name in ID_FIELDS or spec.pattern is not None or spec.length is not None:
            problems = _field_problems(spec, mapped, text_file)
        elif spec.name in TEXT_FIELDS and text_file:
            texts = _texts(mapped.frame[spec.name])
            problems = lost_in_text(spec.name, spec.source, texts, mapped.row_numbers)
        for problem in problems:
            if (problem.row, problem.column) not in seen:
                seen.add((problem.row, problem.column))
                found.append(problem)
        note = shortened_note(spec, problems, len(mapped.frame))
        if note is not None and mapped.table is not None:
            mapped.table.notes.append(note)
    return found


def shortened_note(spec: FieldSpec, problems: list[Problem], total: int) -> str | None:
    """One line for the file's warnings when two or more cells of an id column are numbers
    Excel shortened: ids that differed became one, so the file, not a row, needs fixing."""
    hit = [p for p in problems if p.code in SHORTENED]
    if len(hit) < 2:
        return None
    if any(p.code == "id_scientific" for p in hit):
        how = f"saved by Excel (or LibreOffice) in scientific notation ('{hit[0].value}')"
    else:
        how = f"stored as a number, which keeps only {EXCEL_DIGITS} digits ('{hit[0].value}')"
    name = label(spec.name)
    return (
        f"column '{spec.source}': {len(hit):,} of {total:,} rows have their {name} {how}:"
        f" different {name}s became the same number and their real digits are lost, so those"
        " rows were not sent; format the column as Text in Excel and export the file again"
        " (or export it from your system again without opening it in Excel)"
    )


def _field_problems(spec: FieldSpec, mapped: Mapped, text_file: bool) -> list[Problem]:
    """Vectorised: only cells that may be damaged are looked at one by one."""
    texts = _texts(mapped.frame[spec.name])
    numeric = mapped.numeric.get(spec.name)
    if numeric is None:
        numeric = np.zeros(len(texts), dtype=np.bool_)
    suspect = _suspect(texts) | numeric
    if spec.pattern is not None or spec.length is not None:
        codes, uniques = pd.factorize(texts)  # every distinct value against the shape
        shapes = [_bad_shape(spec, str(u)) for u in uniques]
        suspect |= np.array([*shapes, False], dtype=np.bool_)[codes]
    suspect |= invisible_cells(texts)
    problems: list[Problem] = []
    for i in np.flatnonzero(suspect):
        text = str(texts.iat[int(i)])
        verdict = _cell_problem(spec, text, numeric=bool(numeric[i]), text_file=text_file)
        if verdict is not None:
            problems.append(Problem(int(mapped.row_numbers[i]), spec.source, text, *verdict))
    return problems


def _suspect(texts: pd.Series) -> BoolArray:
    """Cells `SUSPECT` finds (scientific notation, 16 digits in a row, a '?', a number's
    dressing). Only cells with 16 characters or one of the bytes `eE'.,?` can be: the
    regular expression runs on those alone (~5 ms per million ordinary codes instead of ~75)."""
    cells = arrow_text(texts)
    maybe = to_mask(pc.greater_equal(pc.utf8_length(cells), 16))
    if contains_bytes(cells, b"eE'., \xa0\xaf?"):  # \xa0 \xaf: in no-break spaces
        maybe |= to_mask(pc.match_substring_regex(cells, "[eE'., \u00a0\u202f?]"))
    found = np.zeros(len(cells), dtype=np.bool_)
    if maybe.any():
        found[maybe] = to_mask(pc.match_substring_regex(cells.filter(pa.array(maybe)), SUSPECT))
    return found


def _texts(values: pd.Series) -> pd.Series:
    if isinstance(values.dtype, pd.StringDtype):
        return values.fillna("")
    return values.map(_joined).astype("str")


def _mask(found: pd.Series) -> BoolArray:
    return found.to_numpy(dtype=np.bool_, na_value=False)


def _bad_shape(spec: FieldSpec, text: str) -> bool:
    return any(_shape_problem(spec, "", item) is not None for item in _items(text))


def _joined(value: object) -> str:
    """A cell as one text: list items (IMEIs) comma-joined."""
    if isinstance(value, list | tuple):
        return ", ".join(str(v).strip() for v in value if str(v).strip())
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return ""
    return str(value).strip()


def _items(text: str) -> list[str]:
    """The identifiers in one cell: an IMEI cell may hold several, comma-separated."""
    text = text.strip()
    if "," in text or ";" in text:
        return [part for part in ITEM_SEPARATORS.split(text) if part]
    return [text] if text else []


def _cell_problem(
    spec: FieldSpec, text: str, numeric: bool, text_file: bool = True
) -> tuple[str, str] | None:
    """(code, message) for the first damage found in one cell's items, else None;
    `text_file`: read from delimited text, where letters can be lost as '?'."""
    name = label(spec.name)
    dressed = None if numeric else _dressed_number(spec.name, text.strip())
    if dressed is not None:
        return dressed
    for item in _items(text):
        hidden = invisible_problem(name, item) or (lost_in_code(name, item) if text_file else None)
        if hidden is not None:
            return hidden
        if numeric and re.fullmatch(DATE_CELL, item):
            return "id_date", (
                f"{name} is a date or time in the workbook ({item}): Excel turns codes like"
                " MAR-01, 1-2 or 12:30 into dates; format the column as Text, type the codes"
                " again and save"
            )
        if re.fullmatch(SCIENTIFIC, item):
            return "id_scientific", (
                f"{name} is in scientific notation: a spreadsheet shortened a long number and "
                f"its real digits are lost; {AS_TEXT}"
            )
        if _rounded(item, numeric):
            return "id_rounded", _rounded_message(name, item, numeric)
        shape = _shape_problem(spec, name, item)
        if shape is not None:
            return shape
    return None


def id_damage(field: str, text: str, numeric: bool) -> tuple[str, str] | None:
    """(code, message) when one id cell of canonical `field` is damaged (scientific notation,
    digits lost, a date, an invisible character): the mapped columns' check, for a command
    that reads ids without a mapping (`documents`)."""
    return _cell_problem(FieldSpec(field), text, numeric)


def _dressed_number(field: str, text: str) -> tuple[str, str] | None:
    """A text cell holding a code the way a number is written (`AS_FLOAT`, `GROUPED`,
    `FORMATTED`) or with Excel's leading apostrophe: the code is probably the digits, but it
    is not guessed."""
    name = label(field)
    if found := re.fullmatch(APOSTROPHE, text):
        return "id_apostrophe", (
            f"{name} starts with an apostrophe, Excel's mark for text that was written into the"
            f" file: remove the ' (the code is probably {found.group(1)})"
        )
    if found := re.fullmatch(AS_FLOAT, text):
        return "id_decimal", (
            f"{name} ends in '.0': a program saved this code as a number with decimals; write"
            f" it without them (probably {found.group(1)}), or {AS_TEXT}"
        )
    if re.fullmatch(GROUPED, text):
        return "id_grouped", (
            f"{name} has thousands separators: it was saved as a formatted number; write it"
            f" without commas (probably {text.replace(',', '')}), or {AS_TEXT}"
        )
    return _formatted(field, text)


def _formatted(field: str, text: str) -> tuple[str, str] | None:
    """`FORMATTED`: the code is the digits before any decimal zeros."""
    if field not in DIGIT_IDS and not re.fullmatch(rf"(?:{GROUPED})\.0+", text):
        return None
    if found := re.fullmatch(COMMA_DECIMAL, text):
        digits, how = found.group(1), "a decimal comma and zeros after it"
    elif re.fullmatch(FORMATTED, text):
        digits = re.sub(r"\D", "", re.sub(r"[.,]0+$", "", text) if _has_tail(text) else text)
        how = "digits in groups" + (" and decimal zeros" if _has_tail(text) else "")
    else:
        return None
    return "id_grouped", (
        f"{label(field)} is written as a formatted number ({how}): it was saved from a number"
        f" cell; write it as plain digits (probably {digits}), or {AS_TEXT}"
    )


def _has_tail(text: str) -> bool:
    """`123,456,789,012.00` or `123.456.789.012,00`: a decimal mark other than the groups'."""
    return bool(re.search(r"(?:,\d{3}\.|\.\d{3},)0+$", text))


def _rounded_message(name: str, item: str, numeric: bool) -> str:
    """Digits past the 15th of a number: zeros are Excel's (changed); others are not Excel's
    doing yet, but the next save in Excel sets them to 0, and past 2^53 they are a float's."""
    how = "was stored" if numeric else "ends in zeros after digit 15: it was probably saved"
    changed = "were changed"
    if item[EXCEL_DIGITS:].strip("0"):
        changed = "cannot be trusted (Excel sets them to 0 when it saves the file)"
    return (
        f"{name} {how} as a number, which keeps only {EXCEL_DIGITS} digits: the last digits of "
        f"this {len(item)}-digit value {changed}; {AS_TEXT}"
    )


def _rounded(item: str, numeric: bool) -> bool:
    if numeric:
        return bool(re.fullmatch(rf"\d{{{EXCEL_DIGITS + 1},}}", item))
    return bool(re.fullmatch(ROUNDED_TEXT, item))


def _shape_problem(spec: FieldSpec, name: str, item: str) -> tuple[str, str] | None:
    zeros = " (a spreadsheet drops leading zeros from codes stored as numbers)"
    hint = zeros if item.isdigit() else ""
    if spec.length is not None and not spec.length[0] <= len(item) <= spec.length[1]:
        low, high = spec.length
        wanted = f"{low}" if low == high else f"{low} to {high}"
        return "id_length", (
            f"{name} should have {wanted} characters but has {len(item)}{hint}; "
            f"check the value, or {AS_TEXT}"
        )
    if spec.pattern is not None and not spec.pattern.fullmatch(item):
        return "id_pattern", (
            f"{name} does not have the form the mapping expects ({spec.pattern.pattern}){hint}; "
            f"check the value, or {AS_TEXT}"
        )
    return None


def numeric_mask(
    cells: BoolArray | None, positions: npt.NDArray[np.int64], column: int
) -> BoolArray:
    """Which kept rows of one source column were number cells in the workbook."""
    if cells is None or column >= cells.shape[1]:
        return np.zeros(len(positions), dtype=np.bool_)
    return np.asarray(cells[positions, column], dtype=np.bool_)
