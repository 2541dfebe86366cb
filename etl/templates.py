"""Empty files for `konnect-etl template`: the canonical headers, or a file a mapping takes.

A template written for a mapping is a file that mapping matches as it is, once rows are
filled in: a name its `match.filename` globs accept, its sheet, its header row (a title row
above it when the mapping fixes the header lower down), its CSV delimiter and encoding, and
every header it reads or requires, spelled as the mapping spells them.

    layout_for(mapping) / canonical_layout(feed)   what the file holds
    default_name(mapping, layout)                  a name the mapping's globs accept
    advice(path, target, layout, option)           what to do when the inbox would not
    write_template(path, layout)                   .xlsx, or .csv/.txt/.tsv text
    who_takes(path, mappings, target, exact)       None, or why the inbox would not use it
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path

from openpyxl import Workbook
from openpyxl.utils import get_column_letter

from etl.atomic import atomic_write, atomic_write_bytes
from etl.errors import ConfigError, InputError
from etl.feeds import Feed
from etl.mapspec import Mapping, norm_header
from etl.matching import choose_mapping
from etl.nameglobs import name_fits

TEXT_SUFFIXES = (".csv", ".txt", ".tsv")  # read as delimited text (etl.readers.file_kind)
WRITABLE = (".xlsx", *TEXT_SUFFIXES)
_STARS = re.compile(r"\*+")
_CLASS = re.compile(r"\[([^!\]])[^\]]*\]")  # [abc] -> a; a negated class is not guessed


@dataclass(frozen=True)
class Layout:
    """What a template holds and how it is laid out."""

    feed: str
    columns: tuple[str, ...]
    sheet: str | int | None = None  # a name, or an index (earlier sheets are placeholders)
    header_row: int = 1  # as Excel shows it
    title: str = ""  # written in row 1 when the header is lower down
    encoding: str | None = None  # CSV; None: UTF-8 with a byte-order mark (what Excel reads)
    delimiter: str | None = None  # CSV; None: ',' (a tab for .tsv)

    @property
    def csv_first(self) -> bool:
        """A mapping that sets CSV options is for CSV files."""
        return self.encoding is not None or self.delimiter is not None


def canonical_layout(feed: Feed) -> Layout:
    """Konnect's own column names, on the first row of a sheet named after the feed."""
    return Layout(feed.name, feed.columns)


def layout_for(mapping: Mapping) -> Layout:
    """The layout `mapping` reads: its sheet, header row, CSV options and source headers."""
    return Layout(
        feed=mapping.feed,
        columns=source_columns(mapping),
        sheet=mapping.sheet,
        header_row=mapping.header_row or 1,
        title=mapping.description or mapping.name,
        encoding=mapping.encoding,
        delimiter=mapping.delimiter,
    )


def source_columns(mapping: Mapping) -> tuple[str, ...]:
    """Every header a field reads, in field order, then `match.headers` and the columns skip
    rules read (a file without them is refused) that no field reads.

    Headers equal but for case and spaces are one header: the file must not hold it twice.
    """
    wanted = [c for spec in mapping.fields for c in spec.columns] + list(mapping.headers)
    wanted += [rule.column for rule in mapping.skip_rows]
    seen: dict[str, str] = {}
    for header in wanted:
        seen.setdefault(norm_header(header), header)
    return tuple(seen.values())


def default_name(mapping: Mapping, layout: Layout) -> str:
    """`<feed>.xlsx` (or .csv) when the mapping's globs take it, else a name made from them."""
    names = _names(mapping, ".csv" if layout.csv_first else ".xlsx")
    if names:
        return names[0]
    globs = ", ".join(f"'{g}'" for g in mapping.filename)
    raise ConfigError(
        f"cannot make a file name that mapping '{mapping.name}' takes ({globs}, in"
        " match.filename); choose one with --out"
    )


def _names(mapping: Mapping, suffix: str) -> list[str]:
    """Names the mapping takes, best first: the feed's own name, then names from its globs."""
    candidates = [mapping.feed + suffix]
    candidates += [mapping.feed + s for g in mapping.filename if (s := _suffix(g)) in WRITABLE]
    candidates += [n for g in mapping.filename if (n := name_from_glob(g, mapping.feed, suffix))]
    return [n for n in dict.fromkeys(candidates) if name_fits(mapping, n)]


def advice(path: Path, target: Mapping, layout: Layout, option: str) -> str:
    """What to do with a template the inbox would not read with `target`."""
    if name_fits(target, path.name):
        return f"run with {option}"
    suffix = path.suffix.casefold()
    same_kind = [n for n in _names(target, suffix) if n.casefold().endswith(suffix)]
    if same_kind:
        return f"rename it to {same_kind[0]} or run with {option}"
    others = _names(target, ".csv" if layout.csv_first else ".xlsx")
    instead = f"write it as {others[0]} (leave out --out) or " if others else ""
    return f"{target.name} takes no {suffix} file: {instead}run with {option}"


def name_from_glob(glob: str, feed: str, suffix: str) -> str | None:
    """A concrete name `glob` matches: '*stock*summary*.xlsx' -> 'stock_summary.xlsx',
    'pos_*.csv' -> 'pos_price.csv'. None when the glob names a type we cannot write."""
    ending, stem = _suffix(glob), glob.removesuffix(".*")  # 'name.*': any type will do
    if ending:
        if ending not in WRITABLE:
            return None
        stem, suffix = glob[: -len(ending)], ending
    pieces = _STARS.split(_CLASS.sub(r"\1", stem).replace("?", "0"))
    name = pieces[0]
    for piece in pieces[1:]:
        name += _filler(name, piece, feed) + piece
    name += suffix
    return name if fnmatchcase(name.casefold(), glob.casefold()) else None


def _suffix(glob: str) -> str:
    """The glob's fixed file type ('.xlsx'), or '' when it ends in a wildcard or has none."""
    if "." not in glob:
        return ""
    ending = "." + glob.rsplit(".", 1)[1]
    return "" if any(c in ending for c in "*?[") else ending.casefold()


def _filler(left: str, right: str, feed: str) -> str:
    """What a `*` between `left` and `right` becomes: '_' between words, the feed name where
    the glob leaves a word out ('pos_*'), else nothing."""
    word_left, word_right = left[-1:].isalnum(), right[:1].isalnum()
    if word_left and word_right:
        return "_"
    return "" if word_left or word_right else feed


def write_template(path: Path, layout: Layout) -> None:
    """Write the empty template (never half-written: etl.atomic)."""
    suffix = path.suffix.casefold()
    if suffix not in WRITABLE:
        raise ConfigError(f"a template is written as {', '.join(WRITABLE)}; not '{path.name}'")
    try:
        if suffix in TEXT_SUFFIXES:
            atomic_write_bytes(path, _text_bytes(layout, "\t" if suffix == ".tsv" else ","))
        else:
            book = _workbook(layout)
            atomic_write(path, lambda temp: book.save(temp))
    except OSError as exc:
        raise ConfigError(f"cannot write {path}: {exc.strerror or exc}") from exc


def _rows(layout: Layout) -> list[list[str]]:
    """The title row (when the header is not on row 1), blank rows, then the header."""
    width = len(layout.columns)
    above = [[""] * width for _ in range(layout.header_row - 1)]
    if above:
        above[0][0] = layout.title
    return [*above, list(layout.columns)]


def _text_bytes(layout: Layout, fallback_delimiter: str) -> bytes:
    text = io.StringIO()
    writer = csv.writer(
        text, delimiter=layout.delimiter or fallback_delimiter, lineterminator="\r\n"
    )
    writer.writerows(_rows(layout))
    encoding = layout.encoding or "utf-8"
    if codecs.lookup(encoding).name == "utf-8":
        encoding = "utf-8-sig"  # Excel opens UTF-8 correctly only with the byte-order mark
    try:
        return text.getvalue().encode(encoding)
    except UnicodeEncodeError as exc:
        bad = exc.object[exc.start : exc.end]
        raise ConfigError(f"'{bad}' in the headers cannot be written in {encoding}") from exc


def _workbook(layout: Layout) -> Workbook:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = layout.sheet if isinstance(layout.sheet, str) else layout.feed
    if isinstance(layout.sheet, int):  # the mapping reads the sheet at this position
        for index in range(layout.sheet):
            book.create_sheet(f"Sheet{index + 1}", index)
    rows = _rows(layout)
    for number, row in enumerate(rows, start=1):
        for column, value in enumerate(row, start=1):
            if value:
                sheet.cell(number, column, value)
    for column in range(1, max(map(len, rows), default=0) + 1):  # what is typed stays text:
        sheet.column_dimensions[get_column_letter(column)].number_format = "@"  # 00012345
    return book


def who_takes(path: Path, mappings: list[Mapping], target: Mapping, exact: bool) -> str | None:
    """None when the file, dropped into the inbox, is read with `target` (with any mapping of
    its feed unless `exact`: canonical columns); else why not."""
    if not name_fits(target, path.name):
        globs = ", ".join(f"'{g}'" for g in target.filename)
        return f"{path.name} does not match the file names {target.name} takes ({globs})"
    try:
        chosen, _table = choose_mapping(mappings, path)
    except InputError as exc:
        return f"in the inbox, {exc}"
    if chosen.name == target.name or (not exact and chosen.feed == target.feed):
        return None
    return f"in the inbox, {path.name} would be read with {chosen.name} ({chosen.feed})"
