"""Settings from the config file, the environment and the command line, built once, frozen.

Precedence: command-line option > environment variable > config file > default. The token
and password are kept out of `repr()` so they never reach a log line or a traceback.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

import etl
from etl.errors import ConfigError
from etl.konnect import NAMED_ENVIRONMENTS

CONFIG_NAME = "konnect-etl.yaml"
STATE_DIR = ".konnect-etl"


@dataclass(frozen=True)
class Settings:
    """Everything a run needs to know, after all sources are merged."""

    base_url: str | None = None
    token: str | None = field(default=None, repr=False)
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    mappings_dir: Path | None = None
    concurrency: int = 4
    timeout_seconds: float = 30.0
    retries: int = 5
    settle_seconds: float = 5.0
    trigger_suffix: str | None = None
    reprocess_duplicates: bool = True

    def resolved_base_url(self) -> str | None:
        """A named environment (`fyndkonnect-uat`...) turned into its URL."""
        if self.base_url is None:
            return None
        return NAMED_ENVIRONMENTS.get(self.base_url, self.base_url)


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
    "settle_seconds": "settle_seconds",
    "trigger_suffix": "trigger_suffix",
    "reprocess_duplicates": "reprocess_duplicates",
}
_ENV_KEYS = {
    "KONNECT_BASE_URL": "base_url",
    "KONNECT_TOKEN": "token",
    "KONNECT_USERNAME": "username",
    "KONNECT_PASSWORD": "password",
}


def builtin_mappings_dir() -> Path:
    """The shipped `mappings/`: inside the wheel, or next to the package in a checkout."""
    package = Path(etl.__file__).parent
    for candidate in (package / "builtin_mappings", package.parent / "mappings"):
        if candidate.is_dir():
            return candidate
    raise ConfigError("the built-in mappings folder is missing: reinstall konnect-etl")


def read_config_file(path: Path) -> dict[str, Any]:
    """The config file's settings as Settings field names; unknown keys are errors."""
    try:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read config file {path}: {exc}") from exc
    if not isinstance(loaded, dict):
        raise ConfigError(f"config file {path}: expected 'key: value' lines at the top level")
    unknown = sorted(set(loaded) - set(_FILE_KEYS))
    if unknown:
        known = ", ".join(_FILE_KEYS)
        raise ConfigError(f"config file {path}: unknown key(s) {unknown}; known keys: {known}")
    values = {_FILE_KEYS[k]: v for k, v in loaded.items()}
    if "mappings_dir" in values:
        values["mappings_dir"] = (path.parent / str(values["mappings_dir"])).resolve()
    return values


def load_settings(
    *,
    inbox: Path | None = None,
    config_file: Path | None = None,
    overrides: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Merge defaults, the config file, the environment and command-line overrides."""
    environ = os.environ if environ is None else environ
    if config_file is None and inbox is not None and (inbox / CONFIG_NAME).is_file():
        config_file = inbox / CONFIG_NAME
    values: dict[str, Any] = {}
    if config_file is not None:
        values.update(read_config_file(config_file))
    values.update({f: environ[e] for e, f in _ENV_KEYS.items() if environ.get(e)})
    values.update({k: v for k, v in (overrides or {}).items() if v is not None})
    return _typed(values)


def _typed(values: dict[str, Any]) -> Settings:
    """Build Settings, turning wrongly typed values into a ConfigError that names the key."""
    converted: dict[str, Any] = {}
    for key, value in values.items():
        convert = _CONVERTERS.get(key, str)
        try:
            converted[key] = None if value is None else convert(value)
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"setting '{key}': {value!r} is not a valid value") from exc
    return replace(Settings(), **converted)


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in {"1", "true", "yes", "on"}:
        return True
    if text in {"0", "false", "no", "off"}:
        return False
    raise ValueError(value)


_CONVERTERS: dict[str, Callable[[Any], Any]] = {
    "concurrency": int,
    "retries": int,
    "timeout_seconds": float,
    "settle_seconds": float,
    "reprocess_duplicates": _boolean,
    "mappings_dir": Path,
}


def state_dir(inbox: Path) -> Path:
    """`INBOX/.konnect-etl/`: journal and logs."""
    path = inbox / STATE_DIR
    path.mkdir(parents=True, exist_ok=True)
    return path
