"""Export mappings: the mapping language in reverse, for ERPs that import spreadsheets.

An export mapping (`direction: export`, in a mappings folder's `export/` subfolder) lists
the columns of the ERP's import layout, in order; each is filled from one pulled field
(see `etl.flatten.ORDER_COLUMNS`), a constant or a template over fields, then optionally
trimmed/upper/lower-cased, mapped through a value map, or re-formatted as a date:

    direction: export
    columns:
      - {header: Order No, field: orderId}
      - {header: Order Date, field: orderDate, date_format: "%d/%m/%Y"}
      - {header: Store, field: locationCode, map: {DEL-WH-01: Delhi Warehouse}}
      - {header: Ship To, template: "{shippingCity} {shippingPincode}"}
      - {header: Source, constant: Fynd}
"""

from __future__ import annotations

import dataclasses
import string
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from etl.errors import ConfigError, MappingError
from etl.flatten import IST_FORMAT, ORDER_COLUMNS, Row
from etl.mapping_yaml import Reader, YDict, YList, read_yaml

EXPORT_DIR = "export"
TOP = ("direction", "description", "format", "columns")
COLUMN_KEYS: tuple[str, ...] = ("header", "field", "constant", "template", "default")
COLUMN_KEYS += ("transforms", "map", "date_format")
CASES = ("strip", "upper", "lower")


@dataclass(frozen=True)
class ExportColumn:
    """One column of the ERP's layout and how its cell is made from a pulled row."""

    header: str
    field: str | None = None
    constant: str | None = None
    template: str | None = None
    default: str = ""
    transforms: tuple[str, ...] = ()
    value_map: dict[str, str] = dataclasses.field(default_factory=dict)
    date_format: str | None = None

    def cell(self, row: Row) -> str:
        if self.constant is not None:
            value = self.constant
        elif self.template is not None:
            value = self.template.format_map(row)
        else:
            value = row.get(self.field or "", "")
        for name in self.transforms:
            value = getattr(value, name)()
        value = self.value_map.get(value, value)
        if self.date_format and value:
            value = _reformat_date(value, self.date_format)
        return value or self.default


def _reformat_date(value: str, date_format: str) -> str:
    """A pulled date (`YYYY-MM-DD HH:MM:SS`, IST) in the mapping's format. One Konnect sent
    in a form not read stays as it came (the pull warned, naming the order): never a crash."""
    try:
        return datetime.strptime(value, IST_FORMAT).strftime(date_format)
    except ValueError:
        return value


@dataclass(frozen=True)
class ExportMapping:
    name: str
    path: Path
    columns: tuple[ExportColumn, ...]
    description: str = ""
    format: str | None = None

    @property
    def header(self) -> list[str]:
        return [c.header for c in self.columns]

    def apply(self, rows: list[Row]) -> list[list[str]]:
        return [[c.cell(row) for c in self.columns] for row in rows]


def export_folders(mappings_dir: Path | None) -> list[Path]:
    """Where export mappings are looked for: the built-in ones, then the config's folder."""
    from etl.config import builtin_mappings_dir

    return [builtin_mappings_dir(), *([mappings_dir] if mappings_dir is not None else [])]


def all_export_mappings(folders: list[Path]) -> list[ExportMapping]:
    """Every export mapping of `folders`, by name (a later folder's wins), for `mappings`."""
    paths = {p.stem: p for f in folders for p in sorted((f / EXPORT_DIR).glob("*.y*ml"))}
    return [load_export_mapping(paths[stem], f"{EXPORT_DIR}/{stem}") for stem in sorted(paths)]


def find_export_mapping(name: str, folders: list[Path]) -> ExportMapping:
    """`NAME` or `export/NAME` from the first folder that has it (later folders win)."""
    stem = name.removeprefix(f"{EXPORT_DIR}/")
    for folder in reversed(folders):
        for suffix in (".yaml", ".yml"):
            path = folder / EXPORT_DIR / f"{stem}{suffix}"
            if path.is_file():
                return load_export_mapping(path, f"{EXPORT_DIR}/{stem}")
    known = sorted({p.stem for f in folders for p in (f / EXPORT_DIR).glob("*.y*ml")})
    raise ConfigError(f"no export mapping called '{name}' (known: {', '.join(known) or 'none'})")


def load_export_mapping(path: Path, name: str) -> ExportMapping:
    reader = Reader(str(path))
    doc = read_yaml(path, reader.shown)
    reader.keys(doc, "", TOP)
    if reader.text(doc, "direction", "") != "export":
        problem = "an export mapping says 'direction: export'"
        raise reader.fail(doc, "direction", "direction", problem)
    items = doc.get("columns")
    if not isinstance(items, YList) or not items:
        raise reader.fail(doc, "columns", "columns", "list the columns of the import layout")
    columns = tuple(_column(reader, items, i) for i in range(len(items)))
    fmt = reader.text(doc, "format", "")
    if fmt is not None and fmt not in ("csv", "xlsx"):
        raise reader.fail(doc, "format", "format", "format is csv or xlsx")
    description = reader.text(doc, "description", "") or ""
    return ExportMapping(name, path, columns, description, fmt)


def _column(reader: Reader, items: YList, index: int) -> ExportColumn:
    node, path = items[index], f"columns[{index}]"
    if not isinstance(node, YDict):
        raise MappingError(reader.shown, items.lines[index], path, "expected 'header: ...' entries")
    reader.keys(node, path, COLUMN_KEYS)
    header = reader.text(node, "header", path)
    if not header:
        raise reader.fail(node, "header", f"{path}.header", "every column needs a header")
    sources = [k for k in ("field", "constant", "template") if k in node]
    if len(sources) != 1:
        raise reader.fail(node, "header", path, "give exactly one of field, constant, template")
    _check_source(reader, node, path, sources[0])
    return ExportColumn(
        header=header,
        field=reader.text(node, "field", path),
        constant=reader.text(node, "constant", path) or ("" if "constant" in node else None),
        template=reader.text(node, "template", path),
        default=reader.text(node, "default", path) or "",
        transforms=_transforms(reader, node, path),
        value_map={str(k): str(v) for k, v in reader.dict(node, "map", path).items()},
        date_format=_date_format(reader, node, path),
    )


def _check_source(reader: Reader, node: YDict, path: str, source: str) -> None:
    key = f"{path}.{source}"
    if source == "field":
        name = reader.text(node, "field", path)
        if name not in ORDER_COLUMNS:
            raise reader.fail(node, "field", key, f"'{name}' is not a pulled field")
    if source == "template":
        try:
            names = [f for _, f, _, _ in string.Formatter().parse(str(node["template"])) if f]
        except ValueError as exc:
            raise reader.fail(node, "template", key, f"not a valid template: {exc}") from None
        unknown = [n for n in names if n not in ORDER_COLUMNS]
        if unknown:
            raise reader.fail(node, "template", key, f"unknown field(s) {unknown}")


def _transforms(reader: Reader, node: YDict, path: str) -> tuple[str, ...]:
    names = reader.texts(node, "transforms", path)
    bad = [n for n in names if n not in CASES]
    if bad:
        problem = f"{bad[0]} is not one of {', '.join(CASES)}"
        raise reader.fail(node, "transforms", f"{path}.transforms", problem)
    return names


def _date_format(reader: Reader, node: YDict, path: str) -> str | None:
    fmt = reader.text(node, "date_format", path)
    if fmt is not None and "%" not in fmt:
        problem = "use strftime codes, e.g. '%d/%m/%Y %H:%M'"
        raise reader.fail(node, "date_format", f"{path}.date_format", problem)
    if fmt is not None and "field" in node and node["field"] not in ("orderDate", "updatedDate"):
        raise reader.fail(node, "date_format", path, "date_format needs orderDate or updatedDate")
    return fmt
