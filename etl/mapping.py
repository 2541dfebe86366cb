"""Mappings: loading and checking the YAML files, and the public entry points.

    load_mappings(dir) -> [Mapping]       every *.yaml / *.yml below dir, checked at start-up
    choose_mapping(mappings, path)        which mapping fits a file (etl.matching)
    explain(mappings, path)               every mapping scored, with reasons (etl.matching)
    apply_mapping(mapping, table)         rows -> canonical columns (etl.mapper)

The language itself is documented in docs/mappings.md.
"""

from __future__ import annotations

import re
import string
from pathlib import Path
from typing import Any, cast

import pandas as pd

from etl.canonical import FEED_DUPLICATES, canonical_description, canonical_fields, generic_mapping
from etl.errors import ConfigError, MappingError
from etl.feeds import FEEDS, Feed, get_feed
from etl.mapper import apply_mapping
from etl.mapping_steps import StepParser, check_encoding
from etl.mapping_yaml import Reader, YDict, YList, read_yaml
from etl.mapspec import Duplicates, ExportTime, FieldSpec, Mapping, NegativeStock, SkipRule
from etl.matching import choose_mapping, explain
from etl.sheetpick import MatchReport

__all__ = [
    "Mapping",
    "MatchReport",
    "apply_mapping",
    "canonical_fields",
    "choose_mapping",
    "explain",
    "generic_mapping",
    "load_mapping",
    "load_mappings",
]

TOP: tuple[str, ...] = ("feed", "description", "match", "read", "skip", "fields", "policies")
TOP += ("export_time", "reports")
FIELD_KEYS: tuple[str, ...] = ("column", "constant", "template", "default", "optional")
FIELD_KEYS += ("transforms", "pattern", "length")


def load_mappings(directory: Path) -> list[Mapping]:
    """Every mapping below `directory`, checked; MappingError on the first defect."""
    if not directory.is_dir():
        raise ConfigError(f"mappings folder not found: {directory}")
    files = sorted({*directory.rglob("*.yaml"), *directory.rglob("*.yml")})
    # export/ holds export mappings (etl.exportmap: pulled orders -> an ERP's layout)
    files = [f for f in files if f.relative_to(directory).parts[0] != "export"]
    mappings = [load_mapping(f, directory) for f in files]
    seen: dict[str, Path] = {}
    for m in mappings:
        if m.name in seen:
            raise MappingError(str(m.path), None, "", f"same name as {seen[m.name]}; rename one")
        seen[m.name] = m.path
    return mappings


def load_mapping(path: Path, root: Path | None = None) -> Mapping:
    """One mapping file. `root` is the mappings folder: names and lookup files are relative."""
    root = path.parent if root is None else root
    reader = Reader(str(path))
    doc = read_yaml(path, reader.shown)
    feed = _feed(reader, doc)
    _stray_fields(reader, doc, feed)
    reader.keys(doc, "", TOP)
    match, read, skip, reports = (
        reader.dict(doc, k, "") for k in ("match", "read", "skip", "reports")
    )
    reader.keys(match, "match", ("filename", "headers"))
    reader.keys(read, "read", ("sheet", "header_row", "encoding", "delimiter"))
    reader.keys(reports, "reports", ("delimiter",))
    reader.keys(skip, "skip", ("blank", "totals", "rows_where"))
    return Mapping(
        name=path.relative_to(root).with_suffix("").as_posix(),
        path=path,
        feed=feed.name,
        fields=_fields(reader, StepParser(reader, root), doc, feed),
        description=reader.text(doc, "description", "") or _default_description(doc, feed),
        filename=reader.texts(match, "filename", "match"),
        headers=reader.texts(match, "headers", "match"),
        sheet=_sheet(reader, read),
        header_row=_header_row(reader, read),
        encoding=check_encoding(reader, read, "read"),
        delimiter=_delimiter(reader, read, "read"),
        report_delimiter=_delimiter(reader, reports, "reports"),
        skip_blank=reader.flag(skip, "blank", "skip", True),
        skip_totals=reader.flag(skip, "totals", "skip", True),
        skip_rows=_skip_rules(reader, skip),
        export_time=_export_time(reader, doc),
        **_policies(reader, doc, feed),
    )


def _default_description(doc: YDict, feed: Feed) -> str:
    """What `konnect-etl mappings` shows for a mapping without `description:`."""
    return "" if "fields" in doc else canonical_description(feed.name)


def _feed(reader: Reader, doc: YDict) -> Feed:
    name = reader.text(doc, "feed", "")
    if name is None:
        raise MappingError(reader.shown, doc.line, "feed", f"missing; one of: {', '.join(FEEDS)}")
    try:
        return get_feed(name)
    except ConfigError as exc:
        raise reader.fail(doc, "feed", "feed", str(exc)) from None


def _stray_fields(reader: Reader, doc: YDict, feed: Feed) -> None:
    """A field written at the left margin, not indented under `fields:`, says so."""
    for key in doc:
        if key not in TOP and key in feed.columns:
            problem = f"'{key}' is a field: indent it under 'fields:' (by two spaces)"
            raise reader.fail(doc, key, key, problem)


def _fields(reader: Reader, steps: StepParser, doc: YDict, feed: Feed) -> tuple[FieldSpec, ...]:
    if "fields" not in doc:  # the file uses Konnect's own column names (SPEC §2)
        return canonical_fields(feed.name)
    fields = reader.dict(doc, "fields", "")
    reader.keys(fields, "fields", feed.columns)
    for name in feed.required:
        if name not in fields:
            problem = f"feed '{feed.name}' needs field '{name}' (a constant is fine)"
            if not fields:
                problem += "; or leave 'fields:' out to read Konnect's own column names"
            raise MappingError(reader.shown, doc.lines["fields"], f"fields.{name}", problem)
    return tuple(_field(reader, steps, fields, name) for name in fields)


def _field(reader: Reader, steps: StepParser, fields: YDict, name: str) -> FieldSpec:
    path = f"fields.{name}"
    node = fields[name]
    if isinstance(node, str):  # shorthand: `sku: Item Code`
        node = YDict()
        node["column"], node.line = fields.raw.get(name, fields[name]), fields.lines[name]
    if not isinstance(node, YDict):
        raise reader.fail(fields, name, path, "expected a column name or 'column: ...' entries")
    reader.keys(node, path, FIELD_KEYS)
    given = [k for k in ("column", "constant", "template") if node.get(k) is not None]
    if len(given) != 1:
        raise reader.fail(fields, name, path, "give exactly one of column, constant, template")
    spec = FieldSpec(
        name=name,
        column=reader.text(node, "column", path),
        constant=reader.text(node, "constant", path),
        template=reader.text(node, "template", path),
        default=reader.text(node, "default", path),
        optional=reader.flag(node, "optional", path, False),
        transforms=steps.steps(node.get("transforms"), node, f"{path}.transforms"),
        pattern=reader.pattern(node, "pattern", path),
        length=_length(reader, node, path),
    )
    if spec.template is not None:
        _check_template(reader, node, path, spec.template)
    for key in ("constant", "default"):
        _check_fixed(reader, node, path, spec, key)
    return spec


def _check_fixed(reader: Reader, node: YDict, path: str, spec: FieldSpec, key: str) -> None:
    """A `constant` or `default` goes through the field's transforms like a cell: one they
    (or Konnect's currency rule) refuse would be refused on every row it fills, each time
    blaming the file, so it is refused here, at start-up."""
    value = getattr(spec, key)
    if value is None:
        return
    values = pd.Series([value], dtype="str")
    for step in spec.transforms:
        values, failures = step.apply(values)
        if failures:
            said = failures[0].said(value)
            problem = f"'{value}' is refused by the field's transforms ({said})"
            raise reader.fail(node, key, f"{path}.{key}", problem)
    if spec.name == "currency" and not re.fullmatch(r"[A-Z]{3}", str(values.iat[0])):
        problem = f"'{value}' is not a currency code of 3 capital letters, like INR"
        raise reader.fail(node, key, f"{path}.{key}", problem)


def _check_template(reader: Reader, node: YDict, path: str, template: str) -> None:
    try:
        names = [f for _, f, _, _ in string.Formatter().parse(template) if f is not None]
    except ValueError as exc:
        raise reader.fail(node, "template", f"{path}.template", f"bad template: {exc}") from None
    if not names or any(not n.strip() for n in names):
        problem = "name at least one column in braces, like '{Site}-{Bin}'"
        raise reader.fail(node, "template", f"{path}.template", problem)


def _length(reader: Reader, node: YDict, path: str) -> tuple[int, int] | None:
    """`length: 20` (exactly) or `length: [10, 20]` (from, to)."""
    value = node.get("length")
    if value is None:
        return None
    items = list(value) if isinstance(value, YList) else [value]
    if len(items) in (1, 2) and all(_positive_int(i) for i in items) and items[0] <= items[-1]:
        return int(items[0]), int(items[-1])
    problem = "expected a number of characters (20) or a range ([10, 20])"
    raise reader.fail(node, "length", f"{path}.length", problem)


def _positive_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _export_time(reader: Reader, doc: YDict) -> ExportTime | None:
    """`export_time: {filename: '(\\d{8}-\\d{4})', format: '%Y%m%d-%H%M'}`."""
    node = reader.dict(doc, "export_time", "")
    if "export_time" not in doc:
        return None
    reader.keys(node, "export_time", ("filename", "format"))
    pattern = reader.pattern(node, "filename", "export_time")
    fmt = reader.text(node, "format", "export_time")
    if pattern is None or pattern.groups > 1 or not fmt or "%" not in fmt:
        problem = "give filename (a pattern, at most 1 group) and format (like '%Y%m%d-%H%M')"
        raise reader.fail(doc, "export_time", "export_time", problem)
    return ExportTime(pattern, fmt)


def _sheet(reader: Reader, read: YDict) -> str | int | None:
    value = read.get("sheet")
    if isinstance(value, int) and not isinstance(value, bool):
        if value < 0:
            raise reader.fail(read, "sheet", "read.sheet", "a sheet index starts at 0")
        return value
    return reader.text(read, "sheet", "read")


def _header_row(reader: Reader, read: YDict) -> int | None:
    value = read.get("header_row", "auto")
    if value == "auto":
        return None
    if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
        return value
    problem = "expected 'auto' or the row number of the header (1 = first row)"
    raise reader.fail(read, "header_row", "read.header_row", problem)


def _delimiter(reader: Reader, node: YDict, where: str) -> str | None:
    value = reader.text(node, "delimiter", where)
    if value is not None and (len(value) != 1 or value in '"\r\n'):
        problem = "expected one character (not a quote or a line break)"
        raise reader.fail(node, "delimiter", f"{where}.delimiter", problem)
    return value


def _skip_rules(reader: Reader, skip: YDict) -> tuple[SkipRule, ...]:
    items = skip.get("rows_where")
    if items is None:
        return ()
    if not isinstance(items, YList):
        raise reader.fail(skip, "rows_where", "skip.rows_where", "expected a list of conditions")
    return tuple(_skip_rule(reader, items, i) for i in range(len(items)))


def _skip_rule(reader: Reader, items: YList, index: int) -> SkipRule:
    path, node = f"skip.rows_where[{index}]", items[index]
    if not isinstance(node, YDict):
        raise MappingError(reader.shown, items.lines[index], path, "expected {column: ..., ...}")
    reader.keys(node, path, ("column", "matches", "equals", "empty"))
    column = reader.text(node, "column", path)
    if column is None or len(node) < 2:
        raise MappingError(reader.shown, node.line, path, "give a column and a condition")
    empty = reader.flag(node, "empty", path, False) if "empty" in node else None
    return SkipRule(
        column, reader.pattern(node, "matches", path), reader.text(node, "equals", path), empty
    )


def _policies(reader: Reader, doc: YDict, feed: Feed) -> dict[str, Any]:
    node = reader.dict(doc, "policies", "")
    reader.keys(node, "policies", ("duplicates", "negative_stock"))
    duplicates = reader.choice(node, "duplicates", "policies", ("error", "first", "last", "sum"))
    if "duplicates" not in node:
        duplicates = FEED_DUPLICATES.get(feed.name, duplicates)
    negative = reader.choice(node, "negative_stock", "policies", ("error", "zero"))
    if feed.name != "stock":
        for key, value in (("duplicates", duplicates), ("negative_stock", negative)):
            if value in ("sum", "zero"):
                problem = f"'{value}' applies to stock files only"
                raise reader.fail(node, key, f"policies.{key}", problem)
    return {
        "duplicates": cast(Duplicates, duplicates),
        "negative_stock": cast(NegativeStock, negative),
    }
