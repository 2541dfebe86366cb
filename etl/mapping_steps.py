"""Parsing the `transforms:` list of a field into transform steps (etl.transforms).

An item is a name (`strip`) or a one-transform dict whose other keys are its options:
`{lookup: lookups/godowns.csv, from: ERP name, to: Fynd code}`. Number and date options may
also sit under the name: `{decimal: {decimal_comma: true}}`.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

from etl.dates import Declared
from etl.datestep import DateStep
from etl.errors import MappingError
from etl.lookupfile import IGNORED, read_lookup
from etl.mapping_yaml import Reader, YDict, YList
from etl.numberstep import Number
from etl.transforms import (
    Extract,
    Kind,
    Lower,
    Replace,
    Split,
    Step,
    Strip,
    Unmatched,
    Upper,
    ValueMap,
    Zfill,
    map_key,
)

OPTIONS: dict[str, tuple[str, ...]] = {
    "strip": (),
    "upper": (),
    "lower": (),
    "integer": ("decimal_comma", "units"),
    "decimal": ("decimal_comma", "units", "currency"),
    "date": ("formats", "output", "excel_serial", "order"),
    "datetime": ("formats", "output", "excel_serial", "order"),
    "map": ("unmatched",),
    "lookup": ("from", "to", "unmatched"),
    "split": (),
    "regex": ("unmatched",),
    "zfill": (),
    "replace": ("with",),
}
UNMATCHED = ("error", "keep")
ORDERS: dict[str, Declared] = {"day-first": "day", "month-first": "month"}


class StepParser:
    """Turns one field's `transforms:` list into steps, checking what may follow what."""

    def __init__(self, reader: Reader, root: Path) -> None:
        self.reader, self.root = reader, root

    def steps(self, items: Any, owner: YDict, path: str) -> tuple[Step, ...]:
        if items is None:
            return ()
        if not isinstance(items, YList):
            wanted = f": write [{items}]" if isinstance(items, str) else ""
            raise self.reader.fail(
                owner, "transforms", path, f"expected a list of transforms{wanted}"
            )
        steps: list[Step] = []
        kind: Kind = "text"
        for index, item in enumerate(items):
            where = f"{path}[{index}]"
            step = self.one(item, items.lines[index], where)
            if kind not in step.accepts:
                problem = f"'{step.name}' cannot follow a step that gives a {kind}"
                raise MappingError(self.reader.shown, items.lines[index], where, problem)
            steps.append(step)
            kind = step.gives
        return tuple(steps)

    def one(self, item: Any, line: int, path: str) -> Step:
        if isinstance(item, str):
            item_dict = YDict()
            item_dict[item], item_dict.line = None, line
            item_dict.lines[item] = line
            item = item_dict
        if not isinstance(item, YDict):
            raise MappingError(self.reader.shown, line, path, "expected a transform name")
        names = [k for k in item if k in OPTIONS]
        if len(names) != 1:
            self.reader.keys(item, path, OPTIONS)
            problem = "give exactly one transform per list item"
            raise MappingError(self.reader.shown, item.line, path, problem)
        name = names[0]
        options = self._options(item, name, path)
        return BUILDERS[name](self, options, name, f"{path}.{name}")

    def _options(self, item: YDict, name: str, path: str) -> YDict:
        """Options may be siblings of the name or, for numbers/dates, nested under it."""
        nested = item[name]
        if isinstance(nested, YDict) and name not in ("map", "replace"):
            self.reader.keys(nested, f"{path}.{name}", OPTIONS[name])
            return nested
        self.reader.keys(item, path, (name, *OPTIONS[name]))
        return item

    def number(self, opts: YDict, name: str, path: str) -> Step:
        units = tuple(u.casefold() for u in self.reader.texts(opts, "units", path))
        comma = self.reader.flag(opts, "decimal_comma", path, False)
        currency = self.reader.text(opts, "currency", path)
        if currency is not None and not re.fullmatch(r"[A-Z]{3}", currency):
            problem = "expected a currency code of 3 capital letters, like INR"
            raise self.reader.fail(opts, "currency", f"{path}.currency", problem)
        return Number(whole=name == "integer", decimal_comma=comma, units=units, currency=currency)

    def date(self, opts: YDict, name: str, path: str) -> Step:
        formats = self.reader.texts(opts, "formats", path)
        for fmt in formats:
            if "%" not in fmt:
                raise self.reader.fail(opts, "formats", f"{path}.formats", f"'{fmt}' has no %")
        default = "%Y-%m-%dT%H:%M:%S" if name == "datetime" else "%Y-%m-%d"
        output = self.reader.text(opts, "output", path) or default
        serial = self.reader.flag(opts, "excel_serial", path, True)
        order = self.reader.text(opts, "order", path)
        if order is not None and (order not in ORDERS or formats):
            problem = f"'{order}' is not day-first or month-first"
            if formats:
                problem = "give formats or order, not both: formats already fix the order"
            raise self.reader.fail(opts, "order", f"{path}.order", problem)
        given: dict[str, Any] = {"formats": formats, "with_time": name == "datetime"}
        given |= {"output": output, "excel_serial": serial}
        return DateStep(**given, order=ORDERS[order] if order else None)

    def value_map(self, opts: YDict, name: str, path: str) -> Step:
        table = opts.get("map")
        if not isinstance(table, YDict) or not table:
            raise self.reader.fail(opts, "map", path, "expected 'ERP value: Fynd value' entries")
        entries = self._entries(table, path)
        shown = Path(self.reader.shown)
        name = (
            shown.relative_to(self.root).as_posix()
            if shown.is_relative_to(self.root)
            else shown.name
        )
        where = f"the value map in {name}"  # the mapping file to add it to
        choices = tuple(str(k) for k in table)
        unmatched = self._unmatched(opts, path)
        return ValueMap(table=entries, unmatched=unmatched, source=where, choices=choices)

    def _entries(self, table: YDict, path: str) -> dict[str, str]:
        """{key as compared: value}. Keys equal but for case and spaces (`Delhi WH`, `delhi
        wh`) are one key: with two values the last would silently win, so that is refused
        (as in a lookup file)."""
        entries: dict[str, str] = {}
        written: dict[str, str] = {}
        for key in table:
            value, compared = self._map_value(table, key, path), map_key(key)
            if entries.setdefault(compared, value) != value:
                first = written[compared]
                problem = (
                    f"'{first}' (line {table.lines[first]}) and '{key}' are the same name"
                    f" ({IGNORED}) with different values: keep one"
                )
                raise self.reader.fail(table, key, f"{path}.{key}", problem)
            written.setdefault(compared, key)
        return entries

    def _map_value(self, table: YDict, key: str, path: str) -> str:
        value = self.reader.text(table, key, f"{path}.{key}")
        if value is None:
            raise self.reader.fail(table, key, f"{path}.{key}", "expected a value to map to")
        if not value.strip():  # a blank Konnect value would be refused on every row it fills
            problem = f"'{key}' maps to nothing (''): write the value, or delete the line"
            raise self.reader.fail(table, key, f"{path}.{key}", problem)
        return value

    def _unmatched(self, opts: YDict, path: str) -> Unmatched:
        return cast(Unmatched, self.reader.choice(opts, "unmatched", path, UNMATCHED))

    def lookup(self, opts: YDict, name: str, path: str) -> Step:
        file_text = self.reader.text(opts, "lookup", "")
        if not file_text:
            raise self.reader.fail(opts, "lookup", path, "expected a CSV file name")
        shown, file = self._inside_root(opts, file_text, path)
        source, target = self.reader.text(opts, "from", path), self.reader.text(opts, "to", path)
        try:
            table = read_lookup(file, shown, source, target)
        except MappingError as exc:  # named from the mapping that reads it, and where it is
            mapping = Path(self.reader.shown)
            if mapping.is_relative_to(self.root):
                mapping = mapping.relative_to(self.root)
            said = f"{exc.problem} (a lookup file of mapping {mapping}, in {self.root})"
            raise MappingError(exc.file, exc.line, exc.key or "", said) from None
        where = f"{shown} in the mappings folder"  # where to add a name, said to whoever can
        return ValueMap(table=table, unmatched=self._unmatched(opts, path), source=where)

    def _inside_root(self, opts: YDict, file_text: str, path: str) -> tuple[str, Path]:
        root = self.root.resolve()
        file = (root / file_text).resolve()
        if not file.is_relative_to(root):
            problem = f"'{file_text}' is outside the mappings folder {self.root}"
            raise self.reader.fail(opts, "lookup", path, problem)
        if not file.is_file():
            problem = f"lookup file '{file_text}' not found in {self.root}"
            raise self.reader.fail(opts, "lookup", path, problem)
        return file.relative_to(root).as_posix(), file

    def split(self, opts: YDict, name: str, path: str) -> Step:
        self.reader.pattern(opts, "split", "")
        return Split(pattern=self.reader.text(opts, "split", path) or Split.pattern)

    def regex(self, opts: YDict, name: str, path: str) -> Step:
        pattern = self.reader.pattern(opts, "regex", "")
        if pattern is None or pattern.groups > 1:
            raise self.reader.fail(opts, "regex", path, "expected a pattern with at most 1 group")
        return Extract(pattern=pattern.pattern, unmatched=self._unmatched(opts, path))

    def zfill(self, opts: YDict, name: str, path: str) -> Step:
        width = opts.get("zfill")
        if not isinstance(width, int) or isinstance(width, bool) or not 0 < width <= 64:
            raise self.reader.fail(opts, "zfill", path, "expected a width such as 8")
        return Zfill(width=width)

    def replace(self, opts: YDict, name: str, path: str) -> Step:
        pattern = self.reader.pattern(opts, "replace", "")
        if pattern is None:
            raise self.reader.fail(opts, "replace", path, "expected a pattern")
        return Replace(
            pattern=pattern.pattern, replacement=self.reader.text(opts, "with", path) or ""
        )

    def simple(self, opts: YDict, name: str, path: str) -> Step:
        if opts.get(name) is not None:
            raise self.reader.fail(opts, name, path, f"'{name}' takes no options")
        return {"strip": Strip(), "upper": Upper(), "lower": Lower()}[name]


Builder = Callable[[StepParser, YDict, str, str], Step]
BUILDERS: dict[str, Builder] = {
    "strip": StepParser.simple,
    "upper": StepParser.simple,
    "lower": StepParser.simple,
    "integer": StepParser.number,
    "decimal": StepParser.number,
    "date": StepParser.date,
    "datetime": StepParser.date,
    "map": StepParser.value_map,
    "lookup": StepParser.lookup,
    "split": StepParser.split,
    "regex": StepParser.regex,
    "zfill": StepParser.zfill,
    "replace": StepParser.replace,
}


def check_encoding(reader: Reader, node: YDict, path: str) -> str | None:
    """The `read.encoding` value, if Python knows that codec."""
    value = reader.text(node, "encoding", path)
    try:
        if value is not None:
            codecs.lookup(value)
    except LookupError:
        raise reader.fail(
            node, "encoding", f"{path}.encoding", f"unknown encoding '{value}'"
        ) from None
    return value
