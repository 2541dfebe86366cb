"""`konnect-etl run` as most tests call it: in-process, against the emulator fixture; and
one chunk of order actions through the look-ups (`upload_one`)."""

from __future__ import annotations

import asyncio
import csv
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

import etl.turns
from etl.cli import app
from etl.client import KonnectClient
from etl.clientsettings import ClientSettings
from etl.konnect import ENDPOINTS
from etl.reconcile import upload_orders


def run(inbox: Path, sandbox: Any, *extra: str, token: str | None = None) -> Any:
    """`konnect-etl run INBOX --settle 0 [extra]` with the emulator's URL and token."""
    env = {"KONNECT_TOKEN": token or sandbox.token, "KONNECT_BASE_URL": sandbox.url}
    args = ["run", str(inbox), "--settle", "0", *extra]
    return CliRunner().invoke(app, args, env=env, catch_exceptions=False)


@contextmanager
def as_the_previous_version() -> Iterator[None]:
    """Runs in the block go as the previous version did (a process of it still running during
    an upgrade): a newer order file is sent though an earlier one waits part-sent in
    processing/, where `etl.turns` now stops; so a resume meets another file's cancels."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(etl.turns, "_none_waiting_before", lambda *args: None)
        yield


def oid(block: int, n: int) -> str:
    """A 20-digit order id of the demo seed: block 11..18, order n."""
    return f"{block}{n:018d}"


def drop(inbox: Path, name: str, rows: list[list[Any]]) -> None:
    """A CSV file `name` with `rows` in `inbox` (made if need be)."""
    inbox.mkdir(exist_ok=True)
    with (inbox / name).open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows)


def results(inbox: Path, stem: str) -> dict[str, dict[str, Any]]:
    """Today's result file of `stem` in done/ (CSV, or XLSX for a workbook), by its `row`."""
    path = inbox / "done" / date.today().isoformat() / f"{stem}.result.csv"
    return result_rows(path if path.exists() else path.with_suffix(".xlsx"))


def result_rows(path: Path) -> dict[str, dict[str, Any]]:
    """A result file's rows by their `row` column (empty XLSX cells as "")."""
    if path.suffix == ".csv":
        with path.open(encoding="utf-8-sig", newline="") as handle:
            return {row["row"]: row for row in csv.DictReader(handle)}
    sheet = load_workbook(path).active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    header = [str(h) for h in rows[0]]
    found = [dict(zip(header, row, strict=True)) for row in rows[1:]]
    return {str(row["row"]): {k: v or "" for k, v in row.items()} for row in found}


def run_process(inbox: Path, sandbox: Any) -> tuple[list[str], dict[str, str]]:
    """(command, env) of `konnect-etl run INBOX --settle 0` as its own process."""
    env = {**os.environ, "KONNECT_BASE_URL": sandbox.url, "KONNECT_TOKEN": sandbox.token}
    return [sys.executable, "-m", "etl", "run", str(inbox), "--settle", "0"], env


def start_and_wait_for_claim(inbox: Path, sandbox: Any, name: str) -> subprocess.Popen[bytes]:
    """Start a `run` process and return once it has claimed `name` into processing/."""
    command, env = run_process(inbox, sandbox)
    process = subprocess.Popen(command, env=env, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while not (inbox / "processing" / name).exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    return process


@dataclass
class Body:
    """One chunk of a file's records, as `upload_orders` takes it."""

    index: int
    body: bytes
    record_count: int


def upload_one(
    sandbox: Any, feed: str, records: list[Any], transport: httpx.AsyncBaseTransport | None = None
) -> Any:
    """`records` as one chunk of `feed` through `upload_orders` (look-ups included)."""
    chunk = Body(0, orjson.dumps(records), len(records))
    settings = ClientSettings(base_url=sandbox.url, token=sandbox.token, retries=2)

    async def main() -> list[Any]:
        async with KonnectClient(settings, transport=transport) as client:
            return await upload_orders(
                client, feed, ENDPOINTS[feed], [chunk],
                keys_of=lambda c: [r["orderId"] for r in orjson.loads(c.body)],
            )  # fmt: skip

    [result] = asyncio.run(main())
    return result
