"""Start-up settings of the emulator and the fault settings that can change at run time."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any, Literal

Catalogue = Literal["strict", "open"]
CATALOGUES: tuple[Catalogue, ...] = ("strict", "open")
# which requests `error_rate` / `drop_rate` may hit: every one, or only those that change
# something (POST/PUT: not order look-ups), so a look-up does not take a draw of the sequence
FaultsOn = Literal["all", "writes"]
FAULTS_ON: tuple[FaultsOn, ...] = ("all", "writes")
# location: the token is one store's (here: it covers the seed's `locations`);
# company: it covers every location, and GET /oms/v3/shipment then needs `locationCode`.
TokenScope = Literal["location", "company"]
TOKEN_SCOPES: tuple[TokenScope, ...] = ("location", "company")


@dataclass
class SandboxSettings:
    """Everything `konnect-etl sandbox` takes on its command line.

    `fault_seed` seeds the random choices of `error_rate` / `drop_rate`, so a test can make
    them reproducible; `None` draws a fresh seed. `token_ttl_seconds`: each login issues a
    fresh token refused after that many seconds (`etl/sandbox/auth.py`); `None` hands out
    `token`, which never expires.
    """

    host: str = "127.0.0.1"
    port: int = 8765
    token: str = "sandbox-token"
    seed: Path | None = None
    latency_ms: float = 0
    error_rate: float = 0.0
    drop_rate: float = 0.0
    rate_limit: float | None = None
    max_concurrency: int | None = None
    catalogue: Catalogue = "strict"
    username: str = "sandbox"
    password: str = "sandbox"
    fault_seed: int | None = None
    faults_on: FaultsOn = "all"
    token_scope: TokenScope = "location"
    token_ttl_seconds: float | None = None

    def __post_init__(self) -> None:
        """ValueError for a value `POST /_sandbox/faults` would refuse too (the same rules)."""
        if self.token_ttl_seconds is not None and not self.token_ttl_seconds > 0:
            raise ValueError("token_ttl_seconds must be above 0 (or None: tokens never expire)")
        for f in fields(FaultSettings):
            _check(f.name, getattr(self, f.name))
        if self.token_scope not in TOKEN_SCOPES:
            raise ValueError("token_scope must be 'location' or 'company'")


@dataclass
class FaultSettings:
    """The part of the settings that `POST /_sandbox/faults` may change while running."""

    latency_ms: float = 0
    error_rate: float = 0.0
    drop_rate: float = 0.0
    rate_limit: float | None = None
    max_concurrency: int | None = None
    catalogue: Catalogue = "strict"
    fault_seed: int | None = None
    faults_on: FaultsOn = "all"

    @classmethod
    def from_settings(cls, settings: SandboxSettings) -> FaultSettings:
        return cls(**{f.name: getattr(settings, f.name) for f in fields(cls)})

    def as_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def updated(self, changes: dict[str, Any]) -> FaultSettings:
        """A copy with `changes` applied; ValueError names the first bad key or value."""
        known = {f.name for f in fields(self)}
        for key, value in changes.items():
            if key not in known:
                raise ValueError(
                    f"unknown fault setting '{key}' (known: {', '.join(sorted(known))})"
                )
            _check(key, value)
        return replace(self, **changes)


def _check(key: str, value: Any) -> None:
    if key == "catalogue":
        if value not in CATALOGUES:
            raise ValueError("catalogue must be 'strict' or 'open'")
        return
    if key == "faults_on":
        if value not in FAULTS_ON:
            raise ValueError("faults_on must be 'all' or 'writes'")
        return
    if value is None and key in ("rate_limit", "max_concurrency", "fault_seed"):
        return
    if key in ("max_concurrency", "fault_seed"):
        if not isinstance(value, int) or isinstance(value, bool):
            raise ValueError(f"{key} must be a whole number")
        if key == "max_concurrency" and value < 1:
            raise ValueError("max_concurrency must be at least 1")
        return
    if not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
        raise ValueError(f"{key} must be a number >= 0")
    if key in ("error_rate", "drop_rate") and value > 1:
        raise ValueError(f"{key} must be between 0 and 1")
    if key == "rate_limit" and value == 0:
        raise ValueError("rate_limit must be above 0 (or null for no limit)")
