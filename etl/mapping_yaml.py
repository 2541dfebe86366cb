"""Reading mapping YAML with line numbers, and typed access that fails with file/line/key.

Scalars resolve as in YAML 1.2 (only `true`/`false` are booleans, `0123` stays text) so a
store code like `0123` or a value `No` is never silently turned into a number or a boolean.
Every mapping key is kept as the text written in the file.
"""

from __future__ import annotations

import codecs
import difflib
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from etl.errors import MappingError


class YDict(dict[str, Any]):
    """A YAML mapping that remembers the line of each key and the raw text of scalar values."""

    line: int = 0

    def __init__(self) -> None:
        super().__init__()
        self.lines: dict[str, int] = {}
        self.raw: dict[str, str] = {}


class YList(list[Any]):
    """A YAML sequence that remembers the line of each item."""

    line: int = 0

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[int] = []


class _Loader(yaml.SafeLoader):
    pass


_Loader.yaml_implicit_resolvers = {}
for _tag, _regex, _first in (
    ("bool", r"^(?:true|True|TRUE|false|False|FALSE)$", "tTfF"),
    ("int", r"^[-+]?(?:0|[1-9][0-9]*)$", "-+0123456789"),
    ("float", r"^[-+]?(?:[0-9]+\.[0-9]*|\.[0-9]+)$", "-+0123456789."),
    ("null", r"^(?:~|null|Null|NULL|)$", ["~", "n", "N", ""]),
):
    _Loader.add_implicit_resolver(f"tag:yaml.org,2002:{_tag}", re.compile(_regex), list(_first))


def _mapping(loader: _Loader, node: yaml.MappingNode) -> YDict:
    loader.flatten_mapping(node)
    out = YDict()
    out.line = node.start_mark.line + 1
    for key_node, value_node in node.value:
        key = str(key_node.value) if isinstance(key_node, yaml.ScalarNode) else str(key_node)
        line = key_node.start_mark.line + 1
        if key in out:
            raise _Duplicate(line, key)
        out[key] = loader.construct_object(value_node, deep=True)
        out.lines[key] = line
        if isinstance(value_node, yaml.ScalarNode):
            out.raw[key] = str(value_node.value)
    return out


def _sequence(loader: _Loader, node: yaml.SequenceNode) -> YList:
    out = YList()
    out.line = node.start_mark.line + 1
    for item in node.value:
        out.append(loader.construct_object(item, deep=True))
        out.lines.append(item.start_mark.line + 1)
    return out


_Loader.add_constructor("tag:yaml.org,2002:map", _mapping)
_Loader.add_constructor("tag:yaml.org,2002:seq", _sequence)


class _Duplicate(Exception):
    def __init__(self, line: int, key: str) -> None:
        self.line, self.key = line, key


def read_yaml(path: Path, shown: str) -> YDict:
    """The document in `path` as a YDict; MappingError (named `shown`) when it is not one."""
    text = _text(path, shown)
    try:
        document = yaml.load(text, Loader=_Loader)
    except _Duplicate as dup:
        raise MappingError(shown, dup.line, dup.key, "this key appears twice") from None
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else None
        said = text.splitlines()[line - 1] if line and line <= len(text.splitlines()) else ""
        problem = f"not valid YAML: {exc.problem}{yaml_hint(str(exc.problem), said)}"
        raise MappingError(shown, line, "", problem) from None
    except yaml.YAMLError as exc:
        raise MappingError(shown, None, "", f"cannot read the file: {exc}") from None
    if not isinstance(document, YDict):
        raise MappingError(shown, 1, "", "a mapping file must be a set of 'key: value' lines")
    return document


HINTS = (
    (r"'\t' that cannot start", "the line holds a tab: indent with spaces, never tabs"),
    (
        "unknown escape character",
        "a backslash inside double quotes: write the pattern in single quotes, as 'SKU-(\\d+)'",
    ),
    (
        "mapping values are not allowed here",
        "check this line's indentation (keys of one level start in the same column), and put "
        "a value holding ': ' in quotes",
    ),
    ("expected <block end>", "check this line's indentation against the lines above it"),
)  # PyYAML's words for the mistakes people make most, and what to do about them


# `filename: *stock*` unquoted: YAML reads a leading * as an alias (a reference to another node)
STAR_WORDS = ("undefined alias", "but found '*'")


def yaml_hint(problem: str, line: str = "") -> str:
    """' - what to do' for PyYAML's `problem` on `line` (the line's text), or ''."""
    if any(words in problem for words in STAR_WORDS):
        found = re.search(r"(?:^|[\s\[,])(\*[^\s,\]}#]*)", line.split(":", 1)[-1])
        glob = found.group(1) if found else "*stock*"
        return f" - a value starting with * must be in quotes: '{glob}'"
    return next((f" - {hint}" for words, hint in HINTS if words in problem), "")


def _text(path: Path, shown: str) -> str:
    """The file's text; a mapping saved as UTF-16 or Windows-1252 (Notepad) is refused with
    what to do, never read as something else."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise MappingError(shown, None, "", f"cannot read the file: {exc}") from None
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        said = "the file is saved as UTF-16 (Notepad's 'Unicode')"
        raise MappingError(shown, None, "", f"{said}: save the mapping as UTF-8")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        byte = data[exc.start : exc.start + 1]
        said = f"byte 0x{byte.hex()} is not UTF-8{cp1252_hint(byte)}"
        raise MappingError(shown, line, "", f"{said}: save the mapping as UTF-8") from None


def cp1252_hint(byte: bytes) -> str:
    """What the byte is in Windows-1252, Notepad's old default: the likely cause."""
    try:
        return f" (in Windows-1252 it is {byte.decode('cp1252')!r})"
    except UnicodeDecodeError:
        return ""


class Reader:
    """Typed access to one mapping document; every failure names file, line and key path."""

    def __init__(self, shown: str) -> None:
        self.shown = shown

    def fail(self, where: YDict | YList, key: str, path: str, problem: str) -> MappingError:
        line = where.lines.get(key, where.line) if isinstance(where, YDict) else where.line
        return MappingError(self.shown, line, path, problem)

    def keys(self, node: YDict, path: str, allowed: Iterable[str]) -> None:
        """Unknown keys are errors, with a 'did you mean' hint."""
        allowed = list(allowed)
        for key in node:
            if key not in allowed:
                hint = difflib.get_close_matches(key, allowed, n=1, cutoff=0.5)
                tip = (
                    f"; did you mean '{hint[0]}'?" if hint else f" (allowed: {', '.join(allowed)})"
                )
                raise self.fail(node, key, _join(path, key), f"unknown key '{key}'{tip}")

    def dict(self, node: YDict, key: str, path: str) -> YDict:
        value = node.get(key)
        if value is None:
            return _empty(node.lines.get(key, node.line))
        if not isinstance(value, YDict):
            raise self.fail(node, key, _join(path, key), "expected 'key: value' entries here")
        return value

    def text(self, node: YDict, key: str, path: str) -> str | None:
        """A scalar as the text written in the file (None when absent)."""
        if key not in node or node[key] is None:
            return None
        if isinstance(node[key], YDict | YList):
            raise self.fail(node, key, _join(path, key), "expected a single value here")
        return node.raw.get(key, str(node[key]))

    def texts(self, node: YDict, key: str, path: str) -> tuple[str, ...]:
        """One text or a list of texts."""
        value = node.get(key)
        if isinstance(value, YList):
            bad = [v for v in value if isinstance(v, YDict | YList) or v is None]
            if bad:
                raise self.fail(node, key, _join(path, key), "expected a list of texts")
            return tuple(str(v) for v in value)
        single = self.text(node, key, path)
        return () if single is None else (single,)

    def choice(self, node: YDict, key: str, path: str, allowed: tuple[str, ...]) -> str:
        value = self.text(node, key, path)
        if value is None:
            return allowed[0]
        if value not in allowed:
            problem = f"'{value}' is not one of: {', '.join(allowed)}"
            raise self.fail(node, key, _join(path, key), problem)
        return value

    def flag(self, node: YDict, key: str, path: str, default: bool) -> bool:
        value = node.get(key, default)
        if not isinstance(value, bool):
            raise self.fail(node, key, _join(path, key), "expected true or false")
        return value

    def pattern(self, node: YDict, key: str, path: str) -> re.Pattern[str] | None:
        value = self.text(node, key, path)
        try:
            return None if value is None else re.compile(value)
        except re.error as exc:
            raise self.fail(node, key, _join(path, key), f"not a valid regex: {exc}") from None


def _empty(line: int) -> YDict:
    out = YDict()
    out.line = line
    return out


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key
