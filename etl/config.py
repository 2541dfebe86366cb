"""Settings from the config file, the environment and the command line, built once, frozen.

Precedence: command-line option > environment variable > config file > default. The token
and password are kept out of `repr()` so they never reach a log line or a traceback.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping
from dataclasses import MISSING, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import etl
from etl.config_file import read_config_file, refuse_misnamed
from etl.errors import ConfigError
from etl.guard_settings import Guards
from etl.konnect import NAMED_ENVIRONMENTS, TOKEN_TTL_SECONDS
from etl.limits import Limits
from etl.settingvalues import (
    address_list,
    boolean,
    hold_minutes,
    texts,
    token_scope,
    token_ttl,
    url_or_environment,
    whole_days,
)

CONFIG_NAME = "konnect-etl.yaml"
CONFIG_NAMES = (CONFIG_NAME, "konnect-etl.yml")  # what an inbox's config file may be called
STATE_DIR = ".konnect-etl"
SANDBOX_STATE = "sandbox"  # in STATE_DIR: the journal and records of --sandbox commands


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
    retry_failed_minutes: float = 30.0  # etl/holdover.py
    token_ttl_seconds: float = TOKEN_TTL_SECONDS  # a fetched token is used this long at most
    settle_seconds: float = 5.0
    trigger_suffix: str | None = None
    reprocess_duplicates: bool = True
    keep_days: int | None = None  # etl/retention.py: None keeps done/, failed/... forever
    # notifications when a file has rejected/failed rows or fails as a whole (etl.notify)
    notify_webhook: str | None = None
    notify_email: str | None = None  # comma-separated addresses
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_from: str | None = None
    smtp_username: str | None = None
    smtp_password: str | None = field(default=None, repr=False)
    smtp_starttls: bool = False
    limits: Limits = field(default_factory=Limits)  # etl/limits.py: file size, rows, cells...
    guards: Guards = field(default_factory=Guards)  # etl.guards: held/, out-of-order files
    # pull side (etl.pull): see README "Pulling orders, returns and documents"
    token_scope: str = "location"
    locations: tuple[str, ...] = ()
    pull_overlap_minutes: float | None = None  # no longer used: accepted, noted in the log
    pull_lookback_days: int = 90  # every automatic pull asks for this many days (etl.pull)
    pull_page_size: int = 100
    pull_every_minutes: float = 15.0

    def resolved_base_url(self) -> str | None:
        """A named environment (`fyndkonnect-uat`...) turned into its URL."""
        if self.base_url is None:
            return None
        return NAMED_ENVIRONMENTS.get(self.base_url, self.base_url)


_ENV_KEYS = {
    "KONNECT_BASE_URL": "base_url",
    "KONNECT_TOKEN": "token",
    "KONNECT_USERNAME": "username",
    "KONNECT_PASSWORD": "password",
    "KONNECT_SMTP_PASSWORD": "smtp_password",
}


def builtin_mappings_dir() -> Path:
    """The shipped `mappings/`: inside the wheel, or next to the package in a checkout."""
    package = Path(etl.__file__).parent
    for candidate in (package / "builtin_mappings", package.parent / "mappings"):
        if candidate.is_dir():
            return candidate
    raise ConfigError("the built-in mappings folder is missing: reinstall konnect-etl")


def config_path(folder: Path) -> Path | None:
    """The config file `folder` holds (`konnect-etl.yaml`, or `.yml`), if any."""
    found = next((folder / n for n in CONFIG_NAMES if (folder / n).is_file()), None)
    if found is None:
        refuse_misnamed(folder, CONFIG_NAMES)
    return found


def load_settings(
    *,
    inbox: Path | None = None,
    config_file: Path | None = None,
    overrides: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Merge defaults, the config file, the environment and command-line overrides."""
    environ = os.environ if environ is None else environ
    if config_file is None and inbox is not None:
        config_file = config_path(inbox)
    values: dict[str, Any] = {}
    if config_file is not None:
        values.update(read_config_file(config_file, _TEXT_FIELDS))
    # .strip(): an env file saved with Windows line ends puts a \r at the end of each value
    later = {f: environ[e].strip() for e, f in _ENV_KEYS.items() if environ.get(e)}
    later.update({k: v for k, v in (overrides or {}).items() if v is not None})
    from_file = set(values) - set(later)
    values.update(later)
    try:
        return _typed(values)
    except ConfigError as exc:  # say which file, when the value is the file's
        if exc.key in from_file:
            raise ConfigError(f"config file {config_file}: {exc}") from exc
        raise


def _typed(values: dict[str, Any]) -> Settings:
    """Build Settings, turning wrongly typed values into a ConfigError that names the key."""
    converted: dict[str, Any] = {}
    for key, value in values.items():
        try:
            converted[key] = _converted(key, value)
        except ConfigError as exc:
            exc.key = key
            raise
    return replace(Settings(), **{k: v for k, v in converted.items() if v is not _SKIP})


_SKIP = object()  # a block whose lines are all commented out: the defaults


def _converted(key: str, value: Any) -> Any:
    if value is None and key in _BLOCKS:  # every line of the block commented out
        return _SKIP
    convert = _CONVERTERS.get(key, str)
    if value is None and key in _NEVER_BLANK:
        raise ConfigError(f"setting '{key}' has no value: give one (default: "
                          f"{getattr(Settings(), key)}) or remove the line")  # fmt: skip
    try:
        return None if value is None else convert(value)
    except (TypeError, ValueError) as exc:
        said = str(exc)  # our own converters' messages name the key and say what to write
        if said.startswith((f"{key}.", f"{key} ", f"{key}:")):
            raise ConfigError(f"setting '{key}': {said}") from exc
        raise ConfigError(f"setting '{key}': {value!r} is not a valid value") from exc


# settings whose value is text by nature (a password, a token, a path): the config file's
# `password: 0123456` is the text 0123456, not YAML's octal number 42798 (etl.config_file)
_TEXT_FIELDS = frozenset(
    f.name for f in fields(Settings) if str(f.type).startswith(("str", "Path", "tuple[str"))
)

_BLOCKS = ("guards", "limits")  # `key:` with its lines below; none left: the defaults


# keys whose Settings field has no "not set" meaning (`timeout_seconds:` left blank would be
# no timeout at all): a blank value is refused, not taken as None
_NEVER_BLANK = frozenset(
    f.name
    for f in fields(Settings)
    if f.default is not None and f.default is not MISSING and not isinstance(f.default, tuple)
)


def _number(
    key: str, low: float, what: str, *, whole: bool = False, above: bool = False
) -> Callable[[Any], Any]:
    """A converter for a number setting from `low` on (or `above` it): `timeout_seconds: 0`
    timed every request out at once and sent the user to check the network; a negative
    `pull_lookback_days` pulled nothing, for good, without a word."""

    def convert(value: Any) -> float | int:
        try:
            number = float(value)
        except (TypeError, ValueError):
            number = math.nan
        fits = not isinstance(value, bool) and math.isfinite(number)
        fits = fits and (number > low if above else number >= low)
        if not fits or (whole and number != int(number)):
            kind = "a whole number" if whole else "a number"
            bound = f"above {low:g}" if above else f"{low:g} or more"
            default = getattr(Settings(), key)
            raise ConfigError(
                f"setting '{key}': {value!r} is not {kind} {bound}: {what} (default {default})"
            )
        return int(number) if whole else number

    return convert


_CONVERTERS: dict[str, Callable[[Any], Any]] = {
    "base_url": url_or_environment,
    "token": lambda value: str(value).strip(),
    "concurrency": _number("concurrency", 1, "requests sent at once", whole=True),
    "retries": _number("retries", 0, "tries again of a failed request", whole=True),
    "retry_failed_minutes": hold_minutes,
    "timeout_seconds": _number(
        "timeout_seconds", 0, "seconds to wait for Konnect's answer", above=True
    ),
    "token_ttl_seconds": token_ttl,
    "settle_seconds": _number(
        "settle_seconds", 0, "seconds a file must stay unchanged before it is taken"
    ),
    "reprocess_duplicates": boolean,
    "keep_days": whole_days,
    "notify_email": address_list,
    "smtp_port": _number("smtp_port", 1, "the mail server's port", whole=True),
    "smtp_starttls": boolean,
    "mappings_dir": Path,
    "limits": Limits.from_mapping,
    "guards": Guards.from_config,
    "token_scope": token_scope,
    "locations": texts,
    "pull_overlap_minutes": float,
    "pull_lookback_days": _number(
        "pull_lookback_days", 1, "days each automatic pull looks back", whole=True
    ),
    "pull_page_size": _number("pull_page_size", 1, "orders asked for per page", whole=True),
    "pull_every_minutes": _number(
        "pull_every_minutes", 0, "minutes between the watcher's pulls", above=True
    ),
}


def state_dir(inbox: Path) -> Path:
    """`INBOX/.konnect-etl/`: journal and logs."""
    path = inbox / STATE_DIR
    path.mkdir(parents=True, exist_ok=True)
    return path
