"""Real `konnect-etl watch` processes for the tests: started, waited on, always stopped."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

STOP_TIMEOUT = 30.0


FAST_PULLS = str(Path(__file__).with_name("fastpulls.py"))  # `watch --pull-every 1s` allowed


def start_watch(
    inbox: Path, sandbox: Any, *extra: str, settle: float = 0.5, program: str = "-m etl"
) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "KONNECT_BASE_URL": sandbox.url,
        "KONNECT_TOKEN": sandbox.token,
        "NO_PROXY": "127.0.0.1,localhost",
    }
    args = [sys.executable, *program.split(), "watch", str(inbox), "--poll", "0.5"]
    args += ["--settle", str(settle), *extra]
    log = (inbox.parent / f"watch-{time.monotonic_ns()}.log").open("wb")
    return subprocess.Popen(args, env=env, stdout=log, stderr=subprocess.STDOUT)


def stop(process: subprocess.Popen[bytes]) -> int:
    """SIGTERM, then wait; SIGKILL if it does not stop in time. The exit code."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(STOP_TIMEOUT)
    return process.returncode


@contextmanager
def watching(
    inbox: Path, sandbox: Any, *extra: str, settle: float = 0.5, program: str = "-m etl"
) -> Iterator[subprocess.Popen[bytes]]:
    process = start_watch(inbox, sandbox, *extra, settle=settle, program=program)
    try:
        yield process
    finally:
        stop(process)


def wait_for(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.1)


def done_dir(inbox: Path) -> Path:
    return inbox / "done" / date.today().isoformat()


def logs(inbox: Path) -> str:
    return "\n".join(p.read_text(errors="replace") for p in inbox.parent.glob("watch-*.log"))
