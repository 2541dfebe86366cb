"""The config file (`INBOX/konnect-etl.yaml`): YAML read safely, every key known, none twice.

Its keys are readable, unit-bearing names (`timeout_seconds`, `mappings`), turned here into
the `Settings` fields they set; a `mappings:` folder is taken relative to the file.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Collection
from pathlib import Path
from typing import Any

import yaml

from etl.errors import ConfigError
from etl.mapping_yaml import cp1252_hint, yaml_hint

# config-file key -> Settings field (the file uses readable, unit-bearing names)
_FILE_KEYS = {
    "base_url": "base_url",
    "token": "token",
    "username": "username",
    "password": "password",
    "mappings": "mappings_dir",
    "concurrency": "concurrency",
    "timeout_seconds": "timeout_seconds",
    "retries": "retries",
    "retry_failed_minutes": "retry_failed_minutes",
    "token_ttl_seconds": "token_ttl_seconds",
    "settle_seconds": "settle_seconds",
    "trigger_suffix": "trigger_suffix",
    "reprocess_duplicates": "reprocess_duplicates",
    "keep_days": "keep_days",
    **{k: k for k in ("notify_webhook", "notify_email", "smtp_host", "smtp_port", "smtp_from")},
    **{k: k for k in ("smtp_username", "smtp_password", "smtp_starttls")},
    "limits": "limits",
    "guards": "guards",
    "token_scope": "token_scope",
    "locations": "locations",
    "pull_overlap_minutes": "pull_overlap_minutes",
    "pull_lookback_days": "pull_lookback_days",
    "pull_page_size": "pull_page_size",
    "pull_every_minutes": "pull_every_minutes",
}


class _UniqueKeys(yaml.SafeLoader):
    """YAML as `safe_load` reads it, but a key written twice is an error: pasted from the
    README onto an existing file, the second `retries:` would silently win."""


class _Twice(Exception):
    def __init__(self, key: object, line: int) -> None:
        self.key, self.line = key, line


def _unique_mapping(loader: _UniqueKeys, node: yaml.MappingNode) -> dict[Any, Any]:
    seen = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        if key in seen:
            raise _Twice(key, key_node.start_mark.line + 1)
        seen.add(key)
    return loader.construct_mapping(node, deep=True)


_UniqueKeys.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _unique_mapping)


def _decimal_int(loader: _UniqueKeys, node: yaml.ScalarNode) -> Any:
    """`keep_days: 030` is 30, as the same value in an environment variable is: YAML 1.1
    reads a number written with a leading 0 as octal (24 days, silently). `0x1F`, `0o17`
    and `1:30` (90) keep YAML's reading: nobody writes those by accident."""
    written = str(loader.construct_scalar(node)).replace("_", "")
    if re.fullmatch(r"[-+]?0[0-9]+", written):
        return int(written, 10)
    return loader.construct_yaml_int(node)


_UniqueKeys.add_constructor("tag:yaml.org,2002:int", _decimal_int)

_STR, _NULL = "tag:yaml.org,2002:str", "tag:yaml.org,2002:null"
_LISTS = ("locations", "notify_email")  # a YAML list of texts is fine there (settingvalues)


class _NotText(Exception):
    def __init__(self, key: str, node: yaml.Node) -> None:
        self.key, self.line = key, node.start_mark.line + 1


def _keep_text(key: str, node: yaml.Node, source: str) -> None:
    """Make a text setting's plain scalar a `str` of exactly what was written: YAML 1.1 reads
    `password: 0123456` as the octal 42798, `12:30` as 750, `1.50` as 1.5, `yes` as True.
    What cannot be kept as written (a list, an `&anchor` or `!!tag` before it): ValueError."""
    if isinstance(node, yaml.SequenceNode) and key in _LISTS:
        for item in node.value:
            _keep_text(key, item, source)
        return
    written = source[node.start_mark.index : node.end_mark.index]
    # `&x` (an anchor) keeps only what follows it, or nothing: `password: &x7 abc` is "abc"
    if not isinstance(node, yaml.ScalarNode) or written.startswith("&"):
        raise ValueError(key)
    # `password: ab #cd` is "ab" to YAML (` #` starts a comment): a secret is never commented
    if key in _SECRETS and node.style is None and _comment_after(source, node.end_mark.index):
        raise ValueError(key)
    if node.tag in (_STR, _NULL):
        return
    if node.style is not None or written != node.value:  # `!!int 0123`: a number asked for
        raise ValueError(key)
    node.tag = _STR


_SECRETS = ("token", "password", "smtp_password")


def _comment_after(source: str, end: int) -> bool:
    line_end = source.find("\n", end)
    return source[end : None if line_end < 0 else line_end].lstrip(" \t").startswith("#")


def _load(source: str, text_keys: Collection[str]) -> Any:
    """`yaml.load`, with the values of `text_keys` kept as the text written (`_keep_text`)."""
    loader = _UniqueKeys(source)
    try:
        root = loader.get_single_node()
        for key, value in root.value if isinstance(root, yaml.MappingNode) else ():
            if isinstance(key, yaml.ScalarNode) and key.value in text_keys:
                try:
                    _keep_text(key.value, value, source)
                except ValueError:
                    raise _NotText(key.value, key) from None
        return None if root is None else loader.construct_document(root)
    finally:
        loader.dispose()


def refuse_misnamed(folder: Path, names: tuple[str, ...]) -> None:
    """ConfigError when `folder` holds one of `names` with the `.txt` Notepad adds unless told
    "All files" (or `konnect-etl.txt`): Explorer hides the extension, the admin sees the
    config file, and its settings would silently not apply."""
    for name in (*(f"{n}.txt" for n in names), "konnect-etl.txt"):
        if (folder / name).is_file():
            meant = name.removesuffix(".txt") if name != "konnect-etl.txt" else names[0]
            raise ConfigError(f"found {folder / name}: rename it to {meant} (Explorer hides the"
                              " .txt Notepad added); it is not read as it is")  # fmt: skip


def _yaml_problem(path: Path, text: str, exc: yaml.MarkedYAMLError) -> str:
    """`config file X, line N: not valid YAML: ... - what to do`."""
    line = exc.problem_mark.line + 1 if exc.problem_mark else None
    lines = text.splitlines()
    said = lines[line - 1] if line and line <= len(lines) else ""
    problem = str(exc.problem)
    hint = f" - {BACKSLASH}" if "unknown escape" in problem else yaml_hint(problem, said)
    where = f", line {line}" if line else ""
    return f"config file {path}{where}: not valid YAML: {problem}{hint}"


def _text(path: Path) -> str:
    """The file's text: UTF-8 with or without a BOM, or UTF-16 with one (Notepad's "Unicode").
    Anything else (Notepad's "ANSI", with one `é` in a comment) is refused saying how to save
    it: guessed, a token or a path could be read wrong without a word."""
    data = path.read_bytes()
    bom16 = data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))
    try:
        return data.decode("utf-16" if bom16 else "utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        byte = data[exc.start : exc.start + 1]
        said = "is not readable UTF-16" if bom16 else f"byte 0x{byte.hex()} is not UTF-8"
        raise ConfigError(
            f"config file {path}, line {line}: {said}{'' if bom16 else cp1252_hint(byte)}:"
            " save it as UTF-8 (Notepad: Save as, Encoding UTF-8)"
        ) from None


# A Windows path in double quotes: YAML reads its backslashes as escapes
BACKSLASH = (
    "a backslash inside double quotes (a Windows path?): write the value in single quotes,"
    " as mappings: 'D:\\Konnect\\maps', or without quotes"
)


def read_config_file(path: Path, text_fields: Collection[str] = ()) -> dict[str, Any]:
    """The config file's settings as Settings field names; unknown keys are errors. The keys
    of `text_fields` (str settings: a password, a token) keep the text written."""
    text = _text(path)
    try:
        loaded = _load(text, [k for k, field in _FILE_KEYS.items() if field in text_fields]) or {}
    except _NotText as not_text:
        raise ConfigError(
            f"config file {path}, line {not_text.line}: '{not_text.key}' would not be read as"
            " the text written (a list or block, YAML's & or ! before it, or a ' #' after it, which"
            f" YAML reads as a comment): write the value in single quotes, as {not_text.key}: '...'"
        ) from None
    except _Twice as twice:
        raise ConfigError(
            f"config file {path}, line {twice.line}: '{twice.key}' is written twice (the"
            " second would quietly win): keep one"
        ) from None
    except yaml.MarkedYAMLError as exc:
        raise ConfigError(_yaml_problem(path, text, exc)) from None
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read config file {path}: {exc}") from exc
    if not isinstance(loaded, dict):
        raise ConfigError(f"config file {path}: expected 'key: value' lines at the top level")
    for key, value in loaded.items():  # "..\new_maps" in double quotes holds a line break
        if isinstance(value, str) and any(c in value for c in "\n\t\r\b\f\a\v"):
            raise ConfigError(
                f"config file {path}: '{key}' holds a line break or tab where a backslash was"
                f" written: {BACKSLASH}"
            )
    unknown = sorted(set(loaded) - set(_FILE_KEYS))
    if unknown:
        known = ", ".join(_FILE_KEYS)
        raise ConfigError(f"config file {path}: unknown key(s) {unknown}; known keys: {known}")
    values = {_FILE_KEYS[k]: v for k, v in loaded.items()}
    if "mappings_dir" in values:
        if values["mappings_dir"] is None:
            raise ConfigError(f"config file {path}: 'mappings' has no value: name your mappings "
                              "folder (relative to this file), or remove the line to use the "
                              "built-in mappings alone")  # fmt: skip
        values["mappings_dir"] = (path.parent / str(values["mappings_dir"])).resolve()
    return values
