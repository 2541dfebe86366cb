"""The `fields:` of a mapping: each Konnect field read from a column, a constant or a template,
with its default, transforms and shape, checked at start-up (docs/mappings.md, `fields`)."""

from __future__ import annotations

import logging
import re
import string
from dataclasses import replace

import pandas as pd

from etl.canonical import canonical_fields
from etl.errors import MappingError
from etl.feeds import Feed
from etl.mapping_steps import StepParser
from etl.mapping_yaml import Reader, YDict, YList
from etl.mapspec import FieldSpec
from etl.numberstep import Number
from etl.transforms import Step

log = logging.getLogger(__name__)

FIELD_KEYS: tuple[str, ...] = ("column", "constant", "template", "default", "optional")
FIELD_KEYS += ("transforms", "pattern", "length")


def read_fields(reader: Reader, steps: StepParser, doc: YDict, feed: Feed) -> tuple[FieldSpec, ...]:
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
    specs = tuple(_field(reader, steps, fields, name) for name in fields)
    for spec in specs:
        if spec.optional and spec.name in feed.key:
            _optional_key(reader, fields, feed, spec)
    return specs


def _optional_key(reader: Reader, fields: YDict, feed: Feed, spec: FieldSpec) -> None:
    """A key field (location and SKU, the order ID) whose column may be missing would, with
    the column misspelt or renamed in the export, put every row on its default (a whole
    multi-location export written onto one location) or reject every row as blank."""
    node = fields[spec.name]
    assert isinstance(node, YDict)  # only the long form can say `optional`
    example = spec.default or ("DEL-WH-01" if spec.name == "location_id" else "...")
    problem = (
        f"{spec.name} is a key of a {feed.name} row, so its column cannot be optional: a column"
        f" missing from the file would give every row the same {spec.name}. Remove"
        f" 'optional: true'; for an export of one {_one(spec.name)}, write"
        f" '{spec.name}: {{constant: {example}}}' instead"
    )
    raise reader.fail(node, "optional", f"fields.{spec.name}.optional", problem)


def _one(name: str) -> str:
    return {"location_id": "location", "sku": "SKU"}.get(name, "order")


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
        transforms=_counted(
            reader, node, name, steps.steps(node.get("transforms"), node, f"{path}.transforms")
        ),
        pattern=reader.pattern(node, "pattern", path),
        length=_length(reader, node, path),
        shorthand=isinstance(fields[name], str),
    )
    if spec.template is not None:
        _check_template(reader, node, path, spec.template)
    for key in ("constant", "default"):
        _check_fixed(reader, node, path, spec, key)
    return spec


def _counted(reader: Reader, node: YDict, name: str, steps: tuple[Step, ...]) -> tuple[Step, ...]:
    """A quantity counts pieces: read from cells with no number transform, it is read with
    `integer`, as the generic mappings read it (`1,200`, `12 Pcs`: a plain number would
    refuse them, and the person fixing the errors file could not); with `decimal`, as
    `integer` with the same options, said in the log (a mapping that worked before an
    upgrade must not stop every file: 12.5 was refused either way). A constant is left as
    written."""
    numbers = [step for step in steps if isinstance(step, Number)]
    if name != "quantity" or "constant" in node or any(step.whole for step in numbers):
        return steps
    if not numbers:
        return (*steps, Number(whole=True))
    log.warning("%s: fields.%s is read with 'decimal'; it is read with 'integer' (a quantity"
                " counts pieces): write integer there", reader.shown, name)  # fmt: skip
    return tuple(replace(s, whole=True) if isinstance(s, Number) else s for s in steps)


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
