"""Config values read in the user's terms: each function takes what the config file or the
environment gave and returns the typed setting, or raises saying what to write instead.

The generic "is not a valid value" of `etl.config` says too little for these settings (a
`keep_days: 0` would remove yesterday's reports, a `base_url` without a scheme would only
show once every row had failed), so each says what the setting means and its range.
"""

from __future__ import annotations

import math
import urllib.parse
from typing import Any

from etl.errors import ConfigError
from etl.konnect import NAMED_ENVIRONMENTS, TOKEN_TTL_SECONDS


def url_or_environment(value: Any) -> str:
    """A named environment, or an http(s) URL with a host: anything else could never work,
    and would only show once every row of the first file had failed."""
    text = str(value).strip()
    parts = urllib.parse.urlsplit(text)
    if text in NAMED_ENVIRONMENTS or (parts.scheme in ("http", "https") and parts.hostname):
        return text
    names = ", ".join(NAMED_ENVIRONMENTS)
    raise ValueError(
        f"base_url {text!r} is neither a URL (https://...) nor a named environment ({names})"
    )


def token_scope(value: Any) -> str:
    if str(value) not in ("location", "company"):
        raise ValueError(value)
    return str(value)


def texts(value: Any) -> tuple[str, ...]:
    """A YAML list, or one comma-separated text (as an environment variable would be)."""
    items = value if isinstance(value, list | tuple) else str(value).split(",")
    return tuple(str(item).strip() for item in items if str(item).strip())


def address_list(value: Any) -> str:
    """`a@x, b@y` or a YAML list of addresses -> "a@x,b@y"."""
    items = value if isinstance(value, list) else str(value).split(",")
    return ",".join(str(v).strip() for v in items if str(v).strip())


def whole_days(value: Any) -> int:
    """`keep_days`: a whole number of days, at least 1 (`bool` is an int to Python, not to
    us). 0 is refused rather than read as "off": it would remove yesterday's reports."""
    try:
        whole = not isinstance(value, bool) and int(value) == float(value) and int(value) >= 1
    except (TypeError, ValueError):
        whole = False
    if not whole:
        raise ConfigError(
            f"setting 'keep_days': {value!r} is not a whole number of days, 1 or more (how many"
            " days of done/, failed/ and duplicates/ folders to keep; leave it out to keep"
            " them all)"
        )
    return int(value)


MAX_HOLD_MINUTES = 7 * 24 * 60


def hold_minutes(value: Any) -> float:
    """`retry_failed_minutes`: 0 to a week (a file held longer holds every newer one up)."""
    try:
        minutes = float(value)
    except (TypeError, ValueError):
        minutes = math.nan
    if isinstance(value, bool) or not 0 <= minutes <= MAX_HOLD_MINUTES:
        raise ConfigError(
            f"setting 'retry_failed_minutes': {value!r} is not a number of minutes from 0 to "
            f"{MAX_HOLD_MINUTES} (a week). It is how long the next runs try again the requests "
            "Konnect did not take of a file, while newer files wait (default 30; 0: report "
            "their rows at once)"
        )
    return minutes


def token_ttl(value: Any) -> float:
    """Seconds, above 0: said in the user's terms, as the generic message would not."""
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        seconds = math.nan
    if isinstance(value, bool) or not math.isfinite(seconds) or seconds <= 0:
        raise ConfigError(
            f"setting 'token_ttl_seconds': {value!r} is not a number of seconds above 0. "
            "It is how long a token fetched with the username/password is used before a "
            f"new one is fetched (default {TOKEN_TTL_SECONDS}, i.e. 55 minutes)"
        )
    return seconds


def boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in {"1", "true", "yes", "on"}:
        return True
    if text in {"0", "false", "no", "off"}:
        return False
    raise ValueError(value)
