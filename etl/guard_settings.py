"""The `guards:` block of the config file (see etl.guards for what each guard does)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any


@dataclass(frozen=True)
class Guards:
    """The `guards:` block of the config file. A share set to `false` turns that guard off."""

    zero_share: float | None = 0.5
    fewer_rows: float | None = 0.5
    min_rows: int = 10
    out_of_order: bool = True
    repeated_cancels: bool = True
    repeated_orders: bool = True
    price_jump: float | None = 10.0

    @classmethod
    def from_config(cls, value: Any) -> Guards:
        """`guards: false` (all off) or `guards: {zero_share: 0.8, fewer_rows: false, ...}`."""
        if value is False:
            return cls(
                zero_share=None,
                fewer_rows=None,
                out_of_order=False,
                repeated_cancels=False,
                repeated_orders=False,
                price_jump=None,
            )
        if value is True:
            return cls()
        if not isinstance(value, Mapping):
            raise ValueError("guards must be false or 'key: value' lines")  # named by _typed
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(value) - known)
        if unknown:
            raise ValueError(
                f"guards.{unknown[0]} is not a guard; known: {', '.join(sorted(known))}"
            )
        return replace(cls(), **{k: _guard_value(k, v) for k, v in value.items()})


# what to write for each guard, said when its value is left blank
_WHAT = {
    "zero_share": "a share (0.5 = 50%), or false",
    "fewer_rows": "a share (0.5 = 50%), or false",
    "min_rows": "a number of rows (default 10)",
    "out_of_order": "true or false",
    "repeated_cancels": "true or false",
    "repeated_orders": "true or false",
    "price_jump": "a factor (10 = ten times), or false",
}


def _guard_value(key: str, value: Any) -> Any:
    if value is None:  # a blank must not quietly turn off what stops a file of zeros
        raise ValueError(f"guards.{key} has no value: give {_WHAT[key]}")
    if key in ("out_of_order", "repeated_cancels", "repeated_orders"):
        if not isinstance(value, bool):
            raise ValueError(f"guards.{key} must be true or false")
        return value
    if key == "min_rows":
        return int(value)
    if value is False:
        return None
    if key == "price_jump":
        factor = float(value)
        if factor <= 1:
            raise ValueError(f"guards.{key} must be a factor above 1 (10 = ten times), or false")
        return factor
    share = float(value)
    if not 0 < share <= 1:
        raise ValueError(f"guards.{key} must be a share between 0 and 1 (0.5 = 50%), or false")
    return share
