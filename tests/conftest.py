"""Shared fixtures: a real Konnect emulator on loopback, started once per test session."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest


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
