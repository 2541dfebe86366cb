"""What a mapping says, once its YAML has been read and checked (see docs/mappings.md)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from etl.transforms import Step

Duplicates = Literal["error", "first", "last", "sum"]
NegativeStock = Literal["error", "zero"]
TEMPLATE_FIELD = re.compile(r"\{([^{}]+)\}")


def norm_header(text: str) -> str:
    """How headers are compared: case-insensitive, spaces trimmed and collapsed."""
    return " ".join(str(text).split()).casefold()


@dataclass(frozen=True)
class FieldSpec:
    """How one canonical field is computed: from a column, a constant or a template.

    `optional`: the column may be absent from the file (then every row gets `default`, and
    the summary's warnings say so: etl.mapper).
    `default` fills blank cells before the transforms run.
    """

    name: str
    column: str | None = None
    constant: str | None = None
    template: str | None = None
    default: str | None = None
    optional: bool = False
    transforms: tuple[Step, ...] = ()
    # Identifier shape checks on the final value (etl.damage): catch lost leading zeros.
    pattern: re.Pattern[str] | None = None
    length: tuple[int, int] | None = None  # (shortest, longest) allowed
    shorthand: bool = False  # written `currency: INR`: a column name, though maybe meant as a value

    @property
    def columns(self) -> tuple[str, ...]:
        """The source headers this field reads."""
        if self.column is not None:
            return (self.column,)
        if self.template is not None:
            return tuple(TEMPLATE_FIELD.findall(self.template))
        return ()

    @property
    def source(self) -> str:
        """The source header named in messages ("" for a constant)."""
        return self.columns[0] if self.columns else ""


@dataclass(frozen=True)
class SkipRule:
    """Rows to drop as not-data (totals, sub-headings): every given condition must hold."""

    column: str
    matches: re.Pattern[str] | None = None
    equals: str | None = None
    empty: bool | None = None


@dataclass(frozen=True)
class ExportTime:
    """When the export was made, read from the file name (`export_time:` in a mapping)."""

    pattern: re.Pattern[str]  # its first group (or the whole match) holds the time
    format: str  # strptime format of that text


@dataclass(frozen=True)
class Mapping:
    """One mapping file: which files it applies to and how their rows become records."""

    name: str
    path: Path
    feed: str
    fields: tuple[FieldSpec, ...]
    description: str = ""
    filename: tuple[str, ...] = ()
    headers: tuple[str, ...] = ()
    sheet: str | int | None = None
    header_row: int | None = None  # 1-based row number as the user sees it; None = auto
    encoding: str | None = None
    delimiter: str | None = None
    report_delimiter: str | None = None  # CSV reports' (None: the input's own)
    skip_blank: bool = True
    skip_totals: bool = True  # total / report-footer rows without a key (etl.totals)
    skip_rows: tuple[SkipRule, ...] = ()
    duplicates: Duplicates = "error"
    negative_stock: NegativeStock = "error"
    # files of what changed only (a store's sales since the last file): never compared with a
    # full list for being short, nor held for their zeros (`etl.guards`)
    changes_only: bool = False
    export_time: ExportTime | None = None

    @property
    def required_headers(self) -> tuple[str, ...]:
        """match.headers plus every column a non-optional field reads, without repeats."""
        wanted = [*self.headers]
        for spec in self.fields:
            if not spec.optional:
                wanted += spec.columns
        seen: dict[str, str] = {}
        for header in wanted:
            seen.setdefault(norm_header(header), header)
        return tuple(seen.values())

    @property
    def is_generic(self) -> bool:
        """A built-in canonical-columns mapping (generic/<feed>): the fallback for its feed."""
        return self.name.startswith("generic/")

    @property
    def read_options(self) -> tuple[str | int | None, str | None, str | None]:
        """(sheet, encoding, delimiter): files read with equal options are read once."""
        return (self.sheet, self.encoding, self.delimiter)
