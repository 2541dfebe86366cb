"""The Konnect emulator ("sandbox"): a real HTTP server that behaves like Fynd Konnect.

Started by `konnect-etl sandbox` (`serve_forever`), by `--sandbox` and by the test fixtures
(`serve_in_thread`). The seed format, fault flags and demo data are in docs/sandbox.md.
"""

from __future__ import annotations

from etl.sandbox.app import create_app
from etl.sandbox.seed import SeedError
from etl.sandbox.server import RunningSandbox, serve_forever, serve_in_thread
from etl.sandbox.settings import SandboxSettings

__all__ = [
    "RunningSandbox",
    "SandboxSettings",
    "SeedError",
    "create_app",
    "serve_forever",
    "serve_in_thread",
]
