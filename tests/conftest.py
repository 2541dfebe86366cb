"""Shared options. The `sandbox` fixture (a real Konnect emulator on loopback, started once
per test session) comes from the package's pytest plugin, `etl/sandbox/pytest_plugin.py`."""

from __future__ import annotations

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--soak-size",
        type=float,
        default=0.2,
        help="share of the fault soak's full size (50,000 stock rows, 5,000 price rows, "
        "500 order actions) to run; 1 = full size (tests/test_soak.py)",
    )
