"""Stopping on request: SIGTERM, SIGINT (Ctrl+C) and, on Windows, Ctrl+Break.

The first request lets the file being processed finish (its chunks are sent, its reports
written whole) and then stops. A second request stops at once: the upload is interrupted,
every chunk Konnect acknowledged is already in the journal, and the file stays in
processing/ to be resumed by the next start. Either way no half report is ever written
(reports are written atomically). `watch` exits 0 either way (a service stopped as asked);
`run` exits 1 when stopped at once, as a file was left unfinished.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

log = logging.getLogger(__name__)


class StopNow(KeyboardInterrupt):
    """Raised by the second stop request to interrupt the work in progress.

    A KeyboardInterrupt, because asyncio's TaskGroup passes those through as they are.
    """


_HOOKS: list[Callable[[], None]] = []


def when_stop_requested(hook: Callable[[], None]) -> None:
    """Call `hook` at the first stop request of any `StopRequest` (e.g. `etl.deaths`: a kill
    after it is expected, not a crash); a hook that fails is logged, never raised."""
    _HOOKS.append(hook)


class StopRequest:
    """Set by a signal handler; asked by the loops between files and while waiting."""

    def __init__(self) -> None:
        self.requested = False
        self.wake = threading.Event()

    def __call__(self) -> bool:
        return self.requested

    def request(self, reason: str) -> None:
        if self.requested:
            log.warning("%s again: stopping now; the file in progress is resumed next start",
                        reason)  # fmt: skip
            raise StopNow(reason)
        self._first(reason)

    def _first(self, reason: str) -> None:
        self.requested = True
        self.wake.set()
        log.warning("%s: finishing the file in progress, then stopping", reason)
        for hook in _HOOKS:
            try:
                hook()
            except Exception:  # in a signal handler: nothing may escape
                log.exception("after the stop request: a hook failed")

    def finish_then_stop(self, reason: str) -> None:
        """The program's own request (another machine took the inbox over): like a first
        signal, and never the second one's StopNow, however often it is asked."""
        if not self.requested:  # a signal's request meanwhile would make ours its second:
            self._first(reason)  # this one never raises (it runs in the lease's thread)

    def sleep(self, seconds: float, wake: threading.Event | None = None) -> None:
        """Wait up to `seconds`, returning early on a stop request or when `wake` is set."""
        events = [e for e in (self.wake, wake) if e is not None]
        remaining = seconds
        while remaining > 0 and not self.requested and not any(e.is_set() for e in events):
            step = min(0.2, remaining)
            self.wake.wait(step)
            remaining -= step


def _signals() -> list[signal.Signals]:
    names = ("SIGINT", "SIGTERM", "SIGBREAK")  # SIGBREAK: Ctrl+Break, Windows only
    return [getattr(signal, n) for n in names if hasattr(signal, n)]


@contextmanager
def stop_on_signals(stop: StopRequest) -> Iterator[StopRequest]:
    """Route the stop signals to `stop` while the block runs (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return

    def handler(signum: int, _frame: FrameType | None) -> None:
        stop.request(signal.Signals(signum).name)

    previous: dict[signal.Signals, Any] = {}
    for sig in _signals():
        previous[sig] = signal.signal(sig, handler)
    try:
        yield stop
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
