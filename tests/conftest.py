"""Shared fixtures: a real Konnect emulator on loopback, started once per test session."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--soak-size",
        type=float,
        default=0.2,
        help="share of the fault soak's full size (50,000 stock rows, 5,000 price rows, "
        "500 order actions) to run; 1 = full size (tests/test_soak.py)",
    )


@pytest.fixture(scope="session")
def sandbox_server() -> Iterator[Any]:
    from etl.sandbox import SandboxSettings, serve_in_thread

    with serve_in_thread(SandboxSettings(port=0)) as running:
        yield running


@pytest.fixture
def sandbox(sandbox_server: Any) -> Any:
    """The emulator, back at its seed state with no faults, for one test."""
    sandbox_server.reset()
    return sandbox_server
