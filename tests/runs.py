"""`konnect-etl run` as most tests call it: in-process, against the emulator fixture."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from etl.cli import app


def run(inbox: Path, sandbox: Any, *extra: str, token: str | None = None) -> Any:
    """`konnect-etl run INBOX --settle 0 [extra]` with the emulator's URL and token."""
    env = {"KONNECT_TOKEN": token or sandbox.token, "KONNECT_BASE_URL": sandbox.url}
    args = ["run", str(inbox), "--settle", "0", *extra]
    return CliRunner().invoke(app, args, env=env, catch_exceptions=False)


def oid(block: int, n: int) -> str:
    """A 20-digit order id of the demo seed: block 11..18, order n."""
    return f"{block}{n:018d}"
