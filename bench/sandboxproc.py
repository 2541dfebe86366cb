"""The Konnect emulator as a separate process, so it never competes with us for the GIL."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NamedTuple

import httpx

TOKEN = "sandbox-token"


class Emulator(NamedTuple):
    url: str
    pid: int

    def cpu_seconds(self) -> float | None:
        """CPU seconds the emulator process has used so far (Linux; None elsewhere)."""
        stat = Path(f"/proc/{self.pid}/stat")
        if not stat.exists():
            return None
        fields = stat.read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


@contextmanager
def sandbox(
    *, latency_ms: float = 0, max_concurrency: int | None = None, rate_limit: float | None = None
) -> Iterator[Emulator]:
    """The emulator (`--catalogue open`) in another process on a free port."""
    command = [sys.executable, str(Path(__file__).with_name("sandbox_server.py"))]
    command += ["--latency-ms", str(latency_ms)]
    if max_concurrency:
        command += ["--max-concurrency", str(max_concurrency)]
    if rate_limit:
        command += ["--rate-limit", str(rate_limit)]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}  # the URL line must arrive at once
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env)
    try:
        line = process.stdout.readline() if process.stdout else ""
        found = re.search(r"http://[\d.]+:\d+", line)
        if not found:
            raise RuntimeError(f"the sandbox did not start: {line!r}")
        yield Emulator(found.group(0), process.pid)
    finally:
        process.terminate()
        process.wait(timeout=10)


def control(url: str, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    """Call a `/_sandbox/...` control endpoint."""
    response = httpx.request(method, f"{url}/_sandbox/{path}", json=body, timeout=60)
    response.raise_for_status()
    return response.json()


def stats(url: str) -> dict[str, Any]:
    """The fault settings in force and the sandbox's counters."""
    result: dict[str, Any] = control(url, "GET", "faults")
    return result
