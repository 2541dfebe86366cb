"""A price file whose prices moved by one big factor from those last sent is held.

An ERP that starts writing paise instead of rupees, or an export whose price column now
holds another number, passes every check of a single row: 49900 is a fine MRP. Against what
was sent for the same location and SKU before, the whole file moved by one factor. So a
price file is held (like a stock file of zeros, `etl.guards`) when the median of its MRPs,
or of its selling prices, divided by the last ones Konnect accepted for the same keys (in
the same currency) is `price_jump` (10) or more, or 1/`price_jump` or less, over at least
`min_rows` keys. A sale (-70%) or a correction of a few prices moves no median that far.
A file whose currency changed on most keys sent before (rupee amounts now marked USD) is
held too. Rows that alone moved that far, or changed currency, are sent (each may be a
clearance or a correction) and, once Konnect accepted them, named in the file's notes.

The last prices are kept in the protection database as one Arrow table, zstd-compressed
(`KeyState.price_book`), and updated from each price file's rows Konnect accepted. A key is
kept as the 64-bit hash of its `location|sku` (about 25 bytes a key in all, and a million
keys looked up in well under a second); two keys sharing a hash would only compare one's
price with the other's.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa

from etl.guard_settings import Guards
from etl.keystate import KeyState, frame_keys
from etl.wording import count, label, number_text, row_list

if TYPE_CHECKING:
    from etl.job import Prepared
    from etl.report import RowOutcomes

log = logging.getLogger(__name__)

FEED = "price"
FIELDS = ("mrp", "esp")
_BOOK = ("mrp", "esp", "currency", "file")  # indexed by the `location|sku` key


@dataclass(frozen=True)
class _Last:
    """What Konnect last accepted for each row's key (`before`, NaN where nothing), and which
    rows it had in the same currency (`same`) or in another (`switched`)."""

    keys: pd.Series
    before: pd.DataFrame
    currency: npt.NDArray[np.object_]
    seen: npt.NDArray[np.bool_]
    same: npt.NDArray[np.bool_]

    @property
    def switched(self) -> npt.NDArray[np.intp]:
        return np.flatnonzero(self.seen & ~self.same)

    def ratios(self, frame: pd.DataFrame, field: str) -> _Ratios:
        new = frame[field].to_numpy(dtype="float64")
        old = self.before[field].to_numpy(dtype="float64")
        known = self.same & (new > 0) & (old > 0)
        return _Ratios(np.divide(new, old, out=np.ones_like(new), where=known), known, new, old)


class _Ratios(NamedTuple):
    """Of one field: new / last where both are known (else 1), where, and the two values."""

    ratios: npt.NDArray[np.float64]
    known: npt.NDArray[np.bool_]
    new: npt.NDArray[np.float64]
    old: npt.NDArray[np.float64]


def _last(frame: pd.DataFrame, state: KeyState) -> _Last | None:
    book = _load(state.price_book())
    if book is None:
        return None
    keys = frame_keys(frame)
    before = book.reindex(_hashes(keys))
    currency = _currency(frame)
    seen = before["file"].notna().to_numpy()
    same = seen & (before["currency"].to_numpy() == currency)
    return _Last(keys, before, currency, seen, same)


def hold_reason(prepared: Prepared, guards: Guards, state: KeyState) -> str | None:
    """Why this price file must wait for `konnect-etl release` (None: it may go)."""
    factor = guards.price_jump
    if factor is None or prepared.feed.name != FEED:
        return None
    frame = prepared.validated.frame
    last = _last(frame, state)
    if last is None:
        return None
    switched = last.switched
    if switched.size >= guards.min_rows and switched.size * 2 > last.seen.sum():
        at = int(switched[0])
        was = (str(last.keys.iat[at]), str(last.currency[at]), str(last.before["currency"].iat[at]))
        return _currency_reason(switched.size, int(last.seen.sum()), was)
    for field in FIELDS:
        ratios = last.ratios(frame, field)
        if ratios.known.sum() < guards.min_rows:
            continue  # too few keys sent before to tell
        whole = np.ones(len(frame), dtype=bool)
        for rows, where in [(whole, ""), *_by_location(frame, ratios, guards.min_rows)]:
            if reason := _jump(field, ratios, rows, last, factor, where):
                return reason
    return None


def _by_location(
    frame: pd.DataFrame, ratios: _Ratios, min_rows: int
) -> list[tuple[npt.NDArray[np.bool_], str]]:
    """Each location's rows, where it has `min_rows` compared: one store of forty whose
    export turned to paise moves no median of the whole file."""
    locations = frame["location_id"].astype("str").to_numpy(dtype=object)
    compared = pd.Series(locations[ratios.known]).value_counts()
    many = compared[compared >= min_rows].index
    if len(many) < 2:  # one location: the whole file's median said it
        return []
    return [(locations == place, f" at {place}") for place in many]


def _jump(
    field: str, ratios: _Ratios, rows: npt.NDArray[np.bool_], last: _Last, factor: float,
    where: str,
) -> str | None:  # fmt: skip
    """The reason to hold, when the median ratio of `rows` is `factor` or more (or less
    than its inverse)."""
    known = ratios.known & rows
    ratio = float(np.median(ratios.ratios[known]))
    if 1 / factor < ratio < factor:
        return None
    at = int(np.argmin(np.where(known, np.abs(ratios.ratios - ratio), np.inf)))
    new, old = ratios.new[at], ratios.old[at]
    example = (str(last.keys.iat[at]), new, old, str(last.before["file"].iat[at]))
    return _reason(field, ratio, int(known.sum()), int(rows.sum()), example, where)


def note_far_rows(prepared: Prepared, out: RowOutcomes, guards: Guards, state: KeyState) -> None:
    """Name in the file's notes the rows Konnect accepted whose price alone moved
    `price_jump` times or more from the last one (a decimal point moved, or a clearance), or
    whose currency changed: each may be right, so they were sent. Before `record`."""
    factor = guards.price_jump
    if factor is None or prepared.feed.name != FEED:
        return
    validated = prepared.validated
    ok = np.asarray(out.status)[validated.positions] == "ok"
    last = _last(validated.frame, state) if ok.any() else None
    if last is None:
        return
    jumped = np.zeros(len(ok), dtype=bool)
    for field in FIELDS:
        ratios, known, _, _ = last.ratios(validated.frame, field)
        jumped |= known & ((ratios >= factor) | (ratios <= 1 / factor))
    _note(prepared, np.flatnonzero(jumped & ok), _jumped_note(factor))
    switched = np.zeros(len(ok), dtype=bool)
    switched[last.switched] = True
    _note(prepared, np.flatnonzero(switched & ok), _SWITCHED_NOTE)


def _reason(
    field: str,
    ratio: float,
    compared: int,
    rows: int,
    example: tuple[str, float, float, str],
    where: str = "",
) -> str:
    key, new, old, file = example
    location, sku = key.split("|", 1)
    times = f"{ratio:,.0f} times" if ratio >= 1 else f"1/{1 / ratio:,.0f} of"
    return (
        f"this price file's {label(field)} values{where} are about {times} those last sent for"
        f" the same locations and SKUs ({count(compared, 'row')} compared, of the {rows} that"
        f" passed the checks; e.g. {sku} at {location}: {number_text(new)}, last sent"
        f" {number_text(old)} by {file}):"
        " has the export's unit changed (paise instead of rupees), or does the column hold"
        " another number? Sent, every channel would show these prices"
        + (". If it is a markdown of 90% or more, release it" if ratio < 1 else "")
    )


def _currency_reason(switched: int, compared: int, example: tuple[str, str, str]) -> str:
    key, new, old = example
    location, sku = key.split("|", 1)
    return (
        f"this price file's currency differs from the one last sent on {switched} of the"
        f" {count(compared, 'row')} whose location and SKU were sent before (e.g. {sku} at"
        f" {location}: {new}, last sent in {old}): has the export's currency column changed?"
        f" Sent, every channel would show these amounts in {new}"
    )


def _jumped_note(factor: float) -> str:
    return (
        f"{{rows}}: the MRP or selling price is {factor:g} times or more (or 1/{factor:g} or"
        " less) of the one last sent for that location and SKU; sent, as a sale or a"
        " correction may do that - if one is a typo (a decimal point moved, paise for"
        " rupees), send the right price in a new file now"
    )


_SWITCHED_NOTE = (
    "{rows}: the currency is not the one last sent for that location and SKU; sent - if"
    " that is a mistake, send the price in the right currency in a new file now"
)


def _note(prepared: Prepared, positions: npt.NDArray[np.intp], template: str) -> None:
    """Name the rows at `positions` (of the validated frame) in the file's notes."""
    if positions.size:
        rows = prepared.validated.row_numbers[positions].tolist()
        note = template.format(rows=row_list(rows).capitalize())
        prepared.table.notes.append(note)
        log.warning("%s: %s", prepared.table.sheet.path.name, note)


def record(prepared: Prepared, out: RowOutcomes, state: KeyState, name: str) -> None:
    """Remember the prices Konnect accepted from this file (`name`: its name in done/)."""
    if prepared.feed.name != FEED:
        return
    validated = prepared.validated
    ok = np.asarray(out.status)[validated.positions] == "ok"
    if not ok.any():
        return
    frame = validated.frame[ok]
    sent = frame[list(FIELDS)].astype("float64")
    sent["currency"] = pd.Categorical(_currency(frame))
    sent["file"] = pd.Categorical.from_codes(np.zeros(len(frame), dtype=np.int8), pd.Index([name]))
    sent.index = pd.Index(_hashes(frame_keys(frame)), name="key")
    sent = sent[~sent.index.duplicated(keep="last")]

    def merged(blob: bytes | None) -> bytes:
        book = _load(blob)
        kept = [] if book is None else [book[~book.index.isin(sent.index)]]
        return _dump(pd.concat([*kept, sent]))

    state.update_price_book(merged)


def last_price(state: KeyState, key: str) -> dict[str, str] | None:
    """The last MRP, selling price and currency Konnect accepted for `key`, and from which
    file (None: no price file of the price book's set it)."""
    book = _load(state.price_book())
    at = _hashes(pd.Series([key]))[0]
    if book is None or at not in book.index:
        return None
    found = book.loc[at]
    found = found.iloc[-1] if isinstance(found, pd.DataFrame) else found
    return {name: number_text(found[name]) for name in _BOOK}


def _hashes(keys: pd.Series) -> npt.NDArray[np.uint64]:
    return pd.util.hash_array(keys.to_numpy(dtype=object), categorize=False)


def _currency(frame: pd.DataFrame) -> npt.NDArray[np.object_]:
    """Each row's currency, `INR` for a blank one (Konnect's default)."""
    return frame["currency"].astype("str").str.upper().fillna("INR").to_numpy(dtype=object)


def _dump(book: pd.DataFrame) -> bytes:
    book = book.astype({"currency": "category", "file": "category"})  # a few names each
    table = pa.Table.from_pandas(book.reset_index(), preserve_index=False)
    sink = pa.BufferOutputStream()
    options = pa.ipc.IpcWriteOptions(compression="zstd")
    with pa.ipc.new_stream(sink, table.schema, options=options) as writer:
        writer.write_table(table)
    return bytes(sink.getvalue())


def _load(blob: bytes | None) -> pd.DataFrame | None:
    if not blob:
        return None
    book: pd.DataFrame = pa.ipc.open_stream(blob).read_all().to_pandas().set_index("key")
    return book[list(_BOOK)]
