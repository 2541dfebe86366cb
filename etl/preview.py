"""`validate --preview`: the rows as Konnect would receive them, to check a new mapping.

The result file shows each row's cells as the file has them; a mapping's lookups, templates,
defaults and number reading only show in what is sent. `<stem>.preview.result.csv` holds
every row that would be sent, after the mapping and the checks: its `row` in the file and
the feed's fields as the request body carries them (numbers as numbers, `12.0` as `12`,
a list of IMEIs joined with `; `). A name ending in `.result.csv`: never taken as input.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from etl.atomic import atomic_write_bytes
from etl.wording import number_text

if TYPE_CHECKING:
    from etl.job import Prepared


def write_preview(folder: Path, stem: str, prepared: Prepared) -> Path:
    validated = prepared.validated
    frame = pd.DataFrame({"row": validated.row_numbers})
    for column in validated.frame.columns:
        frame[column] = [_cell(v) for v in validated.frame[column].tolist()]
    path = folder / f"{stem}.preview.result.csv"
    atomic_write_bytes(path, frame.to_csv(index=False).encode("utf-8-sig"))
    return path


def _cell(value: Any) -> str:
    if isinstance(value, list | tuple):
        return "; ".join(map(str, value))
    if value is None or (not isinstance(value, str) and bool(pd.isna(value))):
        return ""
    return number_text(value) if isinstance(value, float) else str(value)
