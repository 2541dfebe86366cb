"""Which stock and price files set a location and SKU: `konnect-etl history`.

For the call "store X shows the wrong stock (or price) for SKU Y": the protection database
(`etl.keystate`) remembers, for 30 days after the newest export of each mapping, which keys
each applied stock or price file set; the price book, the last price Konnect accepted for
each key. This reads both, and finds each file's result report in done/, where the row and
the value it sent are.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from etl.errors import ConfigError
from etl.keystate import STATE_FILE, KeyState
from etl.pricejump import last_price
from etl.session import journal_path


@dataclass(frozen=True)
class SetBy:
    """One export that set the key: its feed, mapping, export time, name in done/, and
    its result report if still there."""

    feed: str
    mapping: str
    exported_at: float
    file: str
    report: Path | None


def key_history(
    inbox: Path, location: str, sku: str, sandbox: bool = False
) -> tuple[list[SetBy], dict[str, str] | None]:
    """The files that set `location|sku`, newest first, and the last price Konnect accepted
    for it (None: no price file did); `sandbox`: of the runs with --sandbox (kept apart)."""
    folder = journal_path(inbox, sandbox).parent
    if not (folder / STATE_FILE).is_file():
        other = journal_path(inbox, not sandbox).parent / STATE_FILE
        hint = f"; {'without' if sandbox else 'with'} --sandbox, it has" if other.is_file() else ""
        raise ConfigError(
            f"{inbox} has no protection database ({folder / STATE_FILE}): no stock or price"
            f" file was uploaded from it yet (or it is not the inbox){hint}"
        )
    key = f"{location.strip()}|{sku.strip()}"
    with KeyState(folder) as state:
        setters = state.setters(key)
        price = last_price(state, key)
    found = [SetBy(*setter, _report(inbox, setter[3], setter[2])) for setter in setters]
    return found, price


def _report(inbox: Path, file: str, exported_at: float) -> Path | None:
    """The result report of `file` in done/: of the day it was exported or the first after
    (an ERP naming every export alike has one a day)."""
    stem = Path(file).stem
    exported = date.fromtimestamp(exported_at).isoformat()
    for day in sorted((inbox / "done").glob("????-??-??")):
        if day.name < exported:
            continue
        for suffix in (".result.csv", ".result.xlsx"):
            if (day / f"{stem}{suffix}").is_file():
                return day / f"{stem}{suffix}"
    return None
