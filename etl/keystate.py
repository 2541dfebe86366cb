"""Protection state: which exports set which (location, SKU), and which files were released.

Kept in `INBOX/.konnect-etl/protection.sqlite3`, next to the journal:

- `exports`: per applied stock/price file, its mapping, export time, the `location|sku`
  keys it set and the row numbers in its errors file, which tell whose errors file one
  dropped back in is (compressed blobs: recording a 1M-row file costs one row, not a
  million). An older export processed later must not overwrite newer values, so its rows for
  keys a newer export set are skipped (`etl.outoforder.skip_superseded`). The usual in-order
  case costs one indexed lookup. Exports more than `KEEP_DAYS` older than the newest one of
  their mapping are forgotten; `newest()` still says when that newest one was. An export
  that set exactly the keys of a newer one (`digest`) keeps no keys of its own.
- `price_book`: the last MRP and selling price Konnect accepted for each key, one blob
  (`etl.pricejump`).
- `released`: content hashes of held files that `konnect-etl release` let through.
- `cancels`: the cancel rows applied (`etl.cancelbook`).
- `invoices`: the invoice numbers applied, with their order (`etl.invoicebook`).
- `order_rows`: the order-action records applied, with their file and row (`etl.orderbook`).
"""

from __future__ import annotations

import contextlib
import re
import sqlite3
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from etl.awbbook import AwbBook
from etl.cancelbook import CancelBook
from etl.invoicebook import InvoiceBook
from etl.keypack import as_array, pack
from etl.orderbook import EarlierRow, OrderBook, Reader
from etl.protectiontables import connect
from etl.sqlitetx import immediate

STATE_FILE = "protection.sqlite3"
KEEP_DAYS = 30
SAME_LOCATIONS_LOOKBACK = 50  # exports searched for one with the same locations as a new file


@dataclass(frozen=True)
class Applied:
    """The newest export that set a key: its time (POSIX seconds) and file name."""

    exported_at: float
    file: str


# the exports of a feed (?), and those an older version recorded without one of a mapping (?)
_OF_FEED = "(feed = ? OR (feed IS NULL AND mapping = ?))"


class KeyState:
    """The protection database of one inbox (one connection per use; WAL for sharing)."""

    def __init__(self, state_dir: Path) -> None:
        state_dir.mkdir(exist_ok=True)  # never the inbox itself (a share gone mid-file)
        self.path = state_dir / STATE_FILE
        self._db = connect(self.path)
        self.cancels = CancelBook(self._db, KEEP_DAYS)
        self.awbs = AwbBook(self._db, KEEP_DAYS)
        self.invoices = InvoiceBook(self._db, KEEP_DAYS)
        self.orders = OrderBook(self._db, KEEP_DAYS)

    def close(self) -> None:
        self._db.close()

    def _writing(self) -> contextlib.AbstractContextManager[sqlite3.Connection]:
        return immediate(self._db)

    def __enter__(self) -> KeyState:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def newer_than(self, feed: str, mapping: str, exported_at: float) -> dict[str, Applied]:
        """Keys already set by an export of `feed` newer than `exported_at`, whichever mapping
        read it (a location and SKU has one price in Konnect, whichever file set it); exports
        recorded before the feed was (an older version) count for their own mapping."""
        rows = self._db.execute(
            f"SELECT exported_at, file, keys FROM exports WHERE exported_at > ? AND {_OF_FEED} "
            "ORDER BY exported_at",
            (exported_at, feed, mapping),
        ).fetchall()
        found: dict[str, Applied] = {}
        for at, file, blob in rows:  # oldest first: the newest export of a key wins
            applied = Applied(float(at), str(file))
            found.update(dict.fromkeys(_unpack(blob), applied))
        found.pop("", None)
        return found

    def previous_keys(
        self, mapping: str, locations: set[str], errors_file: re.Pattern[str]
    ) -> tuple[int, int] | None:
        """(keys, locations) of the export to compare a new file for `locations` with: the
        newest for exactly these locations (a store's own last file), else the newest if it
        shares a location (a multi-store export cut short has fewer locations), else none
        (another store's). Our errors files dropped back in (`errors_file` names) are fixes,
        not exports to compare with."""
        rows = self._db.execute(
            "SELECT file, keys, locations, key_count FROM exports WHERE mapping = ? "
            "ORDER BY exported_at DESC LIMIT ?",
            (mapping, SAME_LOCATIONS_LOOKBACK),
        )
        newest: tuple[int, int] | None = None
        first = True
        for file, blob, listed, count in rows:
            if errors_file.fullmatch(str(file)):
                continue
            if listed is None:  # recorded by an older version: from its keys (slow)
                keys = [key for key in _unpack(blob) if key]
                listed, count = "\n".join(_locations(keys)), len(keys)
            had = set(listed.split("\n")) - {""}
            if had == locations:
                return int(count), len(had)
            if first and had & locations:
                newest = int(count), len(had)
            first = False
        return newest

    def newest(self, mapping: str, feed: str | None = None) -> Applied | None:
        """The newest export of `mapping` (with `feed`: of any mapping of the feed, as
        `newer_than` counts them)."""
        where, args = ("mapping = ?", [mapping]) if feed is None else (_OF_FEED, [feed, mapping])
        row = self._db.execute(
            f"SELECT exported_at, file FROM exports WHERE {where} "
            "ORDER BY exported_at DESC LIMIT 1",
            args,
        ).fetchone()
        return None if row is None else Applied(float(row[0]), str(row[1]))

    def setters(self, key: str) -> list[tuple[str, str, float, str]]:
        """(feed, mapping, export time, file) of each remembered export that set `key`,
        newest first. An export whose keys were dropped for a newer one's (`record`) set
        the same keys: it is told by their shared digest."""
        rows = self._db.execute(
            "SELECT feed, mapping, exported_at, file, keys, digest FROM exports "
            "ORDER BY exported_at DESC, id DESC"
        )
        found, by_digest, wanted = [], {}, f"\n{key}\n".encode()
        for feed, mapping, at, file, blob, digest in rows:
            if blob:  # a search of the unpacked bytes, not a set of a million keys
                by_digest[digest] = wanted in b"\n" + zlib.decompress(blob) + b"\n"
            if by_digest.get(digest, False):
                found.append((str(feed or ""), str(mapping), float(at), str(file)))
        return found

    def export_time_of_file(self, mapping: str, file: str) -> float | None:
        """The export time recorded for the file of `mapping` named `file` in done/ (the
        latest such record), if still remembered."""
        row = self._db.execute(
            "SELECT exported_at FROM exports WHERE mapping = ? AND file = ? ORDER BY id DESC",
            (mapping, file),
        ).fetchone()
        return float(row[0]) if row is not None else None

    def exported_at_of(self, mapping: str, stem: str, rows: Iterable[str]) -> float | None:
        """The export time of the file of `mapping` named `stem`.<ext> whose errors file
        holds `rows` (the `row` column of an errors file dropped back in). An ERP that names
        every export `stock.csv` has one such file a day: the one whose errors file had most
        of these rows; when several had as many, the oldest (its rows then overwrite fewer
        values); when none had any of them, the latest."""
        found = self._db.execute(
            "SELECT exported_at, file, error_rows FROM exports WHERE mapping = ? "
            "AND substr(file, 1, ?) = ? ORDER BY id DESC",
            (mapping, len(stem) + 1, f"{stem}."),
        )
        candidates = [
            (float(at), set(_unpack(errors)))
            for at, file, errors in found
            if Path(file).stem == stem
        ]  # latest first
        if not candidates:
            return None
        wanted = {row.strip() for row in rows}
        most = max(len(wanted & errors) for _, errors in candidates)
        if most == 0:
            return candidates[0][0]
        return min(at for at, errors in candidates if len(wanted & errors) == most)

    def keys_of(self, mapping: str, stem: str, exported_at: float) -> set[str]:
        """The keys the export `stem`.<ext> of `exported_at` set (none once forgotten)."""
        found = self._db.execute(
            "SELECT file, keys FROM exports WHERE mapping = ? AND exported_at = ?",
            (mapping, exported_at),
        )
        keys = {key for file, blob in found if Path(file).stem == stem for key in _unpack(blob)}
        keys.discard("")
        return keys

    def record(
        self,
        feed: str,
        mapping: str,
        keys: Iterable[str] | pd.Series,
        exported_at: float,
        file: str,
        error_rows: Iterable[int] = (),
        locations: Iterable[str] | None = None,
    ) -> None:
        """Remember that `keys` were set by this export, and which rows its errors file has;
        forget exports long superseded, and the keys of older exports that set exactly these
        keys: this export is newer for each of them, so theirs no longer tell anything, and an
        ERP sending its full stock every hour would otherwise keep 30 days of a million keys
        an hour (~9 MB each). Their time, file and errors rows stay (errors files of theirs)."""
        packed = as_array(keys)  # `locations`: theirs, when the caller has them at hand
        if locations is None:
            locations = _locations(packed.to_pylist())
        listed = "\n".join(sorted(locations))
        blob, digest, filled = pack(packed)
        del packed
        errors = zlib.compress("\n".join(map(str, error_rows)).encode(), 1)
        newest = self.newest(mapping)
        horizon = max(exported_at, newest.exported_at if newest else exported_at)
        with self._writing():
            self._db.execute(
                "INSERT INTO exports (feed, mapping, exported_at, file, keys, error_rows, digest,"
                " locations, key_count) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (feed, mapping, exported_at, file, blob, errors, digest, listed, filled),
            )
            self._db.execute(
                "UPDATE exports SET keys = x'' "
                "WHERE mapping = ? AND digest = ? AND exported_at < ? AND keys != x''",
                (mapping, digest, exported_at),
            )
            self._db.execute(
                "DELETE FROM exports WHERE mapping = ? AND exported_at < ?",
                (mapping, horizon - KEEP_DAYS * 86400),
            )

    def update_price_book(self, update: Callable[[bytes | None], bytes]) -> None:
        """Replace the price book with `update(the book as it is)`, in one transaction."""
        with self._writing():
            found = self._db.execute("SELECT book FROM price_book").fetchone()
            book = update(None if found is None else bytes(found[0]))
            self._db.execute("INSERT OR REPLACE INTO price_book (id, book) VALUES (1, ?)", (book,))

    def price_book(self) -> bytes | None:
        found = self._db.execute("SELECT book FROM price_book").fetchone()
        return None if found is None else bytes(found[0])

    def no_future_exports(self, now: float) -> int:
        """Forget exports recorded with a time ahead of `now` (an older version kept them as
        they were; see `outoforder._not_ahead`); how many. When such an export was applied is not
        known, so it cannot be dated: kept, it would refuse every real export until then."""
        ahead = "SELECT 1 FROM exports WHERE exported_at > ? LIMIT 1"
        if not self._db.execute(ahead, (now,)).fetchone():
            return 0
        with self._writing():
            # an older export of the same keys gave them up to this one (`record`): they go
            # back to the newest such export, so forgetting this one forgets no key
            found = self._db.execute(
                "SELECT mapping, digest, keys FROM exports WHERE exported_at > ? AND "
                "keys != x'' AND digest IS NOT NULL ORDER BY exported_at",
                (now,),
            ).fetchall()
            for mapping, digest, keys in found:
                self._db.execute(
                    "UPDATE exports SET keys = ? WHERE id = (SELECT id FROM exports WHERE "
                    "mapping = ? AND digest = ? AND exported_at <= ? "
                    "ORDER BY exported_at DESC, id DESC LIMIT 1)",
                    (keys, mapping, digest, now),
                )
            return self._db.execute("DELETE FROM exports WHERE exported_at > ?", (now,)).rowcount

    def release(self, sha256: str, name: str) -> None:
        self._db.execute(
            "INSERT INTO released (sha256, name) VALUES (?, ?) ON CONFLICT DO NOTHING",
            (sha256, name),
        )

    def is_released(self, sha256: str) -> bool:
        found = self._db.execute("SELECT 1 FROM released WHERE sha256 = ?", (sha256,))
        return found.fetchone() is not None


def frame_keys(frame: pd.DataFrame) -> pd.Series:
    """`location|sku` of every row (the sandbox ledger's key, too)."""
    keys: pd.Series = frame["location_id"].astype("str") + "|" + frame["sku"].astype("str")
    return keys.reset_index(drop=True)


def _locations(keys: list[str]) -> list[str]:
    """The locations of `location|sku` keys, sorted (empty keys aside)."""
    return sorted({key.partition("|")[0] for key in keys if key})


def _unpack(blob: bytes | None) -> list[str]:
    return zlib.decompress(blob).decode().split("\n") if blob else []


def order_rows(folder: Path, feed: str, attempt: str | None, began: str = "~") -> Reader:
    """The order-row book of the inbox whose state is in `folder`, as the look-ups of the
    journal's `attempt`, which `began` then, read it: one connection a round."""

    def read(orders: list[str]) -> dict[str, list[EarlierRow]]:
        with KeyState(folder) as state:
            return state.orders.earlier(feed, orders, attempt, began)

    return read
