"""Seed files: the catalogue, stock, prices and orders a (reset) emulator starts from.

The format is documented in docs/sandbox.md; `demo_seed.json` next to this module is the
default and matches `inbox_example/`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from etl.sandbox.seed_orders import build_orders
from etl.sandbox.state import SandboxState

DEMO_SEED = Path(__file__).with_name("demo_seed.json")
_LISTS = ("locations", "other_locations", "skus", "order_blocks", "orders")
_MAPS = ("stock", "prices")


class SeedError(ValueError):
    """The seed file cannot be used; the message names the file and the key."""


def load_seed(path: Path | str | None = None) -> dict[str, Any]:
    """The parsed seed file (the demo seed when `path` is None), checked for its shape."""
    path = Path(path) if path else DEMO_SEED
    try:
        seed = orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError) as exc:
        raise SeedError(f"{path}: cannot read the seed file: {exc}") from exc
    if not isinstance(seed, dict):
        raise SeedError(f"{path}: a seed file is a JSON object")
    for key in _LISTS:
        if not isinstance(seed.get(key, []), list):
            raise SeedError(f"{path}, key '{key}': must be a list")
    for key in _MAPS:
        if not isinstance(seed.get(key, {}), dict):
            raise SeedError(f"{path}, key '{key}': must be an object keyed 'LOCATION|SKU'")
    if not seed.get("locations"):
        raise SeedError(f"{path}, key 'locations': at least one location is needed")
    return seed


def build_state(seed: dict[str, Any]) -> SandboxState:
    """A fresh state from a parsed seed: nothing is shared with earlier states."""
    try:
        state = SandboxState(
            locations={str(x) for x in seed["locations"]},
            skus={str(x) for x in seed.get("skus", [])},
            other_locations={str(x) for x in seed.get("other_locations", [])},
            stock={str(k): int(v) for k, v in seed.get("stock", {}).items()},
            prices={str(k): dict(v) for k, v in seed.get("prices", {}).items()},
        )
        state.add_orders(build_orders(seed, state).values())
    except (KeyError, TypeError, ValueError) as exc:
        raise SeedError(f"the seed has a bad value: {exc!r}") from exc
    return state
