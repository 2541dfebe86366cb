"""Shared options. The `sandbox` fixture (a real Konnect emulator on loopback, started once
per test session) comes from the package's pytest plugin, `etl/sandbox/pytest_plugin.py`."""

from __future__ import annotations

from collections.abc import Iterator

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--soak-size",
        type=float,
        default=0.2,
        help="share of the fault soak's full size (50,000 stock rows, 5,000 price rows, "
        "500 order actions) to run; 1 = full size (tests/test_soak.py)",
    )


@pytest.fixture(autouse=True)
def _secrets_of_this_test_only() -> Iterator[None]:
    """The secrets a command masks in what it prints are kept per process (`etl.logsetup`):
    one test's password "sandbox" would mask the word in every later test's output."""
    from etl import logsetup

    before = set(logsetup._secrets)
    yield
    logsetup._secrets.clear()
    logsetup._secrets.update(before)
