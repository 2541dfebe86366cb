"""Lookup files: the two-column CSV a `lookup:` transform reads (`{lookup: lookups/godowns.csv,
from: ERP name, to: Fynd code}`), as {key: value}.

A lookup file is a user's own spreadsheet, so its faults are mapping errors naming the file,
line and column: not UTF-8, a missing column, a name with no value, a name listed twice with
two values. Kept apart from `etl.mapping_steps`, which parses the step that names the file.
"""

from __future__ import annotations

import csv
from pathlib import Path

from etl.errors import MappingError
from etl.mapspec import norm_header
from etl.transforms import map_key

IGNORED = "case and spaces are ignored"  # how names of a lookup or value map are compared


def read_lookup(file: Path, shown: str, source: str | None, target: str | None) -> dict[str, str]:
    """A two-column lookup CSV as {key: value}; a key listed twice with two values is an error."""
    try:
        with file.open(encoding="utf-8-sig", newline="") as handle:
            rows = list(csv.reader(handle))
    except UnicodeDecodeError:
        problem = "the lookup file is not UTF-8: save it as UTF-8 (Excel: 'CSV UTF-8')"
        raise MappingError(shown, None, "", problem) from None
    except (OSError, csv.Error) as exc:
        raise MappingError(shown, None, "", f"cannot read the lookup file: {exc}") from None
    header = [h.strip() for h in rows[0]] if rows else []
    src, dst = _lookup_columns(header, shown, source, target)
    table: dict[str, str] = {}
    first: dict[str, tuple[int, str]] = {}  # key -> (line, as written) where first listed
    for line, row in enumerate(rows[1:], start=2):
        key = map_key(row[src]) if len(row) > src else ""
        value = row[dst].strip() if len(row) > dst else ""
        if key and not value:  # its rows would be rejected as blank, "merged cells?"
            problem = f"'{row[src].strip()}' has no '{header[dst]}': fill it in or delete the line"
            raise MappingError(shown, line, header[dst], problem)
        if key and table.setdefault(key, value) != value:
            was, name = first[key]
            listed = f"'{name}' (line {was})"
            if name != row[src].strip():
                listed += f" and '{row[src].strip()}' are the same name ({IGNORED})"
            else:
                listed += " is listed again"
            problem = f"{listed} with different values: keep one"
            raise MappingError(shown, line, header[src], problem)
        first.setdefault(key, (line, row[src].strip() if key else ""))
    return table


def _lookup_columns(
    header: list[str], shown: str, source: str | None, target: str | None
) -> tuple[int, int]:
    if len(header) < 2:
        raise MappingError(shown, 1, "", "a lookup file needs a header row with two columns")
    positions = []
    compared = [norm_header(h) for h in header]  # as a file's headers are: case and spaces aside
    for wanted, fallback in ((source, 0), (target, 1)):
        if wanted is None:
            positions.append(fallback)
        elif norm_header(wanted) in compared:
            positions.append(compared.index(norm_header(wanted)))
        else:
            raise MappingError(shown, 1, wanted, f"no column '{wanted}' (has: {', '.join(header)})")
    return positions[0], positions[1]
