"""Mappings: loading and checking the YAML files, and the public entry points.

    load_mappings(dir) -> [Mapping]       every *.yaml / *.yml below dir, checked at start-up
    choose_mapping(mappings, path)        which mapping fits a file (etl.matching)
    explain(mappings, path)               every mapping scored, with reasons (etl.matching)
    apply_mapping(mapping, table)         rows -> canonical columns (etl.mapper)

The language itself is documented in docs/mappings.md.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, cast

from etl.canonical import FEED_DUPLICATES, canonical_description, canonical_fields, generic_mapping
from etl.errors import ConfigError, MappingError
from etl.feeds import FEEDS, Feed, get_feed
from etl.mapper import apply_mapping
from etl.mapping_fields import read_fields
from etl.mapping_steps import StepParser, check_encoding
from etl.mapping_yaml import Reader, YDict, YList, read_yaml
from etl.mapspec import Duplicates, ExportTime, Mapping, NegativeStock, SkipRule
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
    try:
        doc = read_yaml(path, reader.shown)
    except MappingError as exc:
        raise _field_at_margin(path, exc) or exc from None
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
        fields=read_fields(reader, StepParser(reader, root), doc, feed),
        description=reader.text(doc, "description", "") or _default_description(doc, feed),
        filename=reader.texts(match, "filename", "match"),
        headers=_headers(reader, match),
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


def _headers(reader: Reader, match: YDict) -> tuple[str, ...]:
    """`match.headers`; one text with commas in it is refused: `headers: Item Code, Godown`
    is one header of that name, which no file has (a header holding a comma: a list of one)."""
    headers = reader.texts(match, "headers", "match")
    if len(headers) == 1 and "," in headers[0] and not isinstance(match.get("headers"), YList):
        parts = ", ".join(h.strip() for h in headers[0].split(","))
        problem = (
            f"one header named '{headers[0]}': for several headers write a list, [{parts}]"
            f" (a header that holds a comma: ['{headers[0]}'])"
        )
        raise reader.fail(match, "headers", "match.headers", problem)
    return headers


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


def _field_at_margin(path: Path, exc: MappingError) -> MappingError | None:
    """A field at the left margin between fields indented under `fields:` is a YAML error
    PyYAML places on the indented line after it ("expected <block end>", "mapping values
    are not allowed here"): named on its own line, as `_stray_fields` names one written last."""
    words = ("expected <block end>", "mapping values are not allowed here")
    if exc.line is None or not any(w in exc.problem for w in words):
        return None
    lines = path.read_text(encoding="utf-8-sig", errors="replace").splitlines()
    if exc.line > len(lines) or not lines[exc.line - 1][:1].isspace():
        return None
    before = [i for i in range(exc.line - 1) if lines[i].strip()]
    found = re.match(r"([A-Za-z_]\w*)\s*:", lines[before[-1]]) if before else None
    name = found.group(1) if found else ""
    if name in TOP or not any(name in feed.columns for feed in FEEDS.values()):
        return None
    problem = f"'{name}' is a field: indent it under 'fields:' (by two spaces)"
    return MappingError(exc.file, before[-1] + 1, name, problem)


def _stray_fields(reader: Reader, doc: YDict, feed: Feed) -> None:
    """A field written at the left margin, not indented under `fields:`, says so."""
    for key in doc:
        if key not in TOP and key in feed.columns:
            problem = f"'{key}' is a field: indent it under 'fields:' (by two spaces)"
            raise reader.fail(doc, key, key, problem)


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
    reader.keys(node, "policies", ("duplicates", "negative_stock", "changes_only"))
    duplicates = reader.choice(node, "duplicates", "policies", ("error", "first", "last", "sum"))
    if "duplicates" not in node:
        duplicates = FEED_DUPLICATES.get(feed.name, duplicates)
    negative = reader.choice(node, "negative_stock", "policies", ("error", "zero"))
    changes = reader.flag(node, "changes_only", "policies", False)
    if feed.name != "stock":
        for key, value in (("duplicates", duplicates), ("negative_stock", negative),
                           ("changes_only", changes)):  # fmt: skip
            if value in ("sum", "zero", True):
                problem = f"'{key if value is True else value}' applies to stock files only"
                raise reader.fail(node, key, f"policies.{key}", problem)
    return {
        "duplicates": cast(Duplicates, duplicates),
        "negative_stock": cast(NegativeStock, negative),
        "changes_only": changes,
    }
