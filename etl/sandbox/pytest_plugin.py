"""The emulator as a pytest fixture (SPEC section 7), for any test suite in an environment
where konnect-etl is installed (registered through the `pytest11` entry point):

    def test_stock_lands(sandbox, tmp_path):
        ...  # sandbox.url, sandbox.token, sandbox.ledger(), sandbox.state(), sandbox.faults()

`sandbox_server` starts one emulator on a free loopback port per test session; `sandbox`
hands it to a test back at its seed state with no faults. A suite's own fixture of the same
name wins over these, as pytest's rules say.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest


@pytest.fixture(scope="session")
def sandbox_server() -> Iterator[Any]:
    """One emulator for the session (`etl.sandbox.RunningSandbox`)."""
    from etl.sandbox import SandboxSettings, serve_in_thread

    with serve_in_thread(SandboxSettings(port=0)) as running:
        yield running


@pytest.fixture
def sandbox(sandbox_server: Any) -> Any:
    """The emulator, back at its seed state with no faults, for one test."""
    sandbox_server.reset()
    return sandbox_server
