"""The duplicates row policy: what happens when one file names the same record twice.

The key is the feed's record key (`location_id`+`sku` for stock and price, `orderId` for
awb/status/pack) or, for feeds that group rows into orders, `orderId`+`orderItemId`. Groups
are formed over every row whose key cells are filled, valid or not, so a fix to one row
never silently changes which row wins.

- `error` (default): every row of a duplicated key is rejected, naming the other rows; but an
  order action of one row per order (status, AWB, pack) written twice alike in every cell is
  sent once, the copy reported with it (`_one_action_twice`).
- `first` / `last`: the first (last) row in file order is sent. The others are *merged*
  into it: not sent themselves, reported with the kept row's outcome. When the kept row is
  itself rejected, the others are rejected too (nothing is sent for that key). In one of our
  errors files dropped back, "first" and "last" go by its `row` column, the export's order:
  an errors file sorted in Excel must not send the value the export itself replaced.
- `sum` (stock only): the quantities are added up into the first row, which is sent; the
  others are merged into it ("added to row N"). If any row of the key has a problem, no
  total is sent: the healthy rows are rejected as well, since a partial sum would be a
  silently wrong stock level.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from etl.droppedback import errors_layout, row_column
from etl.feeds import Feed
from etl.findings import Finding, cell_text
from etl.itempieces import SHOWN, item_pieces
from etl.model import IntArray, Mapped
from etl.wording import label, row_list

POLICIES = ("error", "first", "last", "sum")
# The value shown when one key is on several rows, to say which row is right.
VALUE_FIELDS = {"stock": "quantity", "price": "esp", "awb": "awbNumber", "status": "orderStatus"}
BoolArray = npt.NDArray[np.bool_]


@dataclass
class Resolution:
    """What the policy decided: new findings, and rows merged into a kept row."""

    findings: list[Finding] = field(default_factory=list)
    merged: dict[int, int] = field(default_factory=dict)  # frame index -> kept frame index


def key_fields(feed: Feed) -> tuple[str, ...]:
    if feed.grouped and "orderItemId" in feed.columns:
        return ("orderId", "orderItemId")
    return feed.key


def same_key(feed: Feed) -> str:
    fields = key_fields(feed)
    if fields == ("location_id", "sku"):
        return "same location and SKU"
    return "same order and order item" if "orderItemId" in fields else "same order ID"


def key_codes(work: pd.DataFrame, fields: tuple[str, ...]) -> IntArray:
    """One integer per row for its key (-1 where a key cell is missing).

    Each key column is dictionary-encoded on its own and the codes are combined as numbers
    (code = code * size of the next dictionary + its code): no joined key text for a million
    rows, and no sorting until the combined number could overflow.
    """
    combined = np.zeros(len(work), dtype=np.int64)
    missing = np.zeros(len(work), dtype=bool)
    size = 1
    for name in fields:
        values = pa.array(work[name], type=pa.large_string())
        if isinstance(values, pa.ChunkedArray):  # large files' columns come in several chunks
            values = values.combine_chunks()
        encoded = pc.dictionary_encode(values)
        missing |= encoded.indices.is_null().to_numpy(zero_copy_only=False)
        codes = encoded.indices.fill_null(0).to_numpy(zero_copy_only=False)
        width = max(len(encoded.dictionary), 1)
        if size * width >= 2**62:  # renumber 0..k-1 first (three or more huge key columns)
            combined = np.unique(combined, return_inverse=True)[1].astype(np.int64).reshape(-1)
            size = int(combined.max(initial=0)) + 1
        combined *= width
        combined += codes
        size *= width
    combined[missing] = -1
    return combined


def duplicate_groups(codes: IntArray) -> list[IntArray]:
    """Frame indices of each key that occurs more than once, in file order."""
    present = np.flatnonzero(codes >= 0)
    order = present[np.argsort(codes[present], kind="stable")]  # by key, then file order
    ranked = codes[order]
    same = ranked[1:] == ranked[:-1]
    del ranked
    repeated = np.zeros(len(order), dtype=bool)
    repeated[1:] |= same
    repeated[:-1] |= same
    members = order[repeated]
    if len(members) == 0:
        return []
    groups = np.split(members, np.flatnonzero(np.diff(codes[members])) + 1)
    return sorted(groups, key=lambda g: int(g[0]))


def resolve(
    feed: Feed,
    work: pd.DataFrame,
    bad: BoolArray,
    rows: IntArray,
    policy: str,
    order: IntArray | None = None,
) -> Resolution:
    """Apply `policy` to `work` (quantities are summed in place); `rows`: source row numbers;
    `order`: the rank `first`/`last` go by (`export_order`; None: file order)."""
    fields = key_fields(feed)
    out = Resolution()
    for group in duplicate_groups(key_codes(work, fields)):
        members = group.tolist()
        if policy == "error" and _one_action_twice(feed, work, members):
            _keep_one(feed, members[0], members, bad, rows, policy, out)
        elif policy == "error":
            _reject_all(feed, work, members, rows, out)
        elif policy == "sum":
            _sum(feed, work, members, bad, rows, out)
        else:
            _keep_one(feed, _kept(members, order, policy), members, bad, rows, policy, out)
    return out


def _one_action_twice(feed: Feed, work: pd.DataFrame, members: list[int]) -> bool:
    """An order action of one row per order (a status, an AWB, a pack) written twice alike in
    every cell (a courier feed sending an event again): sent once, not both rows rejected -
    there is no right row to choose. Not for stock or price (two bins of one SKU may be
    meant to add up), nor for rows of order items (two alike may mean two pieces)."""
    if feed.grouped or feed.key != ("orderId",):
        return False
    return len(work.iloc[members].astype("str").drop_duplicates()) == 1


def _kept(members: list[int], order: IntArray | None, policy: str) -> int:
    """The first or last member by `order` (file order where the ranks tie: a fixed copy of
    a row pasted below it in an errors file is the last)."""
    ranks = members if order is None else order[members].tolist()
    by_rank = sorted(zip(ranks, members, strict=True))
    return by_rank[0][1] if policy == "first" else by_rank[-1][1]


def export_order(mapped: Mapped) -> IntArray | None:
    """For one of our errors files dropped back, each row's number in the export (its `row`
    column), when every row has one; None for any other file."""
    table = mapped.table
    if table is None or not errors_layout(table.sheet.path.name, table.header):
        return None
    at = row_column(table.header)
    if at is None or at >= table.data.shape[1]:
        return None
    cells = table.data.iloc[mapped.positions, at]
    numbers = pd.to_numeric(cells.astype("str").str.strip(), errors="coerce")
    if numbers.isna().any():
        return None
    return numbers.to_numpy(dtype=np.int64)


def _reject_all(
    feed: Feed, work: pd.DataFrame, members: list[int], rows: IntArray, out: Resolution
) -> None:
    """Every row of the key rejected, naming the others (the first few: a placeholder SKU on
    thousands of rows must not make thousands of thousand-row messages)."""
    column = key_fields(feed)[-1]
    numbers = [int(rows[j]) for j in members]
    field = "quantity" if feed.grouped else VALUE_FIELDS.get(feed.name)
    values = [cell_text(v) for v in work[field].iloc[members]] if field in work else []
    same = len(set(values)) == 1
    pieces = item_pieces(work, members, numbers) if feed.grouped and field == "quantity" else None
    for k, i in enumerate(members):
        others = [j for j in range(min(len(members), SHOWN + 1)) if j != k][:SHOWN]
        named = row_list([numbers[j] for j in others], SHOWN, len(members) - 1)
        text = f"{same_key(feed)} as {named}"
        if pieces is not None:
            text += pieces
        elif values:
            text += _which_to_keep(feed, str(field), values, numbers, k, others, same)
        out.findings.append(Finding(i, column, "duplicate", text))


def _which_to_keep(
    feed: Feed,
    field: str,
    values: list[str],
    numbers: list[int],
    k: int,
    others: list[int],
    same: bool,
) -> str:
    """What the rows say, so the person fixing them can choose: the same value twice is a
    row to delete; different ones, the right one to keep (a status: one per file)."""
    if same:
        return f", with the same {label(field)} ({values[k]}): delete the extra row"
    shown = ", ".join(f"{values[j] or 'empty'} in row {numbers[j]}" for j in others)
    more = len(values) - 1 - len(others)
    shown += f" and {more} more" if more > 0 else ""
    said = f" ({label(field)} {values[k] or 'empty'} here, {shown})"
    if feed.name == "status":
        return f"{said}: one status per order in a file; send the next status in a later file"
    return f"{said}: keep the right row and delete the other{'s' if len(values) > 2 else ''}"


def _keep_one(
    feed: Feed,
    kept: int,
    members: list[int],
    bad: BoolArray,
    rows: IntArray,
    policy: str,
    out: Resolution,
) -> None:
    column = key_fields(feed)[-1]
    for i in members:
        if i == kept or bad[i]:
            continue
        if bad[kept]:
            text = (
                f"not sent: {same_key(feed)} as row {rows[kept]}, the row used "
                f"(duplicates: {policy}), which has a problem"
            )
            out.findings.append(Finding(i, column, "duplicate", text))
        else:
            out.merged[i] = kept


def _sum(
    feed: Feed,
    work: pd.DataFrame,
    members: list[int],
    bad: BoolArray,
    rows: IntArray,
    out: Resolution,
) -> None:
    broken = [int(rows[i]) for i in members if bad[i]]
    if broken:
        text = (
            f"not added up: {same_key(feed)} as {row_list(broken)}, which has a problem; keep"
            " this row (its quantity is part of the total): with the problem fixed, the rows"
            " are added up and sent together"
        )
        column = key_fields(feed)[-1]
        out.findings.extend(Finding(i, column, "duplicate", text) for i in members if not bad[i])
        if healthy := [int(rows[i]) for i in members if not bad[i]]:  # and on the broken ones
            text = (
                f"fix this row rather than delete it: without it, {row_list(healthy)} alone"
                " would go out as the whole stock of this location and SKU"
            )
            out.findings.extend(Finding(i, "", "duplicate", text) for i in members if bad[i])
        return
    kept = members[0]
    work.loc[kept, "quantity"] = float(work["quantity"].iloc[members].sum())
    out.merged.update((i, kept) for i in members[1:])
